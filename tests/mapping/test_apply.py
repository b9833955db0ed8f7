"""apply: rows -> payloads per entity, per transform, rollup, cardinality, value map and stage."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.mapping.conftest import documented_tables, settings_for

from pdmigrate.mapping.apply import apply_object, apply_rows
from pdmigrate.mapping.io import parse_text
from pdmigrate.mapping.payload import ApplyContext, Ref
from pdmigrate.mapping.propose import propose
from pdmigrate.profiles import load_profile
from pdmigrate.records import Row
from pdmigrate.transforms import registry

HEAD = """\
version: 1
profile: corepractice
settings: {country: AU, timezone: Australia/Sydney, currency: AUD, date_order: dmy}
value_maps:
  status: {Active: Current, Archived: Old}
"""


def one_line(transform: str, custom: str | None = "varchar", columns: str = "[A]") -> str:
    """A mapping with one person object and one field line under test."""
    custom_part = f", custom: {custom}" if custom else ""
    return (
        HEAD
        + "objects:\n- id: p\n  source: [patients]\n  targets: [person]\n"
        + "  cardinality: one_to_one\n  key: [ID]\n  fields:\n"
        + f"  - {{columns: {columns}, field: X{custom_part}, transform: '{transform}'}}\n"
    )


def row(values: dict[str, str], line: int = 2) -> Row:
    """A source row of patients.csv."""
    return Row({"ID": "1", **values}, "patients.csv", line)


#: transform spec, cell, custom type, expected value of field X.
CASES: list[tuple[str, Any, str | None, Any]] = [
    ("date(dayfirst)", "05/03/2024", "date", "2024-03-05"),
    ("datetime(dayfirst)", "06/10/2024 02:30", None, "2024-10-05T16:30:00Z"),  # DST gap
    ("datetime(dayfirst)", "07/04/2024 02:30", None, "2024-04-06T15:30:00Z"),  # DST overlap
    ("datetime(dayfirst, tz=Australia/Darwin)", "06/10/2024 02:30", None, "2024-10-05T17:00:00Z"),
    ("time", "9:30 PM", "time", "21:30"),
    ("null_dates | date", "0001-01-01", "date", None),
    (
        "phone(AU)",
        "0412 345 678",
        "phone",
        [{"value": "+61412345678", "label": "mobile", "primary": True}],
    ),
    ("email", " Ann@Example.com ", None, "Ann@example.com"),
    ("money(AUD)", "$1,234.50", "monetary", {"value": 1234.5, "currency": "AUD"}),
    ("money(AUD, number)", "$1,234.50", "double", 1234.5),
    ("decimal", "80%", "double", 80),
    ("int", "12", "double", 12),
    ("bool", "Y", "enum", "Yes"),
    ("html_to_text", "<p>a</p><p>b</p>", "text", "a\n\nb"),
    ("html_sanitize", '<p onclick="x()">a<script>b</script></p>', "text", "<p>a</p>"),
    ("split_name(first)", "Smith, John A", None, "John"),
    ("split | join", "a;b;a", None, "a, b"),
    ("default(Unknown)", "", None, "Unknown"),
    ("truncate(5)", "abcdefgh", None, "abcde"),
    ("strip | upper", " ab ", None, "AB"),
    ("lower", "AB", None, "ab"),
    ("text", "0800", None, "0800"),
    ("lookup(status)", "archived", None, "Old"),
]


@pytest.mark.parametrize(("spec", "cell", "custom", "expected"), CASES)
def test_each_transform_in_a_field_line(
    spec: str, cell: str, custom: str | None, expected: Any
) -> None:
    """Each transform, used in a mapping line, gives the exact API value."""
    mapping = parse_text(one_line(spec, custom))[0]
    result = apply_object(mapping, mapping.objects[0], [row({"A": cell})])
    assert result.payloads[0].fields.get("X") == expected


def test_concat_joins_several_columns_in_order() -> None:
    """concat takes several columns and skips blanks."""
    mapping = parse_text(one_line('concat(", ")', None, "[A, B, C]"))[0]
    result = apply_object(
        mapping, mapping.objects[0], [row({"A": "1 Main St", "B": "", "C": "Sydney"})]
    )
    assert result.payloads[0].fields["X"] == "1 Main St, Sydney"


def test_cases_cover_every_registered_transform() -> None:
    """The table above uses every transform of the registry (concat is tested apart)."""
    used = {step.split("(")[0].strip() for spec, *_ in CASES for step in spec.split("|")}
    assert set(registry()) - used == {"concat"}


def test_bad_value_is_a_finding_not_an_exception() -> None:
    """An unparseable date leaves the field empty and reports file:line and column."""
    mapping = parse_text(one_line("date(dayfirst)", "date"))[0]
    result = apply_object(mapping, mapping.objects[0], [row({"A": "31/31/2024"}, line=7)])
    assert "X" not in result.payloads[0].fields
    problem = result.findings[0]
    assert (problem.file, problem.line, problem.column, problem.object) == (
        "patients.csv",
        7,
        "A",
        "p",
    )
    assert problem.code.startswith("date.")


def test_value_map_maps_and_flags_unmapped() -> None:
    """A value-mapped line maps known values and reports unknown ones, leaving them empty."""
    text = one_line("strip", "enum").replace(
        "transform: 'strip'", "transform: strip, values: status"
    )
    mapping = parse_text(text)[0]
    good = apply_object(mapping, mapping.objects[0], [row({"A": " active "})])
    assert good.payloads[0].fields["X"] == "Current"
    bad = apply_object(mapping, mapping.objects[0], [row({"A": "Moved"})])
    assert "X" not in bad.payloads[0].fields
    assert [f.code for f in bad.findings] == ["value_map.unmapped"]


def _mapping(system: str) -> Any:
    profile = load_profile(system)
    return propose(profile, settings_for(profile), documented_tables(profile)).mapping


def test_missing_email_sets_the_flag_and_never_invents_an_address() -> None:
    """Blank or placeholder emails give "Email missing" = Yes and no emails at all."""
    mapping = _mapping("corepractice")
    obj = mapping.object("patient_person")
    rows = [
        Row(
            {"Patient ID": "1", "First Name": "A", "Last Name": "B", "Email": "none@none.com"},
            "patients.csv",
            2,
        ),
        Row(
            {"Patient ID": "2", "First Name": "C", "Last Name": "D", "Email": ""}, "patients.csv", 3
        ),
        Row(
            {"Patient ID": "3", "First Name": "E", "Last Name": "F", "Email": "e@f.com.au"},
            "patients.csv",
            4,
        ),
    ]
    result = apply_object(mapping, obj, rows)
    flags = [(p.fields.get("Email missing"), p.fields.get("emails")) for p in result.payloads]
    assert flags == [
        ("Yes", None),
        ("Yes", None),
        (None, [{"value": "e@f.com.au", "primary": True, "label": "work"}]),
    ]
    assert [f.code for f in result.findings] == ["email.placeholder", "email.missing"]
    assert result.payloads[0].fields["Source ID"] == "corepractice/patient_person/1"
    assert result.payloads[0].fields["name"] == "A B"


def test_grouped_plan_items_roll_up_into_one_deal_with_a_note_table() -> None:
    """Plan items: value = sum Fee x Qty, codes joined, stage and probability, item table note."""
    mapping = _mapping("corepractice")
    obj = mapping.object("treatment_plan_deal")
    base = {
        "Plan ID": "7",
        "Patient ID": "1",
        "Plan Name": "Crowns",
        "Created": "02/01/2024",
        "Plan Status": "Accepted",
        "Practitioner": "Lyons, F",
    }
    rows = [
        Row(
            {**base, "Item Code": "613", "Fee": "$1,200.00", "Qty": "2", "Gap": "100"},
            "treatment_plans.csv",
            2,
        ),
        Row(
            {**base, "Item Code": "011", "Fee": "60", "Qty": "", "Gap": "20.50"},
            "treatment_plans.csv",
            3,
        ),
    ]
    result = apply_object(mapping, obj, rows)
    deal = result.of("treatment_plan_deal", "deal")[0]
    assert deal.fields["value"] == 2460
    assert deal.fields["Procedure Codes"] == "613, 011"
    assert deal.fields["Gap"] == {"value": 120.5, "currency": "AUD"}
    assert deal.fields["Source Created Date"] == "2024-01-02"
    assert (deal.fields["pipeline"], deal.fields["stage"], deal.fields["status"]) == (
        "Treatment Plans",
        "Accepted",
        "open",
    )
    pipeline = mapping.pipeline("Treatment Plans")
    assert pipeline is not None
    assert {s.name: s.probability for s in pipeline.stages} == {
        "Proposed": 20,
        "Accepted": 60,
        "In Progress": 80,
    }
    assert deal.links["person_id"] == Ref("patient_person", "1")
    note = result.of("treatment_plan_deal", "note")[0]
    assert note.links == {"deal_id": Ref("treatment_plan_deal", "7")}
    lines = note.fields["content"].splitlines()
    assert lines[0] == "[pdmigrate src=corepractice/treatment_plan_deal/7#table]"
    assert lines[3].startswith("7 | 1 | Crowns | 02/01/2024 | Accepted | 613")


def test_claim_lines_group_into_deals_won_lost_by_status() -> None:
    """Claim lines by Claim Number: open stage, Paid -> won at Paid Date, Closed unpaid -> lost."""
    mapping = _mapping("advancedpm")
    obj = mapping.object("claim_deal")

    def line(claim: str, status: str, paid: str, balance: str) -> Row:
        return Row(
            {
                "Claim Number": claim,
                "Visit ID": "1",
                "Chart Number": "C1",
                "Claim Status": status,
                "Paid": paid,
                "Balance": balance,
                "Charge": "100",
                "Paid Date": "03/05/2024",
                "CPT/HCPCS": "99213",
            },
            "claims.csv",
            2,
        )

    rows = [
        line("A", "Submitted", "0", "80"),
        line("A", "Submitted", "0", "20"),
        line("B", "Paid", "100", "0"),
        line("C", "Closed", "0", "40"),
    ]
    deals = {
        p.source_key.rsplit("/", 1)[1]: p.fields for p in apply_object(mapping, obj, rows).payloads
    }
    assert (deals["A"]["stage"], deals["A"]["value"]) == ("Submitted", 100)
    assert (deals["B"]["status"], deals["B"]["won_time"], deals["B"]["value"]) == (
        "won",
        "2024-03-05T00:00:00Z",
        0,
    )
    assert (deals["C"]["status"], deals["C"]["lost_reason"]) == ("lost", "Closed unpaid")
    submitted = next(s for s in mapping.pipeline("Claims").stages if s.name == "Submitted")  # type: ignore[union-attr]
    assert submitted.probability == 50


def test_one_firm_client_row_becomes_an_organization_and_a_person() -> None:
    """practicemaster: a firm client's rows give one organization and its Contact as the person."""
    mapping = _mapping("practicemaster")
    profile = load_profile("practicemaster")
    ctx = ApplyContext(
        firm_name_patterns=profile.system.firm_name_patterns,
        firm_categories=profile.system.firm_categories,
    )
    rows = [
        Row(
            {
                "Client ID": "1008.001",
                "Name": "Summers & Vasquez LLC",
                "Contact": "Jo Summers",
                "Status": "Active",
                "Open Date": "03/02/2020",
                "Work Description": "Lease",
            },
            "CMCLIENT.csv",
            2,
        ),
        Row(
            {
                "Client ID": "1008.002",
                "Name": "Summers & Vasquez LLC",
                "Contact": "Jo Summers",
                "Status": "Closed",
                "Open Date": "01/15/2019",
                "Close Date": "06/30/2021",
                "Work Description": "Dispute",
            },
            "CMCLIENT.csv",
            3,
        ),
        Row(
            {
                "Client ID": "1009.001",
                "Name": "Ann Lee",
                "Contact": "",
                "Status": "Billed",
                "Open Date": "01/01/2022",
                "Work Description": "Will",
            },
            "CMCLIENT.csv",
            4,
        ),
    ]
    result = apply_rows(mapping, {"cmclient": rows}, ctx)
    people = {p.source_key: p.fields["name"] for p in result.of("client_person", "person")}
    assert people == {
        "practicemaster/client_person/1008": "Jo Summers",
        "practicemaster/client_person/1009": "Ann Lee",
    }
    orgs = result.of("client_organization", "organization")
    assert [(o.source_key, o.fields["name"], o.fields["add_time"]) for o in orgs] == [
        ("practicemaster/client_organization/1008", "Summers & Vasquez LLC", "2019-01-15")
    ]
    matters = {p.source_key.rsplit("/", 1)[1]: p for p in result.of("matter_deal", "deal")}
    assert set(matters) == {"1008.001", "1008.002", "1009.001"}
    assert matters["1008.002"].fields["status"] == "won"
    assert matters["1008.002"].fields["won_time"] == "2021-06-30T00:00:00Z"
    assert matters["1009.001"].fields["stage"] == "Billed"
    assert matters["1008.002"].links["person_id"] == Ref("client_person", "1008", "before_dot")
    assert matters["1008.002"].links["org_id"] == Ref("client_organization", "1008", "before_dot")


