"""Cross-object landing rules computed by apply: joins, most frequent links, spreads, households."""

from __future__ import annotations

from typing import Any

from tests.mapping.conftest import documented_tables, settings_for

from pdmigrate.mapping.apply import apply_object, apply_rows
from pdmigrate.mapping.crossref import build_index
from pdmigrate.mapping.payload import Applied, ApplyContext, Ref
from pdmigrate.mapping.propose import propose
from pdmigrate.mapping.spread import line_entities
from pdmigrate.mapping.values import transform_context
from pdmigrate.profiles import load_profile
from pdmigrate.records import Row


def _mapping(system: str) -> Any:
    profile = load_profile(system)
    return propose(profile, settings_for(profile), documented_tables(profile)).mapping


def _rows(file: str, *dicts: dict[str, str]) -> list[Row]:
    return [Row(d, file, n + 2) for n, d in enumerate(dicts)]


def _plan(plan: str, patient: str, created: str, code: str, status: str) -> dict[str, str]:
    return {
        "Plan ID": plan,
        "Patient ID": patient,
        "Created": created,
        "Item Code": code,
        "Plan Status": status,
        "Fee": "100",
        "Qty": "1",
    }


def _invoice(no: str, patient: str, date: str, code: str) -> dict[str, str]:
    return {
        "Invoice No": no,
        "Patient ID": patient,
        "Invoice Date": date,
        "Item Code": code,
        "Total": "100",
        "Balance": "0",
        "Status": "Paid",
    }


CP = _mapping("corepractice")
PLANS = _rows(
    "treatment_plans.csv",
    _plan("1", "P1", "01/02/2024", "011", "Completed"),
    _plan("2", "P1", "10/03/2024", "011", "Completed"),
    _plan("3", "P1", "20/03/2024", "999", "Completed"),
    _plan("4", "P1", "01/06/2024", "011", "Proposed"),
)
INVOICES = _rows(
    "invoices.csv",
    _invoice("500", "P1", "15/04/2024", "011"),
    _invoice("500", "P1", "12/04/2024", "114"),
    _invoice("501", "P2", "15/04/2024", "011"),
)


def _cp_applied() -> Applied:
    return apply_rows(CP, {"treatment_plans": PLANS, "invoices": INVOICES})


def test_invoice_joins_the_latest_earlier_plan_sharing_an_item_code() -> None:
    """Invoice 500 (15/04, code 011) joins plan 2 (10/03, 011), not 3 (no code) nor 4 (later)."""
    updates = {p.source_key: p for p in _cp_applied().of("invoice_fields")}
    deal = updates["corepractice/invoice_fields/500"]
    assert (deal.entity, deal.update_of) == ("deal", Ref("treatment_plan_deal", "2"))
    assert deal.fields["Last Invoice Date"] == "2024-04-15"
    table = updates["corepractice/invoice_fields/500#table"]
    assert table.links == {"deal_id": Ref("treatment_plan_deal", "2")}


def test_invoice_without_a_plan_lands_on_the_patient() -> None:
    """Invoice 501 (patient P2 has no plan) updates the Person; its table note hangs there."""
    updates = {p.source_key: p for p in _cp_applied().of("invoice_fields")}
    person = updates["corepractice/invoice_fields/501"]
    assert (person.entity, person.update_of) == ("person", Ref("patient_person", "P2"))
    assert person.fields["Total Invoice"] == {"value": 100, "currency": "AUD"}
    note = updates["corepractice/invoice_fields/501#table"]
    assert note.links == {"person_id": Ref("patient_person", "P2")}


def test_plan_is_won_at_its_latest_linked_invoice_else_created() -> None:
    """Plan 2 is won at invoice 500's date; plan 1 (no invoice) at its Created date."""
    deals = {p.source_key: p.fields for p in _cp_applied().of("treatment_plan_deal", "deal")}
    won = {k.rsplit("/", 1)[1]: (v["status"], v.get("won_time")) for k, v in deals.items()}
    assert won == {
        "1": ("won", "2024-02-01T00:00:00Z"),
        "2": ("won", "2024-04-15T00:00:00Z"),
        "3": ("won", "2024-03-20T00:00:00Z"),
        "4": ("open", None),
    }
    assert not any(k.endswith("_time_from") for v in deals.values() for k in v)


def test_apply_object_alone_takes_the_fallbacks() -> None:
    """Without the index (one object applied alone) invoices land on the patient."""
    result = apply_object(CP, CP.object("invoice_fields"), INVOICES)
    targets = {p.source_key: p.update_of for p in result.payloads if p.entity == "person"}
    assert targets == {
        "corepractice/invoice_fields/500": Ref("patient_person", "P1"),
        "corepractice/invoice_fields/501": Ref("patient_person", "P2"),
    }


