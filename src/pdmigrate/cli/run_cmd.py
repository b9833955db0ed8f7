"""`pdmigrate run` and `pdmigrate status`: the migration itself, and where it stands."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from pdmigrate.cli.common import common_options, emit_json, err_console
from pdmigrate.errors import EXIT_ATTENTION, EXIT_BUDGET, EXIT_FAILED, EXIT_INTERRUPTED
from pdmigrate.workspace import load_workspace

#: Run status -> exit code.
EXIT_BY_STATUS = {
    "done": 0,
    "attention": EXIT_ATTENTION,
    "stopped": EXIT_BUDGET,
    "interrupted": EXIT_INTERRUPTED,
    "failed": EXIT_FAILED,
}


class StageProgress:
    """A rich progress bar per stage (rate, ETA, tokens left today), on stderr."""

    def __init__(self, tokens_left: Any = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<13}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[tokens]}"),
            console=err_console,
            transient=False,
            disable=not err_console.is_terminal,
        )
        self.tasks: dict[str, TaskID] = {}
        self.tokens_left = tokens_left

    def _tokens(self) -> str:
        left = self.tokens_left() if self.tokens_left is not None else None
        return "" if left is None else f"{left} tokens left today"

    def start(self, stage: str, total: int) -> None:
        """Add the bar of a stage."""
        self.tasks[stage] = self.progress.add_task(stage, total=total, rate="", tokens="")

    def advance(self, stage: str, n: int) -> None:
        """Count ``n`` finished ops of ``stage``."""
        task = self.tasks.get(stage)
        if task is None:
            return
        self.progress.advance(task, n)
        speed = self.progress.tasks[task].speed
        rate = "" if speed is None else f"{speed:.1f}/s"
        self.progress.update(task, rate=rate, tokens=self._tokens())


@click.command(
    name="run",
    help=(
        "Migrate: prepare the account (fields, pipelines, stages, activity types), then load "
        "organizations (and parent links), persons, products, deals (+ deal products), leads, "
        "activities, notes and files, each record exactly once. Needs a confirmed mapping "
        "and a plan (`pdmigrate plan`). Resumable: run it again after a crash, Ctrl-C or a "
        "spent token budget and it continues where it stopped; a finished migration is not "
        "written again.\n\n"
        "Exit codes: 0 done; 3 finished with records that need attention (failed records "
        "are listed); 4 stopped because the daily token budget ran out (says when it "
        "resets; --wait sleeps until then); 130 interrupted (in-flight ops finished); 2 "
        "usage or configuration error (unconfirmed mapping, unmatched staff without "
        "--fallback-owner).\n\n"
        "\b\nExample:\n"
        "  pdmigrate run -w clinic\n"
        "  pdmigrate run -w clinic --fallback-owner admin@clinic.example --wait --json"
    ),
)
@common_options
@click.option(
    "--fallback-owner",
    metavar="EMAIL",
    help="Active Pipedrive user who owns records of unmatched staff.",
)
@click.option("--wait", is_flag=True, help="When the daily budget runs out, sleep until it resets.")
@click.option("--retry-failed", is_flag=True, help="Send records that failed before once more.")
def run_command(
    workspace: Path, as_json: bool, fallback_owner: str | None, wait: bool, retry_failed: bool
) -> None:
    """Run the migration."""
    from pdmigrate.pipeline import run_workspace

    ws = load_workspace(workspace)
    bars = StageProgress()

    def waiting(resets: datetime) -> None:
        err_console.print(f"Daily token budget used up; waiting until {resets.isoformat()}.")

    with bars.progress:
        summary = run_workspace(
            ws,
            fallback_owner=fallback_owner,
            wait=wait,
            retry_failed=retry_failed,
            progress=bars,
            on_wait=waiting,
        )
    data = summary.to_dict()
    _render(data)
    if as_json:
        emit_json(data)
    sys.exit(EXIT_BY_STATUS.get(summary.status, EXIT_FAILED))


def _render(data: dict[str, Any]) -> None:
    created = ", ".join(f"{k} {v}" for k, v in sorted(data["created"].items())) or "nothing"
    err_console.print(f"Run {data['run_id']}: {data['status']}. Created: {created}.")
    if data["updated"]:
        updated = ", ".join(f"{k} {v}" for k, v in sorted(data["updated"].items()))
        err_console.print(f"Updated: {updated}.")
    for f in data["failed"][:50]:
        err_console.print(f"  failed {f['where'] or f['source_key']} ({f['stage']}): {f['error']}")
    if len(data["failed"]) > 50:
        err_console.print(f"  ... and {len(data['failed']) - 50} more (pdmigrate status --json)")
    if data["links_not_set"]:
        err_console.print(f"{len(data['links_not_set'])} record(s) written with a link not set:")
        for f in data["links_not_set"][:20]:
            err_console.print(f"  {f['where'] or f['source_key']}: {f['error']}")
    if data.get("links_absent"):
        shown = ", ".join(f"{k} {v}" for k, v in data["links_absent"].items())
        err_console.print(f"Links to records not in this migration (left empty): {shown}.")
    if data["status"] == "stopped":
        err_console.print(
            f"Stopped: the daily token budget is used up. It resets at {data['resets_at']}; "
            "run `pdmigrate run` again then (or use --wait)."
        )
    if data["status"] == "interrupted":
        err_console.print("Interrupted; run `pdmigrate run` again to continue.")


@click.command(
    name="status",
    help=(
        "Show the runs, progress per entity (ops pending, started, done, failed, skipped), "
        "the failed records and what a resume will do. Reads state.db only.\n\n"
        "\b\nExample:\n"
        "  pdmigrate status -w clinic\n"
        "  pdmigrate status -w clinic --json"
    ),
)
@common_options
def status_command(workspace: Path, as_json: bool) -> None:
    """Show migration status."""
    from pdmigrate.pipeline import resume_preview
    from pdmigrate.state_ops import Ops

    ws = load_workspace(workspace)
    with ws.state() as state:
        ops = Ops(state)
        runs = [r.to_dict() for r in state.runs("run")]
        preview = resume_preview(ops)
        failed = [
            {"stage": o.stage, "source_key": o.source_key, "where": o.where, "error": o.error}
            for o in ops.with_status("failed")
        ]
    data = {
        "runs": [{k: r[k] for k in ("id", "status", "started_at", "finished_at")} for r in runs],
        "stages": preview["stages"],
        "failed": failed,
        "resume": {"reconcile": preview["reconcile"], "send": preview["send"]},
    }
    for r in data["runs"]:
        err_console.print(f"run {r['id']}: {r['status']} ({r['started_at']} - {r['finished_at']})")
    for stage, counts in data["stages"].items():
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        err_console.print(f"  {stage:<13} {shown}")
    for f in failed[:50]:
        err_console.print(f"  failed {f['where'] or f['source_key']}: {f['error']}")
    err_console.print(
        f"A resume will reconcile {preview['reconcile']} in-flight op(s) by source id, then "
        f"send {preview['send']} pending op(s); {len(failed)} failed op(s) are kept "
        "(--retry-failed sends them again)."
    )
    if as_json:
        emit_json(data)


COMMANDS: list[click.Command] = [run_command, status_command]
