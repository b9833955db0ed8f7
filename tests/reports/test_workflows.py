"""The workflow rebuild reference: catalogue + rules inferred from data, per system, and edits."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.reports.conftest import SYSTEMS, csv_rows, export_date

from pdmigrate.errors import ConfigError
from pdmigrate.profiles import load_profile
from pdmigrate.workflows import (
    PLAN_CAPS,
    build_reference,
    classify,
    observer_for,
    read_previous,
    render_markdown,
    scan_exports,
    write_workflows,
)


def reference_for(folder: Path, system: str, **kwargs: Any) -> dict[str, Any]:
    """Scan the exports of ``system`` and build its reference as of the export date."""
    profile = load_profile(system)
    as_of = date.fromisoformat(export_date(folder))
    observer = observer_for(profile, as_of=as_of, date_order=profile.system.date_order)
    scan_exports(profile, folder, [observer])
    return build_reference(profile, observer.seen, as_of=as_of, **kwargs)


def rules_by_id(reference: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The reference's rules keyed by id."""
    return {r["id"]: r for r in reference["rules"]}


def _mdy(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), "%m/%d/%Y").date()
    except ValueError:
        return None


def _dmy(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip().split(" ")[0], "%d/%m/%Y").date()
    except ValueError:
        return None


@pytest.mark.parametrize("system", SYSTEMS)
def test_every_catalogue_automation_is_a_rule(
    system: str, synth_exports: Callable[[str], Path]
) -> None:
    """Each automation of the profile's catalogue appears once, and inferred rules refine them."""
    profile = load_profile(system)
    reference = reference_for(synth_exports(system), system)
    catalogue = [r["id"] for r in reference["rules"] if r["origin"] == "catalogue"]
    assert catalogue == [a.id for a in profile.automations]
    inferred = [r for r in reference["rules"] if r["origin"] == "inferred"]
    assert inferred, f"{system}: no rule inferred from the data"
    for rule in inferred:
        assert rule["refines"] in (None, *catalogue)
        assert rule["observed"]["records"] > 0
        assert rule["trigger"]
        assert rule["actions"]
        assert rule["timing"]
        assert rule["recipe"]
    counted = Counter()
    for rule in reference["rules"]:
        counted.update(rule["counted"])
    assert reference["usage"]["automations"] == counted["automations"]
    assert reference["usage"]["sequences"] == counted["sequences"]
    assert reference["plan"] == {"name": "growth", **PLAN_CAPS["growth"],
                                 "source": reference["plan"]["source"]}  # fmt: skip
    assert "support.pipedrive.com" in reference["plan"]["source"]


def test_advancedpm_claims_submitted_over_30_days(synth_exports: Callable[[str], Path]) -> None:
    """Claims Submitted/Accepted/Pending 30+ days before the export are counted once per claim."""
    folder = synth_exports("advancedpm")
    cutoff = date.fromisoformat(export_date(folder)) - timedelta(days=30)
    claims = {
        r["Claim Number"]
        for r in csv_rows(folder, "claims")
        if r["Claim Status"] in {"Submitted", "Accepted", "Pending"}
        and (d := _mdy(r["Submitted Date"])) is not None
        and d <= cutoff
    }
    rules = rules_by_id(reference_for(folder, "advancedpm"))
    rule = rules["claims_submitted_30d"]
    assert claims, "synth data should hold claims awaiting payment"
    assert rule["observed"]["records"] == len(claims)
    assert rule["refines"] == "claim_follow_up"
    assert rule["tool"] == "automation"
    assert rules["claim_follow_up"]["counted_in"] == ["claims_submitted_30d"]
    assert rules["claim_follow_up"]["counted"] == {"automations": 0, "sequences": 0}
    assert rule["counted"] == {"automations": 1, "sequences": 0}


def test_corepractice_recalls_and_failed_attendance(synth_exports: Callable[[str], Path]) -> None:
    """6-month recalls due (active, nothing booked) and DNA/FTA rebooks match the exports."""
    folder = synth_exports("corepractice")
    cutoff = date.fromisoformat(export_date(folder)) - timedelta(days=182)
    patients = csv_rows(folder, "patients")
    due = [
        p
        for p in patients
        if p["Status"] == "Active"
        and not p["Next Appointment"].strip()
        and (d := _dmy(p["Last Visit"])) is not None
        and d <= cutoff
    ]
    fta = [a for a in csv_rows(folder, "appointments") if a["Status"] in {"Did Not Attend", "FTA"}]
    sms = [p for p in patients if p["SMS Opt-in"] in {"Y", "Yes"}]
    rules = rules_by_id(reference_for(folder, "corepractice"))
    assert rules["recall_due_6m"]["observed"]["records"] == len(due)
    assert rules["recall_due_6m"]["tool"] == "sequence"
    assert rules["fta_rebook"]["observed"]["records"] == len(fta)
    assert rules["sms_opt_in_reminders"]["observed"]["records"] == len(sms)


