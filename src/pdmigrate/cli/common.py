"""What every command shares: the `-w/--workspace` and `--json` options, and output.

Human output and progress go to stderr through rich; `--json` prints one JSON
object on stdout. Commands stay thin: they parse options, call the library and
render what it returns.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])

#: Human output, progress bars and errors. stdout is kept for --json.
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def common_options(func: F) -> F:
    """Add `-w/--workspace DIR` and `--json` to a command."""
    func = click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print a machine-readable JSON summary on stdout (see docs/cli.md).",
    )(func)
    return click.option(
        "-w",
        "--workspace",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="The migration workspace folder.",
    )(func)


def emit_json(summary: dict[str, Any]) -> None:
    """Write the command's summary as one JSON object on stdout."""
    sys.stdout.write(json.dumps(summary, indent=2, sort_keys=True, default=str))
    sys.stdout.write("\n")
    sys.stdout.flush()
