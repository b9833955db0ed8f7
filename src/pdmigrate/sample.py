"""``pdmigrate sample``: migrate a representative slice, read it back, diff every field.

The slice (:mod:`pdmigrate.sample_select`) goes through the normal engine
(:func:`pdmigrate.pipeline.run_migration`) as a run of kind ``sample``: its ops, id map
and audit rows are the engine's own, so ``run`` later skips the records the sample
wrote (a changed mapping updates them, see :mod:`pdmigrate.sample_refresh`) and
``rollback --run ID`` can reverse them. Every written record is then read back with
``ids=`` batch gets and listings (:mod:`pdmigrate.verify_read`) and compared field by
field with the body recomputed from its payload; the lines go into the ``sample_diff``
table of ``state.db`` (columns: run_id, entity, source_key, field, source_value,
expected, actual, status), which ``pdmigrate report`` renders.
"""

from __future__ import annotations

import asyncio
import csv
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from pdmigrate.errors import ConfigError, UsageError
from pdmigrate.load_items import build_items
from pdmigrate.sample_diff import DiffLine, diff_record
from pdmigrate.sample_select import Selection, select
from pdmigrate.state_ops import Ops
from pdmigrate.verify_expect import expectations, rows_by_where, source_values
from pdmigrate.verify_read import read_back
from pdmigrate.workspace import Workspace

__all__ = ["DIFF_TABLE", "MAX_SIZE", "MIN_SIZE", "flagged_rows", "sample_workspace", "save_diff"]

MIN_SIZE, MAX_SIZE = 50, 500
DIFF_TABLE = """CREATE TABLE IF NOT EXISTS sample_diff (
    run_id INTEGER NOT NULL, entity TEXT NOT NULL, source_key TEXT NOT NULL,
    field TEXT NOT NULL, source_value TEXT, expected TEXT, actual TEXT,
    status TEXT NOT NULL CHECK (status IN ('match', 'transformed', 'mismatch', 'missing'))
);
CREATE INDEX IF NOT EXISTS sample_diff_run ON sample_diff (run_id, entity, source_key);"""


def flagged_rows(reports: Path) -> dict[str, list[str]]:
    """``file:line`` -> the audit codes ``reports/quarantine.csv`` gives it."""
    path = reports / "quarantine.csv"
    out: dict[str, list[str]] = {}
    if not path.is_file():
        return out
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("line"):
                out.setdefault(f"{row['file']}:{row['line']}", []).append(row.get("code", ""))
    return out


