"""The burst limiter and the daily ledger, on a fake clock."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from pdmigrate.errors import BudgetExhausted
from pdmigrate.pipedrive.limiter import BurstLimiter, DailyLedger, next_utc_midnight
from pdmigrate.pipedrive.testing import FakeSleep
from pdmigrate.sandbox.clock import FakeClock

START = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)


def max_in_any_window(times: list[float], window: float) -> int:
    """The most timestamps inside any half-open window of the given length."""
    best = 0
    for i, t in enumerate(times):
        best = max(best, sum(1 for u in times[i:] if u < t + window))
    return best


def test_limiter_keeps_every_2s_window_within_the_limit() -> None:
    """100 concurrent acquires at limit 40 never put more than 40 in a 2-second window."""
    clock = FakeClock(START)
    limiter = BurstLimiter(40, clock=clock, sleep=FakeSleep(clock))
    times: list[float] = []

    async def one() -> None:
        slot = await limiter.acquire()
        times.append(clock.monotonic())
        limiter.release(slot)

    async def go() -> None:
        await asyncio.gather(*(one() for _ in range(100)))

    asyncio.run(go())
    assert len(times) == 100
    assert max_in_any_window(sorted(times), 2.0) == 40
    # Paced evenly: one request every (2 s + margin) / 40 after a first burst of
    # 1 + CATCH_UP, so 100 requests take 95 intervals.
    ordered = sorted(times)
    assert ordered[:5] == [0.0] * 5
    assert ordered[-1] == pytest.approx(95 * 2.015 / 40)
    assert max(b - a for a, b in itertools.pairwise(ordered)) <= 5 * 2.015 / 40 + 1e-9


def test_pacing_catches_up_after_a_late_wake_up() -> None:
    """A send delayed by a busy loop is made up for: the next ones follow back to back."""
    clock = FakeClock(START)
    limiter = BurstLimiter(40, clock=clock, sleep=FakeSleep(clock))
    interval = 2.015 / 40
    times: list[float] = []

    async def go() -> None:
        for i in range(20):
            if i == 10:
                clock.advance(3 * interval)  # the event loop woke up late
            limiter.release(await limiter.acquire())
            times.append(clock.monotonic())

    asyncio.run(go())
    # Twenty sends still end where steady pacing would have put them.
    assert times[-1] == pytest.approx(15 * interval)


def test_limiter_adopts_the_limit_from_headers() -> None:
    """x-ratelimit-limit replaces the plan's starting limit."""
    clock = FakeClock(START)
    limiter = BurstLimiter(20, clock=clock, sleep=FakeSleep(clock))
    limiter.observe({"x-ratelimit-limit": "100", "x-ratelimit-remaining": "99"}, 99)
    assert limiter.limit == 100
    assert limiter.effective_limit() == 100


def test_search_lane_keeps_its_fixed_ceiling() -> None:
    """Headers describing the general lane (limit 40) never raise the search lane above 10."""
    clock = FakeClock(START)
    lane = BurstLimiter(10, clock=clock, sleep=FakeSleep(clock), max_limit=10)
    lane.observe({"x-ratelimit-limit": "40", "x-ratelimit-remaining": "0"}, 9)
    assert lane.limit == 10


def test_limiter_leaves_room_for_another_user_of_the_token() -> None:
    """When the server reports fewer remaining than expected, that share is held back for 2 s."""
    clock = FakeClock(START)
    limiter = BurstLimiter(40, clock=clock, sleep=FakeSleep(clock))
    limiter.observe({"x-ratelimit-limit": "40", "x-ratelimit-remaining": "20"}, 39)
    assert limiter.effective_limit() == 22
    clock.advance(2.0)
    assert limiter.effective_limit() == 40


def test_pause_holds_acquirers_for_retry_after() -> None:
    """After pause(3) the next slot is granted 3 s later."""
    clock = FakeClock(START)
    sleep = FakeSleep(clock)
    limiter = BurstLimiter(40, clock=clock, sleep=sleep)
    limiter.pause(3.0)
    asyncio.run(limiter.acquire())
    assert clock.monotonic() == pytest.approx(3.0)


def test_unpaced_limiter_sends_a_window_at_once_then_waits() -> None:
    """Without pacing, 40 go at once and the 41st waits for the first slot to age out."""
    clock = FakeClock(START)
    limiter = BurstLimiter(40, clock=clock, sleep=FakeSleep(clock), smooth=False)
    times: list[float] = []

    async def go() -> None:
        for _ in range(41):
            slot = await limiter.acquire()
            times.append(clock.monotonic())
            limiter.release(slot)

    asyncio.run(go())
    assert times[:40] == [0.0] * 40
    assert times[40] == pytest.approx(2.015)


