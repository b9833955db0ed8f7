"""Reliability of `pdmigrate run` on a synth migration: crashes, faults, and the token.

* kill -9 at 20 random points, then resume: the sandbox ends exactly as after an
  uninterrupted run (canonical dump: no duplicate, no missing record, every link);
* 5% 5xx, 2% committed-but-lost responses and 429 bursts from a second client on the
  same token: same assertion;
* the daily budget running out mid-run, resumed after the fake clock passes midnight:
  same assertion;
* the API token never appears in state.db, the reports, plan.json or the output.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.engine.loadkit import canonical, diff, duplicates

from pdmigrate.pipedrive.client import PipedriveClient
from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.clock import FakeClock
from pdmigrate.sandbox.config import SandboxConfig
from pdmigrate.sandbox.dump import dump_db
from pdmigrate.sandbox.faults import FaultSpec
from pdmigrate.sandbox.inprocess import AsyncSandboxTransport
from pdmigrate.workspace import load_workspace

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "tests.engine.cli_entry"]
TRIALS = 20


def _cli(*args: str, env: dict[str, str] | None = None, check: bool = True) -> Any:
    result = subprocess.run(
        [*CLI, *args], cwd=REPO, capture_output=True, text=True, env=env, timeout=240
    )
    if check and result.returncode not in (0, 3):
        raise AssertionError(f"{args[0]} exited {result.returncode}: {result.stderr[-2000:]}")
    return result


def _first_user(exports: Path) -> str:
    return str(json.loads((exports / "users.json").read_text())[0]["email"])


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A planned practicemaster workspace (8 patients) on its own sandbox, nothing run yet."""
    from pdmigrate.synth import synth

    root = tmp_path_factory.mktemp("reliability")
    exports = root / "exports"
    synth("practicemaster", exports, patients=8, seed=11)
    ws = root / "tpl"
    _cli("init", str(ws), "--source", "practicemaster", "--exports", str(exports))
    toml = ws / "pdmigrate.toml"
    toml.write_text(toml.read_text().replace('plan = "growth"', 'plan = "ultimate"'))
    _cli("map", "-w", str(ws))
    _cli("confirm", "--yes", "-w", str(ws))
    _cli("plan", "-w", str(ws), "--fallback-owner", _first_user(exports))
    return ws


def _copy(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest)
    return dest


def _canon(ws: Path) -> dict[str, list[str]]:
    return canonical(dump_db(ws / "sandbox.db"))


@pytest.fixture(scope="module")
def reference(template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, float]:
    """The canonical account after one uninterrupted run, and how long that run took."""
    ws = _copy(template, tmp_path_factory.mktemp("ref") / "ws")
    started = time.monotonic()
    result = _cli("run", "-w", str(ws), "--json")
    took = time.monotonic() - started
    summary = json.loads(result.stdout)
    assert summary["created"]["person"] > 0
    assert summary["created"]["note"] > 0
    return _canon(ws), took