def test_practicebynumbers_one_rule_per_recall_type_and_interval(
    synth_exports: Callable[[str], Path],
) -> None:
    """Each (Recall Type, Interval) of active recalls becomes a rule with its exact count."""
    folder = synth_exports("practicebynumbers")
    expected = Counter(
        (r["Recall Type"], r["Interval"])
        for r in csv_rows(folder, "recalls")
        if r["Status"] != "Inactive" and r["Interval"].strip()
    )
    reference = reference_for(folder, "practicebynumbers")
    got = {
        (r["observed"]["by"], r["observed"]["value"]): r["observed"]["records"]
        for r in reference["rules"]
        if r["id"].startswith("recall_interval_")
    }
    assert got == dict(expected)
    six = rules_by_id(reference)["recall_interval_prophy_6m"]
    assert six["name"] == "Prophy recall every 6m"
    assert six["conditions"] == ["Interval = 6m", "Recall Type = Prophy"]
    assert six["recipe"] == (
        "Automation \"activity 'Recall: Prophy' marked done -> create activity "
        "'Recall: Prophy' due in 6m\""
    )
    parent = rules_by_id(reference)["recall_sequence"]
    assert sorted(parent["counted_in"]) == sorted(
        f"recall_interval_{t.lower().replace(' ', '_')}_{i}" for t, i in expected
    )


def test_practicemaster_calendar_reminder_lead_times(synth_exports: Callable[[str], Path]) -> None:
    """Each Reminder value and each recurring plan of CMCALENDAR becomes a rule with its count."""
    folder = synth_exports("practicemaster")
    calendar = csv_rows(folder, "cmcalendar")
    reminders = Counter(r["Reminder"] for r in calendar if r["Reminder"].strip())
    recurring = Counter(r["Plan/Recurring"] for r in calendar if r["Plan/Recurring"].strip())
    reference = reference_for(folder, "practicemaster")
    got = {
        r["observed"]["value"]: r["observed"]["records"]
        for r in reference["rules"]
        if r["id"].startswith("calendar_reminder_")
    }
    assert got == dict(reminders)
    got_recurring = {
        r["observed"]["value"]: r["observed"]["records"]
        for r in reference["rules"]
        if r["id"].startswith("recurring_plan_")
    }
    assert got_recurring == dict(recurring)
    week = rules_by_id(reference).get("calendar_reminder_1_week")
    assert week is not None
    assert week["timing"] == "1 week before Date"


def test_visualpractice_reminder_per_service_and_overdue_invoices(
    synth_exports: Callable[[str], Path],
) -> None:
    """One reminder rule per Service booked, and overdue invoices counted per invoice."""
    folder = synth_exports("visualpractice")
    services = Counter(a["Service"] for a in csv_rows(folder, "appointments"))
    overdue = {i["Invoice No"] for i in csv_rows(folder, "invoices") if i["Status"] == "Overdue"}
    reference = reference_for(folder, "visualpractice")
    got = {
        r["observed"]["value"]: r["observed"]["records"]
        for r in reference["rules"]
        if r["id"].startswith("service_reminder_")
    }
    assert got == dict(services)
    assert rules_by_id(reference)["overdue_invoices"]["observed"]["records"] == len(overdue)


def test_age_condition_boundary_and_claim_lines_grouped() -> None:
    """A claim submitted exactly 30 days ago counts, 29 days does not; its lines count once."""
    profile = load_profile("advancedpm")
    observer = observer_for(profile, as_of=date(2024, 3, 31), date_order="MDY")
    rows = [
        {"Claim Number": "1", "Claim Status": "Submitted", "Submitted Date": "03/01/2024"},
        {"Claim Number": "1", "Claim Status": "Submitted", "Submitted Date": "03/01/2024"},
        {"Claim Number": "2", "Claim Status": "Pending", "Submitted Date": "03/02/2024"},
        {"Claim Number": "3", "Claim Status": "Paid", "Submitted Date": "01/02/2024"},
        {"Claim Number": "4", "Claim Status": "submitted", "Submitted Date": "0001-01-01"},
        {"Claim Number": "5", "Claim Status": "ACCEPTED", "Submitted Date": "12/31/2023"},
    ]
    for row in rows:
        observer.add("claims", row)
    seen = observer.seen["claims_submitted_30d"]
    assert (seen.rows, seen.count) == (3, 2)
    assert seen.groups == {("1",), ("5",)}


