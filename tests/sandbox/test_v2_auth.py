"""Authentication, accounts per token, unknown routes, and the in-process transports."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.inprocess import SandboxTransport

from .conftest import BASE_URL, sandbox_client

UNAUTHORIZED = {
    "success": False,
    "error": "unauthorized access",
    "errorCode": 401,
    "error_info": "Please check developers.pipedrive.com",
    "data": None,
    "additional_data": None,
}


def test_missing_token_is_401_with_pipedrive_body(sandbox: Sandbox) -> None:
    """No x-api-token header and no api_token query: 401 with the exact envelope."""
    with httpx.Client(transport=SandboxTransport(app_for(sandbox)), base_url=BASE_URL) as c:
        response = c.get("/api/v2/persons")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_api_token_query_parameter_is_accepted(sandbox: Sandbox) -> None:
    """The legacy ?api_token= authenticates like the header (same account)."""
    with sandbox_client(sandbox, token="tok-a") as c:
        c.post("/api/v2/persons", json={"name": "Q Param"})
    with httpx.Client(transport=SandboxTransport(app_for(sandbox)), base_url=BASE_URL) as c:
        response = c.get("/api/v2/persons", params={"api_token": "tok-a"})
    assert response.status_code == 200
    assert [p["name"] for p in response.json()["data"]] == ["Q Param"]


def test_unknown_tokens_open_separate_accounts(sandbox: Sandbox) -> None:
    """Two unknown tokens get two accounts; neither sees the other's records."""
    with sandbox_client(sandbox, token="tok-a") as a, sandbox_client(sandbox, token="tok-b") as b:
        a.post("/api/v2/persons", json={"name": "Only In A"})
        assert b.get("/api/v2/persons").json()["data"] == []
        assert len(a.get("/api/v2/persons").json()["data"]) == 1
    ids = [acc.company_id for acc in sandbox.store.accounts()]
    assert ids == [1_000_001, 1_000_002]


def test_tokens_file_turns_off_open_signup(make_sandbox: Callable[..., Sandbox]) -> None:
    """With tokens configured, an unknown token is 401 and known ones share a company."""
    sandbox = make_sandbox(tokens={"known-1": 7, "known-2": 7})
    with sandbox_client(sandbox, token="stranger") as c:
        assert c.get("/api/v2/persons").status_code == 401
    with sandbox_client(sandbox, token="known-1") as c1:
        c1.post("/api/v2/persons", json={"name": "Shared"})
    with sandbox_client(sandbox, token="known-2") as c2:
        assert [p["name"] for p in c2.get("/api/v2/persons").json()["data"]] == ["Shared"]
    assert [a.company_id for a in sandbox.store.accounts()] == [7]


def test_unknown_route_is_404_envelope(client: httpx.Client) -> None:
    """A path Pipedrive does not serve answers 404 with the error envelope."""
    response = client.get("/api/v2/nonsense")
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": "Unknown method .",
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
        "additional_data": None,
    }


def test_new_account_is_seeded(client: httpx.Client) -> None:
    """A new account has the default pipeline with five stages, in order."""
    pipelines = client.get("/api/v2/pipelines").json()["data"]
    assert [p["name"] for p in pipelines] == ["Pipeline"]
    stages = client.get("/api/v2/stages", params={"pipeline_id": pipelines[0]["id"]}).json()
    assert [s["name"] for s in stages["data"]] == [
        "Qualified",
        "Contact Made",
        "Demo Scheduled",
        "Proposal Made",
        "Negotiations Started",
    ]


def test_malformed_json_body_is_400(client: httpx.Client) -> None:
    """A body that is not JSON is rejected before the handler runs."""
    response = client.post(
        "/api/v2/persons", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["success"] is False


@pytest.mark.parametrize("path", ["/api/v2/persons/search?term=zz", "/api/v2/persons/abc"])
def test_bad_requests_do_not_create_accounts_twice(client: httpx.Client, path: str) -> None:
    """Repeated requests with one token stay in one account, whatever they ask."""
    client.get(path)
    client.get(path)
    sandbox: Sandbox = client._transport.app.state.sandbox  # type: ignore[attr-defined]
    assert len(sandbox.store.accounts()) == 1
