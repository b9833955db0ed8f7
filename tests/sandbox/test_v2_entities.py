"""v2 payload rules per entity: deals, activities, products, organizations, pipelines."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox
from pdmigrate.sandbox.clock import FakeClock


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["data"] is None
    return body


def test_organization_create_keeps_add_time_and_address(client: httpx.Client) -> None:
    """Organizations take add_time on create and fill address subfields with null."""
    org = _ok(
        client.post(
            "/api/v2/organizations",
            json={"name": "Smile Clinic", "add_time": "2018-05-01T10:00:00.000Z",
                  "address": {"value": "1 Main St", "locality": "Springfield"}},
        )
    )  # fmt: skip
    assert org["add_time"] == "2018-05-01T10:00:00Z"
    assert org["address"]["value"] == "1 Main St"
    assert org["address"]["locality"] == "Springfield"
    assert org["address"]["postal_code"] is None
    body = _error(client.post("/api/v2/organizations", json={}))
    assert body["error"] == "Validation failed: name: Parameter 'name' is required"


def test_deal_defaults_to_first_stage_and_rejects_add_time(client: httpx.Client) -> None:
    """A deal lands in the default pipeline's first stage; add_time is not a deal key."""
    deal = _ok(client.post("/api/v2/deals", json={"title": "Implant", "value": 1200.5}))
    assert (deal["pipeline_id"], deal["stage_id"]) == (1, 1)
    assert deal["value"] == 1200.5
    assert deal["currency"] == "USD"
    assert deal["status"] == "open"
    body = _error(client.post("/api/v2/deals", json={"title": "x", "add_time": "2020-01-01"}))
    not_allowed = "Parameter 'add_time' is not allowed for this request"
    assert body == {
        "success": False,
        "error": f"Validation failed: add_time: {not_allowed}",
        "code": "ERR_SCHEMA_VALIDATION_FAILED",
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
        "additional_data": None,
    }


def test_deal_stage_must_belong_to_pipeline(client: httpx.Client) -> None:
    """stage_id decides pipeline_id; a stage from another pipeline is a 400."""
    other = _ok(client.post("/api/v2/pipelines", json={"name": "Ortho"}))
    stage = _ok(client.post("/api/v2/stages", json={"name": "Consult", "pipeline_id": other["id"]}))
    deal = _ok(client.post("/api/v2/deals", json={"title": "Braces", "stage_id": stage["id"]}))
    assert deal["pipeline_id"] == other["id"]
    body = _error(
        client.post(
            "/api/v2/deals", json={"title": "Bad", "stage_id": stage["id"], "pipeline_id": 1}
        )
    )
    assert body["error"] == f"Stage with id {stage['id']} does not belong to pipeline with id 1"
    assert body["code"] == "ERR_BAD_REQUEST"
    moved = _ok(client.patch(f"/api/v2/deals/{deal['id']}", json={"pipeline_id": 1}))
    assert (moved["pipeline_id"], moved["stage_id"]) == (1, 1)
    assert moved["stage_change_time"] == "2026-01-15T09:00:00Z"
    missing = _error(client.post("/api/v2/deals", json={"title": "x", "stage_id": 999}))
    assert missing["error"] == "Stage with id 999 not found"


def test_deal_won_and_lost_times_follow_status(client: httpx.Client, clock: FakeClock) -> None:
    """won_time only when won, lost_reason/lost_time only when lost; winning stamps times."""
    body = _error(
        client.post("/api/v2/deals", json={"title": "x", "won_time": "2025-01-01T00:00:00Z"})
    )
    assert body["error"] == "'won_time' can only be set when the deal status is 'won'"
    body = _error(client.post("/api/v2/deals", json={"title": "x", "lost_reason": "price"}))
    assert body["error"] == "'lost_reason' can only be set when the deal status is 'lost'"
    won = _ok(
        client.post(
            "/api/v2/deals",
            json={"title": "Crown", "status": "won", "won_time": "2025-03-01T12:00:00Z"},
        )
    )
    assert won["won_time"] == "2025-03-01T12:00:00Z"
    assert won["close_time"] == "2025-03-01T12:00:00Z"
    deal = _ok(client.post("/api/v2/deals", json={"title": "Bridge"}))
    clock.advance(3600)
    lost = _ok(
        client.patch(f"/api/v2/deals/{deal['id']}", json={"status": "lost", "lost_reason": "moved"})
    )
    assert lost["lost_time"] == "2026-01-15T10:00:00Z"
    assert lost["close_time"] == "2026-01-15T10:00:00Z"
    assert lost["lost_reason"] == "moved"
    reopened = _ok(client.patch(f"/api/v2/deals/{deal['id']}", json={"status": "open"}))
    assert (reopened["lost_time"], reopened["close_time"], reopened["lost_reason"]) == (None,) * 3


