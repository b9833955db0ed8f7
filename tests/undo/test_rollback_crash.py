"""kill -9 during `pdmigrate rollback`, then run it again: the same end state as one clean pass.

The rollback runs as a subprocess and is killed at random points of its duration
(between an intent and its result, mid-call, between stages). Resuming must reach
the account before the migration (soft-deleted records treated as absent), with no
error, and a further rollback must find nothing left to do.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.undo.conftest import copy_of
from tests.undo.snapshot import differences, snapshot

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "tests.undo.cli_entry"]
TRIALS = 4


def _rollback(ws: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "rollback", "-w", str(ws), "--all", "--schema", "--yes", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_kill_9_during_rollback_then_resume_reaches_the_same_end(
    migrated: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    """SIGKILL at random points of a rollback; the resumed rollback ends at the pre-run account."""
    _, _, before = migrated
    clean_ws, _ = copy_of(migrated, tmp_path / "clean")
    started = time.monotonic()
    clean = _rollback(clean_ws)
    took = time.monotonic() - started
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert not differences(snapshot(clean_ws / "sandbox.db"), before)

    rng = random.Random(20261122)
    problems: list[str] = []
    killed = 0
    for trial in range(TRIALS):
        ws, _ = copy_of(migrated, tmp_path / f"t{trial}")
        proc = subprocess.Popen(
            [*CLI, "rollback", "-w", str(ws), "--all", "--schema", "--yes"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(rng.uniform(0.4, max(0.5, took * 0.9)))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
        resumed = _rollback(ws)
        if resumed.returncode != 0:
            problems.append(f"trial {trial}: exit {resumed.returncode}: {resumed.stderr[-800:]}")
            continue
        data = json.loads(resumed.stdout)
        if data["errors"] or data["kept"]:
            problems.append(f"trial {trial}: errors {data['errors'][:2]} kept {data['kept'][:2]}")
        diff = differences(snapshot(ws / "sandbox.db"), before)
        if diff:
            problems.append(f"trial {trial}:\n" + "\n".join(diff))
        again = json.loads(_rollback(ws).stdout)
        if again["counts"] != {"deleted": 0, "restored": 0, "kept": 0, "errors": 0, "schema": 0}:
            problems.append(f"trial {trial}: a third rollback still did {again['counts']}")
    assert killed >= TRIALS // 2, "the rollback finished before most kills"
    assert not problems, "\n".join(problems)
