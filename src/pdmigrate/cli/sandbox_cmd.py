"""`pdmigrate sandbox`: the local Pipedrive-compatible server (placeholder)."""

from __future__ import annotations

import click

from pdmigrate.cli.pending import make_pending


@click.group(
    name="sandbox",
    help=(
        "The local Pipedrive-compatible server.\n\n\b\nExample:\n"
        "  pdmigrate sandbox serve --port 8765 --plan growth"
    ),
)
def sandbox() -> None:
    """Sandbox command group."""


sandbox.add_command(
    make_pending("serve", "Serve the sandbox on 127.0.0.1.", "pdmigrate sandbox serve --port 8765")
)

COMMANDS: list[click.Command] = [sandbox]
