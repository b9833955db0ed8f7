"""The sample, verify and demo commands: help examples and usage errors (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pdmigrate.cli import demo_cmd, proof_cmd
from pdmigrate.sample import sample_workspace

SAMPLE, VERIFY = proof_cmd.COMMANDS
(DEMO,) = demo_cmd.COMMANDS


def test_every_command_help_has_an_example() -> None:
    """Each --help shows an Example block with the command in it."""
    for cmd in (SAMPLE, VERIFY, DEMO):
        out = CliRunner().invoke(cmd, ["--help"]).output
        assert "Example:" in out
        assert f"pdmigrate {cmd.name}" in out


def test_sample_size_outside_50_to_500_is_a_usage_error() -> None:
    """--size 10 and --size 501 exit 2 before touching the workspace."""
    for size in ("10", "501"):
        result = CliRunner().invoke(SAMPLE, ["--size", size])
        assert result.exit_code == 2
        assert "50<=x<=500" in result.output


def test_sample_workspace_refuses_a_size_out_of_range(tmp_path: Path) -> None:
    """The library refuses the same sizes with a UsageError naming the range."""
    import pytest

    from pdmigrate.errors import UsageError

    with pytest.raises(UsageError, match="50 to 500"):
        sample_workspace(object(), size=49)  # type: ignore[arg-type]


def test_verify_without_a_workspace_is_a_configuration_error(tmp_path: Path) -> None:
    """verify on a folder that is not a workspace raises ConfigError (exit 2) naming it."""
    from pdmigrate.errors import ConfigError

    result = CliRunner().invoke(VERIFY, ["-w", str(tmp_path)])
    assert isinstance(result.exception, ConfigError)
    assert result.exception.exit_code == 2
    assert str(tmp_path) in result.exception.message