def test_deal_cap_is_403_with_code(make_sandbox: Any) -> None:
    """Deals over the plan's per-seat cap (lite: 2,500 x 1) get 403 feature_capping_deals_limit."""
    from .conftest import sandbox_client

    sandbox: Sandbox = make_sandbox(plan="lite")
    with sandbox_client(sandbox) as client:
        client.get("/api/v2/deals")  # opens the account
        cid = sandbox.store.accounts()[0].company_id
        with sandbox.store.transaction():
            for i in range(2_500):
                sandbox.store.insert(cid, "deals", {"title": f"d{i}", "is_deleted": False})
        body = _error(client.post("/api/v2/deals", json={"title": "one too many"}), 403)
    assert body == {
        "success": False,
        "error": "You have reached the limit of deals for your plan",
        "code": "feature_capping_deals_limit",
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
        "additional_data": None,
    }


def test_activity_person_id_is_read_only(client: httpx.Client) -> None:
    """Sending person_id to POST /activities is Pipedrive's exact ERR_BAD_REQUEST."""
    _ok(client.post("/api/v2/persons", json={"name": "Pat"}))
    body = _error(client.post("/api/v2/activities", json={"subject": "Recall", "person_id": 1}))
    assert body == {
        "success": False,
        "error": "'person_id' is a read-only field. Add a primary participant to set "
        "'person_id' instead.",
        "code": "ERR_BAD_REQUEST",
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
        "additional_data": None,
    }


def test_activity_participants_set_person_id(client: httpx.Client, sandbox: Sandbox) -> None:
    """The primary participant becomes person_id; done stamps marked_as_done_time."""
    _ok(client.post("/api/v2/persons", json={"name": "Pat"}))
    _ok(client.post("/api/v2/persons", json={"name": "Sam"}))
    activity = _ok(
        client.post(
            "/api/v2/activities",
            json={"subject": "Hygiene visit", "type": "meeting", "due_date": "2026-02-01",
                  "due_time": "09:30", "done": True,
                  "participants": [{"person_id": 1, "primary": False},
                                   {"person_id": 2, "primary": True}]},
        )
    )  # fmt: skip
    assert activity["person_id"] == 2
    assert activity["participants"] == [
        {"person_id": 1, "primary": False},
        {"person_id": 2, "primary": True},
    ]
    assert activity["type"] == "meeting"
    assert activity["marked_as_done_time"] == "2026-01-15T09:00:00Z"
    listed = client.get("/api/v2/activities", params={"person_id": 1}).json()["data"]
    assert [a["id"] for a in listed] == [activity["id"]]
    no_add_time = _error(
        client.post("/api/v2/activities", json={"add_time": "2020-01-01T00:00:00Z"})
    )
    assert no_add_time["code"] == "ERR_SCHEMA_VALIDATION_FAILED"
    bad_type = _error(client.post("/api/v2/activities", json={"type": "séance"}))
    assert bad_type["error"] == "Validation failed: type: Activity type 'séance' does not exist"
    default = _ok(client.post("/api/v2/activities", json={"type": "call"}))
    assert default["subject"] == "Call"
    assert sandbox.spec_problems == []


def test_activity_attendees_name_existing_users(client: httpx.Client, sandbox: Sandbox) -> None:
    """Attendees keep the users given (spec-shaped); an unknown user id is refused."""
    me = client.get("/api/v1/users/me").json()["data"]["id"]
    activity = _ok(
        client.post(
            "/api/v2/activities",
            json={"subject": "Hearing", "type": "meeting", "attendees": [{"user_id": me}]},
        )
    )
    assert activity["attendees"] == [{"user_id": me, "is_organizer": False}]
    unknown = _error(client.post("/api/v2/activities", json={"attendees": [{"user_id": 987654}]}))
    assert unknown["error"] == "User with id 987654 not found"
    empty = _error(client.post("/api/v2/activities", json={"attendees": [{}]}))
    assert "attendees[0]" in empty["error"]
    assert sandbox.spec_problems == []


def test_products_create_is_201_with_prices(client: httpx.Client) -> None:
    """POST /v2/products answers 201; prices get product_id; one price per currency."""
    response = client.post(
        "/api/v2/products",
        json={"name": "Whitening kit", "prices": [{"currency": "USD", "price": 49.0}]},
    )
    assert response.status_code == 201
    product = response.json()["data"]
    assert product["prices"] == [
        {"product_id": product["id"], "price": 49.0, "currency": "USD", "cost": 0,
         "direct_cost": None, "notes": ""}
    ]  # fmt: skip
    assert product["billing_frequency"] == "one-time"
    categorised = client.post("/api/v2/products", json={"name": "Floss", "category": 7})
    assert categorised.json()["data"]["category"] == "7"
    dup = _error(
        client.post(
            "/api/v2/products",
            json={"name": "x", "prices": [{"currency": "EUR", "price": 1}, {"currency": "EUR"}]},
        )
    )
    assert dup["error"] == "There can only be one price per product per currency"
    assert _error(client.post("/api/v2/products", json={"name": ""}))["error"] == (
        "Validation failed: name: Parameter 'name' must not be empty"
    )


def test_varchar_over_255_is_rejected(client: httpx.Client) -> None:
    """A 256-character name is a 400; 255 is fine."""
    assert client.post("/api/v2/persons", json={"name": "x" * 255}).status_code == 200
    body = _error(client.post("/api/v2/persons", json={"name": "x" * 256}))
    assert body["error"] == "Validation failed: name: Must be at most 255 characters long"


