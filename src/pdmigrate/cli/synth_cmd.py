"""`pdmigrate synth`: placeholder until its issue lands."""

from __future__ import annotations

import click

from pdmigrate.cli.pending import make_pending

COMMANDS: list[click.Command] = [
    make_pending(
        "synth",
        "Write realistic, messy sample exports for a source system.",
        "pdmigrate synth corepractice ./exports --patients 500 --seed 7",
    ),
]
