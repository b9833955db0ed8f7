"""Fault injection: the --faults syntax, each fault kind, determinism under a seed."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import httpx
import pytest

from pdmigrate.errors import UsageError
from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.faults import FaultInjector, FaultSpec
from pdmigrate.sandbox.inprocess import SandboxTransport

FULL = "seed=7,latency=120+-40,5xx=0.05,lost=0.02,fail-nth-write=25,cloudflare=on,lost-delay=30"


def run(inj: FaultInjector, n: int) -> list[tuple[int | None, bool]]:
    """Send n requests, every third one a write; record (fault status, lost) for each."""
    out: list[tuple[int | None, bool]] = []
    for i in range(n):
        is_write = i % 3 == 0
        method = "POST" if is_write else "GET"
        action = inj.before_request(method, "/api/v2/persons", is_write)
        lost = action is None and inj.after_commit(method, is_write)
        out.append((None if action is None else action.status, lost))
    return out


def test_parse_full_spec() -> None:
    """Every documented key parses into the matching field."""
    assert FaultSpec.parse(FULL) == FaultSpec(
        seed=7,
        latency_ms=120.0,
        jitter_ms=40.0,
        error_rate=0.05,
        lost_rate=0.02,
        lost_delay_s=30.0,
        fail_nth_write=(25,),
        cloudflare=True,
    )


def test_parse_variants() -> None:
    """Percentages, ±, several fail-nth-write numbers, 5xx codes and cloudflare=off parse."""
    spec = FaultSpec.parse(
        " latency=80±20 , 5xx=5% ,5xx-codes=503/502, fail-nth-write=10/3, cloudflare=OFF,"
    )
    assert spec == FaultSpec(
        latency_ms=80.0,
        jitter_ms=20.0,
        error_rate=0.05,
        error_statuses=(503, 502),
        fail_nth_write=(3, 10),
        cloudflare=False,
    )
    assert FaultSpec.parse("latency=50") == FaultSpec(latency_ms=50.0)


@pytest.mark.parametrize("text", ["", "  ", "none", "off", None])
def test_empty_spec_means_no_faults(text: str | None) -> None:
    """An empty SPEC, none or off is the default spec."""
    assert FaultSpec.parse(text) == FaultSpec()


def test_str_round_trips() -> None:
    """str(spec) is canonical --faults syntax that parses back to the same spec."""
    spec = FaultSpec.parse(FULL + ",5xx-codes=500/503")
    assert str(spec) == (
        "seed=7,latency=120+-40,5xx=0.05,5xx-codes=500/503,lost=0.02,fail-nth-write=25"
    )
    assert FaultSpec.parse(str(spec)) == spec
    off = FaultSpec(cloudflare=False, lost_delay_s=2.5)
    assert str(off) == "seed=0,lost-delay=2.5,cloudflare=off"
    assert FaultSpec.parse(str(off)) == off


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5xx=abc", "bad part '5xx=abc': expected a share between 0 and 1"),
        ("lost=1.5", "bad part 'lost=1.5': a share must be between 0 and 1"),
        ("latency=fast", "bad part 'latency=fast': expected milliseconds like 120 or 120+-40"),
        ("latency=40+-120", "bad part 'latency=40+-120': jitter must not exceed the mean"),
        ("fail-nth-write=0", "bad part 'fail-nth-write=0': expected write numbers from 1"),
        ("cloudflare=maybe", "bad part 'cloudflare=maybe': expected on or off"),
        ("seed=x", "bad part 'seed=x': seed must be an integer"),
        ("5xx-codes=404", "bad part '5xx-codes=404': codes must be some of 500/502/503/504"),
        ("lost", "bad part 'lost': expected key=value"),
        ("timeouts=0.1", "unknown key 'timeouts' in 'timeouts=0.1'; known keys: seed, latency"),
        ("seed=1,seed=2", "'seed' given twice"),
    ],
)
def test_parse_errors_name_the_bad_part(text: str, message: str) -> None:
    """A bad SPEC is a UsageError that quotes the offending part."""
    with pytest.raises(UsageError) as info:
        FaultSpec.parse(text)
    assert message in str(info.value)
    assert str(info.value).startswith("--faults")


def test_python_built_spec_is_validated() -> None:
    """Building a spec in Python checks the same ranges."""
    with pytest.raises(UsageError, match="error_rate must be between 0 and 1"):
        FaultSpec(error_rate=2.0)
    with pytest.raises(UsageError, match="fail_nth_write counts writes from 1"):
        FaultSpec(fail_nth_write=(0,))


def test_same_seed_same_faults_other_seed_other_faults() -> None:
    """Two injectors with one seed give identical faults for the same request sequence."""
    spec = FaultSpec(seed=7, error_rate=0.1, lost_rate=0.1)
    first = run(FaultInjector(spec), 600)
    assert first == run(FaultInjector(spec), 600)
    assert first == run(FaultInjector("seed=7,5xx=0.1,lost=0.1"), 600)
    assert first != run(FaultInjector(FaultSpec(seed=8, error_rate=0.1, lost_rate=0.1)), 600)


def test_error_rate_and_statuses() -> None:
    """5xx=0.05 fails about 5% of requests with 500/502/503 JSON error envelopes."""
    inj = FaultInjector("seed=3,5xx=0.05")
    actions = [inj.before_request("GET", "/api/v2/persons", False) for _ in range(10_000)]
    failed = [a for a in actions if a is not None]
    assert 400 <= len(failed) <= 600
    assert {a.status for a in failed} == {500, 502, 503}
    assert {a.kind for a in failed} == {"5xx"}
    by_status = {a.status: a.body for a in failed}
    assert by_status[503] == {
        "success": False,
        "error": "Service temporarily unavailable",
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
        "additional_data": None,
    }
    assert inj.counters["5xx"] == len(failed)
    assert inj.counters["requests"] == 10_000


def test_fail_nth_write_counts_writes_only() -> None:
    """fail-nth-write=25 fails exactly the 25th write with a 500; reads are not counted."""
    inj = FaultInjector("fail-nth-write=25")
    outcomes = run(inj, 90)  # 30 writes at i = 0, 3, ..., 87
    failed = [i for i, (status, _) in enumerate(outcomes) if status is not None]
    assert failed == [24 * 3]
    action = FaultInjector("fail-nth-write=1").before_request("POST", "/api/v1/notes", True)
    assert action is not None
    assert (action.status, action.kind, action.body["error"]) == (
        500,
        "fail-nth-write",
        "Internal server error",
    )
    assert inj.counters == {
        "requests": 90,
        "writes": 30,
        "latency": 0,
        "5xx": 0,
        "fail-nth-write": 1,
        "lost": 0,
    }


def test_lost_only_for_writes() -> None:
    """lost=1 loses every committed write's response and never a read's."""
    inj = FaultInjector("lost=1,lost-delay=2.5")
    assert inj.after_commit("GET", False) is False
    assert inj.after_commit("POST", True) is True
    assert inj.after_commit("PATCH", True) is True
    assert inj.counters["lost"] == 2
    assert inj.lost_delay_s == 2.5
    none = FaultInjector()
    assert not any(none.after_commit("POST", True) for _ in range(100))


def test_latency_with_jitter() -> None:
    """latency=120+-40 gives delays within 80-160 ms averaging about 120 ms."""
    inj = FaultInjector("seed=1,latency=120+-40")
    delays = [inj.latency_s() for _ in range(2_000)]
    assert min(delays) >= 0.080
    assert max(delays) <= 0.160
    assert 0.115 <= sum(delays) / len(delays) <= 0.125
    assert inj.counters["latency"] == 2_000
    assert FaultInjector().latency_s() == 0.0
    assert FaultInjector("latency=50").latency_s() == 0.05


def test_base_latency_from_cli_flag() -> None:
    """--latency-ms sets the mean unless --faults has its own latency."""
    assert FaultSpec().with_base_latency(120) == FaultSpec(latency_ms=120.0)
    own = FaultSpec(latency_ms=50.0, jitter_ms=10.0)
    assert own.with_base_latency(120) is own
    assert FaultSpec().with_base_latency(0) == FaultSpec()


def test_set_switches_faults_on_at_run_time() -> None:
    """set() turns faults on mid-run; a new seed restarts the streams like a new injector."""
    inj = FaultInjector()
    assert run(inj, 30) == [(None, False)] * 30
    inj.set(lost_rate=1.0)
    assert inj.after_commit("POST", True) is True
    assert inj.spec.lost_rate == 1.0
    inj.set(seed=7, lost_rate=0.1, error_rate=0.1)
    expected = run(FaultInjector(FaultSpec(seed=7, error_rate=0.1, lost_rate=0.1)), 300)
    assert run(inj, 300) == expected
    inj.set("fail-nth-write=1")
    assert inj.spec == FaultSpec(fail_nth_write=(1,))
    assert inj.before_request("POST", "/api/v2/deals", True) is not None
    inj.reset_counters()
    assert set(inj.counters.values()) == {0}
    with pytest.raises(TypeError, match="unknown fault setting"):
        inj.set(timeouts=0.5)


def test_concurrent_requests_give_the_same_fault_count() -> None:
    """Eight threads see exactly as many 5xx as one thread sending the same number of requests."""
    spec = FaultSpec(seed=11, error_rate=0.2)
    sequential = FaultInjector(spec)
    for _ in range(4_000):
        sequential.before_request("GET", "/api/v2/deals", False)
    shared = FaultInjector(spec)

    def worker() -> None:
        for _ in range(500):
            shared.before_request("GET", "/api/v2/deals", False)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert shared.counters["requests"] == 4_000
    assert shared.counters["5xx"] == sequential.counters["5xx"]


# --- through the sandbox app (in-process transport) ----------------------------------


def sandbox_client(
    make_sandbox: Callable[..., Sandbox], spec: FaultSpec
) -> tuple[httpx.Client, Sandbox]:
    """An httpx client on a fresh in-memory Premium sandbox with the given faults."""
    sandbox = make_sandbox(plan="premium", faults=spec)
    client = httpx.Client(
        transport=SandboxTransport(app_for(sandbox)),
        base_url="http://sandbox",
        headers={"x-api-token": "tok-faults"},
    )
    return client, sandbox


def person_names(client: httpx.Client) -> list[str]:
    """Names of every person in the account, in id order."""
    response = client.get("/api/v2/persons", params={"limit": 500})
    assert response.status_code == 200
    return [p["name"] for p in response.json()["data"]]


def test_committed_but_lost_write_exists_after_read_timeout(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    """A lost response raises ReadTimeout in the client, yet the person was written."""
    client, sandbox = sandbox_client(make_sandbox, FaultSpec())
    with client:
        assert client.post("/api/v2/persons", json={"name": "Ada Example"}).status_code == 200
        sandbox.faults.set(lost_rate=1.0)
        with pytest.raises(httpx.ReadTimeout):
            client.post("/api/v2/persons", json={"name": "Bob Example"})
        sandbox.faults.set(lost_rate=0.0)
        assert person_names(client) == ["Ada Example", "Bob Example"]
    assert sandbox.faults.counters["lost"] == 1
    stored = json.dumps(sandbox.dump())
    assert stored.count('"Bob Example"') == 1  # committed once, in the dump too


def test_reads_are_never_lost(make_sandbox: Callable[..., Sandbox]) -> None:
    """lost=1 does not touch GET responses."""
    client, _ = sandbox_client(make_sandbox, FaultSpec(lost_rate=1.0))
    with client:
        assert client.get("/api/v2/persons").status_code == 200


def test_fail_nth_write_is_a_500_and_writes_nothing(make_sandbox: Callable[..., Sandbox]) -> None:
    """fail-nth-write=2: the second create is a 500 and only the other two persons exist."""
    client, sandbox = sandbox_client(make_sandbox, FaultSpec.parse("fail-nth-write=2"))
    with client:
        statuses = [
            client.post("/api/v2/persons", json={"name": name}).status_code
            for name in ("First Example", "Second Example", "Third Example")
        ]
        assert statuses == [200, 500, 200]
        assert person_names(client) == ["First Example", "Third Example"]
    assert sandbox.faults.counters["fail-nth-write"] == 1


def test_injected_5xx_keeps_the_rate_limit_headers(make_sandbox: Callable[..., Sandbox]) -> None:
    """5xx=1 answers every request with a JSON 5xx envelope plus the limit headers."""
    client, sandbox = sandbox_client(make_sandbox, FaultSpec(seed=5, error_rate=1.0))
    with client:
        responses = [client.get("/api/v2/deals") for _ in range(12)]
    assert {r.status_code for r in responses} <= {500, 502, 503}
    assert len({r.status_code for r in responses}) > 1
    assert all(r.json()["success"] is False for r in responses)
    assert all("x-ratelimit-remaining" in r.headers for r in responses)
    assert sandbox.faults.counters["5xx"] == 12
