"""The in-process transports: lost responses, sync use from async code, dump via Sandbox."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from pdmigrate.sandbox import AsyncSandboxTransport, Sandbox, SandboxConfig, SandboxTransport
from pdmigrate.sandbox.app import app_for, create_app
from pdmigrate.sandbox.faults import FaultSpec

from .conftest import BASE_URL, TOKEN, sandbox_client


def test_lost_response_is_read_timeout_but_write_is_committed(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    """With lost=1 a POST raises httpx.ReadTimeout and the person exists afterwards."""
    sandbox = make_sandbox(faults=FaultSpec(lost_rate=1.0))
    with sandbox_client(sandbox) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post("/api/v2/persons", json={"name": "Lost Reply"})
        listed = client.get("/api/v2/persons").json()["data"]
    assert [p["name"] for p in listed] == ["Lost Reply"]


@pytest.mark.anyio
async def test_async_lost_response(make_sandbox: Callable[..., Sandbox]) -> None:
    """The async transport raises ReadTimeout for a lost write too; reads are unaffected."""
    sandbox = make_sandbox(faults=FaultSpec(lost_rate=1.0))
    transport = AsyncSandboxTransport(app_for(sandbox))
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, headers={"x-api-token": TOKEN}
    ) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/api/v2/organizations", json={"name": "Lost Org"})
        got = await client.get("/api/v2/organizations/1")
    assert got.json()["data"]["name"] == "Lost Org"


@pytest.mark.anyio
async def test_sync_transport_works_inside_a_running_loop(sandbox: Sandbox) -> None:
    """A sync client used from async code still gets its answer."""
    with sandbox_client(sandbox) as client:
        response = client.post("/api/v2/persons", json={"name": "From Async"})
    assert response.status_code == 200
    assert response.json()["data"]["name"] == "From Async"


def test_transport_builds_an_app_from_a_sandbox_or_nothing(clock: object) -> None:
    """SandboxTransport accepts an app, a Sandbox, or nothing (a default sandbox)."""
    sandbox = Sandbox(SandboxConfig(clock=clock))  # type: ignore[arg-type]
    transport = SandboxTransport(sandbox)
    assert transport.sandbox is sandbox
    with httpx.Client(
        transport=transport, base_url=BASE_URL, headers={"x-api-token": TOKEN}
    ) as client:
        assert client.get("/api/v2/persons").json() == {
            "success": True,
            "data": [],
            "additional_data": {"next_cursor": None},
        }
    assert isinstance(SandboxTransport().sandbox, Sandbox)
    assert create_app().state.sandbox.config.plan == "growth"


def test_lost_response_over_real_http_times_out_the_client(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    """Over HTTP the lost answer is held lost_delay_s, so the client's timeout fires first."""
    from pdmigrate.sandbox.server import ServerThread

    sandbox = make_sandbox(faults=FaultSpec(lost_rate=1.0, lost_delay_s=0.6))
    with (
        ServerThread(app_for(sandbox)) as server,
        httpx.Client(base_url=server.url, headers={"x-api-token": TOKEN}) as client,
    ):
        with pytest.raises(httpx.ReadTimeout):
            client.post("/api/v2/persons", json={"name": "Slow Reply"}, timeout=0.2)
        names = [p["name"] for p in client.get("/api/v2/persons", timeout=5).json()["data"]]
    assert names == ["Slow Reply"]
