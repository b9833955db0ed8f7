"""Client-side rate control: the burst window and the daily budget ledger.

Pipedrive enforces two limits. The burst limit is a rolling 2-second window per
token (20/40/100/120 requests by plan, and a separate 10 per 2 s for search). The
daily budget is a per-company token count that resets at the server's midnight,
plus a fair-use cap on writes (``x-daily-requests-left``).

:class:`BurstLimiter` keeps the requests we send inside the window, so the server
never has to say 429. It starts from the plan's known limit and adapts to the
``x-ratelimit-*`` headers. :class:`DailyLedger` counts tokens and writes before they
are spent and refuses the request that would overrun the budget, raising
:class:`~pdmigrate.errors.BudgetExhausted` with the reset time instead of letting
the server reject it.

Both take an injectable clock (``now()`` and ``monotonic()``) and an async sleep, so
tests drive them with a fake clock and never wait.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pdmigrate.errors import BudgetExhausted

__all__ = [
    "PLAN_BURST_LIMITS",
    "SEARCH_BURST_LIMIT",
    "WINDOW_S",
    "BurstLimiter",
    "Clock",
    "DailyLedger",
    "Sleep",
    "Slot",
    "SystemClock",
    "next_utc_midnight",
]

WINDOW_S = 2.0
"""Length of Pipedrive's rolling burst window, in seconds."""

PLAN_BURST_LIMITS: dict[str, int] = {"lite": 20, "growth": 40, "premium": 100, "ultimate": 120}
"""Requests per 2-second window per API token, by plan."""

SEARCH_BURST_LIMIT = 10
"""Search requests per 2-second window, on every plan."""

Sleep = Callable[[float], Awaitable[None]]

_MIN_RTT_SAMPLES = 20
CATCH_UP = 4
"""Sends a paced limiter may make back to back to catch up after a late wake-up."""


