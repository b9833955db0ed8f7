"""Payload -> request body: names to keys, values to the shapes Pipedrive takes, refs to ids."""

from __future__ import annotations

from dataclasses import replace

from tests.engine.loadkit import hand_plan

from pdmigrate.load_body import ABSENT, BodyContext, Uuid, build_body, custom_value
from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.plan.model import Owners
from pdmigrate.state_ops import FieldKey

KEYS = {
    ("person", "Source ID"): FieldKey("person", "Source ID", "a" * 40, "varchar", {}, "created"),
    ("person", "Status"): FieldKey("person", "Status", "b" * 40, "enum", {"Active": 7}, "created"),
    ("person", "Tags"): FieldKey("person", "Tags", "c" * 40, "set", {"A": 1, "B": 2}, "reused"),
    ("deal", "Fee"): FieldKey("deal", "Fee", "d" * 40, "monetary", {}, "created"),
    ("person", "Employer"): FieldKey("person", "Employer", "f" * 40, "org", {}, "created"),
    ("deal", "Opened"): FieldKey("deal", "Opened", "e" * 40, "date", {}, "created"),
    ("pipeline", "Matters"): FieldKey("pipeline", "Matters", "3", None, {}, "created"),
    ("stage", "Matters/Open"): FieldKey("stage", "Matters/Open", "11", None, {}, "created"),
    ("activity_type", "Court date"): FieldKey(
        "activity_type", "Court date", "court_date", None, {}, "created"
    ),
}
IDS = {
    ("organization", "employer:Acme"): 77,
    ("person", "p1"): 41,
    ("deal", "d1"): 52,
    ("lead", "l1"): "9c2e-uuid",
}


def _ctx(private: frozenset[str] = frozenset()) -> BodyContext:
    plan = replace(hand_plan(), private=private)
    owners = Owners(by_staff={"JG": 5}, fallback_user_id=9, unmatched=("XX",))

    def resolve(ref: Ref, entity: str) -> int | str:
        got = IDS.get((entity, ref.key))
        if got is None:
            return ABSENT if ref.key.startswith("gone") else "its record failed (HTTP 400)"
        return got if isinstance(got, int) else Uuid(got)

    return BodyContext(KEYS, owners, "AUD", resolve, plan.visible_to)


def test_person_fields_become_keys_option_ids_and_rfc3339_add_time() -> None:
    """Custom names -> 40-char keys, enum/set labels -> ids, date add_time -> RFC 3339."""
    p = Payload(
        "client", "person", "pm/client/1",
        {"name": "Ann", "add_time": "2020-02-03", "Status": "Active", "Tags": "A, B, Z",
         "Source ID": "pm/client/1", "owner_id": "JG", "postal_address": "1 Main St",
         "Unknown Column": "x"},
    )  # fmt: skip
    body = build_body(p, _ctx())
    assert body.body == {
        "name": "Ann",
        "add_time": "2020-02-03T00:00:00Z",
        "owner_id": 5,
        "postal_address": {"value": "1 Main St"},
        "visible_to": 7,
        "custom_fields": {"a" * 40: "pm/client/1", "b" * 40: 7, "c" * 40: [1, 2]},
    }
    assert body.dropped == ["Unknown Column"]


def test_deal_pipeline_stage_money_date_and_status_times() -> None:
    """Pipeline/stage names -> ids; money keeps its currency; won_time only on won deals."""
    p = Payload(
        "matter", "deal", "pm/matter/1",
        {"title": "M", "pipeline": "Matters", "stage": "Open", "status": "open",
         "won_time": "2021-01-01", "Fee": 12.5, "Opened": "2021-05-06T10:00:00Z", "value": "1,200"},
        {"person_id": Ref("client", "p1"), "owner_id": Ref("user", "XX")},
    )  # fmt: skip
    body = build_body(p, _ctx(private=frozenset({"pm/matter/1"}))).body
    assert body["pipeline_id"] == 3
    assert body["stage_id"] == 11
    assert "won_time" not in body
    assert body["value"] == 1200
    assert body["person_id"] == 41
    assert body["owner_id"] == 9  # unmatched staff -> the fallback owner
    assert body["visible_to"] == 1  # private in the source
    assert body["custom_fields"] == {"d" * 40: {"value": 12.5, "currency": "AUD"},
                                     "e" * 40: "2021-05-06"}  # fmt: skip


