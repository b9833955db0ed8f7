"""`pdmigrate sample` and `pdmigrate verify`: the proof before and after the full run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from pdmigrate.cli.common import common_options, emit_json, err_console
from pdmigrate.errors import EXIT_ATTENTION, EXIT_BUDGET, EXIT_INTERRUPTED
from pdmigrate.workspace import load_workspace

_EXIT = {"attention": EXIT_ATTENTION, "stopped": EXIT_BUDGET, "interrupted": EXIT_INTERRUPTED}


@click.command(
    name="sample",
    help=(
        "Migrate a representative slice through the normal engine, read every written "
        "record back and write the field-level diff (source value, expected value after "
        "transforms, value read back; match, transformed, mismatch or missing) into "
        "state.db for `pdmigrate report`. The slice is a greedy cover, deterministic under "
        "--seed, of people of every organization, deals in every stage, activities of every "
        "type and status, notes, files, records with custom fields and rows the audit "
        "flagged; strata it could not cover are listed. Sample records stay: `run` does not "
        "create them again, and `rollback --run ID` removes them.\n\n"
        "Exit codes: 0 done; 3 a field read back differently or a record failed; 4 the "
        "daily token budget ran out; 2 usage or configuration error.\n\n"
        "\b\nExample:\n"
        "  pdmigrate sample -w clinic\n"
        "  pdmigrate sample -w clinic --size 100 --seed 7 --json"
    ),
)
@common_options
@click.option(
    "--size",
    type=click.IntRange(50, 500),
    default=200,
    show_default=True,
    help="Records in the slice (dependencies included), 50 to 500.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the selection.")
@click.option(
    "--fallback-owner",
    metavar="EMAIL",
    help="Active Pipedrive user who owns records of unmatched staff.",
)
def sample_command(
    workspace: Path, as_json: bool, size: int, seed: int, fallback_owner: str | None
) -> None:
    """Run the sample."""
    from pdmigrate.sample import sample_workspace

    ws = load_workspace(workspace)
    summary = sample_workspace(ws, size=size, seed=seed, fallback_owner=fallback_owner)
    if as_json:
        emit_json(summary)
    else:
        _render_sample(summary)
    code = _EXIT.get(str(summary["status"]), 0)
    if code:
        sys.exit(code)


def _render_sample(s: dict[str, Any]) -> None:
    diff, strata = s["diff"], s["strata"]
    err_console.print(
        f"Sample run {s['run_id']}: {s['records']} records, {diff['fields']} fields compared: "
        f"{diff['match']} match, {diff['transformed']} transformed, {diff['mismatch']} "
        f"mismatch, {diff['missing']} missing",
        markup=False,
    )
    err_console.print(
        f"Strata covered: {strata['covered']} of {strata['total']}; read back with "
        f"{s['readback']['requests']} requests, {s['readback']['tokens']} tokens",
        markup=False,
    )
    for name in strata["uncovered"]:
        err_console.print(f"  not covered: {name}", markup=False)
    for f in s.get("failed", []):
        err_console.print(f"  failed {f['where']}: {f['error']}", markup=False)
    err_console.print("See the diff with `pdmigrate report` (reports/sample.html).")


@click.command(
    name="verify",
    help=(
        "Read back everything the runs wrote (paged listings and ids= batch gets, never one "
        "GET per record) and reconcile each source object: every source row in exactly one "
        "bucket per target (migrated, merged as duplicates, skipped by rule, failed, "
        "quarantined), records made and found in Pipedrive; links "
        "resolved; fill rate per field. Then compare every mapped field of every migrated "
        "record with the value recomputed from the source. Prints the tokens it spent.\n\n"
        "Exit codes: 0 every field matches; 3 mismatches (records and fields are named); "
        "2 usage or configuration error.\n\n"
        "\b\nExample:\n"
        "  pdmigrate verify -w clinic\n"
        "  pdmigrate verify -w clinic --json"
    ),
)
@common_options
def verify_command(workspace: Path, as_json: bool) -> None:
    """Verify the migration."""
    from pdmigrate.verify import verify_workspace

    ws = load_workspace(workspace)
    summary = verify_workspace(ws)
    if as_json:
        emit_json(summary)
    else:
        _render_verify(summary)
    if not summary["ok"]:
        sys.exit(EXIT_ATTENTION)


def _render_verify(s: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="Reconciliation", title_justify="left")
    cols = ["source", "migrated", "merged", "skipped", "failed", "quarantined"]
    table.add_column("target (rows)")
    for c in cols:
        table.add_column(c, justify="right")
    table.add_column("records found", justify="right")
    table.add_column("links", justify="right")
    for name, row in s["objects"].items():
        links = f"{row.get('links_resolved', 0)}/{row.get('links', 0)}"
        found = f"{row.get('found', 0)}/{row.get('records_migrated', 0)}"
        table.add_row(name, *(str(row.get(c, 0)) for c in cols), found, links)
    err_console.print(table)
    rows = s.get("rows") or {}
    if rows:
        err_console.print(
            f"Source rows {rows['total']}, accounted for {rows['accounted']}", markup=False
        )
    fields = s["fields"]
    err_console.print(
        f"Fields checked {fields['checked']}, mismatched {fields['mismatched']}, accuracy "
        f"{s['accuracy']}%; read back with {s['requests']} requests, {s['tokens']} tokens",
        markup=False,
    )
    for m in s.get("mismatches", []):
        err_console.print(
            f"  mismatch {m['where']} {m['source_key']} -> {m['entity']} #{m['pipedrive_id']}: "
            f"{m['field']} {m['problem']}",
            markup=False,
        )


COMMANDS: list[click.Command] = [sample_command, verify_command]
