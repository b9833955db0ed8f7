"""The Pipedrive API client: one call pipeline with rate control, budget and retries.

:class:`PipedriveClient` is asyncio-based (``httpx.AsyncClient``): run many calls
concurrently with ``asyncio.gather`` and the client keeps them inside Pipedrive's
limits. Every call goes through one pipeline:

1. the endpoint table (:mod:`pdmigrate.pipedrive.endpoints`) gives path and token cost;
2. the :class:`~pdmigrate.pipedrive.limiter.DailyLedger` reserves the tokens (and a
   fair-use write slot), or raises ``BudgetExhausted`` *before* the server would;
3. the :class:`~pdmigrate.pipedrive.limiter.BurstLimiter` (and the search lane for
   searches) waits for a slot in the 2-second window;
4. the request is sent with the token in the ``x-api-token`` header only;
5. the answer is classified (:mod:`pdmigrate.pipedrive.responses`) and retried by
   cause: a burst 429 waits ``Retry-After``; 5xx and lost responses on GET, PUT,
   PATCH and DELETE back off exponentially with jitter; a POST whose outcome is
   unknown raises :class:`~pdmigrate.pipedrive.responses.WriteOutcomeUnknown` and is
   never retried blindly (see :mod:`pdmigrate.pipedrive.reconcile`).

The token lives in a :class:`Secret`; it never appears in a URL, a log line, an
exception message or a repr. Errors raised from httpx failures are built outside the
``except`` block, so they do not chain the httpx exception (which holds the request).

Typed per-entity helpers (``client.persons.create(...)`` and so on) are in
:mod:`pdmigrate.pipedrive.resources` and attached here.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from pdmigrate.errors import APIRetriableError, BudgetExhausted, FatalAPIError, UsageError
from pdmigrate.pipedrive import endpoints
from pdmigrate.pipedrive.endpoints import Endpoint
from pdmigrate.pipedrive.leadshape import from_wire, to_wire
from pdmigrate.pipedrive.limiter import (
    PLAN_BURST_LIMITS,
    SEARCH_BURST_LIMIT,
    BurstLimiter,
    Clock,
    DailyLedger,
    Sleep,
    Slot,
    SystemClock,
)
from pdmigrate.pipedrive.resources import Resources
from pdmigrate.pipedrive.responses import (
    NotFound,
    WriteOutcomeUnknown,
    error_for_status,
    parse_json,
    rate_limit_kind,
    retry_after_seconds,
)

__all__ = ["ApiResponse", "ClientStats", "PipedriveClient", "Secret"]

log = logging.getLogger(__name__)

TOKEN_ENV = "PIPEDRIVE_API_TOKEN"  # noqa: S105 - the variable name, not a token
IDEMPOTENT = frozenset({"GET", "PUT", "PATCH", "DELETE", "HEAD"})

# Failures where the request never reached the server: safe to resend, even a POST.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures after the request may have been processed: the outcome is unknown.
_LOST = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class Secret:
    """A string that never shows itself in ``repr``/``str`` (the API token)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one header that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


@dataclass
class ApiResponse:
    """A successful answer: status, the envelope's ``data`` and ``additional_data``."""

    status: int
    data: Any
    additional_data: Any
    headers: dict[str, str]
    endpoint: str
    content: bytes = b""


