"""Rate limits as Pipedrive enforces them: burst, search lane, budget, fair use, Cloudflare."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from pdmigrate.errors import UsageError
from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.clock import FakeClock
from pdmigrate.sandbox.inprocess import SandboxTransport
from pdmigrate.sandbox.limits import LimitDecision, RateLimits, seconds_to_midnight
from pdmigrate.sandbox.plans import PLANS, get_plan

TOKEN = "tok-a"
# The conftest `clock` starts at 2026-01-15 09:00 UTC: 54,000 s before midnight.


def get(limits: RateLimits, token: str = TOKEN, company: int = 1, cost: int = 10) -> LimitDecision:
    """One non-search read."""
    return limits.admit(token=token, company_id=company, cost=cost, is_search=False, is_write=False)


def post(limits: RateLimits, token: str = TOKEN, company: int = 1, cost: int = 5) -> LimitDecision:
    """One write (POST)."""
    return limits.admit(token=token, company_id=company, cost=cost, is_search=False, is_write=True)


def search(limits: RateLimits, token: str = TOKEN, company: int = 1) -> LimitDecision:
    """One search API call (20 tokens)."""
    return limits.admit(token=token, company_id=company, cost=20, is_search=True, is_write=False)


def test_plan_table_values() -> None:
    """Each plan carries Pipedrive's documented numbers."""
    rows = {
        name: (
            p.burst,
            p.search_burst,
            p.daily_multiplier,
            p.custom_field_cap,
            p.deals_leads_per_seat,
            p.visible_to_company,
        )
        for name, p in PLANS.items()
    }
    assert rows == {
        "lite": (20, 10, 1, 30, 2500, 3),
        "growth": (40, 10, 2, 100, 5000, 3),
        "premium": (100, 10, 5, 300, 15000, 7),
        "ultimate": (120, 10, 7, 500, 20000, 7),
    }
    assert get_plan("Growth").daily_budget(3) == 180_000
    assert get_plan("ultimate").deals_leads_cap(20) == 300_000
    assert get_plan("lite").deals_leads_cap(4) == 10_000


def test_unknown_plan_and_bad_seats_are_usage_errors() -> None:
    """A mistyped plan names the choices; zero seats is refused."""
    with pytest.raises(UsageError, match="unknown plan 'gold': choose one of lite, growth"):
        get_plan("gold")
    with pytest.raises(UsageError, match="seats must be at least 1"):
        get_plan("lite").daily_budget(0)


def test_headers_on_an_allowed_read_and_write(clock: FakeClock) -> None:
    """Every allowed response carries the exact burst, budget and cost headers."""
    limits = RateLimits("growth", 1, clock)
    first = get(limits)
    assert first.allowed
    assert (first.status, first.body, first.html) == (None, None, None)
    assert first.headers == {
        "x-ratelimit-limit": "40",
        "x-ratelimit-remaining": "39",
        "x-ratelimit-reset": "2",
        "x-daily-ratelimit-token-limit": "60000",
        "x-daily-ratelimit-token-remaining": "59990",
        "x-daily-ratelimit-reset": "54000",
        "x-token-cost": "10",
    }
    clock.advance(0.5)
    second = post(limits)
    assert second.headers == {
        "x-ratelimit-limit": "40",
        "x-ratelimit-remaining": "38",
        "x-ratelimit-reset": "2",  # oldest request leaves the window in 1.5 s -> 2
        "x-daily-ratelimit-token-limit": "60000",
        "x-daily-ratelimit-token-remaining": "59985",
        "x-daily-ratelimit-reset": "54000",  # 53,999.5 s, rounded up
        "x-token-cost": "5",
        "x-daily-requests-left": "9999",
    }


def test_budget_scales_with_plan_and_seats(clock: FakeClock) -> None:
    """The daily budget header is 30,000 x multiplier x seats."""
    assert get(RateLimits("lite", 1, clock)).headers["x-daily-ratelimit-token-limit"] == "30000"
    assert get(RateLimits("premium", 4, clock)).headers["x-daily-ratelimit-token-limit"] == "600000"
    assert get(RateLimits("ultimate", 2, clock)).headers["x-ratelimit-limit"] == "120"