class Clock(Protocol):
    """Wall time (UTC, timezone-aware) and a monotonic second count."""

    def now(self) -> datetime:
        """The current UTC time."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()


def next_utc_midnight(now: datetime) -> datetime:
    """The first UTC midnight strictly after ``now``."""
    day = now.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


@dataclass
class Slot:
    """One request's place in the window.

    Stamped with the send time while in flight. Once the answer is in, the server is
    known to have admitted the request somewhere between send and answer; the slot
    is then stamped ``answer - shortest round trip seen lately``. The shortest round
    trip is the part of every answer's time spent after admission (network, and any
    fixed server latency), so this stamp is late enough to be safe when the server
    was slow to admit (a stall, a queue), without holding every slot for the whole
    latency.
    """

    stamp: float
    expected_remaining: int
    sent: float = 0.0
    done: bool = False


def _round_to_minute(when: datetime) -> datetime:
    base = when.replace(second=0, microsecond=0)
    return base + timedelta(minutes=1) if when - base >= timedelta(seconds=30) else base


class BurstLimiter:
    """Admits requests so that at most ``limit`` are sent in any rolling window.

    ``acquire()`` waits (through the injected sleep) until a slot is free. A small
    ``margin`` is added to the window so that a request the server saw a few
    milliseconds later than we sent it has left the server's window too.

    With ``smooth=True`` (the default) requests are also paced evenly, one every
    ``(window + margin) / limit`` seconds, instead of a whole window's worth at once:
    the server then sees them arrive in the order and spacing they were sent, so its
    window and ours agree even when its processing times vary.

    The limit adapts: ``x-ratelimit-limit`` replaces it, and when the server reports
    fewer remaining requests than we expected (another process shares the token, or
    the server saw our requests later than we sent them) the difference is reserved
    for one window. ``pause()`` stops every acquirer until a burst 429's
    ``Retry-After`` has passed, and widens the margin a little.
    """

    def __init__(
        self,
        limit: int,
        *,
        clock: Clock,
        sleep: Sleep,
        window: float = WINDOW_S,
        margin: float = 0.015,
        smooth: bool = True,
        max_limit: int | None = None,
        name: str = "burst",
    ) -> None:
        if limit < 1:
            raise ValueError("a burst limit must be at least 1")
        self.limit = limit
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._window = window
        self._margin = margin
        self._smooth = smooth
        self._max_limit = max_limit
        self._slots: list[Slot] = []
        self._tat = -1e18  # pacing: the theoretical time of the next send
        self._rtts: deque[float] = deque(maxlen=200)
        self._foreign: deque[tuple[float, int]] = deque()  # (expires_at, requests)
        self._blocked_until = 0.0
        self._lock: asyncio.Lock | None = None

    def _prune(self, now: float) -> None:
        horizon = now - self._window - self._margin + 1e-9
        if self._slots and self._slots[0].stamp <= horizon:
            self._slots = [s for s in self._slots if not s.done or s.stamp > horizon]
        while self._foreign and self._foreign[0][0] <= now:
            self._foreign.popleft()

    def effective_limit(self) -> int:
        """The limit minus requests that others sharing the token are using now."""
        self._prune(self._clock.monotonic())
        foreign = max((n for _, n in self._foreign), default=0)
        return max(1, self.limit - foreign)

    def in_window(self) -> int:
        """How many of our requests are inside the current window."""
        self._prune(self._clock.monotonic())
        return len(self._slots)

    def _wait_time(self, now: float) -> float:
        if self._blocked_until > now:
            return self._blocked_until - now
        limit = self.effective_limit()
        if len(self._slots) >= limit:
            done = [s.stamp for s in self._slots if s.done]
            if not done:  # every slot is still in flight: wait for an answer
                return 0.01
            oldest_leaves = min(done) + self._window + self._margin
            return max(oldest_leaves - now, 0.001)
        if self._smooth:
            # GCRA: one send per interval on average; a send that came late (a busy
            # event loop) may be caught up right away, up to CATCH_UP sends at once.
            interval = (self._window + self._margin) / limit
            next_slot = self._tat - CATCH_UP * interval
            if next_slot > now + 1e-9:
                return next_slot - now
        return 0.0

    async def acquire(self) -> Slot:
        """Wait for a free slot and take it; :meth:`release` it when the answer is in."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            while True:
                now = self._clock.monotonic()
                self._prune(now)
                wait = self._wait_time(now)
                if wait <= 0:
                    interval = (self._window + self._margin) / self.effective_limit()
                    self._tat = max(self._tat, now) + interval
                    slot = Slot(stamp=now, expected_remaining=0, sent=now)
                    self._slots.append(slot)
                    slot.expected_remaining = self.effective_limit() - len(self._slots)
                    return slot
                await self._sleep(wait)

    def release(self, slot: Slot) -> None:
        """The request's answer (or failure) is in: age its slot from now on."""
        if not slot.done:
            now = self._clock.monotonic()
            self._rtts.append(now - slot.sent)
            # Until enough round trips are known (the first ones include connection
            # set-up and server warm-up), age the slot from the answer itself.
            floor = min(self._rtts) if len(self._rtts) >= _MIN_RTT_SAMPLES else 0.0
            slot.stamp = max(slot.sent, now - floor)
            slot.done = True
            self._slots.sort(key=lambda s: s.stamp)

    def observe(self, headers: Mapping[str, str], expected_remaining: int) -> None:
        """Adapt to a response's ``x-ratelimit-limit`` / ``x-ratelimit-remaining``."""
        limit = _int_header(headers, "x-ratelimit-limit")
        if limit is not None and limit >= 1:
            # A lane with a fixed ceiling (search: 10 per 2 s on every plan) ignores
            # headers that describe another lane (the general one refused a search).
            self.limit = limit if self._max_limit is None else min(limit, self._max_limit)
        remaining = _int_header(headers, "x-ratelimit-remaining")
        if remaining is None:
            return
        # Requests in flight concurrently can be counted by the server before ours,
        # so allow a slack of one before concluding someone else uses the token.
        deficit = expected_remaining - remaining - 1
        if deficit > 0:
            now = self._clock.monotonic()
            self._foreign.append((now + self._window, deficit))

    @property
    def paused_until(self) -> float:
        """The monotonic time until which the last ``pause()`` holds acquirers (0 if never)."""
        return max(self._blocked_until, 0.0)

    def pause(self, seconds: float) -> None:
        """Hold every acquirer for ``seconds`` (after a burst 429)."""
        until = self._clock.monotonic() + max(seconds, 0.0)
        self._blocked_until = max(self._blocked_until, until)
        self._margin = min(0.25, self._margin + 0.01)


@dataclass
class _Quota:
    """One daily allowance (tokens, or fair-use writes) as last reported by the server."""

    remaining: int | None = None
    limit: int | None = None
    resets_at: datetime | None = None
    exhausted: bool = False
    reserved: int = 0