def test_fees_sum_into_the_matter_deal_value_and_fields() -> None:
    """CMFEES rows grouped by matter update its deal: value = billable sum, hours, rate."""
    mapping = _mapping("practicemaster")
    obj = mapping.object("fee_fields")
    rows = [
        Row(
            {
                "Client ID": "1.001",
                "Hours Billed": "2",
                "Amount": "400",
                "Timekeeper": "3",
                "Date": "01/02/2024",
                "Billing Status": "Billable",
            },
            "CMFEES.csv",
            2,
        ),
        Row(
            {
                "Client ID": "1.001",
                "Hours Billed": "1",
                "Amount": "100",
                "Timekeeper": "3",
                "Date": "01/03/2024",
                "Billing Status": "No charge",
            },
            "CMFEES.csv",
            3,
        ),
    ]
    payload = apply_object(mapping, obj, rows).payloads[0]
    assert payload.update_of == Ref("matter_deal", "1.001")
    assert payload.fields["value"] == 400
    assert payload.fields["Fee Hours"] == 3
    assert payload.fields["Fee Total"] == {"value": 500, "currency": "USD"}
    assert payload.fields["Fee Rate"] == {"value": 166.67, "currency": "USD"}


def test_kpis_pivot_into_organization_fields() -> None:
    """Long KPI rows: latest practice-level value per Metric becomes a number field."""
    mapping = _mapping("practicebynumbers")
    obj = mapping.object("kpi_fields")
    rows = [
        Row(
            {
                "Date": "01/31/2024",
                "Practice": "P1",
                "Provider": "",
                "Metric": "Flow Score",
                "Value": "70",
            },
            "kpis.csv",
            2,
        ),
        Row(
            {
                "Date": "02/29/2024",
                "Practice": "P1",
                "Provider": "",
                "Metric": "Flow Score",
                "Value": "75.5",
            },
            "kpis.csv",
            3,
        ),
        Row(
            {
                "Date": "02/29/2024",
                "Practice": "P1",
                "Provider": "DR1",
                "Metric": "Flow Score",
                "Value": "99",
            },
            "kpis.csv",
            4,
        ),
        Row(
            {
                "Date": "01/31/2024",
                "Practice": "P1",
                "Provider": "",
                "Metric": "Acceptance Rate",
                "Value": "61%",
            },
            "kpis.csv",
            5,
        ),
    ]
    result = apply_object(mapping, obj, rows)
    org = result.of("kpi_fields", "organization")[0]
    assert org.fields == {"Flow Score": 75.5, "Acceptance Rate": 61.0}
    assert org.update_of == Ref("practice_organization", "P1")
    assert result.of("kpi_fields", "note")[0].links == {
        "org_id": Ref("practice_organization", "P1")
    }