def test_burst_429_with_retry_after_then_window_rolls(clock: FakeClock) -> None:
    """The 41st request in 2 s on Growth is a burst 429; it clears as the window rolls."""
    limits = RateLimits("growth", 1, clock)
    for _ in range(20):
        assert get(limits).allowed
    clock.advance(1.0)
    for i in range(20):
        d = get(limits)
        assert d.allowed
        assert d.headers["x-ratelimit-remaining"] == str(19 - i)
    assert d.headers["x-ratelimit-reset"] == "1"  # the first 20 leave in 1 s
    refused = get(limits)
    assert not refused.allowed
    assert (refused.status, refused.kind) == (429, "burst")
    assert refused.body == {
        "success": False,
        "error": "Rate limit exceeded",
        "code": "RATE_LIMIT_BURST",
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
        "additional_data": None,
    }
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-reset"] == "1"
    assert refused.headers["x-token-cost"] == "0"
    clock.advance(1.0)  # t = 2.0: the first 20 leave the window
    again = get(limits)
    assert again.allowed
    assert again.headers["x-ratelimit-remaining"] == "19"


def test_burst_is_per_token_not_per_company(clock: FakeClock) -> None:
    """Another token of the same company has its own window."""
    limits = RateLimits("lite", 1, clock)
    for _ in range(20):
        assert get(limits, token="tok-a").allowed
    assert get(limits, token="tok-a").status == 429
    other = get(limits, token="tok-b")
    assert other.allowed
    assert other.headers["x-ratelimit-remaining"] == "19"


def test_search_lane_is_10_per_2_seconds(clock: FakeClock) -> None:
    """The 11th search in 2 s is refused while plain reads still pass."""
    limits = RateLimits("premium", 1, clock)
    for i in range(10):
        d = search(limits)
        assert d.allowed
        assert (d.headers["x-ratelimit-limit"], d.headers["x-ratelimit-remaining"]) == (
            "10",
            str(9 - i),
        )
    refused = search(limits)
    assert (refused.status, refused.kind) == (429, "search_burst")
    assert refused.body is not None
    assert refused.body["code"] == "RATE_LIMIT_BURST"
    assert refused.headers["x-ratelimit-limit"] == "10"
    assert refused.headers["Retry-After"] == "2"
    plain = get(limits)
    assert plain.allowed
    assert plain.headers["x-ratelimit-remaining"] == "89"  # 10 searches + this read of 100
    clock.advance(2.0)
    assert search(limits).allowed


def test_searches_also_fill_the_general_lane(clock: FakeClock) -> None:
    """A search counts against the token's general burst limit too."""
    limits = RateLimits("lite", 1, clock)
    for _ in range(15):
        assert get(limits, cost=1).allowed
    for _ in range(5):
        assert search(limits).allowed
    refused = search(limits)
    assert (refused.status, refused.kind) == (429, "burst")
    assert refused.headers["x-ratelimit-limit"] == "20"


def test_daily_budget_429_has_no_retry_after(clock: FakeClock) -> None:
    """An exhausted company budget is a distinct 429 without Retry-After, for every token."""
    limits = RateLimits("lite", 1, clock)
    limits.spend(1, 29_995)
    last = get(limits, cost=10)  # 5 left: admitted, overdraws, header clamps at 0
    assert last.allowed
    assert last.headers["x-daily-ratelimit-token-remaining"] == "0"
    refused = get(limits, token="tok-b", cost=1)
    assert not refused.allowed
    assert (refused.status, refused.kind) == (429, "budget")
    assert refused.body is not None
    assert refused.body["code"] == "DAILY_BUDGET_EXHAUSTED"
    assert "Retry-After" not in refused.headers
    assert refused.headers["x-daily-ratelimit-token-remaining"] == "0"
    assert refused.headers["x-daily-ratelimit-reset"] == "54000"
    assert refused.headers["x-token-cost"] == "0"
    assert refused.headers["x-ratelimit-remaining"] == "20"  # the refusal took no burst slot
    assert limits.budget_used(1) == 30_005
    assert get(limits, company=2).allowed  # another company has its own budget


def test_budget_resets_at_fake_midnight(clock: FakeClock) -> None:
    """Crossing midnight UTC on the fake clock restores the full budget."""
    limits = RateLimits("lite", 1, clock)
    limits.spend(1, 30_000)
    clock.set(datetime(2026, 1, 15, 23, 59, 59, 500_000, tzinfo=UTC))
    refused = get(limits)
    assert refused.status == 429
    assert refused.headers["x-daily-ratelimit-reset"] == "1"
    clock.set(datetime(2026, 1, 16, 0, 0, tzinfo=UTC))
    ok = get(limits)
    assert ok.allowed
    assert ok.headers["x-daily-ratelimit-token-remaining"] == "29990"
    assert ok.headers["x-daily-ratelimit-reset"] == "86400"
    assert limits.budget_remaining(1) == 29_990


