"""Fixtures for sandbox tests (reused by the v1, limits, conformance and client tests).

- ``clock``: a :class:`FakeClock` at 2026-01-15 09:00 UTC.
- ``sandbox``: an in-memory :class:`Sandbox` on that clock (growth, one seat).
- ``client`` / ``async_client``: httpx clients over the in-process transports, with
  ``x-api-token: TOKEN`` and ``base_url`` ``http://sandbox``.
- ``make_sandbox(**config)``: another sandbox with config overrides (same clock).

Rate limits are on, as in the contract, and the fake clock only moves when a test moves
it: one token gets the plan's burst (growth: 40 requests) per 2 fake seconds. A test
that sends more either calls ``clock.advance(2)`` between bursts or builds its sandbox
with ``make_sandbox(rate_limits=False)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.clock import FakeClock
from pdmigrate.sandbox.config import SandboxConfig
from pdmigrate.sandbox.inprocess import AsyncSandboxTransport, SandboxTransport

TOKEN = "test-token-0001"
BASE_URL = "http://sandbox"


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock at 2026-01-15 09:00 UTC."""
    return FakeClock()


@pytest.fixture
def make_sandbox(clock: FakeClock) -> Callable[..., Sandbox]:
    """Build a sandbox on the fake clock with SandboxConfig overrides."""

    def build(**overrides: Any) -> Sandbox:
        overrides.setdefault("clock", clock)
        return Sandbox(SandboxConfig(**overrides))

    return build


@pytest.fixture
def sandbox(make_sandbox: Callable[..., Sandbox]) -> Sandbox:
    """An in-memory growth sandbox on the fake clock."""
    return make_sandbox()


def sandbox_client(sandbox: Sandbox, token: str = TOKEN) -> httpx.Client:
    """An httpx client over ``sandbox`` sending ``token``."""
    return httpx.Client(
        transport=SandboxTransport(app_for(sandbox)),
        base_url=BASE_URL,
        headers={"x-api-token": token},
    )


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A sync httpx client over the ``sandbox`` fixture, with the test token."""
    with sandbox_client(sandbox) as c:
        yield c


@pytest.fixture
async def async_client(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """An async httpx client over the ``sandbox`` fixture, with the test token."""
    async with httpx.AsyncClient(
        transport=AsyncSandboxTransport(app_for(sandbox)),
        base_url=BASE_URL,
        headers={"x-api-token": TOKEN},
    ) as c:
        yield c
