"""`pdmigrate plan`: everything decided before a write, and the plan report."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import click

from pdmigrate.cli.common import common_options, emit_json, err_console
from pdmigrate.errors import UsageError
from pdmigrate.workspace import load_workspace

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([dhm])", re.IGNORECASE)
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0}


def parse_window(text: str) -> timedelta:
    """``72h``, ``3d``, ``1d12h``, ``90m`` -> timedelta; UsageError otherwise."""
    compact = text.strip().replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts).casefold() != compact.casefold():
        raise UsageError(f"--within {text!r}: use a duration such as 72h, 3d or 1d12h")
    seconds = sum(float(n) * _UNITS[u.casefold()] for n, u in parts)
    if seconds <= 0:
        raise UsageError(f"--within {text!r}: the window must be longer than zero")
    return timedelta(seconds=seconds)


@click.command(
    name="plan",
    help=(
        "Resolve everything before the first write and write the plan (plan.json, read by "
        "`run`) and the plan report (reports/plan.json, reports/plan.md). Needs a confirmed "
        "mapping. Reads the account once: users, fields, pipelines, stages, activity types, "
        "and the people already there (paged listing, no search per record). Writes the "
        "editable owners.csv (staff -> Pipedrive user; fill pipedrive_email where the export "
        "has no staff email) and decisions.csv (source duplicates: merge, keep apart, skip); "
        "plan again after editing them. Prints ops per entity, tokens, days under the plan "
        "and seats (fair-use cap included), plan caps and the A-D complexity grade. "
        "Writes nothing to Pipedrive.\n\n"
        "\b\nExample:\n"
        "  pdmigrate plan -w clinic\n"
        "  pdmigrate plan -w clinic --fallback-owner admin@clinic.example --within 72h\n"
        "  pdmigrate plan -w clinic --plan premium --seats 3 --json"
    ),
)
@common_options
@click.option(
    "--fallback-owner",
    metavar="EMAIL",
    help="Active Pipedrive user who owns records of unmatched or inactive staff.",
)
@click.option(
    "--within",
    metavar="DURATION",
    help="Say what would fit this window (72h, 3d): more seats or a token top-up.",
)
@click.option(
    "--plan",
    "plan_name",
    type=click.Choice(["lite", "growth", "premium", "ultimate"], case_sensitive=False),
    help="The account's Pipedrive plan (default: from the account, else Growth).",
)
@click.option(
    "--seats",
    type=click.IntRange(1, 10_000),
    help="Paid seats (default: the account's active users).",
)
def plan_command(
    workspace: Path,
    as_json: bool,
    fallback_owner: str | None,
    within: str | None,
    plan_name: str | None,
    seats: int | None,
) -> None:
    """Plan the migration."""
    from pdmigrate.plan.build import plan_workspace

    window = parse_window(within) if within is not None else None
    ws = load_workspace(workspace)
    composed = plan_workspace(
        ws,
        fallback_owner=fallback_owner,
        within=window,
        plan_name=plan_name.lower() if plan_name else None,
        seats=seats,
    )
    report = composed.report
    if as_json:
        emit_json(report)
    est = report["estimate"]
    ops = ", ".join(f"{k} {v}" for k, v in report["ops"].items())
    err_console.print(f"ops: {ops}", markup=False)
    err_console.print(
        f"{report['tokens']} tokens, {report['writes']} writes: {est['days']} day(s) on "
        f"{est['plan']} with {est['seats']} seat(s) (budget {est['daily_budget']}/day); "
        f"about {est['hours']} h",
        markup=False,
    )
    if report["within"]:
        err_console.print(f"within {within}: {report['within']['advice']}", markup=False)
    grade = report["complexity"]
    per = ", ".join(f"{k} {s['grade']}" for k, s in grade["scores"].items())
    err_console.print(f"complexity {grade['grade']} ({grade['overall']}): {per}", markup=False)
    owners = report["owners"]
    err_console.print(
        f"owners: {owners['matched']} matched, {owners['unmatched']} unmatched "
        f"(edit {owners['csv']})",
        markup=False,
    )
    dedup = report["dedup"]
    err_console.print(
        f"duplicates: {dedup['merge']} merge, {dedup['keep_apart']} keep apart, "
        f"{dedup['skip']} skip (edit {dedup['csv']}); "
        f"{dedup['matched_existing']} already in the account",
        markup=False,
    )
    for warning in report["warnings"]:
        err_console.print(f"warning: {warning}", markup=False)
    err_console.print(f"wrote {report['plan']} and {', '.join(report['reports'])}", markup=False)


COMMANDS: list[click.Command] = [plan_command]