def test_rejected_requests_spend_nothing(clock: FakeClock) -> None:
    """A burst 429 takes no budget tokens: the sum of x-token-cost is what was spent."""
    limits = RateLimits("lite", 1, clock)
    charged = 0
    for _ in range(23):
        d = get(limits, cost=10)
        charged += int(d.headers["x-token-cost"])
    assert charged == 200
    assert limits.budget_used(1) == 200


def test_fair_use_cap_on_writes(clock: FakeClock) -> None:
    """The 10,001st POST/PUT/PATCH of a user in a UTC day is a DAILY_REQUEST_LIMIT 429."""
    limits = RateLimits("ultimate", 10, clock, enabled=False)
    for _ in range(9_999):
        post(limits, cost=0)
    last = post(limits, cost=0)
    assert last.allowed
    assert last.headers["x-daily-requests-left"] == "0"
    refused = post(limits, cost=0)
    assert (refused.status, refused.kind) == (429, "fair_use")
    assert refused.body is not None
    assert refused.body["code"] == "DAILY_REQUEST_LIMIT"
    assert refused.headers["x-daily-requests-left"] == "0"
    assert "Retry-After" not in refused.headers
    assert get(limits, cost=0).allowed  # reads are not capped
    assert post(limits, token="tok-b", cost=0).headers["x-daily-requests-left"] == "9999"
    assert limits.writes_left("tok-a") == 0
    clock.set(datetime(2026, 1, 16, 0, 0, 1, tzinfo=UTC))
    assert post(limits, cost=0).headers["x-daily-requests-left"] == "9999"


def test_fair_use_off_drops_the_cap_and_header(clock: FakeClock) -> None:
    """With fair use off, writes carry no x-daily-requests-left and are never capped."""
    limits = RateLimits("growth", 1, clock, fair_use=False)
    d = post(limits)
    assert d.allowed
    assert "x-daily-requests-left" not in d.headers


def test_cloudflare_403_after_ignoring_429s(clock: FakeClock) -> None:
    """Three 429s are tolerated; the 4th request while limited gets Cloudflare's HTML 403."""
    limits = RateLimits("lite", 1, clock)
    for _ in range(20):
        get(limits)
    assert [get(limits).status for _ in range(3)] == [429, 429, 429]
    blocked = get(limits)
    assert (blocked.allowed, blocked.status, blocked.kind) == (False, 403, "cloudflare")
    assert blocked.body is None
    assert blocked.html is not None
    assert "This error is produced by Cloudflare" in blocked.html
    assert blocked.headers["x-token-cost"] == "0"
    clock.advance(1.0)
    still = get(limits)
    assert still.status == 403  # for the rest of that window
    assert still.headers["x-ratelimit-reset"] == "1"
    clock.advance(1.0)
    assert get(limits).allowed


def test_a_client_that_honours_retry_after_is_never_blocked(clock: FakeClock) -> None:
    """Waiting Retry-After after each 429 never leads to a 403."""
    limits = RateLimits("lite", 1, clock)
    statuses = []
    for _ in range(200):
        d = get(limits, cost=1)
        statuses.append(d.status)
        if not d.allowed:
            clock.advance(float(d.headers["Retry-After"]))
    assert 403 not in statuses
    assert statuses.count(429) == 9  # 200 requests at 20 per window: one refusal per window


def test_cloudflare_off_keeps_answering_429(clock: FakeClock) -> None:
    """With cloudflare=False a token that ignores 429s only ever gets 429s."""
    limits = RateLimits("lite", 1, clock, cloudflare=False)
    for _ in range(20):
        get(limits)
    assert {get(limits).status for _ in range(10)} == {429}


def test_disabled_limits_never_refuse_but_still_report(clock: FakeClock) -> None:
    """enabled=False admits everything and still sends the headers."""
    limits = RateLimits("lite", 1, clock, enabled=False)
    limits.spend(1, 40_000)
    decisions = [get(limits) for _ in range(50)]
    assert all(d.allowed for d in decisions)
    assert decisions[-1].headers["x-ratelimit-remaining"] == "0"
    assert decisions[-1].headers["x-daily-ratelimit-token-remaining"] == "0"


def test_concurrent_admits_never_exceed_the_burst(clock: FakeClock) -> None:
    """Eight threads racing at one instant get exactly the plan's 40 admissions."""
    limits = RateLimits("growth", 1, clock)
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(100):
            d = limits.admit(token="tok-a", company_id=1, cost=5, is_search=False, is_write=True)
            with lock:
                allowed.append(d.allowed)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 40
    assert limits.budget_used(1) == 200
    assert limits.writes_left("tok-a") == 9_960


