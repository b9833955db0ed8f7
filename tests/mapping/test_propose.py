"""The proposal: landing defaults, header matching, sniffing, account fields, compatibility."""

from __future__ import annotations

import pytest
from tests.mapping.conftest import documented_tables, settings_for

from pdmigrate.mapping.compat import sentence
from pdmigrate.mapping.headers import canonical, match_headers
from pdmigrate.mapping.model import Settings
from pdmigrate.mapping.names import equivalent_name
from pdmigrate.mapping.propose import TableSample, propose
from pdmigrate.mapping.sniff import sniff
from pdmigrate.profiles import load_profile

#: Landing rules §7, the decided table.
SECTION_7 = {
    "advancedpm": (9, 12, 75),
    "corepractice": (7, 12, 58),
    "practicebynumbers": (9, 12, 75),
    "practicemaster": (7, 11, 64),
    "visualpractice": (8, 12, 67),
}


@pytest.mark.parametrize(("system", "expected"), sorted(SECTION_7.items()))
def test_compatibility_reproduces_section_7(system: str, expected: tuple[int, int, int]) -> None:
    """native / total / percent of each system's default mapping equal landing rules §7."""
    profile = load_profile(system)
    compat = propose(profile, settings_for(profile), documented_tables(profile)).mapping
    assert compat.compatibility is not None
    got = compat.compatibility
    assert (got.native, got.total, got.percent) == expected


def test_compatibility_sentence_for_corepractice() -> None:
    """The human summary counts mapped, native, one-to-many, field-only and unmigrated objects."""
    profile = load_profile("corepractice")
    mapping = propose(profile, settings_for(profile), documented_tables(profile)).mapping
    assert mapping.compatibility is not None
    assert sentence(mapping.compatibility) == (
        "10 of 12 source objects map: 7 one to one onto a native Pipedrive object, "
        "1 one to many, 2 to custom fields, 2 not migrated; 58% compatible"
    )


def _patients_csv() -> TableSample:
    headers = (
        "PATIENT_NO",
        "FIRST",
        "LAST",
        "BIRTHDATE",
        "ADDRESS",
        "ZIP",
        "EMAIL_ADDR",
        "CELL",
        "GENDER",
        "SSN",
        "INSURANCE_PLAN",
        "BALANCE",
        "VIP",
    )
    samples = {
        "PATIENT_NO": ["1001", "1002", "1003", "1004"],
        "FIRST": ["Ann", "Bo", "Cy", "Di"],
        "LAST": ["Lee", "Ng", "Oh", "Po"],
        "BIRTHDATE": ["03/14/1980", "12/01/1975", "07/30/2001", "01/02/1990"],
        "ADDRESS": ["1 Main St", "2 High St", "3 Low Rd", "4 Side Ave"],
        "ZIP": ["02110", "94107", "10001", "60601"],
        "EMAIL_ADDR": ["ann@example.com", "bo@example.org", "", "di@example.net"],
        "CELL": ["(617) 555-0100", "415-555-0101", "212 555 0102", "+1 312 555 0103"],
        "GENDER": ["F", "M", "F", "X"],
        "SSN": ["123-45-6789", "987-65-4321", "111-22-3333", "444-55-6666"],
        "INSURANCE_PLAN": ["Gold", "Silver", "Gold", "Bronze"],
        "BALANCE": ["$12.00", "$0.00", "$150.50", "$3.25"],
        "VIP": ["Y", "N", "N", "Y"],
    }
    distinct = {h: tuple(sorted(set(v) - {""})) for h, v in samples.items()}
    return TableSample("patients.csv", None, headers, samples, distinct, rows=4)


