"""v1 users (list, find, me, get, create, update) and activity types (list, add, edit, delete)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.inprocess import SandboxTransport

ERROR_INFO = "Please check developers.pipedrive.com"
USERS = [
    {"name": "Dana Reyes", "email": "dana@clinic.example", "active_flag": True, "is_admin": True},
    {"name": "Lee Park", "email": "lee@clinic.example", "active_flag": True, "is_admin": False},
    {"name": "Old Hand", "email": "old@clinic.example", "active_flag": False, "is_admin": False},
]


@pytest.fixture(autouse=True)
def _responses_follow_the_spec(sandbox: Sandbox) -> Iterator[None]:
    yield
    assert sandbox.spec_problems == []


@pytest.fixture
def clinic(make_sandbox: Callable[..., Sandbox]) -> Iterator[httpx.Client]:
    """A client on a sandbox seeded with USERS (as `--users FILE` would)."""
    sandbox = make_sandbox(users=USERS)
    with httpx.Client(
        transport=SandboxTransport(app_for(sandbox)),
        base_url="http://sandbox",
        headers={"x-api-token": "clinic"},
    ) as client:
        yield client
    assert sandbox.spec_problems == []


def test_default_account_lists_three_seeded_users(client: httpx.Client) -> None:
    """GET /v1/users on a new account lists the default users, the owner first."""
    response = client.get("/api/v1/users")
    assert response.status_code == 200
    users = response.json()["data"]
    assert [(u["id"], u["name"], u["email"]) for u in users] == [
        (1, "Sandbox Admin", "admin@sandbox.example"),
        (2, "Riley Example", "riley@sandbox.example"),
        (3, "Casey Example", "casey@sandbox.example"),
    ]
    assert [u["is_you"] for u in users] == [True, False, False]
    first = users[0]
    assert first["access"][0]["app"] == "sales"
    assert first["access"][0]["admin"] is True
    assert first["created"] == "2026-01-15 09:00:00"
    assert first["active_flag"] is True
    assert first["is_deleted"] is False


def test_users_file_seeds_the_account(clinic: httpx.Client) -> None:
    """--users seeds exactly those users, inactive ones included."""
    users = clinic.get("/api/v1/users").json()["data"]
    assert [(u["email"], u["active_flag"]) for u in users] == [
        ("dana@clinic.example", True),
        ("lee@clinic.example", True),
        ("old@clinic.example", False),
    ]
    assert [u["access"][0]["admin"] for u in users] == [True, False, False]


def test_find_by_email_and_by_name(clinic: httpx.Client) -> None:
    """users/find matches email with search_by_email=1, else the name (case-insensitive)."""
    by_email = clinic.get("/api/v1/users/find", params={"term": "LEE@clinic", "search_by_email": 1})
    assert by_email.status_code == 200
    assert [u["name"] for u in by_email.json()["data"]] == ["Lee Park"]
    by_name = clinic.get("/api/v1/users/find", params={"term": "park"})
    assert [u["email"] for u in by_name.json()["data"]] == ["lee@clinic.example"]
    none = clinic.get("/api/v1/users/find", params={"term": "lee@", "search_by_email": 0})
    assert none.json()["data"] == []


def test_find_needs_a_term(client: httpx.Client) -> None:
    """users/find without term is the spec's required-parameter 400."""
    response = client.get("/api/v1/users/find")
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Validation failed: term: Parameter 'term' is required",
        "code": "ERR_SCHEMA_VALIDATION_FAILED",
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


def test_me_is_the_owner_with_company(clinic: httpx.Client, sandbox: Sandbox) -> None:
    """users/me is the first user plus the company id, name and domain."""
    me = clinic.get("/api/v1/users/me").json()["data"]
    assert (me["id"], me["email"], me["is_you"]) == (1, "dana@clinic.example", True)
    assert me["company_id"] == 1_000_001
    assert me["company_name"] == "Sandbox company 1000001"
    assert me["company_domain"] == "sandbox-1000001"
    assert me["language"] == {"language_code": "en", "country_code": "US"}


