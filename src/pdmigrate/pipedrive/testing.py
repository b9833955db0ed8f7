"""Test helpers for code that uses the client: a fake sleep and a scripted fake API.

:class:`FakeSleep` advances a fake clock instead of waiting. :class:`ScriptedPipedrive`
is an ``httpx.MockTransport`` handler that answers like Pipedrive (envelope, rate
headers) from a tiny in-memory store, and plays a script of canned answers or
transport failures first, so each retry path can be driven exactly. For end-to-end
behaviour use the sandbox (:mod:`pdmigrate.sandbox`); this is for the paths the
sandbox cannot produce on demand.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

__all__ = ["FakeSleep", "ScriptedPipedrive", "json_response"]


class _Advancing(Protocol):
    def advance(self, seconds: float) -> None: ...


class FakeSleep:
    """An async sleep that moves a fake clock forward and records each wait."""

    def __init__(self, clock: _Advancing) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(max(seconds, 0.0))


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON answer with the given status, body and headers."""
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


Scripted = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class ScriptedPipedrive:
    """A MockTransport handler: scripted answers first, then a small Pipedrive.

    ``script`` items are answers (``httpx.Response``), exceptions to raise (e.g.
    ``httpx.ReadTimeout``) or callables. When ``commit_before_failure`` is true, a
    scripted exception on a POST first stores the record (a committed write whose
    answer is lost). Every request is kept in ``requests``.
    """

    script: deque[Scripted] = field(default_factory=deque)
    commit_before_failure: bool = False
    budget_remaining: int = 60_000
    requests: list[httpx.Request] = field(default_factory=list)
    records: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1

    def headers(self, cost: int) -> dict[str, str]:
        """The rate headers of a normal answer."""
        return {
            "x-ratelimit-limit": "40",
            "x-ratelimit-remaining": "39",
            "x-ratelimit-reset": "2",
            "x-daily-ratelimit-token-limit": "60000",
            "x-daily-ratelimit-token-remaining": str(self.budget_remaining),
            "x-daily-ratelimit-reset": "3600",
            "x-token-cost": str(cost),
        }

    def _commit(self, request: httpx.Request) -> dict[str, Any]:
        body = json.loads(request.content or b"{}")
        record = {"id": self.next_id, **body}
        self.records[self.next_id] = record
        self.next_id += 1
        return record

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            item = self.script.popleft()
            if isinstance(item, Exception):
                if self.commit_before_failure and request.method == "POST":
                    self._commit(request)
                raise item
            if isinstance(item, httpx.Response):
                return item
            return item(request)
        return self.default(request)

    def default(self, request: httpx.Request) -> httpx.Response:
        """Persons-like behaviour for any v2 path: create, get, list (with ids=)."""
        parts = request.url.path.rstrip("/").split("/")
        if request.method == "POST":
            self.budget_remaining -= 5
            record = self._commit(request)
            return json_response(200, {"success": True, "data": record}, self.headers(5))
        if request.method == "GET" and parts[-1].isdigit():
            self.budget_remaining -= 1
            found = self.records.get(int(parts[-1]))
            if found is None:
                body = {"success": False, "error": "Not found", "data": None}
                return json_response(404, body, self.headers(1))
            return json_response(200, {"success": True, "data": found}, self.headers(1))
        if request.method == "DELETE" and parts[-1].isdigit():
            self.budget_remaining -= 3
            gone = self.records.pop(int(parts[-1]), None)
            if gone is None:
                body = {"success": False, "error": "Not found", "data": None}
                return json_response(404, body, self.headers(3))
            return json_response(
                200, {"success": True, "data": {"id": gone["id"]}}, self.headers(3)
            )
        self.budget_remaining -= 10
        items = sorted(self.records.values(), key=lambda r: int(r["id"]))
        ids = request.url.params.get("ids")
        if ids:
            wanted = {int(i) for i in ids.split(",")}
            items = [r for r in items if r["id"] in wanted]
        limit = int(request.url.params.get("limit", "100"))
        start = int(request.url.params.get("cursor", "0"))
        page = items[start : start + limit]
        more = start + limit < len(items)
        extra = {"next_cursor": str(start + limit) if more else None}
        body = {"success": True, "data": page, "additional_data": extra}
        return json_response(200, body, self.headers(10))