def test_seconds_to_midnight() -> None:
    """Whole seconds to the next UTC midnight, rounding up."""
    assert seconds_to_midnight(datetime(2026, 1, 15, 23, 0, tzinfo=UTC)) == 3600
    assert seconds_to_midnight(datetime(2026, 1, 15, 23, 59, 59, 1, tzinfo=UTC)) == 1
    assert seconds_to_midnight(datetime(2026, 1, 16, 0, 0, tzinfo=UTC)) == 86_400


# --- through the sandbox app (in-process transport) ----------------------------------


def sandbox_client(make_sandbox: Callable[..., Sandbox], plan: str) -> tuple[httpx.Client, Sandbox]:
    """An httpx client on a fresh in-memory sandbox (conftest's fake clock) on ``plan``."""
    sandbox = make_sandbox(plan=plan)
    client = httpx.Client(
        transport=SandboxTransport(app_for(sandbox)),
        base_url="http://sandbox",
        headers={"x-api-token": TOKEN},
    )
    return client, sandbox


def test_real_responses_carry_the_headers(make_sandbox: Callable[..., Sandbox]) -> None:
    """A list and a create through the app carry the exact rate-limit headers."""
    client, sandbox = sandbox_client(make_sandbox, "lite")
    with client:
        listed = client.get("/api/v2/persons")
        created = client.post("/api/v2/persons", json={"name": "Ada Example"})
        renamed = client.patch("/api/v2/persons/1", json={"name": "Ada Renamed"})
    assert listed.status_code == 200
    assert {k: v for k, v in listed.headers.items() if k.startswith("x-")} == {
        "x-ratelimit-limit": "20",
        "x-ratelimit-remaining": "19",
        "x-ratelimit-reset": "2",
        "x-daily-ratelimit-token-limit": "30000",
        "x-daily-ratelimit-token-remaining": "29990",
        "x-daily-ratelimit-reset": "54000",
        "x-token-cost": "10",
    }
    assert created.status_code == 200
    assert created.headers["x-token-cost"] == "5"
    assert created.headers["x-daily-requests-left"] == "9999"
    assert created.headers["x-daily-ratelimit-token-remaining"] == "29985"
    assert renamed.status_code == 200
    assert renamed.headers["x-token-cost"] == "5"
    assert renamed.headers["x-daily-requests-left"] == "9998"
    assert renamed.headers["x-ratelimit-remaining"] == "17"
    assert sandbox.spec_problems == []


def test_burst_429_then_cloudflare_403_over_the_app(
    make_sandbox: Callable[..., Sandbox], clock: FakeClock
) -> None:
    """The 21st read on Lite is a JSON 429; the 4th request while limited is an HTML 403."""
    client, _ = sandbox_client(make_sandbox, "lite")
    with client:
        for _ in range(20):
            assert client.get("/api/v2/deals").status_code == 200
        refused = client.get("/api/v2/deals")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "2"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert refused.json()["code"] == "RATE_LIMIT_BURST"
        assert [client.get("/api/v2/deals").status_code for _ in range(3)] == [429, 429, 403]
        blocked = client.get("/api/v2/deals")
        assert blocked.status_code == 403
        assert blocked.headers["content-type"].startswith("text/html")
        assert "This error is produced by Cloudflare" in blocked.text
        clock.advance(2.0)
        assert client.get("/api/v2/deals").status_code == 200


def test_budget_429_and_reset_over_the_app(
    make_sandbox: Callable[..., Sandbox], clock: FakeClock
) -> None:
    """An exhausted budget answers DAILY_BUDGET_EXHAUSTED until the fake clock passes midnight."""
    client, sandbox = sandbox_client(make_sandbox, "lite")
    with client:
        first = client.get("/api/v2/persons")
        assert first.status_code == 200
        account = sandbox.account_for_token(TOKEN)
        assert account is not None
        sandbox.limits.spend(account.company_id, 29_990)
        refused = client.get("/api/v2/persons")
        assert refused.status_code == 429
        assert refused.json()["code"] == "DAILY_BUDGET_EXHAUSTED"
        assert "retry-after" not in refused.headers
        assert refused.headers["x-daily-ratelimit-token-remaining"] == "0"
        clock.set(datetime(2026, 1, 16, 0, 0, 1, tzinfo=UTC))
        again = client.get("/api/v2/persons")
        assert again.status_code == 200
        assert again.headers["x-daily-ratelimit-token-remaining"] == "29990"
