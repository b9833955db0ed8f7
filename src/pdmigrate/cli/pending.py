"""Commands in the contract (DESIGN.md) that later issues build.

Each says plainly that it is not available yet and exits with code 2, so a script
that calls it learns so at once instead of getting a half result.
"""

from __future__ import annotations

from pathlib import Path

import click

from pdmigrate.cli.common import common_options
from pdmigrate.errors import NotAvailableYet


def _not_yet(name: str) -> None:
    raise NotAvailableYet(
        f"`pdmigrate {name}` is not available yet in this version",
        hint="see CHANGELOG.md for what is built",
    )


def make_pending(name: str, summary: str, example: str) -> click.Command:
    """A placeholder command with the contract's name, help and an example."""

    @click.command(
        name=name,
        help=f"{summary}\n\n\b\nExample:\n  {example}\n\nNot available yet: exits with code 2.",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    @common_options
    def command(workspace: Path, as_json: bool) -> None:
        _not_yet(name)

    return command


PENDING: dict[str, tuple[str, str]] = {
    "map": (
        "Propose mapping.yaml (objects, fields, transforms, value maps, stages).",
        "pdmigrate map -w clinic",
    ),
    "confirm": (
        "Lock the reviewed mapping; runs refuse an unconfirmed or edited mapping.",
        "pdmigrate confirm -w clinic --yes",
    ),
    "plan": (
        "Prepare the target, resolve owners and duplicates, estimate tokens and days.",
        "pdmigrate plan -w clinic --fallback-owner admin@example.com",
    ),
    "sample": (
        "Migrate a representative slice and write the field-level diff.",
        "pdmigrate sample -w clinic --size 200",
    ),
    "run": (
        "Run the full migration; resumable, Ctrl-C loses nothing.",
        "pdmigrate run -w clinic --fallback-owner admin@example.com",
    ),
    "delta": (
        "Pick up records created or changed since the last run.",
        "pdmigrate delta -w clinic --exports ./exports-2",
    ),
    "status": (
        "Show runs, progress per entity, failures and what a resume will do.",
        "pdmigrate status -w clinic",
    ),
    "verify": (
        "Read everything back and reconcile counts and field values.",
        "pdmigrate verify -w clinic",
    ),
    "rollback": (
        "Reverse migrated writes (dry run unless --yes).",
        "pdmigrate rollback -w clinic --all --yes",
    ),
    "report": (
        "(Re)build the HTML/CSV/JSON reports from state.db.",
        "pdmigrate report -w clinic",
    ),
    "demo": (
        "Run the whole flow on synthetic exports against the embedded sandbox.",
        "pdmigrate demo --source all",
    ),
}
