"""`pdmigrate init`: placeholder until its issue lands."""

from __future__ import annotations

import click

from pdmigrate.cli.pending import make_pending

COMMANDS: list[click.Command] = [
    make_pending(
        "init",
        "Create a migration workspace.",
        "pdmigrate init clinic --source corepractice --exports ./exports --target sandbox",
    ),
]
