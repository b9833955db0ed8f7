"""v1 leads: 201 create with a UUID, person-or-organization rule, string visible_to, CRUD, lists."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox
from pdmigrate.sandbox.clock import FakeClock


@pytest.fixture(autouse=True)
def _responses_follow_the_spec(sandbox: Sandbox) -> Iterator[None]:
    yield
    assert sandbox.spec_problems == []


def _person(client: httpx.Client) -> int:
    person_id: int = client.post("/api/v2/persons", json={"name": "Ada"}).json()["data"]["id"]
    return person_id


def _lead(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/leads", json={"title": "Whitening enquiry", **body})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_create_returns_201_and_the_lead(client: httpx.Client, sandbox: Sandbox) -> None:
    """POST /v1/leads answers 201; the id is a UUID; source and origin are API."""
    person_id = _person(client)
    response = client.post(
        "/api/v1/leads",
        json={
            "title": "Whitening enquiry",
            "person_id": person_id,
            "value": {"amount": 450, "currency": "aud"},
            "visible_to": "3",
            "expected_close_date": "2026-03-01",
        },
    )
    assert response.status_code == 201
    lead = response.json()["data"]
    assert uuid.UUID(lead["id"]).version == 4
    expected = {
        "title": "Whitening enquiry",
        "owner_id": 1,
        "creator_id": 1,
        "label_ids": [],
        "person_id": person_id,
        "organization_id": None,
        "source_name": "API",
        "origin": "API",
        "origin_id": None,
        "channel": None,
        "channel_id": None,
        "source_deal_id": None,
        "is_archived": False,
        "was_seen": False,
        "value": {"amount": 450, "currency": "AUD"},
        "expected_close_date": "2026-03-01",
        "next_activity_id": None,
        "add_time": "2026-01-15T09:00:00.000Z",
        "update_time": "2026-01-15T09:00:00.000Z",
        "visible_to": "3",
    }
    assert {k: lead[k] for k in expected} == expected
    assert lead["cc_email"].endswith("@pipedrivemail.com")


def test_lead_needs_a_person_or_an_organization(client: httpx.Client) -> None:
    """Without person_id and organization_id the leads service refuses the body."""
    response = client.post("/api/v1/leads", json={"title": "Nobody"})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Couldn't create lead, body is invalid.",
        "error_info": 'A lead must be linked to a person or an organization: "person_id" or '
        '"organization_id" is required',
        "data": None,
        "additional_data": None,
    }


def test_lead_on_an_organization_only(client: httpx.Client) -> None:
    """An organization alone is enough."""
    org = client.post("/api/v2/organizations", json={"name": "Clinic"}).json()["data"]["id"]
    lead = _lead(client, organization_id=org)
    assert (lead["organization_id"], lead["person_id"]) == (org, None)


def test_missing_person_is_rejected(client: httpx.Client) -> None:
    """A person id that is not in the account makes the body invalid."""
    response = client.post("/api/v1/leads", json={"title": "x", "person_id": 77})
    assert response.status_code == 400
    assert response.json()["error_info"] == "Person with id 77 does not exist"


def test_title_is_required(client: httpx.Client) -> None:
    """A lead without a title is refused by the spec check."""
    response = client.post("/api/v1/leads", json={"person_id": _person(client)})
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed: title: Parameter 'title' is required"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"visible_to": 3}, "Validation failed: visible_to: Expected 'string' as value, got "
                            "'integer'"),
        ({"value": {"amount": "450", "currency": "USD"}},
         "Validation failed: value.amount: Expected 'number' as value, got 'string'"),
        ({"channel": "web"}, "Validation failed: channel: Expected 'integer' as value, got "
                             "'string'"),
    ],
)  # fmt: skip
def test_strict_types(client: httpx.Client, body: dict[str, Any], error: str) -> None:
    """visible_to must be a string here; amounts and channels must be numbers."""
    response = client.post(
        "/api/v1/leads", json={"title": "x", "person_id": _person(client), **body}
    )
    assert response.status_code == 400
    assert response.json()["error"] == error


def test_handler_rules_hold_without_the_spec_check(make_sandbox: Any) -> None:
    """With spec validation off the leads service's own checks give the same verdicts."""
    from pdmigrate.sandbox.app import app_for
    from pdmigrate.sandbox.inprocess import SandboxTransport

    with httpx.Client(
        transport=SandboxTransport(app_for(make_sandbox(validate=False))),
        base_url="http://sandbox",
        headers={"x-api-token": "t"},
    ) as client:
        person_id = _person(client)
        visible = client.post(
            "/api/v1/leads", json={"title": "x", "person_id": person_id, "visible_to": 3}
        )
        assert visible.status_code == 400
        assert visible.json()["error"] == "Couldn't create lead, body is invalid."
        assert visible.json()["error_info"] == '"visible_to" must be a string, got integer'
        currency = client.post(
            "/api/v1/leads",
            json={"title": "x", "person_id": person_id, "value": {"amount": 1, "currency": "$"}},
        )
        assert currency.json()["error_info"] == '"value.currency" must be a 3-letter currency code'
        untitled = client.post("/api/v1/leads", json={"person_id": person_id})
        assert untitled.json()["error_info"] == '"title" is required'