def test_contact_sync_fields_need_contact_sync(make_sandbox: Any) -> None:
    """birthday/job_title are 400 with Contact Sync off and stored with it on."""
    from .conftest import sandbox_client

    with sandbox_client(make_sandbox()) as off:
        body = _error(off.post("/api/v2/persons", json={"name": "A", "birthday": "1980-02-03"}))
        assert body["error"] == (
            "Validation failed: birthday: Parameter 'birthday' is not allowed for this request"
        )
    with sandbox_client(make_sandbox(contact_sync=True)) as on:
        person = _ok(
            on.post(
                "/api/v2/persons",
                json={"name": "A", "birthday": "1980-02-03", "job_title": "Hygienist",
                      "postal_address": {"value": "2 Elm St"}},
            )
        )  # fmt: skip
        assert person["birthday"] == "1980-02-03"
        assert person["job_title"] == "Hygienist"
        assert person["postal_address"]["value"] == "2 Elm St"
        assert person["notes"] is None


def test_strict_types(client: httpx.Client) -> None:
    """v2 does not coerce: a string id or a string boolean is a 400."""
    body = _error(client.post("/api/v2/persons", json={"name": "A", "org_id": "5"}))
    assert body["code"] == "ERR_SCHEMA_VALIDATION_FAILED"
    assert body["error"].startswith("Validation failed: org_id:")
    body = _error(client.post("/api/v2/activities", json={"done": "true"}))
    assert body["error"].startswith("Validation failed: done:")
    missing_org = _error(client.post("/api/v2/persons", json={"name": "A", "org_id": 42}))
    assert missing_org["error"] == "Organization with id 42 not found"


def test_pipeline_delete_hides_its_stages(client: httpx.Client) -> None:
    """Deleting a pipeline soft-deletes its stages too."""
    pipeline = _ok(client.post("/api/v2/pipelines", json={"name": "Temp"}))
    assert pipeline["order_nr"] == 2
    _ok(client.post("/api/v2/stages", json={"name": "Only", "pipeline_id": pipeline["id"]}))
    _ok(client.delete(f"/api/v2/pipelines/{pipeline['id']}"))
    stages = client.get("/api/v2/stages", params={"pipeline_id": pipeline["id"]}).json()["data"]
    assert stages == []
    body = _error(client.post("/api/v2/stages", json={"name": "Orphan"}))
    assert body["error"] == "Validation failed: pipeline_id: Parameter 'pipeline_id' is required"


@pytest.mark.parametrize("validate", [True, False])
@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("/api/v2/organizations", {}, "Validation failed: name: Parameter 'name' is required"),
        (
            "/api/v2/persons",
            {"name": "A", "org_id": "5"},
            "Validation failed: org_id: Expected 'integer' as value, got 'string'",
        ),
        (
            "/api/v2/deals",
            {"title": "A", "add_time": "2020-01-01T00:00:00Z"},
            "Validation failed: add_time: Parameter 'add_time' is not allowed for this request",
        ),
    ],
)
def test_same_error_with_or_without_spec_validation(
    make_sandbox: Any, validate: bool, path: str, body: dict[str, Any], error: str
) -> None:
    """The handler's own checks word errors like the spec validator does."""
    from .conftest import sandbox_client

    with sandbox_client(make_sandbox(validate=validate)) as client:
        response = client.post(path, json=body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["code"] == "ERR_SCHEMA_VALIDATION_FAILED"


def test_visible_to_levels_follow_the_plan(make_sandbox: Any) -> None:
    """Growth takes visible_to 1 or 3; Premium also 5 and 7 and defaults to 7."""
    from .conftest import sandbox_client

    with sandbox_client(make_sandbox()) as growth:
        body = _error(growth.post("/api/v2/persons", json={"name": "A", "visible_to": 7}))
        assert body["error"] == "Validation failed: visible_to: Must be one of 1, 3 on this plan"
    with sandbox_client(make_sandbox(plan="premium")) as premium:
        assert _ok(premium.post("/api/v2/persons", json={"name": "A"}))["visible_to"] == 7
        person = _ok(premium.post("/api/v2/persons", json={"name": "B", "visible_to": 5}))
        assert person["visible_to"] == 5


def test_archived_deals_move_to_their_own_list(client: httpx.Client) -> None:
    """is_archived=true stamps archive_time and moves the deal to /deals/archived."""
    _ok(client.post("/api/v2/deals", json={"title": "Keep"}))
    deal = _ok(client.post("/api/v2/deals", json={"title": "Old"}))
    archived = _ok(client.patch(f"/api/v2/deals/{deal['id']}", json={"is_archived": True}))
    assert archived["archive_time"] == "2026-01-15T09:00:00Z"
    assert [d["title"] for d in client.get("/api/v2/deals").json()["data"]] == ["Keep"]
    listed = client.get("/api/v2/deals/archived").json()["data"]
    assert [d["title"] for d in listed] == ["Old"]
