"""Profiles: every built-in profile loads and validates; broken ones fail clearly; headers match."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmigrate.errors import ConfigError
from pdmigrate.profiles import (
    PROFILE_DIR,
    detect_header,
    list_profiles,
    load_profile,
    load_profile_file,
    match_file,
    normalise_header,
)

ALL = [
    "advancedpm",
    "corepractice",
    "generic",
    "practicebynumbers",
    "practicemaster",
    "visualpractice",
]
BUILT = [name for name in ALL if (PROFILE_DIR / f"{name}.yaml").is_file()]


def _raw(name: str) -> dict[str, object]:
    data = yaml.safe_load((PROFILE_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("name", BUILT)
def test_profile_loads_and_validates(name: str) -> None:
    """Each shipped profile validates against the schema and names itself after its file."""
    profile = load_profile(name)
    assert profile.name == name
    assert profile.objects


def test_practicemaster_objects_and_conventions() -> None:
    """practicemaster declares the CM* files, cp1252, month-first, and Client ID as text."""
    profile = load_profile("practicemaster")
    assert [o.name for o in profile.objects] == [
        "cmclient",
        "cmrelate",
        "cmxref",
        "cmjrnl",
        "cmcalendar",
        "cmcost",
        "cmfees",
    ]
    assert profile.system.encoding == "cp1252"
    assert profile.system.date_order == "MDY"
    assert profile.object("cmclient").column("Client ID").type == "id"
    assert profile.object("cmxref").key == ["Related Party Key", "Client ID"]
    assert profile.compatibility_ratio() == (7, 11, 64)


def test_practicemaster_matter_status_map() -> None:
    """Matter statuses map to the Matters stages and Closed wins, case-insensitively."""
    deal = next(x for x in load_profile("practicemaster").landing if x.id == "matter_deal")
    assert deal.pipeline is not None
    assert [(s.name, s.probability) for s in deal.pipeline.stages] == [
        ("Open", 50),
        ("On Hold", 30),
        ("Billed", 80),
    ]
    closed = deal.pipeline.rule_for("  closed ")
    assert closed is not None
    assert closed.status == "won"
    assert closed.time_from == "Close Date"
    inactive = deal.pipeline.rule_for("Inactive")
    assert inactive is not None
    assert inactive.stage == "On Hold"


def test_unknown_profile_is_config_error() -> None:
    """Asking for a system that has no profile is a ConfigError listing the known ones."""
    with pytest.raises(ConfigError, match="unknown source system 'dentrix'") as info:
        load_profile("dentrix")
    assert "practicemaster" in str(info.value)


def test_broken_profile_names_file_and_field(tmp_path: Path) -> None:
    """A bad column type is reported with the YAML file and the dotted field path."""
    data = _raw("practicemaster")
    objects = data["objects"]
    assert isinstance(objects, list)
    objects[0]["columns"][2]["type"] = "string"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_profile_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: field objects[cmclient].columns[Name Search].type:")


def test_broken_reference_names_the_landing(tmp_path: Path) -> None:
    """A landing that names an unknown source object is rejected with its id."""
    data = _raw("practicemaster")
    landing = data["landing"]
    assert isinstance(landing, list)
    landing[0]["objects"] = ["cmclients"]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown source object 'cmclients'"):
        load_profile_file(path)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    """Unparseable YAML is a ConfigError with file:line."""
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nobjects: [a, b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{path}:\d+: not valid YAML"):
        load_profile_file(path)


def test_salesforce_style_headers_normalise() -> None:
    """Insurance_Provider__c and Coverage_Pct__c fold to the Title Case names (§6)."""
    assert normalise_header("Insurance_Provider__c") == normalise_header("Insurance Provider")
    assert normalise_header("Coverage_Pct__c") == normalise_header("Coverage %")
    assert normalise_header("\ufeffPatient ID") == "patient id"
    assert normalise_header("InvoiceNo") == normalise_header("Invoice #")


def test_match_renamed_reordered_extra_headers() -> None:
    """A CMJRNL file with renamed, reordered and extra headers is still recognised."""
    profile = load_profile("practicemaster")
    headers = ["TEXT", "client_id", "Record Number", "Journal_Type__c", "date", "Billing Partner"]
    found = match_file(profile, "export_07.csv", headers)
    assert found.object == "cmjrnl"
    assert found.columns == {
        "TEXT": "Text",
        "client_id": "Client ID",
        "Record Number": "Record #",
        "Journal_Type__c": "Journal Type",
        "date": "Date",
    }
    assert 0.6 < found.confidence <= 1.0


def test_match_unrelated_header_is_none() -> None:
    """Headers of an unrelated file match no object."""
    found = match_file(load_profile("practicemaster"), "weather.csv", ["Station", "Rainfall mm"])
    assert found == (None, {}, 0.0)


def test_list_profiles_is_sorted_yaml_stems() -> None:
    """list_profiles returns the YAML stems in the profile folder, sorted."""
    assert list_profiles() == sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))
    assert set(BUILT) <= set(list_profiles())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("advancedpm", (9, 12, 75)),
        ("corepractice", (7, 12, 58)),
        ("practicebynumbers", (9, 12, 75)),
        ("practicemaster", (7, 11, 64)),
        ("visualpractice", (8, 12, 67)),
    ],
)
def test_compatibility_matches_landing_rules(name: str, expected: tuple[int, int, int]) -> None:
    """Each profile's landing entries reproduce the compatibility table of landing-rules §7."""
    assert load_profile(name).compatibility_ratio() == expected


