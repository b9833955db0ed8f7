"""The reports' data: one loader per section, each returning None when its data is missing.

Everything is read from ``state.db`` and the workspace's files, never from Pipedrive,
so the reports can be rebuilt after a crash. A loader that finds no data returns None
and the page says "not run yet": nothing is invented. The engine's tables (``ops``,
``id_map``, ``field_keys``, ``audit``) and the proof's (``sample_diff``) are used when the
schema has them, so an older workspace still gets the sections it has data for.

Contract for the sample's diff (issue 7): a ``sample_diff`` table with columns
``run_id, entity, source_key, field, source_value, expected, actual, status`` (status:
match, transformed, mismatch, missing), one row per source record and mapped field.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pdmigrate.state import State

#: Columns of the sample's diff table (see the module docstring).
DIFF_COLUMNS = (
    "run_id",
    "entity",
    "source_key",
    "field",
    "source_value",
    "expected",
    "actual",
    "status",
)
DIFF_STATUSES = ("match", "transformed", "mismatch", "missing")
#: Run kinds that write to Pipedrive (their ops and failures are reported).
WRITE_KINDS = frozenset({"run", "sample", "delta", "rollback"})


def has_table(conn: sqlite3.Connection, name: str, columns: tuple[str, ...] = ()) -> bool:
    """True when ``name`` exists (with at least ``columns``)."""
    rows = conn.execute(f"PRAGMA table_info({json.dumps(name)})").fetchall()
    present = {str(r[1]) for r in rows}
    return bool(present) and set(columns) <= present


def _duration(started: str | None, finished: str | None) -> float | None:
    from datetime import datetime

    if not started or not finished:
        return None
    try:
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return (datetime.strptime(finished, fmt) - datetime.strptime(started, fmt)).total_seconds()
    except ValueError:
        return None


def load_runs(state: State) -> list[dict[str, Any]]:
    """Every run of the workspace, oldest first, with its ops by status when the engine has any.

    A run still marked ``running`` is reported as ``incomplete``: the process crashed or
    is still going, and ``status`` / a resume says which.
    """
    ops: dict[int, Counter[str]] = {}
    if has_table(state.conn, "ops", ("run_id", "status")):
        for run_id, status, n in state.conn.execute(
            "SELECT run_id, status, COUNT(*) FROM ops WHERE run_id IS NOT NULL "
            "GROUP BY run_id, status"
        ):
            ops.setdefault(int(run_id), Counter())[str(status)] = int(n)
    out = []
    for run in state.runs():
        item = run.to_dict()
        item.pop("inputs", None)
        item["input_files"] = len(run.inputs)
        item["incomplete"] = run.status == "running"
        item["seconds"] = _duration(run.started_at, run.finished_at)
        item["ops"] = dict(sorted(ops.get(run.id, Counter()).items()))
        out.append(item)
    return out


def load_audit(root: Path, reports: Path, runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest audit run's summary and the audit's own pages, or None before any audit."""
    audits = [r for r in runs if r["kind"] == "audit"]
    html = reports / "audit.html"
    if not audits and not html.is_file():
        return None
    last = audits[-1] if audits else None
    return {
        "run_id": last["id"] if last else None,
        "status": last["status"] if last else None,
        "summary": (last or {}).get("summary") or {},
        "html": html.name if html.is_file() else None,
        "quarantine": "quarantine.csv" if (reports / "quarantine.csv").is_file() else None,
    }


def load_owners(root: Path) -> dict[str, Any] | None:
    """owners.csv (written by plan, edited by the user): rows and counts per status."""
    path = root / "owners.csv"
    if not path.is_file():
        return None
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = [
            {k: (v or "") for k, v in row.items() if k is not None} for row in csv.DictReader(fh)
        ]
    staff = [r for r in rows if r.get("staff") != "*fallback*"]
    fallback = next((r for r in rows if r.get("staff") == "*fallback*"), None)
    return {
        "rows": staff,
        "by_status": dict(sorted(Counter(r.get("status", "") for r in staff).items())),
        "fallback": (fallback or {}).get("pipedrive_email") or None,
        "file": path.name,
    }