class DailyLedger:
    """Counts the day's tokens and writes, and stops before either runs out.

    ``reserve(cost, is_write)`` is called before each request. It raises
    :class:`BudgetExhausted` when the request would take the company's token budget
    below ``reserve_tokens`` (or, for writes, use up the fair-use cap), so the server
    never answers with a daily-budget 429. The remaining counts come from the
    ``x-daily-ratelimit-token-*`` and ``x-daily-requests-left`` headers. Requests in
    flight are held as reservations, so concurrent calls cannot overrun together;
    a reservation is released when its response has been observed. Before any header
    is seen, ``daily_budget`` (if given) and the local spend are used.

    At the reset time (``x-daily-ratelimit-reset`` seconds after the response, or the
    next UTC midnight) the ledger starts a new day.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        daily_budget: int | None = None,
        reserve_tokens: int = 0,
    ) -> None:
        self._clock = clock
        self.daily_budget = daily_budget
        self.reserve_tokens = reserve_tokens
        self.tokens = _Quota(limit=daily_budget)
        self.writes = _Quota()
        self.spent_today = 0
        self.spent_total = 0

    # --- day boundaries -------------------------------------------------------------

    def _roll(self) -> None:
        now = self._clock.now()
        if self.tokens.resets_at is not None and now >= self.tokens.resets_at:
            self.tokens = _Quota(limit=self.tokens.limit, reserved=self.tokens.reserved)
            self.spent_today = 0
        if self.writes.resets_at is not None and now >= self.writes.resets_at:
            self.writes = _Quota(limit=self.writes.limit, reserved=self.writes.reserved)

    def _resets_at(self, quota: _Quota) -> datetime:
        return quota.resets_at or next_utc_midnight(self._clock.now())

    # --- before and after each request ---------------------------------------------

    def tokens_left(self) -> int | None:
        """Tokens we may still spend today, net of requests in flight (None = unknown)."""
        self._roll()
        if self.tokens.remaining is not None:
            return self.tokens.remaining - self.tokens.reserved
        budget = self.daily_budget if self.daily_budget is not None else self.tokens.limit
        if budget is not None:
            # spent_today already includes the calls in flight.
            return budget - self.spent_today
        return None

    def reserve(self, cost: int, *, is_write: bool, endpoint: str) -> None:
        """Hold ``cost`` tokens (and a write slot) for a request, or raise BudgetExhausted."""
        self._roll()
        left = self.tokens_left()
        if self.tokens.exhausted or (left is not None and left - cost < self.reserve_tokens):
            resets = self._resets_at(self.tokens)
            self.tokens.resets_at = resets
            raise BudgetExhausted(
                f"{endpoint}: the daily token budget is used up "
                f"({left if left is not None else 0} tokens left, this call costs {cost})",
                resets_at=resets,
            )
        if is_write:
            writes_left = (
                None
                if self.writes.remaining is None
                else self.writes.remaining - self.writes.reserved
            )
            if self.writes.exhausted or (writes_left is not None and writes_left < 1):
                resets = self._resets_at(self.writes)
                self.writes.resets_at = resets
                raise BudgetExhausted(
                    f"{endpoint}: the daily fair-use cap on writes "
                    "(x-daily-requests-left) is used up",
                    resets_at=resets,
                )
            self.writes.reserved += 1
        self.tokens.reserved += cost
        self.spent_today += cost
        self.spent_total += cost

    def release(self, cost: int, *, is_write: bool) -> None:
        """Drop a reservation once its response (or failure) is known."""
        self.tokens.reserved = max(0, self.tokens.reserved - cost)
        if is_write:
            self.writes.reserved = max(0, self.writes.reserved - 1)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Take the server's daily counts from a response's headers."""
        self._roll()
        now = self._clock.now()
        reset_s = _int_header(headers, "x-daily-ratelimit-reset")
        if reset_s is not None:
            # The header is whole seconds; the reset is a midnight in the server's time
            # zone, and every zone's midnight falls on a whole minute.
            resets_at = _round_to_minute(now + timedelta(seconds=max(reset_s, 0)))
            # A new day on the server: forget yesterday's minimum.
            if self.tokens.resets_at is not None and resets_at > self.tokens.resets_at + timedelta(
                hours=1
            ):
                self.tokens = _Quota(limit=self.tokens.limit, reserved=self.tokens.reserved)
                self.spent_today = 0
            self.tokens.resets_at = resets_at
        limit = _int_header(headers, "x-daily-ratelimit-token-limit")
        if limit is not None:
            self.tokens.limit = limit
        remaining = _int_header(headers, "x-daily-ratelimit-token-remaining")
        if remaining is not None:
            # Within one day the budget only goes down; a response that overtook a
            # later one must not raise our estimate.
            current = self.tokens.remaining
            self.tokens.remaining = remaining if current is None else min(current, remaining)
        left = _int_header(headers, "x-daily-requests-left")
        if left is not None:
            current_w = self.writes.remaining
            self.writes.remaining = left if current_w is None else min(current_w, left)
            if self.writes.resets_at is None:
                self.writes.resets_at = next_utc_midnight(now)

    def mark_exhausted(self, kind: str, headers: Mapping[str, str]) -> datetime:
        """Record a daily 429 (``kind`` = "tokens" or "writes"); return the reset time."""
        self.observe(headers)
        quota = self.tokens if kind == "tokens" else self.writes
        quota.exhausted = True
        quota.remaining = 0
        quota.resets_at = self._resets_at(quota)
        return quota.resets_at