def test_slot_in_flight_is_not_aged_out() -> None:
    """A request still waiting for its answer keeps its slot however long it takes."""
    clock = FakeClock(START)
    limiter = BurstLimiter(1, clock=clock, sleep=FakeSleep(clock))

    async def go() -> None:
        slot = await limiter.acquire()
        clock.advance(10.0)  # the answer takes 10 s
        assert limiter.in_window() == 1
        limiter.release(slot)
        await limiter.acquire()

    asyncio.run(go())
    # The slot was aged from the answer (10 s), so the next one came 2 s + margin later.
    assert clock.monotonic() == pytest.approx(12.015)


def budget_headers(remaining: int, reset_s: int = 3600) -> dict[str, str]:
    """Daily-budget headers as the sandbox sends them."""
    return {
        "x-daily-ratelimit-token-limit": "1000",
        "x-daily-ratelimit-token-remaining": str(remaining),
        "x-daily-ratelimit-reset": str(reset_s),
    }


def test_ledger_refuses_the_call_that_would_overrun_the_budget() -> None:
    """With 7 tokens left a 5-token call passes, the next one is refused with the reset time."""
    clock = FakeClock(START)
    ledger = DailyLedger(clock=clock)
    ledger.observe(budget_headers(12, reset_s=3600))
    ledger.reserve(5, is_write=True, endpoint="POST /api/v2/persons")
    ledger.observe(budget_headers(7))
    ledger.release(5, is_write=True)
    ledger.reserve(5, is_write=True, endpoint="POST /api/v2/persons")
    ledger.observe(budget_headers(2))
    ledger.release(5, is_write=True)
    with pytest.raises(BudgetExhausted) as info:
        ledger.reserve(5, is_write=True, endpoint="POST /api/v2/persons")
    assert info.value.resets_at == START + timedelta(hours=1)
    assert "2 tokens left, this call costs 5" in str(info.value)
    ledger.reserve(1, is_write=False, endpoint="GET /api/v2/persons/1")  # a 1-token GET fits


def test_ledger_counts_calls_in_flight() -> None:
    """Concurrent reservations cannot overrun together: the third 5-token call is refused."""
    ledger = DailyLedger(clock=FakeClock(START))
    ledger.observe(budget_headers(14))
    ledger.reserve(5, is_write=True, endpoint="a")
    ledger.reserve(5, is_write=True, endpoint="b")
    with pytest.raises(BudgetExhausted):
        ledger.reserve(5, is_write=True, endpoint="c")


def test_ledger_ignores_a_stale_higher_remaining() -> None:
    """A response that overtook a later one cannot raise the remaining estimate."""
    ledger = DailyLedger(clock=FakeClock(START))
    ledger.observe(budget_headers(100))
    ledger.observe(budget_headers(300))
    assert ledger.tokens_left() == 100


def test_ledger_keeps_a_reserve_for_other_integrations() -> None:
    """budget_reserve tokens are never spent."""
    ledger = DailyLedger(clock=FakeClock(START), reserve_tokens=50)
    ledger.observe(budget_headers(54))
    with pytest.raises(BudgetExhausted):
        ledger.reserve(5, is_write=True, endpoint="x")


def test_ledger_uses_a_known_budget_before_any_header() -> None:
    """daily_budget and the local spend decide until the server says otherwise."""
    ledger = DailyLedger(clock=FakeClock(START), daily_budget=10)
    ledger.reserve(5, is_write=True, endpoint="x")
    ledger.release(5, is_write=True)
    ledger.reserve(5, is_write=True, endpoint="x")
    ledger.release(5, is_write=True)
    with pytest.raises(BudgetExhausted) as info:
        ledger.reserve(1, is_write=False, endpoint="x")
    assert info.value.resets_at == next_utc_midnight(START)


def test_ledger_starts_a_new_day_at_the_reset() -> None:
    """After the reset time the ledger forgets the exhausted budget."""
    clock = FakeClock(START)
    ledger = DailyLedger(clock=clock)
    resets = ledger.mark_exhausted("tokens", budget_headers(0, reset_s=3600))
    assert resets == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    with pytest.raises(BudgetExhausted):
        ledger.reserve(1, is_write=False, endpoint="x")
    clock.set(resets + timedelta(seconds=1))
    ledger.reserve(1, is_write=False, endpoint="x")
    assert ledger.tokens_left() == 999  # a fresh day: the limit minus this call


def test_fair_use_writes_are_tracked_like_tokens() -> None:
    """x-daily-requests-left: 1 allows one more write and then stops writes, not reads."""
    ledger = DailyLedger(clock=FakeClock(START))
    ledger.observe({"x-daily-requests-left": "1"})
    ledger.reserve(5, is_write=True, endpoint="POST a")
    with pytest.raises(BudgetExhausted, match="fair-use"):
        ledger.reserve(5, is_write=True, endpoint="POST b")
    ledger.reserve(1, is_write=False, endpoint="GET c")