def test_appointment_becomes_an_activity_in_utc_with_marker() -> None:
    """corepractice Cancelled appointment: done task, prefixed subject, UTC due time, marker."""
    mapping = _mapping("corepractice")
    obj = mapping.object("appointment_activity")
    rows = [
        Row(
            {
                "Appointment ID": "9",
                "Patient ID": "1",
                "Patient Name": "Ann Lee",
                "Date": "06/10/2024",
                "Start": "09:30",
                "Duration": "45",
                "Status": "Cancelled",
                "Appointment Type": "Check-up",
                "Location": "City",
                "Chair/Room": "Chair 2",
            },
            "appointments.csv",
            5,
        )
    ]
    activity = apply_object(mapping, obj, rows).payloads[0]
    assert activity.fields["type"] == "task"
    assert activity.fields["subject"] == "Cancelled: Check-up: Ann Lee"
    assert activity.fields["done"] is True
    assert (activity.fields["due_date"], activity.fields["due_time"]) == ("2024-10-05", "22:30")
    assert activity.fields["duration"] == "00:45"
    assert activity.fields["location"] == "City, Chair 2"
    assert activity.fields["note"].splitlines()[0] == (
        "[pdmigrate src=corepractice/appointment_activity/9 at=2024-10-06T09:30 "
        "tz=Australia/Sydney status=Cancelled]"
    )
    assert activity.links["participants"] == (Ref("patient_person", "1"),)
    assert "Source ID" not in activity.fields


