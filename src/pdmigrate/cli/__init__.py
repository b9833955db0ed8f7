"""The `pdmigrate` command line: option parsing and rendering only, no logic.

Each command lives in its own module under `pdmigrate.cli` and is registered
here. Errors are rendered without a traceback and turned into the exit codes of
DESIGN.md: 0 done, 1 failed, 2 usage or configuration, 3 needs attention,
4 daily token budget exhausted, 130 interrupted.
"""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from pdmigrate import __version__
from pdmigrate.cli import (
    audit_cmd,
    demo_cmd,
    mapping_cmd,
    plan_cmd,
    proof_cmd,
    report_cmd,
    run_cmd,
    sandbox_cmd,
    synth_cmd,
    undo_cmd,
    workspace_cmd,
)
from pdmigrate.cli.common import err_console
from pdmigrate.errors import EXIT_INTERRUPTED, EXIT_USAGE, PdmigrateError


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    help=(
        "Move a practice's data from practice-management exports into Pipedrive.\n\n"
        "\b\nThe flow, one workspace folder per migration:\n"
        "  pdmigrate init clinic --source corepractice --exports ./exports --target sandbox\n"
        "  pdmigrate audit -w clinic\n"
        "  pdmigrate map -w clinic && pdmigrate confirm -w clinic\n"
        "  pdmigrate plan -w clinic && pdmigrate sample -w clinic\n"
        "  pdmigrate run -w clinic && pdmigrate verify -w clinic\n\n"
        "The API token is read from PIPEDRIVE_API_TOKEN and never written anywhere."
    ),
)
@click.version_option(__version__, prog_name="pdmigrate")
def cli() -> None:
    """Root command group."""


for _module in (
    workspace_cmd,
    audit_cmd,
    mapping_cmd,
    plan_cmd,
    run_cmd,
    proof_cmd,
    undo_cmd,
    report_cmd,
    synth_cmd,
    sandbox_cmd,
    demo_cmd,
):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def render_error(exc: PdmigrateError) -> None:
    """Print an error and its hint on stderr; text like `[source]` is shown as written."""
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
    if exc.hint:
        err_console.print(f"  hint: {exc.hint}", markup=False, highlight=False)


def main() -> None:
    """Console-script entry point: run the CLI and map errors to exit codes."""
    try:
        code = cli.main(standalone_mode=False, prog_name="pdmigrate")
    except click.exceptions.Abort:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(EXIT_INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except PdmigrateError as exc:
        render_error(exc)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted: resume continues where this stopped[/]")
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["EXIT_USAGE", "cli", "main"]
