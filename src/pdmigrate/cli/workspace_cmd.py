"""`pdmigrate init`: create a migration workspace."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from pdmigrate.cli.common import emit_json, err_console
from pdmigrate.workspace import create_workspace


@click.command(
    name="init",
    help=(
        "Create a migration workspace in DIR: pdmigrate.toml (source system, exports, "
        "attachments, target, practice country, time zone and currency), state.db and "
        "reports/. Country, time zone and currency default to the source system's "
        "profile; edit pdmigrate.toml to change them. With --target sandbox (the "
        "default) the workspace gets its own local Pipedrive account in sandbox.db, "
        "seeded with the exports' users.json when there is one.\n\n"
        "\b\nExample:\n"
        "  pdmigrate init clinic --source corepractice --exports ./exports --target sandbox\n"
        "  pdmigrate init firm --source practicemaster --exports ./cm \\\n"
        "      --target https://firm.pipedrive.com --timezone America/New_York"
    ),
)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--source", required=True, help="Source system (profile name), e.g. corepractice.")
@click.option(
    "--exports",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder holding the CSV/XLSX exports.",
)
@click.option(
    "--attachments",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding the documents the exports refer to.",
)
@click.option(
    "--target",
    default="sandbox",
    show_default=True,
    help="`sandbox` (local account in the workspace) or https://COMPANY.pipedrive.com.",
)
@click.option("--name", default=None, help="Workspace name (default: the folder name).")
@click.option("--country", default=None, help="Practice country, 2 letters (default: profile).")
@click.option("--timezone", default=None, help="Practice IANA time zone (default: profile).")
@click.option("--currency", default=None, help="Practice currency, 3 letters (default: profile).")
@click.option(
    "--json", "as_json", is_flag=True, help="Print a machine-readable JSON summary on stdout."
)
def init_command(
    directory: Path,
    source: str,
    exports: Path,
    attachments: Path | None,
    target: str,
    name: str | None,
    country: str | None,
    timezone: str | None,
    currency: str | None,
    as_json: bool,
) -> None:
    """Create a workspace."""
    workspace = create_workspace(
        directory,
        source=source,
        exports=exports,
        attachments=attachments,
        target=target,
        name=name,
        country=country,
        timezone=timezone,
        currency=currency,
    )
    config = workspace.config
    summary = {
        "workspace": str(workspace.root),
        "config": str(workspace.config_path),
        "source": config.source,
        "exports": str(config.exports),
        "attachments": None if config.attachments is None else str(config.attachments),
        "target": config.target,
        "country": config.country,
        "timezone": config.timezone,
        "currency": config.currency,
        "state": str(workspace.state_path),
        "sandbox": None if workspace.sandbox_path is None else str(workspace.sandbox_path),
    }
    if as_json:
        emit_json(summary)
    err_console.print(
        f"[green]workspace created[/] in {escape(str(workspace.root))} "
        f"({config.source}, {config.country}, {config.timezone}, {config.currency}; "
        f"target {escape(config.target)})"
    )
    err_console.print(f"next: pdmigrate audit -w {workspace.root}", markup=False)


COMMANDS: list[click.Command] = [init_command]