@dataclass
class ClientStats:
    """What the client did: requests sent, answers by status, retries, tokens."""

    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    retries: int = 0
    transport_failures: int = 0
    outcome_unknown: int = 0
    reconciliations: int = 0
    tokens_charged: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"Pipedrive base URL must be http(s)://host, got scheme {parts.scheme!r}")
    if any(k.lower() == "api_token" for k, _ in parse_qsl(parts.query)):
        raise UsageError(
            "the Pipedrive base URL must not carry api_token; pass the token separately "
            "(it is sent in the x-api-token header)"
        )
    if parts.username or parts.password:
        raise UsageError("the Pipedrive base URL must not carry credentials")
    path = parts.path.rstrip("/")
    for suffix in ("/api/v2", "/api/v1", "/v1"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return f"{parts.scheme}://{parts.netloc}{path}"


async def _real_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


class PipedriveClient(Resources):
    """Async Pipedrive API client (v1 and v2) that stays inside the account's limits.

    ``base_url`` is ``https://COMPANY.pipedrive.com`` or a sandbox URL. Pass either an
    ``http`` client (``httpx.AsyncClient``; the client does not close it) or a
    ``transport`` (e.g. ``httpx.MockTransport`` or the sandbox's in-process transport).

    ``plan`` gives the burst limit to use before the first ``x-ratelimit-limit``
    header; ``burst_limit`` overrides it. ``daily_budget`` is the company's token
    budget if known before any header; ``budget_reserve`` keeps that many tokens
    unspent (for other integrations). ``clock`` and ``sleep`` are injectable for
    tests; ``seed`` makes the backoff jitter deterministic.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        plan: str = "lite",
        burst_limit: int | None = None,
        search_limit: int = SEARCH_BURST_LIMIT,
        daily_budget: int | None = None,
        budget_reserve: int = 0,
        max_in_flight: int = 8,
        max_retries: int = 5,
        max_burst_retries: int = 8,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        timeout: float = 20.0,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        seed: int | None = None,
    ) -> None:
        if not token or not token.strip():
            raise UsageError(f"no Pipedrive API token given (set {TOKEN_ENV})")
        if plan not in PLAN_BURST_LIMITS:
            raise UsageError(f"unknown plan {plan!r}; use one of {', '.join(PLAN_BURST_LIMITS)}")
        self.base_url = _check_base_url(base_url)
        self._token = Secret(token.strip())
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(transport=transport, timeout=timeout)
        self.clock: Clock = clock or SystemClock()
        self._sleep: Sleep = sleep or _real_sleep
        self.burst = BurstLimiter(
            burst_limit or PLAN_BURST_LIMITS[plan], clock=self.clock, sleep=self._sleep
        )
        self.search_lane = BurstLimiter(
            search_limit, clock=self.clock, sleep=self._sleep, max_limit=search_limit, name="search"
        )
        self.ledger = DailyLedger(
            clock=self.clock, daily_budget=daily_budget, reserve_tokens=budget_reserve
        )
        self.max_in_flight = max_in_flight
        self._slots: asyncio.Semaphore | None = None
        self._probe: asyncio.Lock | None = None
        self.max_retries = max_retries
        self.max_burst_retries = max_burst_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._rng = random.Random(seed)
        self.stats = ClientStats()
        super().__init__()

    @classmethod
    def from_env(cls, base_url: str, **options: Any) -> PipedriveClient:
        """A client whose token comes from ``PIPEDRIVE_API_TOKEN`` (never from a file)."""
        token = os.environ.get(TOKEN_ENV, "")
        if not token.strip():
            raise UsageError(f"{TOKEN_ENV} is not set", hint="export the company's API token")
        return cls(base_url, token, **options)

    def __repr__(self) -> str:
        return f"PipedriveClient(base_url={self.base_url!r}, token=***)"

    async def __aenter__(self) -> PipedriveClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying httpx client if this client created it."""
        if self._owns_http:
            await self._http.aclose()

    async def sleep(self, seconds: float) -> None:
        """Sleep through the injected sleep (a fake clock in tests)."""
        await self._sleep(seconds)

    # --- the call pipeline -----------------------------------------------------------

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with jitter for retry number ``attempt`` (0-based)."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2**attempt))
        return float(ceiling / 2 + self._rng.uniform(0, ceiling / 2))

    async def call(
        self,
        name: str,
        *,
        path_params: Mapping[str, object] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        data: Mapping[str, Any] | None = None,
        raw: bool = False,
    ) -> ApiResponse:
        """Call the endpoint called ``name`` in the table (e.g. ``"persons.get"``).

        ``path_params`` fill the path template; ``params`` are query parameters;
        ``json`` is the body, or ``files``/``data`` for multipart. With ``raw=True``
        the body is returned as bytes in ``content`` (file downloads).
        """
        try:
            ep = endpoints.get(name)
        except KeyError:
            raise UsageError(
                f"no Pipedrive endpoint named {name!r} in the endpoint table"
            ) from None
        path = ep.format(**(path_params or {}))
        return await self._send(ep, path, params=params, json=json, files=files, data=data, raw=raw)

    async def _acquire(self, ep: Endpoint, slots: list[Slot]) -> None:
        # Filled in place, so a cancelled wait still releases what it took.
        if ep.is_search:
            slots.append(await self.search_lane.acquire())
        slots.append(await self.burst.acquire())

    def _release(self, ep: Endpoint, slots: list[Slot], headers: Mapping[str, str] | None) -> None:
        if headers is not None:
            self.ledger.observe(headers)
            # For a search the rate headers describe the search lane.
            lane = self.search_lane if ep.is_search else self.burst
            if slots:
                lane.observe(headers, slots[0].expected_remaining)
        for slot, lane in zip(slots, self._lanes(ep), strict=False):
            lane.release(slot)

    def _lanes(self, ep: Endpoint) -> list[BurstLimiter]:
        return [self.search_lane, self.burst] if ep.is_search else [self.burst]

    async def _attempt(
        self,
        ep: Endpoint,
        url: str,
        where: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        files: Any,
        data: Mapping[str, Any] | None,
    ) -> tuple[httpx.Response | None, str | None]:
        """Send once: (response, None), or (None, "kind:ExceptionName") on a transport failure.

        While the daily budget is unknown (no header seen yet, no ``daily_budget``),
        requests go one at a time, so the first answer's headers are known before a
        second call could overdraw an almost spent budget.
        """
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_in_flight)
            self._probe = asyncio.Lock()
        assert self._probe is not None
        probing = False
        if self.ledger.tokens_left() is None:
            await self._probe.acquire()
            probing = True
            if self.ledger.tokens_left() is not None:  # another call just learnt it
                self._probe.release()
                probing = False
        try:
            return await self._attempt_in_slot(
                ep, url, where, params=params, json=json, files=files, data=data
            )
        finally:
            if probing:
                self._probe.release()

    async def _attempt_in_slot(
        self,
        ep: Endpoint,
        url: str,
        where: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        files: Any,
        data: Mapping[str, Any] | None,
    ) -> tuple[httpx.Response | None, str | None]:
        assert self._slots is not None
        failure: str | None = None
        response: httpx.Response | None = None
        slots: list[Slot] = []
        # Take the in-flight slot first: the budget is then reserved only for the
        # few requests about to leave (not for every queued one), and the window
        # slot is stamped when the request really leaves.
        async with self._slots:
            self.ledger.reserve(ep.cost, is_write=ep.is_write, endpoint=where)
            try:
                await self._acquire(ep, slots)
                self.stats.requests += 1
                self.stats.by_endpoint[ep.name] += 1
                try:
                    response = await self._http.request(
                        ep.method,
                        url,
                        params=params,
                        json=json,
                        files=files,
                        data=data,
                        headers={"x-api-token": self._token.reveal()},
                    )
                except _NOT_SENT as exc:
                    failure = f"not_sent:{type(exc).__name__}"
                except _LOST as exc:
                    failure = f"lost:{type(exc).__name__}"
                except httpx.HTTPError as exc:
                    failure = f"fatal:{type(exc).__name__}"
            finally:
                self._release(ep, slots, None if response is None else response.headers)
                self.ledger.release(ep.cost, is_write=ep.is_write)
        return response, failure

    async def _send(
        self,
        ep: Endpoint,
        path: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        files: Any,
        data: Mapping[str, Any] | None,
        raw: bool,
    ) -> ApiResponse:
        where = f"{ep.method} {path}"
        url = self.base_url + path
        json = to_wire(ep.name, json)  # leads take custom fields as v1 top-level keys
        attempt = 0
        burst_retries = 0
        ambiguous = False  # an earlier attempt may have been processed
        while True:
            response, failure = await self._attempt(
                ep, url, where, params=params, json=json, files=files, data=data
            )
            if failure is not None:
                kind, exc_name = failure.split(":", 1)
                self.stats.transport_failures += 1
                log.info("%s: transport failure %s (attempt %d)", where, exc_name, attempt + 1)
                if kind == "fatal":
                    raise FatalAPIError(f"{where}: request failed ({exc_name})", code=exc_name)
                if kind == "lost" and ep.method not in IDEMPOTENT:
                    self.stats.outcome_unknown += 1
                    raise WriteOutcomeUnknown(
                        f"{where}: no response ({exc_name}); the write may have been committed",
                        method=ep.method,
                        path=path,
                        endpoint=ep.name,
                        payload=json if json is not None else data,
                        sent_at=self.clock.now(),
                    )
                if attempt >= self.max_retries:
                    raise APIRetriableError(
                        f"{where}: no response after {attempt + 1} attempts ({exc_name})"
                    )
                ambiguous = ambiguous or kind == "lost"
                await self._sleep(self.backoff(attempt))
                attempt += 1
                self.stats.retries += 1
                continue

            assert response is not None  # set whenever there was no failure
            status = response.status_code
            self.stats.by_status[status] += 1
            headers = response.headers
            body = response.content
            if status != 429:
                cost = headers.get("x-token-cost")
                if cost is not None and cost.isdigit():
                    self.stats.tokens_charged += int(cost)
            log.debug("%s -> %d", where, status)

            if 200 <= status < 300:
                return self._success(ep, where, status, headers, body, raw)

            if status == 429:
                self.stats.rate_limited += 1
                parsed = parse_json(body)
                kind429 = rate_limit_kind(headers, parsed)
                if kind429 == "daily_budget":
                    resets = self.ledger.mark_exhausted("tokens", headers)
                    raise BudgetExhausted(
                        f"{where}: Pipedrive says the daily token budget is used up",
                        resets_at=resets,
                    )
                if kind429 == "fair_use":
                    resets = self.ledger.mark_exhausted("writes", headers)
                    raise BudgetExhausted(
                        f"{where}: Pipedrive says the daily fair-use cap on writes is used up",
                        resets_at=resets,
                    )
                if burst_retries >= self.max_burst_retries:
                    raise APIRetriableError(
                        f"{where}: still rate limited after {burst_retries} waits", status=429
                    )
                wait = retry_after_seconds(headers)
                if wait is None:
                    wait = self.backoff(burst_retries)
                # A search can be refused by either lane; the headers say which.
                refused_by = self.burst
                if ep.is_search and headers.get("x-ratelimit-limit") == str(self.search_lane.limit):
                    refused_by = self.search_lane
                refused_by.pause(wait)
                burst_retries += 1
                self.stats.retries += 1
                continue

            error = error_for_status(status=status, headers=headers, body_bytes=body, where=where)
            if isinstance(error, NotFound) and ep.method == "DELETE" and ambiguous:
                # The earlier, unanswered DELETE did its job.
                return ApiResponse(status, None, None, dict(headers), ep.name)
            if isinstance(error, APIRetriableError):
                if ep.method not in IDEMPOTENT:
                    self.stats.outcome_unknown += 1
                    raise WriteOutcomeUnknown(
                        f"{where}: HTTP {status}; the write may or may not have been committed",
                        method=ep.method,
                        path=path,
                        endpoint=ep.name,
                        payload=json if json is not None else data,
                        status=status,
                        sent_at=self.clock.now(),
                    )
                if attempt < self.max_retries:
                    ambiguous = True
                    await self._sleep(self.backoff(attempt))
                    attempt += 1
                    self.stats.retries += 1
                    continue
            raise error

    def _success(
        self,
        ep: Endpoint,
        where: str,
        status: int,
        headers: httpx.Headers,
        body: bytes,
        raw: bool,
    ) -> ApiResponse:
        if raw:
            return ApiResponse(status, None, None, dict(headers), ep.name, content=body)
        parsed = parse_json(body)
        if not isinstance(parsed, dict):
            kind = headers.get("content-type", "no content type").split(";")[0]
            raise FatalAPIError(
                f"{where}: HTTP {status} with a non-JSON body ({kind}, {len(body)} bytes)",
                status=status,
                code="non_json_body",
            )
        if parsed.get("success") is False:
            raise FatalAPIError(
                f"{where}: HTTP {status} but success=false: {parsed.get('error') or 'no detail'}",
                status=status,
            )
        return ApiResponse(
            status,
            from_wire(ep.name, parsed.get("data")),
            parsed.get("additional_data"),
            dict(headers),
            ep.name,
        )

    # --- pagination --------------------------------------------------------------------

    async def iter_cursor(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        path_params: Mapping[str, object] | None = None,
        page_size: int = 500,
        items_key: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a v2 list, following ``additional_data.next_cursor``.

        ``items_key`` picks a list inside ``data`` (search endpoints put them in
        ``data.items``).
        """
        cursor: str | None = None
        while True:
            query = {k: v for k, v in (params or {}).items() if v is not None}
            query["limit"] = page_size
            if cursor:
                query["cursor"] = cursor
            resp = await self.call(name, path_params=path_params, params=query)
            page = resp.data
            if items_key is not None and isinstance(page, dict):
                page = page.get(items_key)
            for item in page or []:
                yield item
            extra = resp.additional_data if isinstance(resp.additional_data, dict) else {}
            cursor = extra.get("next_cursor")
            if not cursor:
                return

    async def iter_offset(
        self,
        name: str,
        *,
        params: Mapping[str, Any] | None = None,
        path_params: Mapping[str, object] | None = None,
        page_size: int = 100,
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a v1 list, following ``additional_data.pagination.next_start``."""
        start = 0
        while True:
            query = {k: v for k, v in (params or {}).items() if v is not None}
            query["start"] = start
            query["limit"] = page_size
            resp = await self.call(name, path_params=path_params, params=query)
            for item in resp.data or []:
                yield item
            extra = resp.additional_data if isinstance(resp.additional_data, dict) else {}
            pagination = extra.get("pagination") or {}
            if not pagination.get("more_items_in_collection"):
                return
            next_start = pagination.get("next_start")
            if not isinstance(next_start, int) or next_start <= start:
                return
            start = next_start