def test_index_keeps_one_entry_per_record_not_per_row() -> None:
    """The join index holds one candidate per plan and one entry per invoice."""
    index = build_index(
        CP, {"treatment_plans": PLANS * 50, "invoices": INVOICES * 50}, transform_context(CP)
    )
    assert sum(len(v) for v in index.candidates["treatment_plan_deal"].values()) == 4
    assert index.joined["invoice_fields"] == {"500": "2"}


def test_synth_invoices_join_plans(synth_mappings: dict[str, Any]) -> None:
    """corepractice synth: three invoices join earlier plans; the rest update the patient."""
    proposal, rows = synth_mappings["corepractice"]
    applied = apply_rows(proposal.mapping, rows)
    joined = {
        p.source_key.rsplit("/", 1)[1]: p.update_of.key
        for p in applied.of("invoice_fields", "deal")
        if p.update_of is not None
    }
    assert joined == {"300023": "7004", "300035": "7007", "300019": "7003"}
    on_person = applied.of("invoice_fields", "person")
    assert len(on_person) == 33
    assert all(p.update_of and p.update_of.to == "patient_person" for p in on_person)


def test_patient_org_is_the_most_frequent_appointment_facility_else_the_practice() -> None:
    """advancedpm: A1 mostly at NORTH -> NORTH; A2 without appointments -> the practice."""
    mapping = _mapping("advancedpm")
    patients = _rows(
        "patients.csv",
        {"Chart Number": "A1", "First Name": "Ann", "Last Name": "Lee"},
        {"Chart Number": "A2", "First Name": "Bo", "Last Name": "Ng"},
    )
    visits = [("1", "MAIN"), ("2", "NORTH"), ("3", "NORTH")]
    appointments = _rows(
        "appointments.csv",
        *(
            {"Appointment ID": i, "Chart Number": "A1", "Facility": f, "Appt Date": "03/05/2024"}
            for i, f in visits
        ),
    )
    applied = apply_rows(mapping, {"patients": patients, "appointments": appointments})
    orgs = {p.source_key: p.links.get("org_id") for p in applied.of("patient_person", "person")}
    assert orgs == {
        "advancedpm/patient_person/A1": Ref("location_organization", "NORTH"),
        "advancedpm/patient_person/A2": Ref("practice_organization", "practice"),
    }


def test_synth_patients_link_facilities(synth_mappings: dict[str, Any]) -> None:
    """advancedpm synth: every patient links a facility organization or the practice."""
    proposal, rows = synth_mappings["advancedpm"]
    applied = apply_rows(proposal.mapping, rows)
    links = [p.links.get("org_id") for p in applied.of("patient_person", "person")]
    assert {r.to for r in links if isinstance(r, Ref)} == {
        "location_organization",
        "practice_organization",
    }
    assert all(isinstance(r, Ref) and r.match == "key" for r in links)


def _matter(cid: str, name: str, search: str, fax: str, category: str = "") -> dict[str, str]:
    return {
        "Client ID": cid,
        "Name": name,
        "Name Search": search,
        "Fax": fax,
        "Category": category,
        "Status": "Open",
    }


def test_custom_fields_constant_across_matters_go_to_the_client_else_the_deal() -> None:
    """practicemaster: Name Search (same on both matters) -> person; Fax (differs) -> deals."""
    mapping = _mapping("practicemaster")
    rows = _rows(
        "CMCLIENT.csv",
        _matter("1000.001", "Ann Lee", "LEE, ANN", "(202) 555-0101"),
        _matter("1000.002", "Ann Lee", "LEE, ANN", "(202) 555-0102"),
    )
    result = apply_object(mapping, mapping.object("custom_fields"), rows)
    got = {(p.entity, p.update_of): p.fields for p in result.payloads}
    assert got[("person", Ref("client_person", "1000", "before_dot"))]["Name Search"] == "LEE, ANN"
    assert {k[1].key: v["Fax"][0]["value"] for k, v in got.items() if k[0] == "deal"} == {
        "1000.001": "+12025550101",
        "1000.002": "+12025550102",
    }


def test_firm_client_constant_fields_go_to_its_organization() -> None:
    """practicemaster: a firm client's constant custom field lands on its organization."""
    mapping = _mapping("practicemaster")
    profile = load_profile("practicemaster")
    ctx = ApplyContext(
        firm_name_patterns=profile.system.firm_name_patterns,
        firm_categories=profile.system.firm_categories,
    )
    rows = _rows("CMCLIENT.csv", _matter("2000.001", "Acme LLC", "ACME", ""))
    result = apply_object(mapping, mapping.object("custom_fields"), rows, ctx)
    assert [(p.entity, p.update_of, p.fields) for p in result.payloads] == [
        ("organization", Ref("client_organization", "2000", "before_dot"), {"Name Search": "ACME"})
    ]


