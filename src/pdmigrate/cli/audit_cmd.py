"""`pdmigrate audit`: the data-quality report; never writes to Pipedrive."""

from __future__ import annotations

from pathlib import Path

import click

from pdmigrate.audit import audit_exports
from pdmigrate.audit_model import AuditOptions
from pdmigrate.audit_report import load_expected, write_html, write_quarantine
from pdmigrate.cli.common import common_options, emit_json, err_console
from pdmigrate.errors import ConfigError
from pdmigrate.profiles import load_profile
from pdmigrate.sources import data_files
from pdmigrate.state import hash_inputs, now_utc
from pdmigrate.workspace import load_workspace


@click.command(
    name="audit",
    help=(
        "Data-quality report of the workspace's exports; never writes to Pipedrive. "
        "Counts records per source object and lists duplicate candidates, missing "
        "required values, malformed emails and phones, impossible and placeholder "
        "dates, orphan references, missing or oversized attachments, HTML content, "
        "encoding problems and values Pipedrive would truncate, each with file:line, "
        "column and a suggested fix. Writes reports/audit.html and "
        "reports/quarantine.csv (rows that cannot be migrated, with the reason).\n\n"
        "\b\nExample:\n"
        "  pdmigrate audit -w clinic\n"
        "  pdmigrate audit -w clinic --expected practice-counts.csv --json"
    ),
)
@common_options
@click.option(
    "--expected",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The practice's own record counts (CSV `object,count` or JSON) to compare with.",
)
def audit_command(workspace: Path, as_json: bool, expected: Path | None) -> None:
    """Run the audit."""
    ws = load_workspace(workspace)
    config = ws.config
    if not config.exports.is_dir():
        raise ConfigError(
            f"{ws.config_path}: source.exports {config.exports} is not a folder",
            hint="fix the path in pdmigrate.toml",
        )
    profile = load_profile(config.source)
    options = AuditOptions(
        country=config.country,
        timezone=config.timezone,
        currency=config.currency,
        date_order=config.date_order,
        attachments=config.attachments or config.exports,
        max_file_mb=config.max_file_mb,
        expected=load_expected(expected) if expected is not None else None,
    )
    with ws.state() as state:
        run_id = state.start_run(
            "audit",
            profile=profile.name,
            inputs=hash_inputs(data_files(config.exports), config.exports),
        )
        try:
            result = audit_exports(profile, config.exports, options)
        except BaseException:
            state.finish_run(run_id, "failed")
            raise
        html = write_html(
            result, ws.reports_dir / "audit.html", name=config.name, generated=now_utc()
        )
        quarantine = write_quarantine(result, ws.reports_dir / "quarantine.csv")
        summary = result.to_json()
        totals = summary["totals"]
        state.finish_run(
            run_id,
            "done",
            {
                "rows": totals["rows"],
                "errors": totals["errors"],
                "warnings": totals["warnings"],
                "quarantined": summary["quarantined"],
                "duplicates": len(summary["duplicates"]),
            },
        )
    summary["run_id"] = run_id
    summary["reports"] = {"html": str(html), "quarantine": str(quarantine)}
    if as_json:
        emit_json(summary)
    for name, obj in summary["objects"].items():
        if obj["files"]:
            err_console.print(
                f"{name:<22} {obj['rows']:>8} rows  {obj['errors']:>5} errors  "
                f"{obj['warnings']:>6} warnings  {obj['quarantined']:>5} quarantined",
                markup=False,
            )
    err_console.print(
        f"[bold]{totals['rows']}[/] rows, [red]{totals['errors']} errors[/], "
        f"[yellow]{totals['warnings']} warnings[/], {len(summary['duplicates'])} duplicate "
        f"groups, {summary['quarantined']} rows quarantined"
    )
    err_console.print(f"report: {html}", markup=False)


COMMANDS: list[click.Command] = [audit_command]
