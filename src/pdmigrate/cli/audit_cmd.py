"""`pdmigrate audit`: placeholder until its issue lands."""

from __future__ import annotations

import click

from pdmigrate.cli.pending import make_pending

COMMANDS: list[click.Command] = [
    make_pending(
        "audit",
        "Data-quality report; never writes to Pipedrive.",
        "pdmigrate audit -w clinic --json",
    ),
]
