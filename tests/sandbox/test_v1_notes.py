"""v1 notes: backdated add_time, the one-of-parent rule, offset pages and filters, CRUD."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.clock import FakeClock
from pdmigrate.sandbox.inprocess import SandboxTransport

ERROR_INFO = "Please check developers.pipedrive.com"


@pytest.fixture(autouse=True)
def _responses_follow_the_spec(sandbox: Sandbox) -> Iterator[None]:
    yield
    assert sandbox.spec_problems == []


def _person(client: httpx.Client, name: str = "Ada Lovelace") -> int:
    response = client.post("/api/v2/persons", json={"name": name})
    assert response.status_code == 200, response.text
    person_id: int = response.json()["data"]["id"]
    return person_id


def _note(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/notes", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_create_backdated_note_has_v1_shape(client: httpx.Client) -> None:
    """POST /v1/notes keeps a past add_time as given, in 'YYYY-MM-DD HH:MM:SS' UTC."""
    person_id = _person(client)
    response = client.post(
        "/api/v1/notes",
        json={
            "content": "<p>Recall booked</p>",
            "person_id": person_id,
            "add_time": "2019-05-01 10:30:00",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    note = body["data"]
    assert note == {
        "id": 1,
        "active_flag": True,
        "add_time": "2019-05-01 10:30:00",
        "update_time": "2026-01-15 09:00:00",
        "content": "<p>Recall booked</p>",
        "user_id": 1,
        "last_update_user_id": 1,
        "lead_id": None,
        "deal_id": None,
        "person_id": person_id,
        "org_id": None,
        "project_id": None,
        "task_id": None,
        "pinned_to_lead_flag": False,
        "pinned_to_deal_flag": False,
        "pinned_to_organization_flag": False,
        "pinned_to_person_flag": False,
        "pinned_to_project_flag": False,
        "pinned_to_task_flag": False,
        "deal": None,
        "organization": None,
        "person": {"name": "Ada Lovelace"},
        "user": {
            "email": "admin@sandbox.example",
            "name": "Sandbox Admin",
            "icon_url": None,
            "is_you": True,
        },
    }


def test_add_time_defaults_to_now_and_future_is_allowed(client: httpx.Client) -> None:
    """Without add_time the note gets the clock's time; a future add_time is kept too."""
    person_id = _person(client)
    assert _note(client, content="a", person_id=person_id)["add_time"] == "2026-01-15 09:00:00"
    future = _note(client, content="b", person_id=person_id, add_time="2030-12-31 23:59:59")
    assert future["add_time"] == "2030-12-31 23:59:59"


@pytest.mark.parametrize("bad", ["2019-05-01T10:30:00Z", "2019-05-01", "2019-13-01 10:00:00"])
def test_add_time_in_another_format_is_rejected(client: httpx.Client, bad: str) -> None:
    """add_time must be 'YYYY-MM-DD HH:MM:SS': other forms get a 400 naming the field."""
    person_id = _person(client)
    response = client.post(
        "/api/v1/notes", json={"content": "x", "person_id": person_id, "add_time": bad}
    )
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert response.json()["error"].startswith("Validation failed: add_time: ")
    assert response.json()["data"] is None


def test_note_without_a_parent_is_rejected(client: httpx.Client) -> None:
    """A note must name at least one of deal, person, organization, lead, project or task."""
    response = client.post("/api/v1/notes", json={"content": "orphan"})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Note must be attached to a deal, person, organization, lead, project or "
        "task (one of deal_id, person_id, org_id, lead_id, project_id, task_id is required)",
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


def test_note_on_a_missing_person_is_rejected(client: httpx.Client) -> None:
    """A parent id that does not exist in the account is a 400, and nothing is stored."""
    response = client.post("/api/v1/notes", json={"content": "x", "person_id": 999})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Person with id 999 does not exist",
        "code": "ERR_BAD_REQUEST",
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }
    assert client.get("/api/v1/notes").json()["data"] == []


def test_content_is_required(client: httpx.Client) -> None:
    """A note without content gets Pipedrive's validation 400."""
    person_id = _person(client)
    response = client.post("/api/v1/notes", json={"person_id": person_id})
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed: content: Parameter 'content' is required"
    assert response.json()["code"] == "ERR_SCHEMA_VALIDATION_FAILED"


def test_content_is_sanitised(client: httpx.Client) -> None:
    """Script elements and on* handlers are stripped from note HTML, the rest is kept."""
    person_id = _person(client)
    note = _note(
        client,
        content='<p onclick="steal()">Hi<script>alert(1)</script> <b>there</b></p>',
        person_id=person_id,
    )
    assert note["content"] == "<p>Hi <b>there</b></p>"


def test_note_on_deal_and_org_carries_their_names(client: httpx.Client) -> None:
    """deal and organization objects carry the linked records' title and name."""
    org = client.post("/api/v2/organizations", json={"name": "Smile Dental"}).json()["data"]
    deal = client.post("/api/v2/deals", json={"title": "Implant plan"}).json()["data"]
    note = _note(client, content="x", deal_id=deal["id"], org_id=org["id"])
    assert note["deal"] == {"title": "Implant plan"}
    assert note["organization"] == {"name": "Smile Dental"}
    assert note["person"] is None


