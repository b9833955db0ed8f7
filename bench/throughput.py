"""Throughput benchmark: the pdmigrate client against a naive baseline, over real HTTP.

Starts the sandbox in a subprocess on 127.0.0.1 (Growth plan: 40 requests per 2 s
per token; enough seats that the daily budget is not the bound; fair-use cap off;
120 ms +- 40 ms injected latency), then:

- **client**: ``--records N`` person creates, then N activity creates (each linked
  to its person through ``participants``), run concurrently through
  :class:`pdmigrate.pipedrive.client.PipedriveClient`. Dedup is a local id map, so
  the only calls are the writes.
- **baseline**: what a user writes by hand with httpx: one request at a time, a
  ``persons/search`` by email before each create (for an activity, to find its
  person), and ``sleep(2)`` on a 429. It runs ``--baseline-records`` records (default
  ``min(N, 300)``): its figures are rates and ratios, so a sample measures them, and
  the full 2 x 5,000 would take most of an hour.

Prints one line per figure, ``name: value (target ...)``. Example::

    python bench/throughput.py --records 5000
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from pdmigrate.pipedrive.client import PipedriveClient

PLAN = "growth"
BURST_PER_2S = 40
CEILING_RPS = BURST_PER_2S / 2.0
WRITE_COST = 5  # x-token-cost of POST /api/v2/persons and POST /api/v2/activities

_SERVER = """
import sys
from pdmigrate.sandbox.app import create_app
from pdmigrate.sandbox.config import SandboxConfig
from pdmigrate.sandbox.faults import FaultSpec
from pdmigrate.sandbox.server import bind, serve_forever

seats, latency, jitter = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
faults = FaultSpec(seed=1, latency_ms=latency, jitter_ms=jitter)
config = SandboxConfig(plan="growth", seats=seats, fair_use=False, faults=faults)
sock = bind(0)
print(sock.getsockname()[1], flush=True)
serve_forever(create_app(config), sock)
"""


@contextmanager
def sandbox_server(seats: int, latency_ms: float, jitter_ms: float) -> Iterator[str]:
    """Run the sandbox in a child process on 127.0.0.1; yield its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(seats), str(latency_ms), str(jitter_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().strip())
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class Result:
    """What one run did."""

    records: int
    requests: int
    rate_limited: int
    tokens: int
    elapsed: float

    @property
    def request_rate(self) -> float:
        """Requests per second."""
        return self.requests / self.elapsed

    @property
    def record_rate(self) -> float:
        """Created records per second."""
        return self.records / self.elapsed


def person_payload(i: int) -> dict[str, Any]:
    """A synthetic person."""
    email = f"bench.person{i}@example.test"
    return {
        "name": f"Bench Person {i}",
        "emails": [{"value": email, "primary": True, "label": "work"}],
    }


def activity_payload(i: int, person_id: int) -> dict[str, Any]:
    """A synthetic activity linked to its person."""
    return {
        "subject": f"Recall {i}",
        "type": "call",
        "due_date": "2026-02-01",
        "participants": [{"person_id": person_id, "primary": True}],
    }


async def run_client(url: str, n: int, workers: int) -> Result:
    """N person creates then N activity creates, concurrently, through PipedriveClient."""
    async with PipedriveClient(url, "bench-client-token", plan=PLAN, max_in_flight=workers) as c:
        person_ids: dict[int, int] = {}

        async def pool(jobs: list[int], work: Any) -> None:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for j in jobs:
                queue.put_nowait(j)

            async def worker() -> None:
                while not queue.empty():
                    await work(queue.get_nowait())

            await asyncio.gather(*(worker() for _ in range(workers)))

        async def create_person(i: int) -> None:
            person_ids[i] = int((await c.persons.create(person_payload(i)))["id"])

        async def create_activity(i: int) -> None:
            await c.activities.create(activity_payload(i, person_ids[i]))

        start = time.monotonic()
        await pool(list(range(n)), create_person)
        print(f"# client: {n} persons in {time.monotonic() - start:.1f} s", file=sys.stderr)
        await pool(list(range(n)), create_activity)
        elapsed = time.monotonic() - start
        return Result(
            2 * n, c.stats.requests, c.stats.rate_limited, c.stats.tokens_charged, elapsed
        )


