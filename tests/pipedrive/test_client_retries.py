"""Retry and error paths of the client, driven by scripted answers (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest

from pdmigrate.errors import (
    APIRetriableError,
    AuthError,
    BudgetExhausted,
    FatalAPIError,
    OutcomeUnknown,
    RecordRejected,
)
from pdmigrate.pipedrive.client import PipedriveClient
from pdmigrate.pipedrive.responses import NotFound, WriteOutcomeUnknown
from pdmigrate.pipedrive.testing import FakeSleep, ScriptedPipedrive, json_response
from pdmigrate.sandbox.clock import FakeClock

T = TypeVar("T")
TOKEN = "0123456789abcdef0123456789abcdef01234567"
START = datetime(2026, 3, 2, 22, 0, tzinfo=UTC)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion."""
    return asyncio.run(coro)


def make(
    *script: Any, commit: bool = False, **kwargs: Any
) -> tuple[PipedriveClient, ScriptedPipedrive, FakeSleep]:
    """A client over a scripted fake API, with a fake clock and sleep."""
    api = ScriptedPipedrive(script=deque(script), commit_before_failure=commit)
    clock = FakeClock(START)
    sleep = FakeSleep(clock)
    client = PipedriveClient(
        "https://acme.pipedrive.com",
        TOKEN,
        transport=httpx.MockTransport(api),
        clock=clock,
        sleep=sleep,
        seed=7,
        **kwargs,
    )
    return client, api, sleep


def burst_429(retry_after: str = "1") -> httpx.Response:
    """A burst-window 429 like the sandbox sends."""
    body = {"success": False, "error": "Rate limit exceeded", "code": "RATE_LIMIT_BURST"}
    headers = {"retry-after": retry_after, "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"}
    return json_response(429, body, headers)


def test_burst_429_waits_retry_after_then_succeeds() -> None:
    """A burst 429 is retried after exactly its Retry-After, and the POST is sent again."""
    client, api, sleep = make(burst_429("2"))
    person = run(client.persons.create({"name": "Ann Example"}))
    assert person == {"id": 1, "name": "Ann Example"}
    assert [r.method for r in api.requests] == ["POST", "POST"]
    assert 2.0 in sleep.waits
    assert client.stats.rate_limited == 1
    assert client.stats.retries == 1


def test_burst_429_without_retry_after_uses_ratelimit_reset() -> None:
    """Without Retry-After the wait is x-ratelimit-reset."""
    body = {"success": False, "error": "Rate limit exceeded"}
    limited = json_response(429, body, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "3"})
    client, _api, sleep = make(limited)
    run(client.persons.get_many([]))
    run(client.persons.create({"name": "B"}))
    assert 3.0 in sleep.waits


def test_burst_429_gives_up_after_max_burst_retries() -> None:
    """Endless burst 429s end in a retriable error, not an endless loop."""
    client, api, _ = make(*[burst_429() for _ in range(4)], max_burst_retries=3)
    with pytest.raises(APIRetriableError) as info:
        run(client.persons.get(1))
    assert info.value.status == 429
    assert len(api.requests) == 4


def test_daily_budget_429_raises_budget_exhausted_without_retry() -> None:
    """A daily-budget 429 is never retried; BudgetExhausted says when the budget resets."""
    body = {"success": False, "error": "Daily budget", "code": "DAILY_BUDGET_EXHAUSTED"}
    headers = {"x-daily-ratelimit-token-remaining": "0", "x-daily-ratelimit-reset": "7200"}
    client, api, _ = make(json_response(429, body, headers))
    with pytest.raises(BudgetExhausted) as info:
        run(client.persons.create({"name": "C"}))
    assert info.value.resets_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert "resets at 2026-03-03T00:00:00" in str(info.value)
    assert len(api.requests) == 1
    # The ledger remembers: the next call fails fast without reaching the server.
    with pytest.raises(BudgetExhausted):
        run(client.persons.get(1))
    assert len(api.requests) == 1