def test_generic_profile_maps_an_unknown_patients_csv() -> None:
    """An unprofiled patients.csv gets a usable person mapping from headers and values."""
    profile = load_profile("generic")
    settings = Settings(country="US", timezone="America/New_York", currency="USD", date_order=None)
    proposal = propose(profile, settings, [_patients_csv()])
    mapping = proposal.mapping
    assert [o.id for o in mapping.objects] == ["contact_person"]
    person = mapping.object("contact_person")
    fields = {tuple(f.columns): (f.field, f.custom, f.transform) for f in person.fields}
    assert fields[("First Name",)] == ("first_name", None, "strip")
    assert fields[("Last Name",)] == ("last_name", None, "strip")
    assert fields[("Date of Birth",)] == ("birthday", None, "null_dates | date(monthfirst)")
    assert fields[("Email",)] == ("emails", None, "email")
    assert fields[("Mobile",)] == ("phones", None, "phone(US)")
    assert fields[("Address", "Postcode")] == ("postal_address", None, 'concat(", ")')
    assert fields[("GENDER",)] == ("Gender", "enum", "strip")
    assert fields[("INSURANCE_PLAN",)] == ("Insurance Plan", "enum", "strip")
    assert fields[("BALANCE",)] == ("Balance", "monetary", "money(USD)")
    assert fields[("VIP",)] == ("VIP", "enum", "bool")
    assert person.key == ["ID"]
    assert mapping.sources["contacts"].headers["PATIENT_NO"] == "ID"
    assert mapping.settings.date_order == "mdy"
    assert mapping.value_maps["contacts.VIP"] == {"N": None, "Y": "Yes"}
    assert mapping.value_maps["contacts.INSURANCE_PLAN"] == {
        "Bronze": "Bronze",
        "Gold": "Gold",
        "Silver": "Silver",
    }
    ssn = [n for n in mapping.not_migrated if n.column == "SSN"]
    assert ssn
    assert "government" in ssn[0].reason
    assert person.email_missing
    assert person.source_id


def test_unknown_columns_are_proposed_never_dropped() -> None:
    """Every header of the file is a field line, a key or link, or listed as not migrated."""
    profile = load_profile("generic")
    settings = Settings(country="US", timezone="UTC", currency="USD", date_order="mdy")
    table = _patients_csv()
    mapping = propose(profile, settings, [table]).mapping
    renames = mapping.sources["contacts"].headers
    person = mapping.object("contact_person")
    used = {c for f in person.fields for c in f.columns} | set(person.key)
    left = {n.column for n in mapping.not_migrated}
    for header in table.headers:
        name = renames.get(header, header)
        assert name in used or name in left, header


def test_existing_account_field_is_reused_not_duplicated() -> None:
    """A custom field whose name matches an account field (§6 word sets) reuses it."""
    profile = load_profile("corepractice")
    existing = {"person": ["Patient_Status__c", "Name"], "deal": ["fund estimate"]}
    mapping = propose(profile, settings_for(profile), documented_tables(profile), existing).mapping
    person = mapping.object("patient_person")
    status = next(f for f in person.fields if f.columns == ["Status"])
    assert (status.field, status.reuse) == ("Patient_Status__c", True)
    deal = mapping.object("treatment_plan_deal")
    fund = next(f for f in deal.fields if f.columns == ["Fund Estimate"])
    assert (fund.field, fund.reuse) == ("fund estimate", True)
    gap = next(f for f in deal.fields if f.columns == ["Gap"])
    assert (gap.field, gap.reuse) == ("Gap", False)


def test_equivalent_names_follow_section_6() -> None:
    """__c dropped, _ split, Pct = %, word sets compared ignoring case."""
    assert equivalent_name("Coverage %", ["Coverage_Pct__c"]) == "Coverage_Pct__c"
    assert equivalent_name("Insurance Provider", ["insurance provider"]) == "insurance provider"
    assert equivalent_name("Insurance Provider", ["Insurance Plan"]) is None


def test_renamed_headers_match_through_synonyms() -> None:
    """Headers beyond the profile's aliases match through the synonym table."""
    obj = load_profile("corepractice").object("patients")
    found = match_headers(obj, ["Pt Surname", "Birth Dt", "Mobile #", "Zip/Postal", "Foo Bar"])
    assert {h: m.column for h, m in found.items()} == {
        "Pt Surname": "Last Name",
        "Birth Dt": "Date of Birth",
        "Mobile #": "Mobile",
        "Zip/Postal": "Postcode",
    }
    assert all(m.confidence < 1.0 for h, m in found.items() if h != "Mobile #")
    assert canonical("Birth Dt") == "date of birth"


