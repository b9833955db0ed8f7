"""Pipedrive's rate limits, as the sandbox enforces them (reference/pipedrive-api.md §8).

:class:`RateLimits` decides, for each request, whether it may run, and which headers
the response carries. Four limits, checked in this order:

1. **Cloudflare block.** A token that sends more than 3 requests while it is
   burst-limited gets a 403 ``text/html`` page ("This error is produced by
   Cloudflare") until its burst window frees up.
2. **Burst**: a rolling 2-second window per token with the plan's limit (lite 20,
   growth 40, premium 100, ultimate 120), and a separate search lane of 10 per 2 s.
   A search request counts in both lanes. Over the limit: 429 with ``Retry-After``
   and body ``code: RATE_LIMIT_BURST``.
3. **Daily token budget** per company: 30,000 x plan multiplier x seats, reset at the
   server's midnight UTC (read from the injected clock). A request is admitted while
   any budget is left, and its whole cost is charged (the last call may overdraw;
   the remaining header never goes below 0). Exhausted: 429 with
   ``x-daily-ratelimit-token-remaining: 0``, no ``Retry-After``, ``code: DAILY_BUDGET_EXHAUSTED``.
4. **Fair use**: 10,000 POST/PUT/PATCH per user (token) per UTC day. Exhausted: 429
   with ``x-daily-requests-left: 0`` and ``code: DAILY_REQUEST_LIMIT``.

**Rejected requests cost nothing**: a 429 or 403 takes no slot in the burst window,
spends no budget tokens and does not count as a fair-use write; its ``x-token-cost``
header is ``0``. (Pipedrive does not document this; we assume a refused call is free.)
So ``x-token-cost`` always says what the response charged, and the sum over all
responses equals the budget spent.

Headers on every response: ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and
``x-ratelimit-reset`` (for a search request these describe the search lane, unless
the general lane is the one that refused it), ``x-daily-ratelimit-token-limit``,
``x-daily-ratelimit-token-remaining``, ``x-daily-ratelimit-reset`` (seconds to the next
midnight UTC) and ``x-token-cost``; write responses (POST/PUT/PATCH) also carry
``x-daily-requests-left`` while fair use is on.

Thread-safe: one lock guards all state; each decision is a few dict and deque operations.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pdmigrate.sandbox.clock import Clock
from pdmigrate.sandbox.plans import FAIR_USE_DAILY_WRITES, Plan, get_plan

LimitKind = Literal["burst", "search_burst", "budget", "fair_use", "cloudflare"]

#: Requests a burst-limited token may still send before Cloudflare blocks it.
CLOUDFLARE_AFTER = 3
_ERROR_INFO = "Please check developers.pipedrive.com"
_EPS = 1e-9

CLOUDFLARE_HTML = """<!DOCTYPE html>
<html lang="en-US">
<head>
<title>Attention Required! | Cloudflare</title>
<meta charset="UTF-8">
<meta name="robots" content="noindex, nofollow">
</head>
<body>
<div id="cf-wrapper">
<div id="cf-error-details">
<h1>Sorry, you have been blocked</h1>
<h2>You are unable to access pipedrive.com</h2>
<p>This website is using a security service to protect itself from online attacks.
The action you just performed triggered the security solution.</p>
<p>This error is produced by Cloudflare. Please wait before sending more requests.</p>
</div>
</div>
</body>
</html>
"""


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """What the limiter says about one request.

    ``headers`` go on the response whatever the outcome. When ``allowed`` is false,
    the response is ``status`` with the JSON ``body``, or with ``html`` (Cloudflare 403).
    """

    allowed: bool
    headers: dict[str, str]
    status: int | None = None
    body: dict[str, Any] | None = None
    html: str | None = None
    kind: LimitKind | None = None


def seconds_to_midnight(now: datetime) -> int:
    """Whole seconds from ``now`` to the next midnight UTC (86,400 at midnight itself)."""
    now = now.astimezone(UTC)
    nxt = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=UTC)
    return max(1, math.ceil((nxt - now).total_seconds() - _EPS))


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {
        "success": False,
        "error": message,
        "code": code,
        "error_info": _ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


@dataclass
class _Token:
    lane: deque[float] = field(default_factory=deque)
    search: deque[float] = field(default_factory=deque)
    strikes: int = 0  # requests refused by the burst limit since the last admitted one
    blocked_until: float | None = None  # monotonic time the Cloudflare block ends
    writes_day: date | None = None
    writes: int = 0


@dataclass
class _Company:
    day: date | None = None
    used: int = 0


class RateLimits:
    """Burst windows, daily budgets and the fair-use cap of one sandbox.

    ``enabled=False`` turns off the burst, budget and Cloudflare limits (usage is still
    counted and reported in the headers); ``fair_use=False`` turns off the write cap and
    its header. ``cloudflare=False`` keeps answering 429 however long a token ignores it.
    """

    def __init__(
        self,
        plan: str | Plan,
        seats: int,
        clock: Clock,
        fair_use: bool = True,
        enabled: bool = True,
        *,
        cloudflare: bool = True,
    ) -> None:
        self.plan = get_plan(plan)
        self.seats = seats
        self.daily_budget = self.plan.daily_budget(seats)
        self.clock = clock
        self.fair_use = fair_use
        self.enabled = enabled
        self.cloudflare = cloudflare
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._companies: dict[int, _Company] = {}

    # --- the decision -------------------------------------------------------------

    def admit(
        self, token: str, company_id: int, cost: int, is_search: bool, is_write: bool
    ) -> LimitDecision:
        """Decide one request and charge it if it is allowed (see the module docstring)."""
        with self._lock:
            now = self.clock.monotonic()
            wall = self.clock.now()
            today = wall.astimezone(UTC).date()
            tok = self._tokens.setdefault(token, _Token())
            comp = self._companies.setdefault(company_id, _Company())
            if comp.day != today:
                comp.day, comp.used = today, 0
            if tok.writes_day != today:
                tok.writes_day, tok.writes = today, 0
            window = self.plan.window_s
            for lane in (tok.lane, tok.search):
                while lane and lane[0] <= now - window + _EPS:
                    lane.popleft()

            def headers(lane: deque[float], limit: int, charged: int) -> dict[str, str]:
                remaining = max(0, limit - len(lane))
                reset = _ceil(lane[0] + window - now) if lane else 0
                if remaining == 0:
                    reset = max(1, reset)
                out = {
                    "x-ratelimit-limit": str(limit),
                    "x-ratelimit-remaining": str(remaining),
                    "x-ratelimit-reset": str(reset),
                    "x-daily-ratelimit-token-limit": str(self.daily_budget),
                    "x-daily-ratelimit-token-remaining": str(max(0, self.daily_budget - comp.used)),
                    "x-daily-ratelimit-reset": str(seconds_to_midnight(wall)),
                    "x-token-cost": str(charged),
                }
                if is_write and self.fair_use:
                    out["x-daily-requests-left"] = str(max(0, FAIR_USE_DAILY_WRITES - tok.writes))
                return out

            own_lane, own_limit = (
                (tok.search, self.plan.search_burst) if is_search else (tok.lane, self.plan.burst)
            )

            if self.enabled and self.cloudflare and tok.blocked_until is not None:
                if now < tok.blocked_until - _EPS:
                    hdrs = headers(own_lane, own_limit, 0)
                    hdrs["x-ratelimit-remaining"] = "0"
                    hdrs["x-ratelimit-reset"] = str(max(1, _ceil(tok.blocked_until - now)))
                    return LimitDecision(
                        False, hdrs, status=403, html=CLOUDFLARE_HTML, kind="cloudflare"
                    )
                tok.blocked_until, tok.strikes = None, 0

            if self.enabled:
                full: tuple[deque[float], int, LimitKind] | None = None
                if len(tok.lane) >= self.plan.burst:
                    full = (tok.lane, self.plan.burst, "burst")
                elif is_search and len(tok.search) >= self.plan.search_burst:
                    full = (tok.search, self.plan.search_burst, "search_burst")
                if full is not None:
                    lane, limit, kind = full
                    hdrs = headers(lane, limit, 0)
                    tok.strikes += 1
                    if self.cloudflare and tok.strikes > CLOUDFLARE_AFTER:
                        tok.blocked_until = lane[0] + window
                        return LimitDecision(
                            False, hdrs, status=403, html=CLOUDFLARE_HTML, kind="cloudflare"
                        )
                    hdrs["Retry-After"] = hdrs["x-ratelimit-reset"]
                    return LimitDecision(
                        False,
                        hdrs,
                        status=429,
                        body=_error_body("Rate limit exceeded", "RATE_LIMIT_BURST"),
                        kind=kind,
                    )
                if comp.used >= self.daily_budget:
                    return LimitDecision(
                        False,
                        headers(own_lane, own_limit, 0),
                        status=429,
                        body=_error_body(
                            "Daily API token budget exhausted; it resets at midnight UTC",
                            "DAILY_BUDGET_EXHAUSTED",
                        ),
                        kind="budget",
                    )

            if self.fair_use and is_write and tok.writes >= FAIR_USE_DAILY_WRITES:
                return LimitDecision(
                    False,
                    headers(own_lane, own_limit, 0),
                    status=429,
                    body=_error_body(
                        "Daily limit of POST/PUT requests reached; it resets at midnight UTC",
                        "DAILY_REQUEST_LIMIT",
                    ),
                    kind="fair_use",
                )

            tok.lane.append(now)
            if is_search:
                tok.search.append(now)
            tok.strikes = 0
            comp.used += cost
            if is_write:
                tok.writes += 1
            return LimitDecision(True, headers(own_lane, own_limit, cost))

    # --- inspection -----------------------------------------------------------------

    def budget_used(self, company_id: int) -> int:
        """Tokens the company has spent today (0 after the midnight reset)."""
        with self._lock:
            comp = self._companies.get(company_id)
            today = self.clock.now().astimezone(UTC).date()
            return comp.used if comp is not None and comp.day == today else 0

    def budget_remaining(self, company_id: int) -> int:
        """Tokens the company may still spend today."""
        return max(0, self.daily_budget - self.budget_used(company_id))

    def writes_left(self, token: str) -> int:
        """POST/PUT/PATCH requests the token may still send today under the fair-use cap."""
        with self._lock:
            tok = self._tokens.get(token)
            today = self.clock.now().astimezone(UTC).date()
            used = tok.writes if tok is not None and tok.writes_day == today else 0
            return max(0, FAIR_USE_DAILY_WRITES - used)

    def spend(self, company_id: int, tokens: int) -> None:
        """Charge ``tokens`` to the company's budget today, as other integrations would.

        Lets tests and demos start from a part-used budget without sending the calls.
        """
        with self._lock:
            comp = self._companies.setdefault(company_id, _Company())
            today = self.clock.now().astimezone(UTC).date()
            if comp.day != today:
                comp.day, comp.used = today, 0
            comp.used += tokens


def _ceil(seconds: float) -> int:
    """Whole seconds, rounding up, tolerant of float noise (2.0000000001 -> 2)."""
    return max(0, math.ceil(seconds - _EPS))
