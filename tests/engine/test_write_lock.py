"""One writer per workspace: the state.db write lock and stale 'running' runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdmigrate.errors import UsageError
from pdmigrate.state import State


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    """run holds the lock; sample from another connection stops; verify still runs."""
    first = State(tmp_path / "state.db")
    second = State(tmp_path / "state.db")
    try:
        first.start_run("run")
        with pytest.raises(UsageError, match="another pdmigrate command"):
            second.start_run("sample")
        assert second.start_run("verify") > 0  # reading commands never wait
        first.start_run("rollback")  # the holder may start more writing runs
    finally:
        first.close()
        second.close()


def test_a_killed_writer_leaves_its_run_interrupted_for_the_next(tmp_path: Path) -> None:
    """A run left 'running' (its process gone, lock released) is marked interrupted."""
    crashed = State(tmp_path / "state.db")
    stale = crashed.start_run("run")
    reading = crashed.start_run("verify")
    crashed.close()  # as the OS does for a process killed with -9
    with State(tmp_path / "state.db") as state:
        fresh = state.start_run("delta")
        statuses = {r.id: r.status for r in state.runs()}
    assert statuses[stale] == "interrupted"
    assert statuses[reading] == "running"  # not a writer: left as it was
    assert statuses[fresh] == "running"
