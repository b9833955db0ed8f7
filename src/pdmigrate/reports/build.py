"""`pdmigrate report`: (re)build every report in ``reports/`` from state.db and the workspace.

:func:`build_reports` loads each section (:mod:`.data`; None when its data does not exist
yet), scans the exports once for the source profile and the workflow rules, writes
the workflow reference, the CSV files, the HTML pages and ``report.json``, and returns
the same JSON-ready summary that ``--json`` prints. It only reads state.db (apart from
its own ``report`` run row), so it works after a crash and while a run is going.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pdmigrate.profiles import load_profile
from pdmigrate.reports import data
from pdmigrate.reports.csvout import write_csv
from pdmigrate.reports.html import render_pages
from pdmigrate.reports.scan import SourceStats
from pdmigrate.state import State, now_utc
from pdmigrate.workflows import (
    WORKFLOWS_YAML,
    build_reference,
    observer_for,
    read_previous,
    scan_exports,
    write_workflows,
)
from pdmigrate.workspace import Workspace

REPORT_JSON = "report.json"
AUDIT_LOG_CSV = "audit_log.csv"
DIFF_CSV = "sample_diff.csv"
SUCCESS_HEADER = ("ID", "SOURCE_KEY", "SOURCE_PLACE", "KIND", "RUN_ID", "STATUS")
ERROR_HEADER = ("SOURCE_KEY", "SOURCE_PLACE", "KIND", "RUN_ID", "STATUS", "ERROR")
AUDIT_HEADER = (
    "run_id",
    "source_object",
    "source_key",
    "entity",
    "pipedrive_id",
    "field",
    "old_value",
    "new_value",
    "time",
)
_CREATED = {"create": "Item Created", "update": "Item Updated", "link": "Item Linked"}


def _success_rows(state: State, entity: str) -> Any:
    for key, pid, kind, _status, _error, where, run_id in data.iter_results(
        state, entity, ("done",)
    ):
        yield (pid, key, where, kind, run_id, _CREATED.get(str(kind), str(kind)))


def _error_rows(state: State, entity: str) -> Any:
    for key, _pid, kind, status, error, where, run_id in data.iter_results(
        state, entity, ("failed", "skipped")
    ):
        yield (key, where, kind, run_id, status, error or "")


def write_csv_files(reports: Path, state: State, sections: dict[str, Any]) -> list[str]:
    """Data Loader style success/error files per entity, the audit log and the sample diff."""
    written: list[str] = []
    for entity in data.op_entities(state):
        safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in entity)
        write_csv(reports / f"success_{safe}.csv", SUCCESS_HEADER, _success_rows(state, entity))
        write_csv(reports / f"error_{safe}.csv", ERROR_HEADER, _error_rows(state, entity))
        written += [f"success_{safe}.csv", f"error_{safe}.csv"]
    if data.has_table(state.conn, "audit", ("run_id",)):
        write_csv(reports / AUDIT_LOG_CSV, AUDIT_HEADER, data.iter_audit_log(state))
        written.append(AUDIT_LOG_CSV)
    diff = sections.get("sample")
    if diff:
        write_csv(
            reports / DIFF_CSV,
            data.DIFF_COLUMNS,
            ([r[c] for c in data.DIFF_COLUMNS] for r in diff["rows"]),
        )
        written.append(DIFF_CSV)
    return written


def _plan_name(ws: Workspace, plan: dict[str, Any] | None) -> str:
    if plan and plan.get("plan_name"):
        return str(plan["plan_name"])
    return ws.config.sandbox_plan if ws.config.is_sandbox else "growth"


def _scan(
    ws: Workspace, as_of: date, plan_name: str, generated: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Source stats and the workflow reference from one pass over the exports."""
    if not ws.config.exports.is_dir():
        return None, None
    profile = load_profile(ws.config.source)
    stats = SourceStats()
    observer = observer_for(profile, as_of=as_of, date_order=ws.config.date_order)
    scan_exports(profile, ws.config.exports, [stats, observer])
    reference = build_reference(
        profile,
        observer.seen,
        as_of=as_of,
        plan=plan_name,
        previous=read_previous(ws.root / WORKFLOWS_YAML),
        generated=generated,
        where=str(ws.root / WORKFLOWS_YAML),
    )
    write_workflows(ws.root, ws.reports_dir, reference)
    return stats.to_dict(), reference


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_reports(
    ws: Workspace,
    *,
    as_of: date | None = None,
    scan: bool = True,
    record_run: bool = True,
) -> dict[str, Any]:
    """Rebuild ``reports/`` and return the summary (the ``--json`` contract of ``report``)."""
    generated = now_utc()
    as_of = as_of or datetime.now(UTC).date()
    reports = ws.reports_dir
    with ws.state() as state:
        run_id = state.start_run("report", profile=ws.config.source) if record_run else None
        try:
            summary = _build(ws, state, reports, generated, as_of, scan, run_id)
        except BaseException:
            if run_id is not None:
                state.finish_run(run_id, "failed")
            raise
        if run_id is not None:
            state.finish_run(
                run_id,
                "done",
                {"pages": len(summary["pages"]), "files": len(summary["files"])},
            )
    return summary


def _build(
    ws: Workspace,
    state: State,
    reports: Path,
    generated: str,
    as_of: date,
    scan: bool,
    run_id: int | None,
) -> dict[str, Any]:
    runs = [r for r in data.load_runs(state) if r["kind"] != "report"]
    sections: dict[str, Any] = {
        "audit": data.load_audit(ws.root, reports, runs),
        "owners": data.load_owners(ws.root),
        "plan": data.load_plan(ws.root, reports, state),
        "progress": data.load_progress(state),
        "sample": data.load_sample_diff(state),
        "verify": data.load_verification(runs),
        "failures": data.load_failures(reports, state, runs),
        "source": None,
        "workflows": None,
    }
    if scan:
        sections["source"], sections["workflows"] = _scan(
            ws, as_of, _plan_name(ws, sections["plan"]), generated
        )
    files = write_csv_files(reports, state, sections)
    if sections["workflows"] is not None:
        files += ["workflows.json", "workflows.md"]
    config = ws.config
    context = {
        "ws": {
            "name": config.name,
            "source": config.source,
            "target": config.target,
        },
        "generated": generated,
        "files": [*sorted(files), REPORT_JSON],
    }
    context["listing"] = sorted(
        {*files, REPORT_JSON}
        | {p.name for p in reports.iterdir() if p.suffix in {".csv", ".json", ".md"}}
    )
    pages = render_pages(context, sections, runs)
    for name, html in pages.items():
        _atomic_text(reports / name, html)
    all_pages = dict.fromkeys(pages)
    if sections["audit"] and sections["audit"].get("html"):
        all_pages["audit.html"] = None
    summary: dict[str, Any] = {
        "workspace": str(ws.root),
        "reports_dir": str(reports),
        "generated": generated,
        "as_of": as_of.isoformat(),
        "run_id": run_id,
        "runs": runs,
        "incomplete_runs": [r["id"] for r in runs if r["incomplete"]],
        "sections": sections,
        "available": sorted(k for k, v in sections.items() if v is not None),
        "pages": sorted(all_pages),
        "files": [*sorted(files), REPORT_JSON],
        "index": str(reports / "index.html"),
    }
    _atomic_text(
        reports / REPORT_JSON,
        json.dumps(summary, indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n",
    )
    return summary