def test_not_migrated_objects_give_no_payload() -> None:
    """A not_migrated object writes nothing and is listed with its reason."""
    mapping = _mapping("corepractice")
    assert apply_object(mapping, mapping.object("reminders"), [row({})]).payloads == []
    reasons = {n.object: n.reason for n in mapping.not_migrated if n.column is None}
    assert reasons["reminders"].startswith("configuration, not records")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "Plan ID",
                    "Patient ID",
                    "Fee",
                    "Qty",
                    "Plan Status",
                    "Created",
                    "Item Code",
                    "Gap",
                    "Practitioner",
                    "Plan Name",
                ]
            ),
            st.text(max_size=20),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_apply_never_raises_on_bad_rows(rows: list[dict[str, str]]) -> None:
    """Random cells give payloads or findings, never an exception."""
    mapping = MAPPING_CP
    for obj_id in ("treatment_plan_deal", "patient_person", "appointment_activity"):
        result = apply_object(
            mapping, mapping.object(obj_id), [Row(r, "x.csv", i + 2) for i, r in enumerate(rows)]
        )
        assert all(p.object == obj_id for p in result.payloads)


MAPPING_CP = _mapping("corepractice")


def test_client_rows_give_a_primary_and_extra_persons_and_the_practice_root() -> None:
    """visualpractice: rows sharing a Client ID are the primary person and ClientID#n extras."""
    mapping = _mapping("visualpractice")
    rows = [
        Row(
            {"Client ID": "C1", "First Name": "Jill", "Last Name": "Lee", "Company": "Acme Ltd"},
            "clients.csv",
            2,
        ),
        Row(
            {"Client ID": "C1", "First Name": "Tom", "Last Name": "Lee", "Company": "Acme Ltd"},
            "clients.csv",
            3,
        ),
    ]
    result = apply_rows(mapping, {"clients": rows}, ApplyContext(practice_name="Bay Physio"))
    people = {p.source_key: p.fields["name"] for p in result.of("client_person", "person")}
    assert people == {
        "visualpractice/client_person/C1": "Jill Lee",
        "visualpractice/client_person/C1#2": "Tom Lee",
    }
    orgs = {p.source_key: p.fields["name"] for p in result.of("practice_organization")}
    assert orgs == {
        "visualpractice/practice_organization/practice": "Bay Physio",
        "visualpractice/practice_organization/Acme Ltd": "Acme Ltd",
    }


