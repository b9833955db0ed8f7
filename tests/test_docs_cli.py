"""docs/cli.md is the command-line contract: it must name every command and option."""

from __future__ import annotations

import re
from pathlib import Path

import click

from pdmigrate.cli import cli

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")


def _walk(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        full = f"{prefix} {name}"
        if isinstance(command, click.Group):
            out.extend(_walk(command, full))
        else:
            out.append((full, command))
    return out


COMMANDS = _walk(cli, "pdmigrate")


def _section(title: str) -> str:
    """The text of the `### `title`` section of docs/cli.md."""
    match = re.search(rf"^### `{re.escape(title)}`\n(.*?)(?=^### |\Z)", DOC, re.M | re.S)
    assert match, f"docs/cli.md has no section '### `{title}`'"
    return match.group(1)


def test_every_command_has_a_section() -> None:
    """Each command the CLI registers is documented under its own heading."""
    for title, _ in COMMANDS:
        _section(title)


def test_every_option_is_documented_in_its_section() -> None:
    """Every long option of every command appears in that command's section."""
    missing = []
    for title, command in COMMANDS:
        text = _section(title)
        for param in command.params:
            if isinstance(param, click.Option):
                longs = [o for o in param.opts if o.startswith("--")]
                if longs and not any(f"`{o}" in text for o in longs):
                    missing.append(f"{title} {longs[0]}")
    assert not missing, f"undocumented options: {missing}"


def test_documented_commands_exist() -> None:
    """No section documents a command the CLI does not have."""
    titles = {t for t, _ in COMMANDS}
    for documented in re.findall(r"^### `(pdmigrate[^`]*)`", DOC, re.M):
        assert documented in titles, f"docs/cli.md documents unknown command {documented}"
