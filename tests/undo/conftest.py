"""Fixtures for the delta/rollback tests: a migrated advancedpm workspace on its own sandbox."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tests.undo.cli_entry import cli
from tests.undo.snapshot import snapshot

from pdmigrate.pipedrive.client import PipedriveClient
from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.clock import FakeClock
from pdmigrate.sandbox.config import SandboxConfig
from pdmigrate.sandbox.inprocess import AsyncSandboxTransport
from pdmigrate.workspace import load_workspace

PATIENTS = 100


def invoke(*args: str, ok: tuple[int, ...] = (0, 3)) -> Any:
    """Run a pdmigrate command in process; fail the test on an unexpected exit code."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code in ok, f"{args[0]} exited {result.exit_code}: {result.output[-2000:]}"
    return result


def workspace_for(exports: Path, ws: Path) -> Path:
    """An advancedpm workspace over ``exports``, mapped, confirmed and planned (nothing run)."""
    invoke("init", str(ws), "--source", "advancedpm", "--exports", str(exports))
    toml = ws / "pdmigrate.toml"
    toml.write_text(toml.read_text().replace('plan = "growth"', 'plan = "ultimate"'))
    invoke("map", "-w", str(ws))
    invoke("confirm", "--yes", "-w", str(ws))
    owner = json.loads((exports / "users.json").read_text())[0]["email"]
    invoke("plan", "-w", str(ws), "--fallback-owner", owner)
    return ws


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, list[str]]]:
    """(workspace after one run, its exports, the account snapshot before the run)."""
    from pdmigrate.synth import synth

    root = tmp_path_factory.mktemp("undo")
    exports = root / "exports"
    synth("advancedpm", exports, patients=PATIENTS, seed=8)
    ws = workspace_for(exports, root / "ws")
    before = snapshot(ws / "sandbox.db")
    invoke("run", "-w", str(ws), "--json")
    return ws, exports, before


def copy_of(migrated: tuple[Path, Path, Any], dest: Path) -> tuple[Path, Path]:
    """A private copy of the migrated workspace and of its exports."""
    ws, exports, _ = migrated
    shutil.copytree(ws, dest / "ws")
    shutil.copytree(exports, dest / "exports")
    toml = dest / "ws" / "pdmigrate.toml"
    toml.write_text(toml.read_text().replace(str(exports), str(dest / "exports")))
    return dest / "ws", dest / "exports"


@asynccontextmanager
async def staff_client(ws: Path, *, later: timedelta = timedelta(days=1)) -> AsyncIterator[Any]:
    """A client on the workspace's sandbox account whose clock runs ``later`` (a staff user)."""
    config = load_workspace(ws).config
    clock = FakeClock(datetime.now(UTC) + later)
    sb = Sandbox(
        SandboxConfig(db_path=ws / "sandbox.db", plan="ultimate", rate_limits=False, clock=clock)
    )
    transport = AsyncSandboxTransport(app_for(sb))
    client = PipedriveClient(
        "http://sandbox.local", str(config.sandbox_token), transport=transport, plan="ultimate"
    )
    try:
        yield client
    finally:
        await client.aclose()
        sb.close()


def recording_factory(ws: Path, seen: list[PipedriveClient]) -> Callable[[], Any]:
    """A ``client_factory`` for the workspace's sandbox that keeps each client (for its stats)."""
    from pdmigrate.plan.account import workspace_client

    @asynccontextmanager
    async def factory() -> AsyncIterator[PipedriveClient]:
        async with workspace_client(load_workspace(ws)) as client:
            seen.append(client)
            yield client

    return factory