def run_baseline(url: str, n: int) -> Result:
    """The hand-written loop: search by email before each create, sleep(2) on 429."""
    requests = rate_limited = tokens = 0

    with httpx.Client(base_url=url, headers={"x-api-token": "bench-baseline-token"}) as http:

        def call(method: str, path: str, **kw: Any) -> dict[str, Any]:
            nonlocal requests, rate_limited, tokens
            while True:
                requests += 1
                resp = http.request(method, path, **kw)
                tokens += int(resp.headers.get("x-token-cost", "0"))
                if resp.status_code == 429:
                    rate_limited += 1
                    time.sleep(2)
                    continue
                resp.raise_for_status()
                body: dict[str, Any] = resp.json()
                return body

        def find_person(email: str) -> int | None:
            params = {"term": email, "fields": "email", "exact_match": "true"}
            items = call("GET", "/api/v2/persons/search", params=params)["data"]["items"]
            return int(items[0]["item"]["id"]) if items else None

        start = time.monotonic()
        for i in range(n):
            email = person_payload(i)["emails"][0]["value"]
            if find_person(email) is None:
                call("POST", "/api/v2/persons", json=person_payload(i))
        for i in range(n):
            person_id = find_person(person_payload(i)["emails"][0]["value"])
            if person_id is not None:
                call("POST", "/api/v2/activities", json=activity_payload(i, person_id))
        elapsed = time.monotonic() - start
    return Result(2 * n, requests, rate_limited, tokens, elapsed)


def main(argv: list[str] | None = None) -> int:
    """Run both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000, help="persons (and activities)")
    parser.add_argument("--baseline-records", type=int, default=None, help="default min(N, 300)")
    parser.add_argument("--workers", type=int, default=12, help="client concurrency")
    parser.add_argument("--seats", type=int, default=10, help="sandbox seats (budget)")
    parser.add_argument("--latency-ms", type=float, default=120.0)
    parser.add_argument("--jitter-ms", type=float, default=40.0)
    args = parser.parse_args(argv)
    n = args.records
    nb = args.baseline_records if args.baseline_records is not None else min(n, 300)

    with sandbox_server(args.seats, args.latency_ms, args.jitter_ms) as url:
        print(
            f"# sandbox {url}: {PLAN}, {args.seats} seats, latency "
            f"{args.latency_ms:g}+-{args.jitter_ms:g} ms",
            file=sys.stderr,
        )
        main_run = asyncio.run(run_client(url, n, args.workers))
        print(
            f"# client: {main_run.requests} requests in {main_run.elapsed:.1f} s", file=sys.stderr
        )
        base = run_baseline(url, nb) if nb > 0 else None

    minimum = main_run.records * WRITE_COST
    print(
        f"# client: {n} persons + {n} activities, {main_run.requests} requests, "
        f"{main_run.rate_limited} x 429, {main_run.tokens} tokens, {main_run.elapsed:.1f} s"
    )
    print(f"request_rate_to_ceiling: {main_run.request_rate / CEILING_RPS:.3f} (target >= 0.90)")
    print(f"rate_limited_share: {main_run.rate_limited / main_run.requests:.4f} (target <= 0.01)")
    print(f"tokens_to_minimum: {main_run.tokens / minimum:.3f} (target <= 1.02)")
    if base is not None:
        print(
            f"# baseline: {nb} persons + {nb} activities, {base.requests} requests, "
            f"{base.rate_limited} x 429, {base.tokens} tokens, {base.elapsed:.1f} s"
        )
        base_min = base.records * WRITE_COST
        print(
            f"baseline_request_rate_to_ceiling: {base.request_rate / CEILING_RPS:.3f} "
            "(reference: one request at a time)"
        )
        print(
            f"baseline_tokens_to_minimum: {base.tokens / base_min:.3f} "
            "(reference: a search before each create)"
        )
        print(
            f"speedup_vs_baseline: {main_run.record_rate / base.record_rate:.2f} "
            "(records per second, client / baseline)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