def test_lite_plan_has_no_automations_so_the_reference_is_over_cap(
    synth_exports: Callable[[str], Path],
) -> None:
    """On Lite (no automations, no sequences) any enabled automation puts the reference over."""
    reference = reference_for(synth_exports("visualpractice"), "visualpractice", plan="lite")
    usage = reference["usage"]
    assert usage["within_caps"] is False
    assert usage["automations_left"] == -usage["automations"]
    assert "**Over a cap**" in render_markdown(reference)


def test_edits_in_workflows_yaml_survive_and_change_the_count(
    tmp_path: Path, synth_exports: Callable[[str], Path]
) -> None:
    """Disabling a rule, changing its recipe and adding a manual rule are kept on regeneration."""
    folder = synth_exports("visualpractice")
    first = reference_for(folder, "visualpractice")
    paths = write_workflows(tmp_path, tmp_path / "reports", first)
    data = yaml.safe_load(paths["yaml"].read_text(encoding="utf-8"))
    for rule in data["rules"]:
        if rule["id"] == "overdue_invoices":
            rule["enabled"] = False
        if rule["id"] == "no_show_rebook":
            rule["recipe"] = "Our own rebooking automation"
    manual = {"id": "birthday_card", "name": "Birthday card", "origin": "manual"}
    manual |= {"kind": "template", "enabled": True, "tool": "automation"}
    data["rules"].append(manual | {"recipe": "Automation on birthday", "trigger": "Birthday"})
    paths["yaml"].write_text(yaml.safe_dump(data), encoding="utf-8")
    second = reference_for(folder, "visualpractice", previous=read_previous(paths["yaml"]))
    rules = rules_by_id(second)
    assert rules["overdue_invoices"]["enabled"] is False
    assert rules["overdue_invoices"]["counted"] == {"automations": 0, "sequences": 0}
    assert rules["no_show_rebook"]["recipe"] == "Our own rebooking automation"
    assert rules["birthday_card"]["counted"] == {"automations": 1, "sequences": 0}
    # invoice_chaser is no longer refined by an enabled rule: it counts itself again.
    assert rules["invoice_chaser"]["counted"] == {"automations": 1, "sequences": 0}
    assert second["usage"]["automations"] == first["usage"]["automations"] + 1
    written = write_workflows(tmp_path, tmp_path / "reports", second)
    as_json = json.loads(written["json"].read_text(encoding="utf-8"))
    assert [r["id"] for r in as_json["rules"]] == [r["id"] for r in second["rules"]]
    assert (
        "| `overdue_invoices` | Overdue invoices to chase | inferred | automation | disabled |"
        in (written["md"].read_text(encoding="utf-8"))
    )


def test_bad_tool_in_workflows_yaml_names_the_file_and_rule(
    tmp_path: Path, synth_exports: Callable[[str], Path]
) -> None:
    """A tool outside the known list is a ConfigError naming workflows.yaml and the rule."""
    folder = synth_exports("practicemaster")
    previous = [{"id": "court_dates", "tool": "zapier", "enabled": True}]
    with pytest.raises(ConfigError, match=r"workflows.yaml: rule 'court_dates': tool must be"):
        reference_for(folder, "practicemaster", previous=previous, where="workflows.yaml")


def test_markdown_escapes_values_from_the_data() -> None:
    """A service name holding markup is shown as text in workflows.md."""
    profile = load_profile("visualpractice")
    observer = observer_for(profile, as_of=date(2024, 1, 1), date_order="DMY")
    observer.add("appointments", {"Service": "<script>alert(1)</script>", "Status": "Booked"})
    md = render_markdown(build_reference(profile, observer.seen, as_of=date(2024, 1, 1)))
    assert "<script>" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ('Automation "deal in stage X -> create task"', "automation"),
        ("Sequence of tasks on the person, or Automation ...", "sequence"),
        ("Scheduler (Pipedrive meeting scheduler) confirmation email", "scheduler"),
        ("Activity reminder (user notification settings) or Automation ...", "notification"),
        ("None native; keep in the billing system", "none"),
    ],
)
def test_classify_catalogue_suggestions(text: str, tool: str) -> None:
    """The catalogue's suggestion text decides the tool a rule is counted as."""
    assert classify(text) == tool