def test_one_log_file_gives_call_activities_and_notes() -> None:
    """advancedpm call_log: Kind Call -> done call activity; Kind Note -> person note."""
    mapping = _mapping("advancedpm")
    rows = [
        Row(
            {
                "Log ID": "1",
                "Chart Number": "A1",
                "Date": "03/05/2024 10:00",
                "Kind": "Call",
                "Text": "rang back",
            },
            "call_log.csv",
            2,
        ),
        Row(
            {
                "Log ID": "2",
                "Chart Number": "A1",
                "Date": "03/05/2024 11:00",
                "Kind": "Note",
                "Text": "<p>asked for <b>invoice</b></p>",
            },
            "call_log.csv",
            3,
        ),
    ]
    result = apply_object(mapping, mapping.object("call_note_log"), rows)
    assert [(p.entity, p.source_key) for p in result.payloads] == [
        ("activity", "advancedpm/call_note_log/1"),
        ("note", "advancedpm/call_note_log/2"),
    ]
    call, note = result.payloads
    assert (call.fields["type"], call.fields["done"]) == ("call", True)
    assert note.fields["content"].splitlines()[1:] == ["asked for invoice"]
    assert note.fields["add_time"] == "2024-03-05T18:00:00Z"
    assert note.links["person_id"] == Ref("patient_person", "A1")


