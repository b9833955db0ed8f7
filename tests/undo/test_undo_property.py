"""Property: on any synth slice, run -> delta -> rollback --all --schema gives back the account.

Hypothesis picks a source system, a practice size and a seed; advancedpm slices also
get a cutover week (changed patients, new patients, claims paid) before the delta.
The account snapshot (sandbox dump, soft-deleted records treated as absent) after the
rollback must equal the one taken before the run.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.undo.conftest import invoke, workspace_for
from tests.undo.exports_edit import cutover
from tests.undo.snapshot import differences, snapshot

from pdmigrate.plan.store import load_plan
from pdmigrate.synth import synth
from pdmigrate.workspace import load_workspace

pytestmark = pytest.mark.slow

SYSTEMS = ("advancedpm", "corepractice", "practicemaster", "practicebynumbers")


def _workspace(system: str, exports: Path, ws: Path) -> Path:
    if system == "advancedpm":
        return workspace_for(exports, ws)
    invoke("init", str(ws), "--source", system, "--exports", str(exports))
    toml = ws / "pdmigrate.toml"
    toml.write_text(toml.read_text().replace('plan = "growth"', 'plan = "ultimate"'))
    invoke("map", "-w", str(ws))
    invoke("confirm", "--yes", "-w", str(ws))
    owner = json.loads((exports / "users.json").read_text())[0]["email"]
    invoke("plan", "-w", str(ws), "--fallback-owner", owner)
    return ws


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    system=st.sampled_from(SYSTEMS),
    patients=st.integers(min_value=3, max_value=14),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_run_delta_rollback_returns_the_account(system: str, patients: int, seed: int) -> None:
    """The snapshot after run, delta and rollback --all --schema equals the one before the run."""
    with tempfile.TemporaryDirectory(prefix="undo-prop-") as tmp:
        root = Path(tmp)
        exports = root / "exports"
        synth(system, exports, patients=patients, seed=seed)
        ws = _workspace(system, exports, root / "ws")
        before = snapshot(ws / "sandbox.db")
        run = json.loads(invoke("run", "-w", str(ws), "--json").stdout)
        assert run["status"] in ("done", "attention")
        fresh = root / "fresh"
        shutil.copytree(exports, fresh)
        if system == "advancedpm":
            plan = load_plan(load_workspace(ws))
            merged = {k.rsplit("/", 1)[-1] for k in set(plan.merges) | set(plan.merges.values())}
            cutover(fresh, seed=seed, exclude=merged)
        delta = json.loads(invoke("delta", "-w", str(ws), "--exports", str(fresh), "--json").stdout)
        assert delta["failed"] == []
        data = json.loads(
            invoke("rollback", "-w", str(ws), "--all", "--schema", "--yes", "--json").stdout
        )
        assert data["errors"] == []
        assert data["kept"] == []
        problems = differences(snapshot(ws / "sandbox.db"), before)
        assert not problems, f"{system} x{patients} seed {seed}:\n" + "\n".join(problems)