def test_list_pages_with_start_and_limit(client: httpx.Client) -> None:
    """GET /v1/notes pages by start/limit with additional_data.pagination."""
    person_id = _person(client)
    for i in range(5):
        _note(client, content=f"n{i}", person_id=person_id)
    first = client.get("/api/v1/notes", params={"start": 0, "limit": 2}).json()
    assert [n["content"] for n in first["data"]] == ["n0", "n1"]
    assert first["additional_data"] == {
        "pagination": {"start": 0, "limit": 2, "more_items_in_collection": True, "next_start": 2}
    }
    last = client.get("/api/v1/notes", params={"start": 4, "limit": 2}).json()
    assert [n["content"] for n in last["data"]] == ["n4"]
    assert last["additional_data"] == {
        "pagination": {"start": 4, "limit": 2, "more_items_in_collection": False}
    }


def test_list_filters_by_parent_and_updated_since(client: httpx.Client, clock: FakeClock) -> None:
    """person_id, deal_id, org_id and updated_since narrow the list."""
    ann, bob = _person(client, "Ann"), _person(client, "Bob")
    org = client.post("/api/v2/organizations", json={"name": "Org"}).json()["data"]["id"]
    deal = client.post("/api/v2/deals", json={"title": "Deal"}).json()["data"]["id"]
    _note(client, content="ann", person_id=ann)
    _note(client, content="bob", person_id=bob)
    _note(client, content="org", org_id=org)
    clock.advance(3600)
    _note(client, content="deal", deal_id=deal, person_id=ann)

    def contents(**params: Any) -> list[str]:
        return [n["content"] for n in client.get("/api/v1/notes", params=params).json()["data"]]

    assert contents(person_id=ann) == ["ann", "deal"]
    assert contents(org_id=org) == ["org"]
    assert contents(deal_id=deal) == ["deal"]
    assert contents(updated_since="2026-01-15T09:30:00Z") == ["deal"]
    assert contents(sort="id DESC", limit=2) == ["deal", "org"]


def test_get_update_delete(client: httpx.Client, clock: FakeClock) -> None:
    """PUT changes content and add_time; DELETE answers data true and the note is gone."""
    person_id = _person(client)
    note = _note(client, content="draft", person_id=person_id)
    assert client.get(f"/api/v1/notes/{note['id']}").json()["data"]["content"] == "draft"
    clock.advance(60)
    updated = client.put(
        f"/api/v1/notes/{note['id']}",
        json={"content": "final", "add_time": "2018-02-03 04:05:06"},
    ).json()["data"]
    assert updated["content"] == "final"
    assert updated["add_time"] == "2018-02-03 04:05:06"
    assert updated["update_time"] == "2026-01-15 09:01:00"
    deleted = client.delete(f"/api/v1/notes/{note['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True, "data": True}
    missing = client.get(f"/api/v1/notes/{note['id']}")
    assert missing.status_code == 404
    assert missing.json() == {
        "success": False,
        "error": "Note not found",
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


def test_update_moves_a_note_and_cannot_drop_its_last_parent(
    client: httpx.Client, make_sandbox: Callable[..., Sandbox]
) -> None:
    """PUT moves a note to another person; nulling the only parent is refused either way."""
    ann, bob = _person(client, "Ann"), _person(client, "Bob")
    note = _note(client, content="x", person_id=ann)
    moved = client.put(f"/api/v1/notes/{note['id']}", json={"person_id": bob}).json()["data"]
    assert (moved["person_id"], moved["person"]) == (bob, {"name": "Bob"})
    by_spec = client.put(f"/api/v1/notes/{note['id']}", json={"person_id": None})
    assert by_spec.status_code == 400
    assert by_spec.json()["error"] == (
        "Validation failed: person_id: Expected 'integer' as value, got 'null'"
    )
    # Without the spec check the handler's own live rule still holds.
    loose = make_sandbox(validate=False)
    with httpx.Client(
        transport=SandboxTransport(app_for(loose)),
        base_url="http://sandbox",
        headers={"x-api-token": "loose"},
    ) as other:
        person = other.post("/api/v2/persons", json={"name": "Cy"}).json()["data"]["id"]
        note_id = other.post("/api/v1/notes", json={"content": "x", "person_id": person}).json()[
            "data"
        ]["id"]
        refused = other.put(f"/api/v1/notes/{note_id}", json={"person_id": None})
        assert refused.status_code == 400
        assert refused.json()["error"].startswith("Note must be attached to a deal, person")
        assert other.get(f"/api/v1/notes/{note_id}").json()["data"]["person_id"] == person


def test_v1_prefix_without_api_is_served(client: httpx.Client) -> None:
    """/v1/notes is the same endpoint as /api/v1/notes."""
    person_id = _person(client)
    _note(client, content="x", person_id=person_id)
    assert len(client.get("/v1/notes").json()["data"]) == 1


def test_note_on_a_lead(client: httpx.Client) -> None:
    """A lead (UUID) is a valid parent; an unknown lead UUID is refused."""
    person_id = _person(client)
    lead = client.post("/api/v1/leads", json={"title": "Enquiry", "person_id": person_id})
    lead_id = lead.json()["data"]["id"]
    note = _note(client, content="called back", lead_id=lead_id)
    assert (note["lead_id"], note["person_id"]) == (lead_id, None)
    assert [n["id"] for n in client.get("/api/v1/notes", params={"lead_id": lead_id}).json()[
        "data"
    ]] == [note["id"]]  # fmt: skip
    unknown = client.post(
        "/api/v1/notes",
        json={"content": "x", "lead_id": "adf21080-0e10-11eb-879b-05d71fb426ec"},
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"] == (
        "Lead with id adf21080-0e10-11eb-879b-05d71fb426ec does not exist"
    )
