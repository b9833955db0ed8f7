"""For each system: the default mapping applied to synth data lands every landing-rules row.

One landed example per row of ``reference/landing-rules.md`` (the profile's ``landing``
entries): a payload of the right entity carrying the fields the rule names, a pipeline
with its stage probabilities, a user to match, or the listed not-migrated reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.mapping.conftest import SYSTEMS

from pdmigrate.mapping.apply import apply_rows
from pdmigrate.mapping.payload import Applied, ApplyContext, Payload
from pdmigrate.mapping.propose import Proposal
from pdmigrate.profiles import load_profile
from pdmigrate.records import Row

#: landing id -> fields (names) one payload of that object must carry, per the rule text.
RULE_FIELDS: dict[str, dict[str, set[str]]] = {
    "advancedpm": {
        "patient_person": {"name", "Source ID", "Chart Number", "Insurance Provider"},
        "practice_organization": {"name", "Source ID"},
        "appointment_deal": {"pipeline", "Source Created Date", "value", "Source ID"},
        "appointment_activity": {"type", "subject", "done", "due_date", "location", "note"},
        "call_note_log": {"type", "done"},
        "staff_user": {"name", "email"},
        "patient_custom_fields": {"Financial Class", "Marital Status", "Last Visit Date"},
        "appointment_custom_fields": {"Visit Type", "Appointment Date", "Room"},
        "claim_deal": {"pipeline", "Claim Status", "Carrier", "CPT Codes", "Source Created Date"},
        "location_organization": {"name", "address", "Source ID"},
        "referral_source": {"Referral Source"},
    },
    "corepractice": {
        "patient_person": {"name", "Source ID", "Patient Status", "SMS Opt-in", "Referral Source"},
        "family_organization": {"name", "Source ID"},
        "appointment_activity": {"type", "subject", "done", "due_date", "location", "note"},
        "treatment_plan_deal": {"pipeline", "value", "Procedure Codes", "Gap", "Fund Estimate"},
        "invoice_fields": {"Total Invoice", "Invoice Balance", "Invoice Status"},
        "practitioner_user": {"name", "email"},
        "health_fund_fields": {"Insurance Provider", "Policy Number", "Cover Level"},
        "clinical_note": {"content", "add_time"},
        "product": {"code", "name", "prices", "tax", "Stock on Hand", "Source ID"},
        "lead": {"title"},
    },
    "practicebynumbers": {
        "patient_person": {"name", "add_time", "Source ID", "Insurance Provider", "Guarantor"},
        "practice_organization": {"name", "Source ID"},
        "treatment_plan_deal": {"pipeline", "value", "Source Created Date", "Source ID"},
        "appointment_activity": {"type", "subject", "done", "note"},
        "provider_user": {"name"},
        "kpi_fields": {"Acceptance Rate", "Production Per Hour", "Flow Score"},
        "note": {"content", "add_time"},
        "document_file": {"file_name"},
        "insurance_fields": {"Insurance Estimate", "Patient Portion"},
        "review_fields": {"Average Rating", "Review Count"},
        "recall_activity": {"type", "subject", "due_date", "done"},
    },
    "practicemaster": {
        "client_person": {"name", "add_time", "Source ID"},
        "client_organization": {"name", "Source ID"},
        "contact_person": {"name", "Related Party Role", "Source ID"},
        "matter_deal": {"title", "Matter Number", "Source Created Date", "pipeline", "Source ID"},
        "journal_note": {"content", "add_time"},
        "calendar_activity": {"type", "subject", "done", "due_date", "note"},
        "cost_fields": {"Cost Amount", "Cost Date", "Cost Description"},
        "fee_fields": {"Fee Hours", "Fee Rate", "Fee Total", "value"},
        "owner_user": {"name"},
    },
    "visualpractice": {
        "client_person": {"name", "Source ID", "Tags"},
        "practice_organization": {"name"},
        "appointment_activity": {"type", "subject", "done", "due_date", "note"},
        "service_product": {"code", "name", "prices", "Source ID"},
        "invoice_deal": {"title", "value", "pipeline", "Source ID"},
        "document_file": {"file_name"},
        "practitioner_user": {"name", "email"},
        "client_status": {"Client Status"},
        "location_field": {"Location"},
        "referral_source": {"Referral Source"},
        "appointment_note": {"content", "add_time"},
    },
}

#: Landing rows that land inside another object's records (custom fields of that record).
FIELDS_OF: dict[tuple[str, str], str] = {
    ("advancedpm", "patient_custom_fields"): "patient_person",
    ("advancedpm", "appointment_custom_fields"): "appointment_deal",
}


def _applied(system: str, synth_mappings: dict[str, Any]) -> tuple[Proposal, Applied]:
    proposal, rows = synth_mappings[system]
    profile = load_profile(system)
    ctx = ApplyContext(
        practice_name="Synth Practice",
        firm_name_patterns=profile.system.firm_name_patterns,
        firm_categories=profile.system.firm_categories,
    )
    typed: dict[str, list[Row]] = rows
    return proposal, apply_rows(proposal.mapping, typed, ctx)


def _carrying(payloads: list[Payload], fields: set[str]) -> list[Payload]:
    """Payloads that carry every field of ``fields`` (names), non-empty."""
    return [p for p in payloads if all(p.fields.get(f) not in (None, "", []) for f in fields)]


@pytest.mark.parametrize("system", SYSTEMS)
def test_every_landing_row_has_a_landed_example(
    system: str, synth_mappings: dict[str, Any], synth_exports: dict[str, Path]
) -> None:
    """Each landing row of the system yields its example (or its reason) from synth data."""
    proposal, applied = _applied(system, synth_mappings)
    mapping = proposal.mapping
    profile = load_profile(system)
    missing: list[str] = []
    for landing in profile.landing:
        obj = mapping.object(landing.id)
        if landing.cardinality == "not_migrated":
            reasons = [n for n in mapping.not_migrated if n.object == landing.id]
            if not reasons or not reasons[0].reason:
                missing.append(f"{landing.id}: no not_migrated reason")
            continue
        if landing.cardinality == "reference" and "pipeline" in landing.targets:
            pipes = applied.of(landing.id, "pipeline")
            assert landing.pipeline is not None
            want = {s.name: s.probability for s in landing.pipeline.stages}
            got = [{s["name"]: s["deal_probability"] for s in p.fields["stages"]} for p in pipes]
            if want not in got:
                missing.append(f"{landing.id}: no pipeline with stages {want}")
            continue
        holder = FIELDS_OF.get((system, landing.id), landing.id)
        payloads = applied.of(holder)
        wanted = RULE_FIELDS[system].get(landing.id, set())
        if not payloads:
            missing.append(f"{landing.id}: no payload ({obj.cardinality})")
        elif not _carrying(payloads, wanted):
            have = set().union(*(p.fields for p in payloads))
            missing.append(f"{landing.id}: no payload carries {sorted(wanted - have) or wanted}")
    assert not missing, missing