def _field_keys(state: State) -> dict[tuple[str, str], dict[str, str]]:
    if not has_table(state.conn, "field_keys", ("entity", "name", "key", "origin")):
        return {}
    return {
        (str(e), str(n)): {"key": str(k), "origin": str(o), "account": str(a)}
        for a, e, n, k, o in state.conn.execute(
            "SELECT account, entity, name, key, origin FROM field_keys ORDER BY account"
        )
    }


def _known(
    keys: Mapping[tuple[str, str], Mapping[str, str]],
    reuse: Mapping[tuple[str, str], str],
    entity: str,
    name: str,
) -> str | None:
    """The id/key this account has for (entity, name): prepared by run, else reused, else None."""
    if (entity, name) in keys:
        return keys[(entity, name)]["key"]
    return reuse.get((entity, name))


def load_plan(root: Path, reports: Path, state: State) -> dict[str, Any] | None:
    """plan.json: custom fields with their per-account keys, stages, ops, tokens and days.

    A field's key comes from ``field_keys`` once run has prepared the account, else from
    the plan's reuse of an existing field, else it is ``pending`` (created by run).
    """
    path = root / "plan.json"
    if not path.is_file():
        return None
    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"error": f"{path.name} cannot be read", "fields": [], "pipelines": []}
    target = plan.get("target") or {}
    reuse = {(r["entity"], r["name"]): r["key"] for r in target.get("reuse", [])}
    keys = _field_keys(state)
    fields = []
    for f in target.get("fields", []):
        ident = (f["entity"], f["name"])
        known = keys.get(ident)
        if known:
            key, origin = known["key"], known["origin"]
        elif ident in reuse:
            key, origin = reuse[ident], "reused"
        else:
            key, origin = "", "pending"
        fields.append(
            {
                "entity": f["entity"],
                "name": f["name"],
                "type": f.get("field_type", ""),
                "options": len(f.get("options", [])),
                "key": key,
                "origin": origin,
            }
        )
    details = plan.get("details") or {}
    report: dict[str, Any] = {}
    if (reports / "plan.json").is_file():
        try:
            report = json.loads((reports / "plan.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = {}
    return {
        "created_at": plan.get("created_at"),
        "plan_name": plan.get("plan_name"),
        "seats": plan.get("seats"),
        "grade": plan.get("grade"),
        "tokens": plan.get("tokens"),
        "days": plan.get("days"),
        "ops": dict(plan.get("counts") or {}),
        "fields": fields,
        "pipelines": [
            {
                "name": p["name"],
                "id": _known(keys, reuse, "pipeline", p["name"]),
                "stages": [
                    [
                        s["name"],
                        s.get("probability"),
                        _known(keys, reuse, "stage", f"{p['name']}/{s['name']}"),
                    ]
                    for s in p["stages"]
                ],
            }
            for p in target.get("pipelines", [])
        ],
        "activity_types": [a["name"] for a in target.get("activity_types", [])],
        "contact_sync": target.get("contact_sync"),
        "estimate": details.get("estimate") or report.get("estimate") or {},
        "caps": details.get("caps") or report.get("caps") or [],
        "warnings": list(plan.get("warnings") or []),
        "owners_unmatched": list((plan.get("owners") or {}).get("unmatched") or []),
    }


def load_progress(state: State) -> dict[str, Any] | None:
    """Ops per entity by status, and records in the id map per entity and origin."""
    if not has_table(state.conn, "ops", ("entity", "status")):
        return None
    by_entity: dict[str, dict[str, int]] = {}
    for entity, status, n in state.conn.execute(
        "SELECT entity, status, COUNT(*) FROM ops GROUP BY entity, status ORDER BY entity"
    ):
        by_entity.setdefault(str(entity), {})[str(status)] = int(n)
    mapped: dict[str, dict[str, int]] = {}
    if has_table(state.conn, "id_map", ("entity", "origin")):
        for entity, origin, n in state.conn.execute(
            "SELECT entity, origin, COUNT(*) FROM id_map GROUP BY entity, origin ORDER BY entity"
        ):
            mapped.setdefault(str(entity), {})[str(origin)] = int(n)
    if not by_entity and not mapped:
        return None
    return {"ops": by_entity, "id_map": mapped}


def iter_failed_ops(state: State) -> Iterator[dict[str, Any]]:
    """Ops that failed or were skipped, with Pipedrive's message or the rule's reason."""
    if not has_table(state.conn, "ops", ("status", "error", "src_where")):
        return
    for row in state.conn.execute(
        "SELECT run_id, entity, stage, source_key, kind, status, error, src_where, attempts "
        "FROM ops WHERE status IN ('failed', 'skipped') ORDER BY entity, id"
    ):
        yield {
            "run_id": row[0],
            "entity": row[1],
            "stage": row[2],
            "source_key": row[3],
            "kind": row[4],
            "status": row[5],
            "reason": row[6] or "",
            "where": row[7] or "",
            "attempts": row[8],
        }


def load_failures(reports: Path, state: State, runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Failed and skipped records with reasons: engine ops plus the audit's quarantine.csv."""
    wrote = any(r["kind"] in WRITE_KINDS for r in runs)
    quarantine_path = reports / "quarantine.csv"
    quarantine: list[dict[str, str]] = []
    if quarantine_path.is_file():
        with quarantine_path.open(encoding="utf-8-sig", newline="") as fh:
            quarantine = [{k: (v or "") for k, v in r.items() if k} for r in csv.DictReader(fh)]
    ops = list(iter_failed_ops(state))
    if not wrote and not ops and not quarantine_path.is_file():
        return None
    return {
        "ops": ops,
        "ops_run": wrote or bool(ops),
        "quarantine": quarantine,
        "by_reason": dict(Counter(o["status"] for o in ops)),
    }


def load_sample_diff(state: State) -> dict[str, Any] | None:
    """The latest sample's field-level diff (``sample_diff`` table), or None before a sample."""
    if not has_table(state.conn, "sample_diff", DIFF_COLUMNS):
        return None
    last = state.conn.execute("SELECT MAX(run_id) FROM sample_diff").fetchone()[0]
    if last is None:
        return None
    rows = [
        dict(zip(DIFF_COLUMNS, r, strict=True))
        for r in state.conn.execute(
            f"SELECT {', '.join(DIFF_COLUMNS)} FROM sample_diff WHERE run_id = ? "
            "ORDER BY entity, source_key, field",
            (last,),
        )
    ]
    counts = Counter(str(r["status"]) for r in rows)
    found = state.conn.execute("SELECT summary FROM runs WHERE id = ?", (last,)).fetchone()
    try:
        summary = json.loads(found[0]) if found and found[0] else {}
    except ValueError:
        summary = {}
    strata = summary.get("strata") if isinstance(summary, dict) else None
    return {
        "run_id": last,
        "rows": rows,
        "counts": {s: counts.get(s, 0) for s in DIFF_STATUSES},
        "records": len({(r["entity"], r["source_key"]) for r in rows}),
        "strata": strata if isinstance(strata, dict) else None,
    }


def load_verification(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest finished verify run's summary (reconciliation buckets, accuracy), or None."""
    done = [r for r in runs if r["kind"] == "verify" and r.get("summary")]
    if not done:
        return None
    last = done[-1]
    summary: Mapping[str, Any] = last["summary"]
    return {"run_id": last["id"], "status": last["status"], **summary}


def iter_audit_log(state: State) -> Iterator[tuple[Any, ...]]:
    """The audit log rows (source key, Pipedrive id, field, old value, new value, time...)."""
    if not has_table(state.conn, "audit", ("run_id", "entity", "pipedrive_id")):
        return
    yield from state.conn.execute(
        "SELECT run_id, source_object, source_key, entity, pipedrive_id, field, old_value, "
        "new_value, at FROM audit ORDER BY id"
    )


def iter_results(state: State, entity: str, statuses: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    """Ops of ``entity`` in ``statuses`` (Data Loader style success/error rows)."""
    if not has_table(state.conn, "ops", ("entity", "status", "pipedrive_id")):
        return
    marks = ", ".join("?" for _ in statuses)
    yield from state.conn.execute(
        f"SELECT source_key, pipedrive_id, kind, status, error, src_where, run_id FROM ops "
        f"WHERE entity = ? AND status IN ({marks}) ORDER BY id",
        (entity, *statuses),
    )


def op_entities(state: State) -> list[str]:
    """The entities the ops table holds."""
    if not has_table(state.conn, "ops", ("entity",)):
        return []
    return [str(r[0]) for r in state.conn.execute("SELECT DISTINCT entity FROM ops ORDER BY 1")]
