"""v2 persons: create, get, list, update, soft delete, and the person payload rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox


def _person(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v2/persons", json={"name": "Ada Lovelace", **body})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_create_returns_the_spec_shaped_person(client: httpx.Client) -> None:
    """POST /v2/persons answers 200 with the stored person in the v2 shape."""
    response = client.post(
        "/api/v2/persons",
        json={"name": "Ada Lovelace", "emails": [{"value": "ada@x.example", "label": "home"}]},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    person = body["data"]
    assert person["id"] == 1
    assert person["name"] == "Ada Lovelace"
    assert person["first_name"] == "Ada"
    assert person["last_name"] == "Lovelace"
    assert person["emails"] == [{"value": "ada@x.example", "primary": True, "label": "home"}]
    assert person["phones"] == []
    assert person["owner_id"] == 1
    assert person["org_id"] is None
    assert person["visible_to"] == 3
    assert person["is_deleted"] is False
    assert person["add_time"] == "2026-01-15T09:00:00Z"
    assert person["update_time"] == "2026-01-15T09:00:00Z"
    assert person["custom_fields"] == {}
    assert "birthday" not in person


def test_get_update_delete_roundtrip(client: httpx.Client, sandbox: Sandbox) -> None:
    """PATCH changes fields and update_time; DELETE soft-deletes and hides the person."""
    person = _person(client)
    sandbox.clock.advance(60)  # type: ignore[attr-defined]
    patched = client.patch(f"/api/v2/persons/{person['id']}", json={"name": "Ada King"})
    assert patched.status_code == 200
    assert patched.json()["data"]["last_name"] == "King"
    assert patched.json()["data"]["update_time"] == "2026-01-15T09:01:00Z"
    assert patched.json()["data"]["add_time"] == "2026-01-15T09:00:00Z"
    got = client.get(f"/api/v2/persons/{person['id']}").json()["data"]
    assert got["name"] == "Ada King"
    deleted = client.delete(f"/api/v2/persons/{person['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True, "data": {"id": person["id"]}}
    missing = client.get(f"/api/v2/persons/{person['id']}")
    assert missing.status_code == 404
    assert missing.json() == {
        "success": False,
        "error": "Person not found",
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
        "additional_data": None,
    }
    assert client.get("/api/v2/persons").json()["data"] == []
    stored = sandbox.store.get(
        sandbox.store.accounts()[0].company_id, "persons", 1, include_deleted=True
    )
    assert stored is not None
    assert stored["is_deleted"] is True


def test_add_time_is_accepted_on_create_and_rejected_on_update(client: httpx.Client) -> None:
    """A backdated add_time is kept on POST; PATCH with add_time is a 400."""
    person = _person(client, add_time="2019-03-04T05:06:07Z")
    assert person["add_time"] == "2019-03-04T05:06:07Z"
    response = client.patch(
        f"/api/v2/persons/{person['id']}", json={"add_time": "2020-01-01T00:00:00Z"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Validation failed: add_time: Parameter 'add_time' is not allowed for this request"
    )


@pytest.mark.anyio
async def test_async_client_creates_and_lists(async_client: httpx.AsyncClient) -> None:
    """The async transport serves the same app: create then list one person."""
    created = await async_client.post("/api/v2/persons", json={"name": "Grace Hopper"})
    assert created.status_code == 200
    listed = await async_client.get("/api/v2/persons")
    assert [p["name"] for p in listed.json()["data"]] == ["Grace Hopper"]


def test_response_keys_follow_the_spec_order(client: httpx.Client) -> None:
    """A person's keys come in the order the v2 spec lists them."""
    person = _person(client)
    assert list(person)[:8] == [
        "id",
        "name",
        "first_name",
        "last_name",
        "owner_id",
        "org_id",
        "add_time",
        "update_time",
    ]
    assert list(person)[-1] == "custom_fields"


def test_phones_can_be_cleared(client: httpx.Client) -> None:
    """PATCH phones: [] clears them; null breaks the spec (400)."""
    person = _person(client, phones=[{"value": "+1 555 0101"}])
    assert person["phones"] == [{"value": "+1 555 0101", "primary": True, "label": "work"}]
    cleared = client.patch(f"/api/v2/persons/{person['id']}", json={"phones": []})
    assert cleared.json()["data"]["phones"] == []
    null = client.patch(f"/api/v2/persons/{person['id']}", json={"phones": None})
    assert null.status_code == 400