def test_low_confidence_lines_and_unmapped_values_are_listed() -> None:
    """A fuzzy header gives a review item; a status value with no rule is flagged."""
    profile = load_profile("corepractice")
    table = TableSample(
        "treatment_plans.csv",
        "treatment_plans",
        ("Plan ID", "Patient ID", "Plan Status", "Item Code", "Fee", "Qty", "Gap Amnt"),
        samples={"Plan Status": ["Proposed", "On Hold"]},
        distinct={"Plan Status": ("On Hold", "Proposed"), "Gap Amnt": ("1",)},
    )
    proposal = propose(profile, settings_for(profile), [table])
    reasons = {(r.column, r.reason) for r in proposal.review}
    no_rule = "status value has no stage, won or lost rule (default applies)"
    assert ("Plan Status", no_rule) in reasons
    gap = next(f for f in proposal.mapping.object("treatment_plan_deal").fields if f.field == "Gap")
    assert gap.confidence < 0.8
    assert ("Gap", "low-confidence header match") in reasons


def test_distinct_pick_list_values_fill_value_maps_with_unmapped_flagged() -> None:
    """Values found in the data become value-map entries; one with no option maps to null."""
    profile = load_profile("corepractice")
    table = TableSample(
        "patients.csv",
        "patients",
        ("Patient ID", "First Name", "Last Name", "Status"),
        samples={"Status": ["Active", "Archived", "Moved away"]},
        distinct={"Status": ("Active", "Archived", "Moved away")},
    )
    proposal = propose(profile, settings_for(profile), [table])
    assert proposal.mapping.value_maps["patients.Status"] == {
        "Active": "Active",
        "Archived": "Archived",
        "Moved away": None,
    }
    flagged = "value not mapped to an option: patients.Status"
    assert any(r.reason == flagged for r in proposal.review)


def test_sniffing_kinds() -> None:
    """Values are classified as email, phone, date, money, yes/no and pick-list."""
    assert sniff(["a@b.com", "c@d.org"]).kind == "email"
    assert sniff(["(02) 9876 5432", "0412 345 678"]).kind == "phone"
    assert sniff(["03/05/2024", "12/31/1999"]).kind == "date"
    assert sniff(["$12.00", "$3.50"]).kind == "money"
    assert sniff(["Y", "N", "Y"]).kind == "bool"
    assert sniff(["Gold", "Silver", "Gold"]).kind == "enum"
    assert sniff(["free text one", "free text two"]).kind == "text"


def test_word_overlap_is_a_last_resort_listed_for_review() -> None:
    """A header sharing most words with one free column matches it below 0.8 confidence."""
    obj = load_profile("practicemaster").object("cmfees")
    found = match_headers(obj, ["Total Billed Hrs", "Zzz Qqq"])
    assert {h: (m.column, m.confidence, m.how) for h, m in found.items()} == {
        "Total Billed Hrs": ("Hours Billed", 0.6, "overlap")
    }


def test_long_values_make_a_text_field_not_a_truncated_varchar() -> None:
    """An unknown column with values over 255 characters becomes a text field (§6)."""
    profile = load_profile("generic")
    settings = Settings(country="US", timezone="UTC", currency="USD", date_order="mdy")
    long_note = "x" * 300
    table = TableSample(
        "patients.csv",
        None,
        ("ID", "First Name", "Last Name", "History", "Nickname"),
        samples={"History": [long_note, "short"], "Nickname": ["Al", "Bo", "Cy"]},
        distinct={"History": None, "Nickname": ("Al", "Bo", "Cy")},
    )
    person = propose(profile, settings, [table]).mapping.object("contact_person")
    lines = {f.columns[0]: (f.custom, f.transform) for f in person.fields}
    assert lines["History"] == ("text", "strip")
    assert lines["Nickname"] == ("varchar", "strip | truncate(255)")