def test_activity_participants_type_and_missing_links_are_reported() -> None:
    """Participants from refs, custom type -> key_string; a failed link is reported."""
    p = Payload(
        "cal", "activity", "pm/cal/1",
        {"subject": "S", "type": "Court date", "due_time": "9:05", "done": "Y",
         "location": "Room 2", "note": "[pdmigrate src=pm/cal/1]"},
        {"participants": (Ref("client", "p1"), Ref("client", "px")),
         "deal_id": Ref("matter", "gone-1")},
    )  # fmt: skip
    body = build_body(p, _ctx())
    assert body.body["participants"] == [{"person_id": 41, "primary": True}]
    assert body.body["type"] == "court_date"
    assert body.body["due_time"] == "09:05"
    assert body.body["done"] is True
    assert body.body["location"] == {"value": "Room 2"}
    assert "visible_to" not in body.body
    assert body.missing == [("participants", "client/px", "its record failed (HTTP 400)")]
    assert body.absent == [("deal_id", "matter/gone-1")]


def test_note_v1_time_lead_value_and_uuid_link() -> None:
    """Notes take v1 'YYYY-MM-DD HH:MM:SS'; leads take value {amount, currency}, uuid lead ids."""
    note = Payload("j", "note", "pm/j/1", {"content": "c", "add_time": "2024-03-05T14:15:00Z"},
                   {"lead_id": Ref("lead", "l1")})  # fmt: skip
    assert build_body(note, _ctx()).body == {
        "content": "c",
        "add_time": "2024-03-05 14:15:00",
        "lead_id": "9c2e-uuid",
    }
    lead = Payload("lead", "lead", "pm/lead/1", {"title": "T", "value": 80, "Status": "Active"},
                   {"person_id": Ref("client", "p1")})  # fmt: skip
    body = build_body(lead, _ctx())
    assert body.body == {"title": "T", "value": {"amount": 80, "currency": "AUD"}, "person_id": 41}
    assert body.dropped == ["Status"]


def test_custom_value_shapes() -> None:
    """Each field type gets its own value shape; what cannot be converted is None."""
    fk = KEYS[("person", "Status")]
    assert custom_value(fk, "Nope", "USD") is None
    assert custom_value(replace(fk, field_type="double"), "1,5x", "USD") is None
    assert custom_value(replace(fk, field_type="double"), "2.50", "USD") == 2.5
    assert custom_value(replace(fk, field_type="time"), "7:30", "USD") == "07:30:00"
    assert custom_value(replace(fk, field_type="varchar"), "x" * 300, "USD") == "x" * 255
    assert custom_value(replace(fk, field_type="text"), [{"value": "a"}, "b"], "USD") == "a, b"


def test_every_listed_user_attends_and_unmatched_staff_do_not() -> None:
    """Attendee refs -> user ids of matched staff, once each; the fallback user never attends."""
    p = Payload(
        "calendar", "activity", "pm/calendar/1",
        {"subject": "Hearing", "type": "meeting"},
        {"owner_id": Ref("user", "JG", "name"),
         "attendees": (Ref("user", "JG", "name"), Ref("user", "XX", "name"),
                       Ref("user", "JG", "name"))},
    )  # fmt: skip
    body = build_body(p, _ctx()).body
    assert body["owner_id"] == 5
    assert body["attendees"] == [{"user_id": 5}]


def test_an_organization_field_holding_a_ref_gets_the_org_id() -> None:
    """Employer = Ref to a migrated org -> its id; an org not written -> missing, not sent."""
    ok = Payload("fam", "person", "cp/fam/1", {"Employer": Ref("fam", "employer:Acme")})
    assert build_body(ok, _ctx()).body["custom_fields"] == {"f" * 40: 77}
    gone = Payload("fam", "person", "cp/fam/2", {"Employer": Ref("fam", "employer:Gone")})
    body = build_body(gone, _ctx())
    assert "custom_fields" not in body.body
    assert body.missing == [("Employer", "fam/employer:Gone", "its record failed (HTTP 400)")]


def test_lead_custom_fields_use_the_deal_field_keys() -> None:
    """Leads inherit the deals' custom fields: a lead's "Fee" is the deal field's key."""
    p = Payload("enquiry", "lead", "cp/enquiry/1", {"title": "Whitening", "Fee": 12.5},
                {"person_id": Ref("client", "p1")})  # fmt: skip
    body = build_body(p, _ctx()).body
    assert body["custom_fields"] == {"d" * 40: {"value": 12.5, "currency": "AUD"}}
    assert body["person_id"] == 41