@pytest.mark.timeout(1200)
def test_kill_9_at_20_random_points_then_resume_matches_uninterrupted(
    template: Path, reference: tuple[Any, float], tmp_path: Path
) -> None:
    """SIGKILL anywhere in a run, then `run` again: the account equals an uninterrupted run."""
    clean, took = reference
    rng = random.Random(20261122)
    problems: list[str] = []
    for trial in range(TRIALS):
        ws = _copy(template, tmp_path / f"t{trial}")
        at = rng.uniform(0.3, took)
        proc = subprocess.Popen(
            [*CLI, "run", "-w", str(ws)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(at)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        result = _cli("run", "-w", str(ws), "--json", check=False)
        if result.returncode not in (0, 3):
            problems.append(f"trial {trial} (kill at {at:.2f}s): resume exited {result.returncode}")
            continue
        got = _canon(ws)
        if got != clean:
            problems.append(f"trial {trial} (kill at {at:.2f}s):\n{diff(got, clean)}")
        shutil.rmtree(ws)
    assert problems == []


class BurstyTransport(httpx.AsyncBaseTransport):
    """Every ``every`` requests, answer the next ``burst`` with a 429 burst (Retry-After 1).

    What the account looks like when another integration on the same token fills the
    2-second window: the refused requests never reach the server.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, every: int = 40, burst: int = 4) -> None:
        self.inner, self.every, self.burst = inner, every, burst
        self.seen = 0
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen += 1
        if self.seen % self.every < self.burst:
            self.refused += 1
            body = {"success": False, "error": "Rate limit exceeded", "errorCode": 429}
            headers = {"Retry-After": "1", "x-ratelimit-limit": "120", "x-ratelimit-remaining": "0"}
            return httpx.Response(429, json=body, headers=headers)
        return await self.inner.handle_async_request(request)


@asynccontextmanager
async def _faulty_client(
    db: Path,
    token: str,
    *,
    faults: FaultSpec | None,
    clock: Any = None,
    bursts: bool = False,
    **client_kw: Any,
) -> Any:
    """(client, sandbox): the workspace's account served in process with faults and limits."""
    config = SandboxConfig(db_path=db, plan="ultimate", rate_limits=True, faults=faults)
    if clock is not None:
        config.clock = clock
        client_kw["clock"] = clock
    sb = Sandbox(config)
    transport: httpx.AsyncBaseTransport = AsyncSandboxTransport(app_for(sb))
    if bursts:
        transport = BurstyTransport(transport)
    client = PipedriveClient(
        "http://sandbox.local",
        token,
        transport=transport,
        plan="ultimate",
        backoff_base=0.01,
        **client_kw,
    )
    try:
        yield client, sb
    finally:
        await client.aclose()
        sb.close()


def test_faults_5xx_lost_and_429_bursts_end_like_a_clean_run(
    template: Path, reference: tuple[Any, float], tmp_path: Path
) -> None:
    """5% 5xx, 2% committed-but-lost and 429 bursts: same account as the clean run."""
    from pdmigrate.pipeline import run_workspace

    clean, _ = reference
    ws_path = _copy(template, tmp_path / "ws")
    ws = load_workspace(ws_path)
    token = ws.config.sandbox_token or ""
    faults = FaultSpec(seed=7, error_rate=0.05, lost_rate=0.02)
    stats: list[Any] = []

    @asynccontextmanager
    async def factory() -> Any:
        async with _faulty_client(ws_path / "sandbox.db", token, faults=faults, bursts=True) as (
            client,
            _sb,
        ):
            yield client
            stats.append(client.stats)

    summary = run_workspace(ws, client_factory=factory)
    while summary.unknown:
        summary = run_workspace(ws, client_factory=factory)
    assert summary.status in ("done", "attention")
    assert stats[0].rate_limited > 0
    assert stats[0].outcome_unknown > 0
    assert stats[0].by_status[500] + stats[0].by_status[502] + stats[0].by_status[503] > 0
    assert duplicates(dump_db(ws_path / "sandbox.db")) == {}
    got = _canon(ws_path)
    assert got == clean, diff(got, clean)


def test_budget_exhausted_mid_run_resumes_after_midnight(
    template: Path, reference: tuple[Any, float], tmp_path: Path
) -> None:
    """The budget runs out mid-run (stopped, reset time given); after midnight it ends clean."""
    from pdmigrate.pipeline import run_workspace

    clean, _ = reference
    ws_path = _copy(template, tmp_path / "ws")
    ws = load_workspace(ws_path)
    token = ws.config.sandbox_token or ""
    clock = FakeClock(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    @asynccontextmanager
    async def factory() -> Any:
        async with _faulty_client(
            ws_path / "sandbox.db", token, faults=None, clock=clock, sleep=sleep
        ) as (client, sb):
            company = sb.account_for_token(token)
            if clock.now().day == 2:  # other integrations used most of today's budget
                sb.limits.spend(company.company_id, sb.limits.daily_budget - 600)
            yield client

    first = run_workspace(ws, client_factory=factory)
    assert first.status == "stopped"
    assert first.resets_at == datetime(2026, 3, 3, tzinfo=UTC)
    assert sum(first.created.values()) > 0
    clock.set(datetime(2026, 3, 3, 0, 0, 30, tzinfo=UTC))
    second = run_workspace(ws, client_factory=factory)
    assert second.status in ("done", "attention")
    got = _canon(ws_path)
    assert got == clean, diff(got, clean)


def test_api_token_never_written_to_state_reports_or_output(
    tmp_path: Path,
) -> None:
    """Against `sandbox serve` with PIPEDRIVE_API_TOKEN: the token is in no file nor output."""
    from pdmigrate.synth import synth

    token = "tok-" + os.urandom(12).hex()
    exports = tmp_path / "exports"
    synth("practicemaster", exports, patients=3, seed=4)
    server = subprocess.Popen(
        [*CLI, "sandbox", "serve", "--port", "0", "--db", str(tmp_path / "sb.db"), "--json",
         "--users", str(exports / "users.json"), "--plan", "ultimate"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        text = ""
        while not text.endswith("}\n"):
            text += server.stdout.readline()
        url = json.loads(text)["url"]
        env = {**os.environ, "PIPEDRIVE_API_TOKEN": token}
        ws = tmp_path / "ws"
        outputs = [
            _cli("init", str(ws), "--source", "practicemaster", "--exports", str(exports),
                 "--target", url, env=env),
            _cli("map", "-w", str(ws), env=env),
            _cli("confirm", "--yes", "-w", str(ws), env=env),
            _cli("plan", "-w", str(ws), "--fallback-owner", _first_user(exports), env=env),
            _cli("run", "-w", str(ws), "--json", env=env),
            _cli("status", "-w", str(ws), "--json", env=env),
        ]  # fmt: skip
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=20)
    summary = json.loads(outputs[4].stdout)
    assert summary["created"]["person"] > 0
    leaks = [str(p) for p in ws.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]
    leaks += [o.args[3] for o in outputs if token in o.stdout + o.stderr]
    assert leaks == []


def _done_ops(ws: Path) -> int:
    import sqlite3

    if not (ws / "state.db").exists():
        return 0
    conn = sqlite3.connect(ws / "state.db", timeout=5)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM ops WHERE status = 'done'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_ctrl_c_finishes_in_flight_ops_exits_130_and_resume_completes(
    template: Path, reference: tuple[Any, float], tmp_path: Path
) -> None:
    """SIGINT mid-run: exit 130, no op left in flight, status tells the resume; it ends clean."""
    clean, _ = reference
    ws = _copy(template, tmp_path / "ws")
    proc = subprocess.Popen(
        [*CLI, "run", "-w", str(ws)], cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while _done_ops(ws) < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-1500:]
    assert "run `pdmigrate run` again" in err
    status = json.loads(_cli("status", "-w", str(ws), "--json").stdout)
    assert status["resume"]["reconcile"] == 0  # in-flight ops were finished, none left started
    assert status["resume"]["send"] > 0
    assert status["runs"][-1]["status"] == "interrupted"
    resumed = _cli("run", "-w", str(ws), "--json")
    assert resumed.returncode in (0, 3)
    got = _canon(ws)
    assert got == clean, diff(got, clean)


def test_run_json_keys_exit_code_and_rerun_writes_nothing(
    template: Path, reference: tuple[Any, float], tmp_path: Path
) -> None:
    """--json has run_id, status, created/updated per entity, failed; a re-run creates nothing."""
    ws = _copy(template, tmp_path / "ws")
    first = _cli("run", "-w", str(ws), "--json")
    data = json.loads(first.stdout)
    assert {"run_id", "status", "created", "updated", "failed"} <= set(data)
    assert first.returncode == (3 if data["failed"] else 0)
    assert data["status"] == ("attention" if data["failed"] else "done")
    assert set(data["created"]) >= {"organization", "person", "deal", "activity", "note"}
    for f in data["failed"]:
        assert all(f[k] for k in ("where", "error", "stage"))
    again = json.loads(_cli("run", "-w", str(ws), "--json").stdout)
    assert (again["created"], again["updated"], again["requests"]) == ({}, {}, 0)
    assert again["run_id"] == data["run_id"] + 1


def test_run_refuses_edited_mapping_and_unmatched_staff(template: Path, tmp_path: Path) -> None:
    """An edited mapping, or unmatched staff with no fallback owner: exit 2, nothing written."""
    ws = _copy(template, tmp_path / "ws")
    plan_file = ws / "plan.json"
    plan = json.loads(plan_file.read_text())
    plan["owners"]["fallback_user_id"] = None
    plan["owners"]["unmatched"] = ["JGIBSON"]
    plan_file.write_text(json.dumps(plan))
    refused = _cli("run", "-w", str(ws), check=False)
    assert refused.returncode == 2
    assert "no fallback owner" in refused.stderr
    assert "--fallback-owner EMAIL" in refused.stderr
    mapping = ws / "mapping.yaml"
    mapping.write_text(mapping.read_text() + "\n# edited\n")
    edited = _cli("run", "-w", str(ws), "--fallback-owner", "x@example.com", check=False)
    assert edited.returncode == 2
    assert "changed since it was confirmed" in edited.stderr
    assert "Traceback" not in edited.stderr
    records = dump_db(ws / "sandbox.db")["accounts"][0]["records"]
    assert records.get("persons", []) == []


def test_wait_sleeps_through_the_reset_and_finishes_in_one_run(
    template: Path, reference: tuple[Any, float], tmp_path: Path
) -> None:
    """--wait: the budget runs out, the run sleeps until midnight and then finishes."""
    from pdmigrate.pipeline import run_workspace

    clean, _ = reference
    ws_path = _copy(template, tmp_path / "ws")
    ws = load_workspace(ws_path)
    token = ws.config.sandbox_token or ""
    clock = FakeClock(datetime(2026, 3, 2, 23, 0, tzinfo=UTC))
    waits: list[datetime] = []

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    @asynccontextmanager
    async def factory() -> Any:
        async with _faulty_client(
            ws_path / "sandbox.db", token, faults=None, clock=clock, sleep=sleep
        ) as (client, sb):
            company = sb.account_for_token(token)
            sb.limits.spend(company.company_id, sb.limits.daily_budget - 600)
            yield client

    summary = run_workspace(ws, client_factory=factory, wait=True, on_wait=waits.append)
    assert waits == [datetime(2026, 3, 3, tzinfo=UTC)]
    assert summary.status in ("done", "attention")
    assert clock.now() >= datetime(2026, 3, 3, tzinfo=UTC)
    got = _canon(ws_path)
    assert got == clean, diff(got, clean)