def save_diff(conn: sqlite3.Connection, run_id: int, lines: Iterable[DiffLine]) -> int:
    """Write the diff lines of ``run_id`` into ``sample_diff`` (created when missing)."""
    conn.executescript(DIFF_TABLE)
    rows = [
        (run_id, d.entity, d.source_key, d.field, d.source_value, d.expected, d.actual, d.status)
        for d in lines
    ]
    with conn:
        conn.execute("DELETE FROM sample_diff WHERE run_id = ?", (run_id,))
        conn.executemany("INSERT INTO sample_diff VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def _check_size(size: int) -> None:
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise UsageError(
            f"--size {size}: a sample has {MIN_SIZE} to {MAX_SIZE} records",
            hint=f"pass --size between {MIN_SIZE} and {MAX_SIZE}",
        )


def sample_workspace(
    workspace: Workspace,
    *,
    size: int = 200,
    seed: int = 1,
    fallback_owner: str | None = None,
    client_factory: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Pick, migrate, read back and diff a slice; return the ``--json`` summary."""
    from pdmigrate.mapping.confirm import require_confirmed
    from pdmigrate.mapping.gather import read_rows
    from pdmigrate.mapping.io import MAPPING_NAME, load_mapping
    from pdmigrate.pipeline import _resolve_fallback, run_migration
    from pdmigrate.plan.build import payloads_for_run
    from pdmigrate.plan.store import load_plan
    from pdmigrate.profiles import load_profile

    _check_size(size)
    sha = require_confirmed(workspace)
    plan = load_plan(workspace)
    if plan.mapping_sha256 and plan.mapping_sha256 != sha:
        raise ConfigError(
            f"{workspace.root / 'plan.json'}: made for another mapping version",
            hint="run `pdmigrate plan` again",
        )
    if not plan.owners.runnable and fallback_owner is None:
        raise UsageError(
            f"{len(plan.owners.unmatched)} source staff have no Pipedrive user and no fallback "
            "owner is set",
            hint="fill owners.csv and re-run `pdmigrate plan`, or pass --fallback-owner EMAIL",
        )
    payloads = list(payloads_for_run(workspace, plan))
    selection = select(
        payloads,
        size=size,
        seed=seed,
        merges=plan.merges,
        flagged=flagged_rows(workspace.reports_dir),
    )
    mapping, _, _ = load_mapping(workspace.root / MAPPING_NAME)
    rows = rows_by_where(
        read_rows(mapping, workspace.config.exports, load_profile(workspace.config.source))
    )
    if client_factory is None:
        from pdmigrate.plan.account import workspace_client

        client_factory = lambda: workspace_client(workspace)  # noqa: E731
    config = workspace.config
    state = workspace.state()
    ops = Ops(state)
    run_id = state.start_run("sample", profile=config.source, mapping_sha256=sha)

    async def main() -> tuple[dict[str, Any], list[DiffLine], int, int]:
        async with client_factory() as client:
            current = plan
            if fallback_owner is not None:
                current = _resolve_fallback(plan, fallback_owner, await client.users.list())
            summary = await run_migration(
                client,
                ops,
                plan=current,
                payloads=selection.payloads,
                run_id=run_id,
                account=config.target,
                currency=config.currency,
                attachments=config.attachments,
            )
            before = client.stats.tokens_charged, client.stats.requests
            lines = await diff_selection(
                client, ops, current, selection, rows, mapping, config.target, config.currency
            )
            tokens = client.stats.tokens_charged - before[0]
            requests = client.stats.requests - before[1]
            return summary.to_dict(), lines, tokens, requests

    try:
        run, lines, tokens, requests = asyncio.run(main())
        save_diff(state.conn, run_id, lines)
    except BaseException:
        state.finish_run(run_id, "failed")
        state.close()
        raise
    counts = Counter(d.status for d in lines)
    summary = {
        **run,
        "size": size,
        "seed": seed,
        "records": selection.records,
        "strata": {
            "total": selection.strata,
            "covered": len(selection.covered),
            "uncovered": selection.uncovered,
        },
        "diff": {
            "records": len({(d.entity, d.source_key) for d in lines}),
            "fields": len(lines),
            **{s: counts.get(s, 0) for s in ("match", "transformed", "mismatch", "missing")},
        },
        "readback": {"tokens": tokens, "requests": requests},
    }
    status = run["status"]
    if status == "done" and counts.get("mismatch", 0):
        status = "attention"
    summary["status"] = status
    state.finish_run(run_id, status, summary)
    state.close()
    return summary


async def diff_selection(
    client: Any,
    ops: Ops,
    plan: Any,
    selection: Selection,
    rows: Mapping[str, Any],
    mapping: Any,
    account: str,
    currency: str,
) -> list[DiffLine]:
    """Read back the slice's records and diff them against their payloads."""
    items, index = build_items(selection.payloads, plan)
    wanted = expectations(items, index, ops, plan, account=account, currency=currency)
    by_entity: dict[str, set[str]] = {}
    for e in wanted:
        by_entity.setdefault(_read_entity(e.item.stage), set()).add(e.pipedrive_id)
    deal_ids = [pid for (ent, _), pid in ops.id_map("deal").items() if ent == "deal"]
    records = await read_back(client, by_entity, deal_ids)
    lines: list[DiffLine] = []
    for e in wanted:
        record = records.get(_read_entity(e.item.stage), {}).get(e.pipedrive_id)
        sources = source_values(mapping, rows, e.item.payload)
        lines.extend(diff_record(e.item.entity, e.item.source_key, e.fields, record, sources))
    return lines


def _read_entity(stage: str) -> str:
    return stage
