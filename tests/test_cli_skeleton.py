"""The command line exposes every command of the contract, with help and exit codes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pdmigrate.cli import cli, render_error
from pdmigrate.errors import ConfigError

CONTRACT = [
    "init", "audit", "map", "confirm", "plan", "sample", "run", "delta", "status",
    "verify", "rollback", "report", "synth", "sandbox", "demo",
]  # fmt: skip


def test_every_contract_command_is_registered() -> None:
    assert sorted(CONTRACT) == sorted(cli.commands)


@pytest.mark.parametrize("name", CONTRACT)
def test_every_command_has_help_with_an_example(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "pdmigrate" in result.output
    assert "xample" in result.output, f"`{name} --help` shows no example"


def test_error_messages_keep_square_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    """A message naming `[source] system` reaches the user intact (rich markup is escaped)."""
    render_error(ConfigError("pdmigrate.toml: [source] system is missing", hint="add [x]"))
    err = capsys.readouterr().err
    assert "pdmigrate.toml: [source] system is missing" in err
    assert "hint: add [x]" in err