@pytest.mark.parametrize("name", [n for n in BUILT if n != "generic"])
def test_every_system_has_a_rebuild_catalogue(name: str) -> None:
    """The five systems each carry known automations with a Pipedrive suggestion."""
    automations = load_profile(name).automations
    assert len(automations) >= 4
    assert all(a.pipedrive for a in automations)
    assert {a.kind for a in automations} & {"reminder", "recall"}


@pytest.mark.parametrize("name", BUILT)
def test_documented_headers_match_their_own_object(name: str) -> None:
    """Every object's documented header, reversed and with an extra column, matches itself."""
    profile = load_profile(name)
    for obj in profile.objects:
        headers = [c.name for c in reversed(obj.columns)] + ["Practice Custom 1"]
        found = match_file(profile, "export.csv", headers)
        assert found.object == obj.name
        assert found.columns == {c.name: c.name for c in obj.columns}


def test_file_name_breaks_ties_between_similar_objects() -> None:
    """CMFEES and CMCOST share columns; the file name decides and raises confidence."""
    profile = load_profile("practicemaster")
    headers = ["Client ID", "Date", "Description", "Rate", "Amount", "Billing Status"]
    assert match_file(profile, "CMFEES.csv", headers).object == "cmfees"
    assert match_file(profile, "CMCOST.csv", headers).object == "cmcost"


def test_corepractice_dates_day_first_and_text_codes() -> None:
    """corepractice is day-first AUD in Sydney, with Postcode and Item Code kept as text."""
    profile = load_profile("corepractice")
    assert (profile.system.date_order, profile.system.currency) == ("DMY", "AUD")
    assert profile.system.timezone == "Australia/Sydney"
    assert profile.object("patients").column("Postcode").type == "id"
    assert profile.object("treatment_plans").column("Item Code").type == "id"
    assert profile.object("invoices").file.title_rows is True


def test_activity_done_map_and_skip() -> None:
    """visualpractice appointments: Attended done, Booked open, Rescheduled skipped."""
    landing = next(
        x for x in load_profile("visualpractice").landing if x.id == "appointment_activity"
    )
    assert landing.activity is not None
    assert landing.activity.is_done("attended") is True
    assert landing.activity.is_done("Booked") is False
    assert landing.activity.skip_statuses == ["Rescheduled"]


def test_firm_name_patterns() -> None:
    """practicemaster treats LLC and '&' names as firms and a person's name as individual."""
    profile = load_profile("practicemaster")
    assert profile.is_firm_name("Acme Widgets, LLC")
    assert profile.is_firm_name("Smith & Jones")
    assert not profile.is_firm_name("Coleman, Mary")


def test_detect_header_skips_title_and_banner_rows() -> None:
    """A report with a title, a dentist banner and a blank row has its header at index 3."""
    rows = [
        ["Invoice Created Report"],
        ["Dentist: Lee, Amy", None, "Month: 2024-03"],
        [],
        ["Invoice No", "Invoice Date", "Patient", "Patient ID", "Dentist", "Item Code", "Total"],
        ["300001", "05/03/2024", "Smith, Jo", "10001", "Lee, Amy", "011", "65.00"],
    ]
    index, found = detect_header(load_profile("corepractice"), "report.xlsx", rows)
    assert index == 3
    assert found.object == "invoices"
    assert found.columns["Invoice No"] == "Invoice No"


def test_detect_header_without_any_header() -> None:
    """Rows that look like no object's header give index 0 and no match."""
    rows = [["1", "2"], ["3", "4"]]
    assert detect_header(load_profile("generic"), "x.csv", rows) == (0, (None, {}, 0.0))


def test_landings_for_an_object() -> None:
    """advancedpm appointments land as a deal, its stages, an activity and deal fields."""
    ids = [x.id for x in load_profile("advancedpm").landings_for("appointments")]
    assert ids == [
        "appointment_deal",
        "appointment_stages",
        "appointment_activity",
        "appointment_custom_fields",
    ]


def test_broken_stage_probability_names_the_nested_field(tmp_path: Path) -> None:
    """A probability over 100 is reported at landing[id].pipeline.stages[name].probability."""
    data = _raw("practicemaster")
    landing = data["landing"]
    assert isinstance(landing, list)
    deal = next(x for x in landing if x["id"] == "matter_deal")
    deal["pipeline"]["stages"][0]["probability"] = 150
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_profile_file(path)
    assert "field landing[matter_deal].pipeline.stages[Open].probability:" in str(info.value)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=12))
def test_match_file_never_crashes(headers: list[str]) -> None:
    """Any header row gives a match or none, with confidence in [0, 1] and real headers only."""
    found = match_file(load_profile("corepractice"), "x.csv", headers)
    assert 0.0 <= found.confidence <= 1.0
    assert set(found.columns) <= set(headers)
    assert (found.object is None) == (found.confidence == 0.0)