def test_spread_lines_may_land_on_person_organization_or_deal() -> None:
    """line_entities tells plan every entity a spread custom field needs."""
    mapping = _mapping("practicemaster")
    obj = mapping.object("custom_fields")
    line = next(ln for ln in obj.fields if ln.field == "Name Search")
    assert line_entities(obj, line) == ("person", "organization", "deal")
    plan_obj = mapping.object("matter_deal")
    assert line_entities(plan_obj, plan_obj.fields[0]) == ("deal",)
    invoice = CP.object("invoice_fields")
    total = next(ln for ln in invoice.fields if ln.field == "Total Invoice")
    assert line_entities(invoice, total) == ("deal", "person")


def _client(cid: str, first: str, company: str = "") -> dict[str, str]:
    return {"Client ID": cid, "First Name": first, "Last Name": "Lee", "Company": company}


def test_household_without_company_gets_an_organization_named_after_the_primary() -> None:
    """visualpractice: C1 (two persons, blank Company) -> org "Jill Lee"; C2 alone -> none."""
    mapping = _mapping("visualpractice")
    rows = _rows("clients.csv", _client("C1", "Jill"), _client("C1", "Tom"), _client("C2", "Sam"))
    result = apply_object(mapping, mapping.object("client_person"), rows)
    orgs = [(p.source_key, p.fields["name"]) for p in result.of("client_person", "organization")]
    assert orgs == [("visualpractice/client_person/C1#org", "Jill Lee")]
    links = {p.source_key: p.links.get("org_id") for p in result.of("client_person", "person")}
    assert links == {
        "visualpractice/client_person/C1": Ref("client_person", "C1#org"),
        "visualpractice/client_person/C1#2": Ref("client_person", "C1#org"),
        "visualpractice/client_person/C2": None,
    }


def test_household_with_a_company_uses_the_company() -> None:
    """visualpractice: a household with a Company gets no extra organization."""
    mapping = _mapping("visualpractice")
    rows = _rows("clients.csv", _client("C1", "Jill", "Acme"), _client("C1", "Tom", "Acme"))
    result = apply_object(mapping, mapping.object("client_person"), rows)
    assert result.of("client_person", "organization") == []
    assert {str(p.links.get("org_id")) for p in result.of("client_person", "person")} == {
        str(Ref("practice_organization", "Acme"))
    }


def test_subject_and_note_author_come_from_the_profile_columns() -> None:
    """display_name and author are data: Patient Name fills {patient}; User ID signs a journal."""
    cp = CP
    rows = _rows(
        "appointments.csv",
        {
            "Appointment ID": "9",
            "Patient ID": "P1",
            "Patient Name": "Lee,  Ann",
            "Appointment Type": "Check-up",
            "Date": "03/05/2024",
            "Status": "Booked",
        },
    )
    activity = apply_object(cp, cp.object("appointment_activity"), rows).payloads[0]
    assert activity.fields["subject"] == "Check-up: Lee, Ann"
    pm = _mapping("practicemaster")
    journal = _rows(
        "CMJRNL.csv",
        {"Record #": "5", "Client ID": "1000.001", "Date": "03/05/2024", "User ID": "JD"},
    )
    note = apply_object(pm, pm.object("journal_note"), journal).payloads[0]
    assert note.fields["content"].splitlines()[0].endswith(" by=JD]")


def test_user_line_item_and_paid_columns_are_profile_data() -> None:
    """Staff names, invoice line items and the paid test read the columns the profile names."""
    apm = _mapping("advancedpm")
    staff = _rows(
        "staff.csv",
        {"Provider/User Code": "JM", "First Name": "Jo", "Last Name": "Mar", "Active": "No"},
    )
    user = apply_object(apm, apm.object("staff_user"), staff).payloads[0]
    assert user.fields == {"name": "Jo Mar", "email": None, "active": False}
    claims = _rows(
        "claims.csv",
        {"Claim Number": "C1", "Claim Status": "Closed", "Paid": "$10.00", "Balance": "5"},
        {"Claim Number": "C2", "Claim Status": "Closed", "Paid": "0", "Balance": "5"},
    )
    deals = apply_object(apm, apm.object("claim_deal"), claims).payloads
    assert [d.fields["status"] for d in deals] == ["won", "lost"]
    vp = _mapping("visualpractice")
    lines = _rows(
        "invoice_lines.csv",
        {"Invoice No": "I9", "Line No": "2", "Service Code": "PHY", "Qty": "2", "Unit Price": "45"},
    )
    applied = apply_rows(vp, {"invoice_lines": lines, "services": []})
    (item,) = applied.of("service_product", "deal_product")
    assert (item.source_key, item.fields) == (
        "visualpractice/service_product/I9|2",
        {"quantity": 2.0, "item_price": 45.0},
    )
    assert item.links["product_id"] == Ref("service_product", "PHY")
