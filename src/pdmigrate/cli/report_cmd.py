"""`pdmigrate report`: (re)build the HTML/CSV/JSON reports from state.db."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from pdmigrate.cli.common import common_options, emit_json, err_console
from pdmigrate.errors import UsageError
from pdmigrate.workspace import load_workspace


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--as-of {value!r}: expected a date such as 2024-03-05") from None


@click.command(
    name="report",
    help=(
        "(Re)build the reports in reports/ from state.db and the workspace files, so they "
        "exist after a crash too: index.html (every run, the reconciliation, charts, links "
        "to the sections that have data), the section pages, Data Loader style "
        "success_/error_<entity>.csv, audit_log.csv, sample_diff.csv, report.json, and the "
        "workflow rebuild reference (workflows.yaml in the workspace, workflows.json and "
        "workflows.md in reports/). Sections without data say 'not run yet'. Never calls "
        "Pipedrive.\n\n"
        "\b\nExample:\n"
        "  pdmigrate report -w clinic\n"
        "  pdmigrate report -w clinic --no-scan --json"
    ),
)
@common_options
@click.option(
    "--scan/--no-scan",
    default=True,
    show_default=True,
    help="Read the exports for the source charts and the workflow rules.",
)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="DATE",
    help="Reference date for follow-up rules such as claims over 30 days old (default: today).",
)
def report_command(workspace: Path, as_json: bool, scan: bool, as_of: str | None) -> None:
    """Build the reports."""
    from pdmigrate.reports.build import build_reports

    ws = load_workspace(workspace)
    summary = build_reports(ws, as_of=_as_of(as_of), scan=scan)
    if as_json:
        emit_json(summary)
    missing = [k for k, v in summary["sections"].items() if v is None]
    err_console.print(
        f"{len(summary['pages'])} pages, {len(summary['files'])} files; "
        f"sections with data: {', '.join(summary['available']) or 'none'}",
        markup=False,
    )
    if missing:
        err_console.print(f"not run yet: {', '.join(missing)}", markup=False)
    if summary["incomplete_runs"]:
        err_console.print(
            f"[yellow]runs left incomplete (crashed or still running):[/] "
            f"{', '.join(str(i) for i in summary['incomplete_runs'])}"
        )
    err_console.print(f"report: {summary['index']}", markup=False)


COMMANDS: list[click.Command] = [report_command]