def test_get_user_and_404(clinic: httpx.Client) -> None:
    """GET /v1/users/{id} answers the user; an unknown id is the spec's 404."""
    assert clinic.get("/api/v1/users/2").json()["data"]["name"] == "Lee Park"
    missing = clinic.get("/api/v1/users/99")
    assert missing.status_code == 404
    assert missing.json() == {
        "success": False,
        "error": "User not found or not accessible.",
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


def test_create_user_by_email(client: httpx.Client) -> None:
    """POST /v1/users invites by email; the name is the local part; duplicates are refused."""
    response = client.post(
        "/api/v1/users", json={"email": "new.hire@sandbox.example", "access": [{"app": "sales"}]}
    )
    assert response.status_code == 200
    user = response.json()["data"]
    assert (user["id"], user["name"], user["email"]) == (4, "new.hire", "new.hire@sandbox.example")
    assert [a["app"] for a in user["access"]] == ["sales", "global"]
    assert user["is_you"] is False
    again = client.post("/api/v1/users", json={"email": "NEW.HIRE@sandbox.example"})
    assert again.status_code == 400
    assert again.json()["error"] == "A user with this email already exists in the company"
    assert len(client.get("/api/v1/users").json()["data"]) == 4


def test_create_user_needs_an_email(client: httpx.Client) -> None:
    """POST /v1/users without email is the spec's required-parameter 400."""
    response = client.post("/api/v1/users", json={"active_flag": True})
    assert response.status_code == 400
    assert response.json()["error"] == "Validation failed: email: Parameter 'email' is required"


def test_update_user_active_flag(clinic: httpx.Client) -> None:
    """PUT /v1/users/{id} switches active_flag."""
    response = clinic.put("/api/v1/users/3", json={"active_flag": True})
    assert response.status_code == 200
    assert response.json()["data"]["active_flag"] is True


# --- activity types ---------------------------------------------------------------------


def test_default_activity_types(client: httpx.Client) -> None:
    """GET /v1/activityTypes lists Pipedrive's six defaults in order."""
    types = client.get("/api/v1/activityTypes").json()["data"]
    assert [(t["id"], t["key_string"], t["name"], t["order_nr"]) for t in types] == [
        (1, "call", "Call", 1),
        (2, "meeting", "Meeting", 2),
        (3, "task", "Task", 3),
        (4, "deadline", "Deadline", 4),
        (5, "email", "Email", 5),
        (6, "lunch", "Lunch", 6),
    ]
    assert types[0] == {
        "id": 1,
        "order_nr": 1,
        "name": "Call",
        "key_string": "call",
        "icon_key": "call",
        "active_flag": True,
        "color": "FFFFFF",
        "is_custom_flag": False,
        "add_time": "2026-01-15 09:00:00",
        "update_time": "2026-01-15 09:00:00",
    }


def test_create_custom_type(client: httpx.Client) -> None:
    """POST /v1/activityTypes derives key_string from the name and appends the type."""
    response = client.post(
        "/api/v1/activityTypes",
        json={"name": "Video call", "icon_key": "camera", "color": "aeb31b"},
    )
    assert response.status_code == 200
    assert response.json()["data"] == {
        "id": 7,
        "order_nr": 7,
        "name": "Video call",
        "key_string": "video_call",
        "icon_key": "camera",
        "active_flag": True,
        "color": "aeb31b",
        "is_custom_flag": True,
        "add_time": "2026-01-15 09:00:00",
        "update_time": "2026-01-15 09:00:00",
    }
    twin = client.post("/api/v1/activityTypes", json={"name": "Video Call!", "icon_key": "camera"})
    assert twin.json()["data"]["key_string"] == "video_call_2"


def test_create_type_rejects_an_icon_outside_the_enum(client: httpx.Client) -> None:
    """icon_key must be one of the spec's 40 icons."""
    response = client.post("/api/v1/activityTypes", json={"name": "Recall", "icon_key": "tooth"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "ERR_SCHEMA_VALIDATION_FAILED"
    assert body["error"].startswith(
        "Validation failed: icon_key: The value you selected is not a valid choice. "
        "Allowed: task, email, meeting, deadline, call, lunch, calendar,"
    )
    assert body["error"].endswith("bell, presentation.")


@pytest.mark.parametrize("missing", ["name", "icon_key"])
def test_create_type_needs_name_and_icon(client: httpx.Client, missing: str) -> None:
    """name and icon_key are both required."""
    body = {"name": "Recall", "icon_key": "bell"}
    del body[missing]
    response = client.post("/api/v1/activityTypes", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == (
        f"Validation failed: {missing}: Parameter '{missing}' is required"
    )


def test_update_and_delete_type(client: httpx.Client) -> None:
    """PUT renames; DELETE marks the type inactive, it stays listed, and a second DELETE is 404."""
    created = client.post("/api/v1/activityTypes", json={"name": "Recall", "icon_key": "bell"})
    type_id = created.json()["data"]["id"]
    renamed = client.put(f"/api/v1/activityTypes/{type_id}", json={"name": "Recall visit"})
    assert renamed.json()["data"]["name"] == "Recall visit"
    assert renamed.json()["data"]["key_string"] == "recall"
    deleted = client.delete(f"/api/v1/activityTypes/{type_id}")
    assert deleted.status_code == 200
    assert deleted.json()["data"]["active_flag"] is False
    listed = {t["id"]: t["active_flag"] for t in client.get("/api/v1/activityTypes").json()["data"]}
    assert listed[type_id] is False
    again = client.delete(f"/api/v1/activityTypes/{type_id}")
    assert again.status_code == 404
    assert again.json()["error"] == "Activity type not found"


def test_only_an_admin_adds_users(make_sandbox: Callable[..., Sandbox]) -> None:
    """When the token's user is not an admin, POST /v1/users is the spec's 403."""
    sandbox = make_sandbox(users=[{"name": "Temp", "email": "temp@clinic.example",
                                   "is_admin": False}])  # fmt: skip
    with httpx.Client(
        transport=SandboxTransport(app_for(sandbox)),
        base_url="http://sandbox",
        headers={"x-api-token": "temp"},
    ) as client:
        response = client.post("/api/v1/users", json={"email": "x@clinic.example"})
        assert response.status_code == 403
        assert response.json() == {
            "success": False,
            "error": "You do not have permissions to do this.",
            "error_info": ERROR_INFO,
            "data": None,
            "additional_data": None,
        }
        assert len(client.get("/api/v1/users").json()["data"]) == 1
    assert sandbox.spec_problems == []