def test_a_column_marked_not_migrated_is_skipped() -> None:
    """Listing a column under not_migrated (with a reason) drops its field line from payloads."""
    text = one_line("strip", None) + (
        "not_migrated:\n- {object: patients, column: A, reason: not wanted in the CRM}\n"
    )
    mapping = parse_text(text)[0]
    result = apply_object(mapping, mapping.objects[0], [row({"A": "x"})])
    assert "X" not in result.payloads[0].fields


MAPPINGS = {
    s: _mapping(s)
    for s in ("advancedpm", "practicebynumbers", "practicemaster", "visualpractice", "generic")
}
CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "0001-01-01",
            "31/02/2024",
            "$-1,0.0",
            "Y",
            "N",
            "1234.010",
            "<p>x</p>",
            "a@b",
            "+61",
            "Closed",
            "Paid",
            "12:99",
            "-",
            "\x00",
        ]
    ),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(MAPPINGS)), st.data())
def test_every_object_of_every_system_survives_random_rows(
    system: str, data: st.DataObject
) -> None:
    """Every mapping object of every profile returns payloads or findings on random cells."""
    mapping = MAPPINGS[system]
    profile = load_profile(system)
    for obj in mapping.objects:
        if obj.primary is None:
            continue
        columns = [c.name for c in profile.object(obj.primary).columns]
        rows = data.draw(
            st.lists(st.fixed_dictionaries(dict.fromkeys(columns, CELLS)), min_size=1, max_size=3)
        )
        result = apply_object(mapping, obj, [Row(r, "x.csv", i + 2) for i, r in enumerate(rows)])
        assert all(p.object == obj.id for p in result.payloads)


def test_plan_items_without_presented_date_group_by_planned_date() -> None:
    """practicebynumbers: no Date Presented -> grouped by Date Planned; fields follow the deal."""
    mapping = MAPPINGS["practicebynumbers"]

    def item(proc: str, presented: str, planned: str, fee: str) -> Row:
        return Row(
            {
                "Practice": "P1",
                "Patient ID": "7",
                "Procedure ID": proc,
                "Code": "D2740",
                "Fee": fee,
                "Date Presented": presented,
                "Date Planned": planned,
                "Status": "TP",
                "Ins Estimate": "10",
            },
            "treatment_plans.csv",
            int(proc) + 1,
        )

    rows = [
        item("1", "", "01/05/2024", "100"),
        item("2", "", "01/05/2024", "50"),
        item("3", "02/01/2024", "01/20/2024", "70"),
    ]
    deals = apply_object(mapping, mapping.object("treatment_plan_deal"), rows).payloads
    assert {d.source_key.split("/", 2)[2]: d.fields["value"] for d in deals} == {
        "P1|7|01/05/2024": 150,
        "P1|7|02/01/2024": 70,
    }
    extra = apply_object(mapping, mapping.object("insurance_fields"), rows).payloads
    assert sorted(p.update_of.key for p in extra if p.update_of) == [
        "P1|7|01/05/2024",
        "P1|7|02/01/2024",
    ]