def test_fair_use_429_raises_budget_exhausted_for_writes_only() -> None:
    """The fair-use 429 stops writes until UTC midnight; reads still go through."""
    body = {"success": False, "error": "Daily limit", "code": "DAILY_REQUEST_LIMIT"}
    client, api, _ = make(json_response(429, body, {"x-daily-requests-left": "0"}))
    with pytest.raises(BudgetExhausted) as info:
        run(client.persons.create({"name": "D"}))
    assert info.value.resets_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    with pytest.raises(BudgetExhausted):
        run(client.persons.create({"name": "D"}))
    with pytest.raises(NotFound):
        run(client.persons.get(99))
    assert [r.method for r in api.requests] == ["POST", "GET"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_get_5xx_retries_with_capped_exponential_backoff(status: int) -> None:
    """A GET that gets 5xx is retried with growing, capped, jittered waits."""
    errors = [json_response(status, {"success": False, "error": "boom"}) for _ in range(4)]
    client, api, sleep = make(*errors, backoff_base=1.0, backoff_cap=4.0)
    api.records[5] = {"id": 5, "name": "E"}
    assert run(client.persons.get(5)) == {"id": 5, "name": "E"}
    assert len(api.requests) == 5
    assert len(sleep.waits) == 4
    for attempt, wait in enumerate(sleep.waits):
        ceiling = min(4.0, 2**attempt)
        assert ceiling / 2 <= wait <= ceiling


def test_get_5xx_gives_up_after_max_retries() -> None:
    """After max_retries the 5xx surfaces as APIRetriableError with the status."""
    errors = [json_response(503, {"success": False, "error": "down"}) for _ in range(3)]
    client, api, _ = make(*errors, max_retries=2)
    with pytest.raises(APIRetriableError) as info:
        run(client.persons.get(5))
    assert info.value.status == 503
    assert len(api.requests) == 3


def test_patch_and_delete_retry_after_timeouts() -> None:
    """PATCH and DELETE are idempotent: a lost answer is retried."""
    client, api, _ = make(httpx.ReadTimeout("slow"), commit=False)
    api.records[3] = {"id": 3, "name": "F"}
    run(client.persons.update(3, {"name": "G"}))
    assert [r.method for r in api.requests] == ["PATCH", "PATCH"]


def test_delete_whose_answer_was_lost_counts_as_done_on_404() -> None:
    """A DELETE retried after a lost answer and then told 404 was done by the first try."""
    gone = json_response(404, {"success": False, "error": "Not found", "data": None})
    client, api, _ = make(httpx.ReadTimeout("lost"), gone)
    run(client.persons.delete(3))
    assert [r.method for r in api.requests] == ["DELETE", "DELETE"]


def test_post_timeout_is_outcome_unknown_and_not_retried() -> None:
    """A POST whose answer is lost raises OutcomeUnknown carrying what to reconcile."""
    client, api, _ = make(httpx.ReadTimeout("lost"), commit=True)
    with pytest.raises(OutcomeUnknown) as info:
        run(client.persons.create({"name": "H"}))
    err = info.value
    assert isinstance(err, WriteOutcomeUnknown)
    assert (err.method, err.path, err.endpoint) == ("POST", "/api/v2/persons", "persons.create")
    assert err.payload == {"name": "H"}
    assert len(api.requests) == 1
    assert len(api.records) == 1  # committed, which is why the client must not resend
    assert "H" not in str(err)


def test_post_5xx_is_outcome_unknown() -> None:
    """A POST answered with 5xx may have been committed: OutcomeUnknown, no resend."""
    client, api, _ = make(json_response(502, {"success": False, "error": "bad gateway"}))
    with pytest.raises(WriteOutcomeUnknown) as info:
        run(client.persons.create({"name": "I"}))
    assert info.value.status == 502
    assert len(api.requests) == 1


def test_connect_error_is_retried_even_for_post() -> None:
    """A request that never reached the server is resent, even a POST."""
    client, api, _ = make(httpx.ConnectError("refused"))
    assert run(client.persons.create({"name": "J"}))["id"] == 1
    assert len(api.requests) == 2


def test_cloudflare_html_403_is_a_clear_fatal_error() -> None:
    """Cloudflare's HTML block page becomes a FatalAPIError that says what happened."""
    page = httpx.Response(
        403,
        content=b"<html><title>Attention Required! | Cloudflare</title>"
        b"This error is produced by Cloudflare</html>",
        headers={"content-type": "text/html"},
    )
    client, _, _ = make(page)
    with pytest.raises(FatalAPIError) as info:
        run(client.persons.get(1))
    assert info.value.code == "cloudflare_block"
    assert info.value.status == 403
    assert "Cloudflare" in str(info.value)


def test_non_json_success_body_is_a_fatal_error() -> None:
    """A 200 whose body is not JSON is refused clearly, naming the content type."""
    page = httpx.Response(
        200, content=b"<html>maintenance</html>", headers={"content-type": "text/html"}
    )
    client, _, _ = make(page)
    with pytest.raises(FatalAPIError) as info:
        run(client.persons.get(1))
    assert info.value.code == "non_json_body"
    assert "GET /api/v2/persons/1: HTTP 200 with a non-JSON body (text/html" in str(info.value)


def test_400_is_record_rejected_with_message_and_field() -> None:
    """A 400 carries Pipedrive's message and the field it names."""
    body = {
        "success": False,
        "error": "Validation failed: custom_fields: Expected 'number' as value for single "
        "option custom field",
        "code": "ERR_SCHEMA_VALIDATION_FAILED",
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
    }
    client, api, _ = make(json_response(400, body))
    with pytest.raises(RecordRejected) as info:
        run(client.persons.create({"name": "K"}))
    err = info.value
    assert err.field == "custom_fields"
    assert err.code == "ERR_SCHEMA_VALIDATION_FAILED"
    assert err.status == 400
    assert str(err) == (
        "POST /api/v2/persons: HTTP 400: Validation failed: custom_fields: Expected "
        "'number' as value for single option custom field"
    )
    assert len(api.requests) == 1


def test_400_read_only_person_id_names_the_field() -> None:
    """The activity person_id rule names person_id as the field."""
    body = {
        "success": False,
        "error": "'person_id' is a read-only field. Add a primary participant to set "
        "'person_id' instead.",
        "code": "ERR_BAD_REQUEST",
    }
    client, _, _ = make(json_response(400, body))
    with pytest.raises(RecordRejected) as info:
        run(client.activities.create({"subject": "Recall", "person_id": 1}))
    assert info.value.field == "person_id"


@pytest.mark.parametrize("status", [401, 402])
def test_401_and_402_are_auth_errors(status: int) -> None:
    """401 and 402 raise AuthError (exit code 2), never retried."""
    body = {"success": False, "error": "unauthorized access", "errorCode": 401}
    client, api, _ = make(json_response(status, body))
    with pytest.raises(AuthError) as info:
        run(client.users.me())
    assert info.value.status == status
    assert info.value.exit_code == 2
    assert len(api.requests) == 1


def test_feature_capping_403_keeps_the_code() -> None:
    """A plan-cap 403 is fatal and keeps Pipedrive's code."""
    body = {"success": False, "error": "Deals limit reached", "code": "feature_capping_deals_limit"}
    client, _, _ = make(json_response(403, body))
    with pytest.raises(FatalAPIError) as info:
        run(client.deals.create({"title": "L"}))
    assert info.value.code == "feature_capping_deals_limit"


def test_search_refused_by_the_general_lane_pauses_the_general_lane() -> None:
    """A search 429 whose headers describe the 40/2 s lane pauses that lane, not the search one."""
    body = {"success": False, "error": "Rate limit exceeded", "code": "RATE_LIMIT_BURST"}
    general = json_response(
        429, body, {"retry-after": "2", "x-ratelimit-limit": "40", "x-ratelimit-remaining": "0"}
    )
    search = json_response(
        429, body, {"retry-after": "1", "x-ratelimit-limit": "10", "x-ratelimit-remaining": "0"}
    )
    found = json_response(200, {"success": True, "data": {"items": []}, "additional_data": {}})
    client, _api, _ = make(general, found, search, found)

    async def go() -> None:
        [_ async for _ in client.persons.search("m@example.test", exact_match=True)]
        assert client.burst.paused_until == pytest.approx(2.0)
        assert client.search_lane.paused_until == 0.0
        [_ async for _ in client.persons.search("m@example.test", exact_match=True)]
        assert client.search_lane.paused_until == pytest.approx(3.0)

    run(go())
    assert client.search_lane.limit == 10
    assert client.stats.by_status == {429: 2, 200: 2}


def test_get_many_reads_back_in_chunks_of_100_ids() -> None:
    """250 ids are read with three ids= list calls (100, 100, 50), duplicates dropped."""
    client, api, _ = make()
    for i in range(1, 251):
        api.records[i] = {"id": i, "name": f"R{i}"}
    wanted = [*range(1, 251), 7, 7]
    found = run(client.persons.get_many(wanted))
    assert [r["id"] for r in found] == list(range(1, 251))
    sizes = [len(r.url.params["ids"].split(",")) for r in api.requests]
    assert sizes == [100, 100, 50]
    assert client.stats.tokens_charged == 30


def test_v1_lead_400_keeps_error_info_and_the_quoted_field() -> None:
    """v1's shape (detail in error_info) keeps both texts and names the field."""
    body = {
        "success": False,
        "error": "Couldn't create lead, body is invalid.",
        "error_info": '"channel" must be a number',
    }
    client, _, _ = make(json_response(400, body))
    with pytest.raises(RecordRejected) as info:
        run(client.leads.create({"title": "N", "person_id": 1, "channel": "web"}))
    assert info.value.field == "channel"
    assert str(info.value) == (
        "POST /api/v1/leads: HTTP 400: Couldn't create lead, body is invalid.: "
        '"channel" must be a number'
    )


def test_budget_429_with_retry_after_and_no_code_is_not_retried() -> None:
    """Headers decide: a 429 with Retry-After but zero daily tokens left is the budget."""
    headers = {"retry-after": "2", "x-daily-ratelimit-token-remaining": "0"}
    client, api, _ = make(json_response(429, {"success": False, "error": "Too many"}, headers))
    with pytest.raises(BudgetExhausted):
        run(client.persons.create({"name": "E"}))
    assert len(api.requests) == 1