def test_get_patch_archive_delete(client: httpx.Client, clock: FakeClock) -> None:
    """PATCH updates and archives (moving the lead to /leads/archived); DELETE removes it."""
    lead = _lead(client, person_id=_person(client))
    path = f"/api/v1/leads/{lead['id']}"
    assert client.get(path).json()["data"]["title"] == "Whitening enquiry"
    clock.advance(90)
    patched = client.patch(path, json={"title": "Whitening (2 arches)", "was_seen": True})
    assert patched.status_code == 200
    data = patched.json()["data"]
    assert (data["title"], data["was_seen"]) == ("Whitening (2 arches)", True)
    assert data["update_time"] == "2026-01-15T09:01:30.000Z"
    client.patch(path, json={"is_archived": True})
    assert client.get("/api/v1/leads").json()["data"] == []
    assert [x["id"] for x in client.get("/api/v1/leads/archived").json()["data"]] == [lead["id"]]
    deleted = client.delete(path)
    assert deleted.json() == {"success": True, "data": {"id": lead["id"]}}
    missing = client.get(path)
    assert missing.status_code == 404
    assert missing.json() == {
        "success": False,
        "error": "requested lead not found",
        "error_info": "Object was not found.",
        "data": None,
        "additional_data": None,
    }


def test_unknown_lead_id_is_404(client: httpx.Client) -> None:
    """A UUID that was never created is the leads service's 404."""
    response = client.patch(f"/api/v1/leads/{uuid.uuid4()}", json={"title": "x"})
    assert response.status_code == 404
    assert response.json()["error"] == "requested lead not found"


def test_list_filters_and_pages(client: httpx.Client, clock: FakeClock) -> None:
    """GET /v1/leads filters by person_id, pages in creation order, and sorts by a field."""
    ann = _person(client)
    bob = _person(client)
    for i in range(3):
        _lead(client, title=f"ann-{i}", person_id=ann)
        clock.advance(1)
    _lead(client, title="adam", person_id=bob)
    page = client.get("/api/v1/leads", params={"person_id": ann, "limit": 2}).json()
    assert [x["title"] for x in page["data"]] == ["ann-0", "ann-1"]
    assert page["additional_data"] == {
        "pagination": {"start": 0, "limit": 2, "more_items_in_collection": True, "next_start": 2}
    }
    titles = [
        x["title"] for x in client.get("/api/v1/leads", params={"sort": "title"}).json()["data"]
    ]
    assert titles == ["adam", "ann-0", "ann-1", "ann-2"]


def _deal_field(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v2/dealFields", json=body)
    assert response.status_code == 200, response.text
    field: dict[str, Any] = response.json()["data"]
    return field


def test_leads_take_deal_custom_fields_as_v1_top_level_keys(client: httpx.Client) -> None:
    """A deal field's key is a lead key: monetary with <key>_currency, option ids, dates;
    answers carry set ones only; PATCH merges; unknown keys and options are refused."""
    source = _deal_field(
        client, field_name="Source", field_type="enum", options=[{"label": "Google Ads"}]
    )
    quote = _deal_field(client, field_name="Quote", field_type="monetary")
    asked = _deal_field(client, field_name="Asked", field_type="date")
    option = source["options"][0]["id"]
    s, q, a = source["field_code"], quote["field_code"], asked["field_code"]
    lead = _lead(client, person_id=_person(client), **{s: option, q: 450, f"{q}_currency": "AUD"})
    assert (lead[s], lead[q], lead[f"{q}_currency"]) == (option, 450, "AUD")
    assert a not in lead  # never set: not in the answer
    patched = client.patch(f"/api/v1/leads/{lead['id']}", json={a: "2026-02-03"}).json()["data"]
    assert (patched[a], patched[s]) == ("2026-02-03", option)
    unknown = client.post(
        "/api/v1/leads", json={"title": "X", "person_id": 1, "f" * 40: "x"}
    ).json()
    assert unknown["error_info"] == f'"{"f" * 40}" is not allowed'
    bad = client.post("/api/v1/leads", json={"title": "X", "person_id": 1, s: 999}).json()
    assert bad["error"] == "Couldn't create lead, body is invalid."
    assert "Option 999 does not exist" in bad["error_info"]
