"""The pure parts of delta: field-level patches, update-time comparison, foreign children."""

from __future__ import annotations

from pdmigrate.delta_diff import Children, field_patch, is_later, same


def test_patch_holds_only_changed_fields_and_their_old_values() -> None:
    """Equal values in Pipedrive's shapes are not rewritten; changed ones carry the old value."""
    body = {
        "name": "Ann Lee",
        "phones": [{"value": "555-0101", "primary": True, "label": "mobile"}],
        "emails": [{"value": "ann@example.com", "primary": True, "label": "work"}],
        "visible_to": 3,
        "add_time": "2020-01-01T00:00:00Z",
        "custom_fields": {"a" * 40: 12.5, "b" * 40: {"value": 10, "currency": "USD"}, "c" * 40: 7},
    }
    current = {
        "name": "Ann Lee",
        "phones": [{"value": "555-0100", "primary": True, "label": "mobile"}],
        "emails": [{"value": "ann@example.com", "primary": True, "label": "home"}],
        "visible_to": 1,
        "add_time": "2019-01-01T00:00:00Z",
        "custom_fields": {
            "a" * 40: "12.5",
            "b" * 40: {"value": 10, "currency": "USD"},
            "c" * 40: 8,
        },
        "job_title": "kept: not the mapping's field",
    }
    patch, old = field_patch(body, current)
    assert patch == {"phones": body["phones"], "custom_fields": {"c" * 40: 7}}
    assert old == {"phones": current["phones"], "custom_fields": {"c" * 40: 8}}


def test_same_understands_times_dates_and_address_objects() -> None:
    """HH:MM vs HH:MM:SS, an address object with more parts, empty vs null, bools."""
    assert same("14:30", "14:30:00")
    assert not same("14:30", "15:30:00")
    assert same({"value": "1 Main St"}, {"value": "1 Main St", "locality": "Springfield"})
    assert same("", None)
    assert not same("x", None)
    assert same(True, True)
    assert not same(True, False)
    assert same([3, 1], [1, 3])


def test_is_later_compares_v1_and_v2_times() -> None:
    """A later Pipedrive update_time than our last write means edited; unknown never does."""
    assert is_later("2025-07-02T10:00:01Z", "2025-07-02T10:00:00Z")
    assert not is_later("2025-07-02T10:00:00Z", "2025-07-02T10:00:00Z")
    assert is_later("2025-07-02 10:00:05", "2025-07-02T10:00:00Z")
    assert not is_later(None, "2025-07-02T10:00:00Z")
    assert not is_later("2025-07-02T10:00:00Z", None)


def test_children_not_created_by_pdmigrate_are_indexed_by_parent() -> None:
    """A staff note on a deal and a staff activity with a participant count; ours do not."""
    activities = [
        {"id": 1, "deal_id": 7, "person_id": 3, "participants": [{"person_id": 3}]},
        {"id": 2, "deal_id": None, "participants": [{"person_id": 4, "primary": True}]},
    ]
    notes = [{"id": 10, "deal_id": 7, "person_id": None}, {"id": 11, "person_id": 3}]
    kids = Children.build(activities, notes, {"activity": {"1"}, "note": {"11"}})
    assert kids.of("deal", 7) == ["note 10"]
    assert kids.of("person", 4) == ["activity 2"]
    assert kids.of("person", 3) == []
    assert kids.of("deal", "x") == []
