"""Benchmark: `pdmigrate run` of a synth migration into a Growth sandbox with 120 ms latency.

    python bench/migrate.py                              # practicemaster + corepractice, 2000
    python bench/migrate.py --patients 200 --systems corepractice

For each system: synth exports (``--patients``), a workspace on its own sandbox account,
map + confirm + plan (not timed, in process, no limits), then the timed run against the
same account served in process with Growth burst limits (40 per 2 s per token) and
120 ms latency per request. Growth's daily budget is raised with ``--seats`` and the
fair-use write cap is off so a 2000-patient run is not cut short: the bench measures
speed, not the budget. Prints, per system:

* records per second, and requests per second / the burst ceiling (target >= 0.85);
* tokens per migrated record / the minimum the op mix allows (target <= 1.05); the
  minimum is one create (its endpoint's cost) per op done, plus target preparation;
* the share of API calls that were not writes (target <= 3%).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

BURST = {"lite": 20, "growth": 40, "premium": 100, "ultimate": 120}
TARGET_RATE = 0.85
TARGET_TOKENS = 1.05
TARGET_READS = 0.03


def prepare(system: str, patients: int, root: Path) -> Path:
    """Synth exports and a planned workspace on its own sandbox (not timed)."""
    from pdmigrate.mapping.workflow import confirm_workspace, map_workspace
    from pdmigrate.plan.build import plan_workspace
    from pdmigrate.synth import synth
    from pdmigrate.workspace import create_workspace

    exports = root / f"{system}-exports"
    synth(system, exports, patients=patients, seed=7)
    ws = create_workspace(root / system, source=system, exports=exports, target="sandbox")
    map_workspace(ws)
    confirm_workspace(ws)
    users = json.loads((exports / "users.json").read_text())
    fallback = next(u["email"] for u in users if u.get("active_flag", True))
    plan_workspace(ws, fallback_owner=fallback)
    return ws.root


def minimum_tokens(state_db: Path) -> tuple[int, int]:
    """(records migrated, the fewest tokens their op mix allows: one create each)."""
    import sqlite3

    from pdmigrate.load import CREATE_ENDPOINT, UPDATE_ENDPOINT
    from pdmigrate.pipedrive import endpoints

    conn = sqlite3.connect(state_db)
    try:
        rows = conn.execute(
            "SELECT stage, kind, COUNT(*) FROM ops WHERE status = 'done' GROUP BY stage, kind"
        ).fetchall()
        schema = conn.execute(
            "SELECT entity, COUNT(*) FROM field_keys WHERE origin = 'created' GROUP BY entity"
        ).fetchall()
    finally:
        conn.close()
    extra = {"deal_product": "dealProducts.create", "file": "files.create"}
    records = 0
    tokens = 0
    for stage, kind, n in rows:
        table = UPDATE_ENDPOINT if kind in ("update", "fill") else {**CREATE_ENDPOINT, **extra}
        tokens += endpoints.get(table[stage]).cost * n
        records += n
    schema_cost = {"pipeline": "pipelines.create", "stage": "stages.create"}
    schema_cost |= {"activity_type": "activityTypes.create"}
    for entity, n in schema:
        name = schema_cost.get(entity, f"{entity}Fields.create")
        tokens += endpoints.get(name).cost * n
    return records, tokens


def run(root: Path, plan: str, latency_ms: int, seats: int) -> dict[str, Any]:
    """The timed run; returns the figures."""
    from pdmigrate.pipedrive.client import PipedriveClient
    from pdmigrate.pipeline import run_workspace
    from pdmigrate.sandbox.app import Sandbox, app_for
    from pdmigrate.sandbox.config import SandboxConfig
    from pdmigrate.sandbox.inprocess import AsyncSandboxTransport
    from pdmigrate.workspace import load_workspace

    ws = load_workspace(root)
    stats: list[Any] = []

    @asynccontextmanager
    async def factory() -> AsyncIterator[PipedriveClient]:
        sb = Sandbox(
            SandboxConfig(
                db_path=ws.sandbox_path,
                plan=plan,
                seats=seats,
                rate_limits=True,
                fair_use=False,
                latency_ms=latency_ms,
            )
        )
        client = PipedriveClient(
            "http://sandbox.local",
            ws.config.sandbox_token or "",
            transport=AsyncSandboxTransport(app_for(sb)),
            plan=plan,
        )
        try:
            yield client
        finally:
            stats.append(client.stats)
            await client.aclose()
            sb.close()

    started = time.monotonic()
    cpu0 = time.process_time()
    summary = run_workspace(ws, client_factory=factory)
    seconds = time.monotonic() - started
    cpu = time.process_time() - cpu0
    s = stats[0]
    writes = sum(n for name, n in s.by_endpoint.items() if name.split(".")[-1] in _WRITES)
    records, minimum = minimum_tokens(ws.state_path)
    ceiling = BURST[plan] / 2.0
    return {
        "status": summary.status,
        "seconds": round(seconds, 1),
        "records": records,
        "requests": s.requests,
        "records_per_s": round(records / seconds, 2),
        "requests_per_s": round(s.requests / seconds, 2),
        "burst_ceiling_per_s": ceiling,
        "rate_ratio": round(s.requests / seconds / ceiling, 3),
        "tokens": s.tokens_charged,
        "tokens_min": minimum,
        "tokens_ratio": round(s.tokens_charged / minimum, 3) if minimum else None,
        "tokens_per_record": round(s.tokens_charged / records, 2) if records else None,
        "non_write_share": round(1 - writes / s.requests, 4) if s.requests else None,
        "rate_limited": s.rate_limited,
        "failed": len(summary.failed),
        "cpu_seconds": round(cpu, 1),
        "load_average": round(os.getloadavg()[0], 2),
    }


_WRITES = {"create", "bulkCreate", "update"}


def main(argv: list[str] | None = None) -> int:
    """Parse options, run each system, print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--systems", nargs="+", default=["practicemaster", "corepractice"])
    parser.add_argument("--plan", default="growth", choices=sorted(BURST))
    parser.add_argument("--latency-ms", type=int, default=120)
    parser.add_argument("--seats", type=int, default=20, help="raises the daily token budget")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pdmigrate-bench-") as tmp:
        for system in args.systems:
            root = prepare(system, args.patients, Path(tmp))
            results[system] = run(root, args.plan, args.latency_ms, args.seats)
            r = results[system]
            print(
                f"{system:<15} {args.patients} patients: {r['records']} records in {r['seconds']}s "
                f"= {r['records_per_s']} records/s; {r['requests_per_s']} req/s / "
                f"{r['burst_ceiling_per_s']} ceiling = {r['rate_ratio']} (>= {TARGET_RATE}); "
                f"tokens {r['tokens']} / min {r['tokens_min']} = {r['tokens_ratio']} "
                f"(<= {TARGET_TOKENS}); non-write calls {r['non_write_share']:.2%} "
                f"(<= {TARGET_READS:.0%}); 429s {r['rate_limited']}; status {r['status']}; "
                f"CPU {r['cpu_seconds']}s, load {r['load_average']}",
                file=sys.stderr,
            )
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    sys.exit(main())
