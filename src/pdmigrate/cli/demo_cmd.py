"""`pdmigrate demo`: the whole flow on synthetic exports against the embedded sandbox."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from pdmigrate.cli.common import common_options, emit_json, err_console
from pdmigrate.errors import EXIT_ATTENTION

PROFILES = (
    "advancedpm",
    "corepractice",
    "practicebynumbers",
    "practicemaster",
    "visualpractice",
    "generic",
)


@click.command(
    name="demo",
    help=(
        "Run the whole flow, non-interactively, on synthetic exports against the embedded "
        "sandbox: synth, init, audit, map, confirm, plan, sample, run, verify and report, "
        "then print where the HTML report is. --source all runs every profile. The "
        "workspaces go under --out (a temporary folder by default).\n\n"
        "Exit codes: 0 every profile verified with every source record accounted for; 3 "
        "otherwise.\n\n"
        "\b\nExample:\n"
        "  pdmigrate demo --source corepractice\n"
        "  pdmigrate demo --source all --patients 60 --out ./demo --json"
    ),
)
@click.option(
    "--source",
    "source",
    type=click.Choice(["all", *PROFILES]),
    default="all",
    show_default=True,
    help="The source system to demonstrate, or all six.",
)
@click.option(
    "--patients",
    type=click.IntRange(20, 2000),
    default=60,
    show_default=True,
    help="Patients (clients) in each synthetic export.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the exports and workspaces (default: a new temporary folder).",
)
@common_options
def demo_command(
    workspace: Path, as_json: bool, source: str, patients: int, out: Path | None
) -> None:
    """Run the demo (``--workspace`` is accepted for uniformity; the demo makes its own)."""
    del workspace
    from pdmigrate.demo import SYSTEMS, run_demo

    systems = list(SYSTEMS) if source == "all" else [source]
    root = out if out is not None else Path(tempfile.mkdtemp(prefix="pdmigrate-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    results = run_demo(systems, root, patients=patients, console=err_console)
    ok = all(r.ok for r in results)
    if as_json:
        emit_json({"ok": ok, "profiles": {r.system: r.to_dict() for r in results}})
    if not ok:
        sys.exit(EXIT_ATTENTION)


COMMANDS: list[click.Command] = [demo_command]
