"""The API token never leaves the x-api-token header: not in URLs, logs, errors or reprs."""

from __future__ import annotations

import asyncio
import logging
import pickle
import traceback
from collections.abc import Callable

import httpx
import pytest

from pdmigrate.errors import PdmigrateError, UsageError
from pdmigrate.pipedrive.client import PipedriveClient, Secret
from pdmigrate.pipedrive.testing import FakeSleep, json_response
from pdmigrate.sandbox.clock import FakeClock

TOKEN = "f00dfeedcafe0123456789abcdef0123456789ab"


def everything_about(exc: BaseException) -> str:
    """Every text a user or a log could see about an exception, chained ones included."""
    parts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    for linked in (exc.__cause__, exc.__context__):
        if linked is not None:
            parts.append(everything_about(linked))
    return "\n".join(parts)


def client_over(handler: Callable[[httpx.Request], httpx.Response]) -> PipedriveClient:
    """A client with zero retries over a MockTransport handler."""
    clock = FakeClock()
    return PipedriveClient(
        "https://acme.pipedrive.com",
        TOKEN,
        transport=httpx.MockTransport(handler),
        clock=clock,
        sleep=FakeSleep(clock),
        max_retries=0,
    )


def leaky_timeout(request: httpx.Request) -> httpx.Response:
    """A transport failure whose own message embeds the request headers and URL."""
    raise httpx.ReadTimeout(f"timed out: {request.url} {dict(request.headers)}", request=request)


def leaky_fatal(request: httpx.Request) -> httpx.Response:
    """A non-retriable httpx error that embeds the request headers."""
    raise httpx.UnsupportedProtocol(f"bad: {dict(request.headers)}", request=request)


def refused(request: httpx.Request) -> httpx.Response:
    """A 401 answer."""
    return json_response(401, {"success": False, "error": "unauthorized access"})


@pytest.mark.parametrize(
    ("handler", "call"),
    [
        (leaky_timeout, "create"),
        (leaky_timeout, "get"),
        (leaky_fatal, "get"),
        (refused, "get"),
    ],
)
def test_errors_never_carry_the_token(
    handler: Callable[[httpx.Request], httpx.Response],
    call: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Errors built from httpx failures (which hold the request) and logs omit the token."""
    client = client_over(handler)
    caplog.set_level(logging.DEBUG)

    async def go() -> None:
        if call == "create":
            await client.persons.create({"name": "Ann"})
        else:
            await client.persons.get(1)

    with pytest.raises(PdmigrateError) as info:
        asyncio.run(go())
    text = everything_about(info.value)
    assert "/api/v2/persons" in text  # the message names the endpoint...
    assert TOKEN not in text  # ...but never the token
    assert TOKEN not in caplog.text
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_token_goes_only_in_the_header() -> None:
    """Every request carries the token in x-api-token and nowhere in the URL."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, {"success": True, "data": [], "additional_data": {}})

    client = client_over(handler)

    async def go() -> None:
        await client.persons.get_many([1, 2])
        await client.users.list()
        [_ async for _ in client.persons.search("ann@example.com", exact_match=True)]

    asyncio.run(go())
    assert len(seen) == 3
    for request in seen:
        assert request.headers["x-api-token"] == TOKEN
        assert TOKEN not in str(request.url)
        assert "api_token" not in str(request.url)


def test_repr_and_str_hide_the_token() -> None:
    """The client, its Secret and their pickling never show the token."""
    client = client_over(refused)
    for text in (repr(client), str(client), repr(client.__dict__), repr(vars(client))):
        assert TOKEN not in text
    assert repr(client) == "PipedriveClient(base_url='https://acme.pipedrive.com', token=***)"
    secret = Secret(TOKEN)
    assert TOKEN not in repr(secret) + str(secret) + f"{secret}"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_base_url_with_api_token_is_refused() -> None:
    """A base URL that carries api_token is a usage error whose message omits it."""
    with pytest.raises(UsageError) as info:
        PipedriveClient(f"https://acme.pipedrive.com/?api_token={TOKEN}", TOKEN)
    assert TOKEN not in everything_about(info.value)


def test_missing_token_is_a_usage_error() -> None:
    """An empty token is refused up front with a hint about PIPEDRIVE_API_TOKEN."""
    with pytest.raises(UsageError, match="PIPEDRIVE_API_TOKEN"):
        PipedriveClient("https://acme.pipedrive.com", "  ")


def test_from_env_reads_the_token_and_refuses_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """from_env takes PIPEDRIVE_API_TOKEN; unset, it is a usage error naming the variable."""
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", TOKEN)
    client = PipedriveClient.from_env("https://acme.pipedrive.com")
    assert TOKEN not in repr(client)
    monkeypatch.delenv("PIPEDRIVE_API_TOKEN")
    with pytest.raises(UsageError, match="PIPEDRIVE_API_TOKEN is not set"):
        PipedriveClient.from_env("https://acme.pipedrive.com")
