"""The field-level diff: the four statuses on constructed cases, and tolerant comparison."""

from __future__ import annotations

from pdmigrate.sample_diff import diff_record, expected_fields, same, status
from pdmigrate.state_ops import FieldKey

KEY = "a" * 40
KEYS = {("person", "Patient Status"): FieldKey("person", "Patient Status", KEY, "enum",
                                              {"Active": 7}, "created")}  # fmt: skip


def test_match_when_read_back_equals_expected_and_source() -> None:
    """A value that came back as sent, unchanged from the source, is a match."""
    assert status("Jane Smith", "Jane Smith", "Jane Smith") == "match"


def test_transformed_when_the_transform_changed_the_source_value() -> None:
    """A phone normalised by the mapping and read back as normalised is transformed."""
    assert status("(02) 5550 1234", "+61255501234", "+61255501234") == "transformed"


def test_mismatch_when_read_back_differs() -> None:
    """A value that came back different from the expected one is a mismatch."""
    assert status("Jane", "Jane", "Janet") == "mismatch"


def test_missing_when_nothing_came_back_or_field_not_written() -> None:
    """An expected value read back empty, or a field that had no place to go, is missing."""
    assert status("x", "x", None) == "missing"
    assert status("x", None, None, path_known=False) == "missing"


def test_same_tolerates_pipedrive_shapes() -> None:
    """Time formats, numbers, link objects and extra keys compare as equal; real changes do not."""
    assert same("2024-03-05T14:15:00Z", "2024-03-05 14:15:00")
    assert same("14:30", "14:30:00")
    assert same(120, "120.0")
    assert same(5, {"value": 5, "name": "Org"})
    assert same([{"value": "a@x.org", "primary": True}],
                [{"value": "a@x.org", "primary": True, "label": "work"}])  # fmt: skip
    assert same(True, 1)
    assert not same("2024-03-05", "2024-03-06")
    assert not same(120, 121)
    assert not same([{"value": "a@x.org"}], [{"value": "b@x.org"}])


def test_diff_record_names_custom_fields_and_every_status() -> None:
    """Custom field keys map back to the mapping's names; each line carries its status."""
    body = {"name": "Jane Smith", "phones": [{"value": "+61255501234"}],
            "custom_fields": {KEY: 7}, "org_id": 4, "visible_to": 3}  # fmt: skip
    fields = expected_fields(body, ["Dentist"], KEYS, "person")
    assert set(fields) == {"name", "phones", "Patient Status", "org_id", "Dentist"}
    record = {"name": "Jane Smith", "phones": [{"value": "+61255501234", "label": "work"}],
              "custom_fields": {KEY: 8}, "org_id": None}  # fmt: skip
    sources = {"name": "Jane Smith", "phones": "(02) 5550 1234", "Patient Status": "A"}
    lines = {d.field: d for d in diff_record("person", "pm/p/1", fields, record, sources)}
    assert {f: d.status for f, d in lines.items()} == {
        "name": "match",
        "phones": "transformed",
        "Patient Status": "mismatch",
        "org_id": "missing",
        "Dentist": "missing",
    }
    assert lines["Patient Status"].expected == "7"
    assert lines["Patient Status"].actual == "8"
    assert lines["phones"].source_value == "(02) 5550 1234"


def test_record_not_read_back_makes_every_line_missing() -> None:
    """When the record is gone from Pipedrive every field is missing."""
    fields = expected_fields({"name": "Jane"}, [], {}, "person")
    lines = diff_record("person", "pm/p/1", fields, None, {"name": "Jane"})
    assert [(d.field, d.status) for d in lines] == [("name", "missing")]
