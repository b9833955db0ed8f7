"""`pdmigrate sandbox serve` over real HTTP on 127.0.0.1, `sandbox dump`, and file mistakes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pdmigrate.cli import main
from pdmigrate.sandbox.app import Sandbox
from pdmigrate.sandbox.config import SandboxConfig
from pdmigrate.sandbox.spec import SpecValidator

PDMIGRATE = [sys.executable, "-m", "pdmigrate"]
TOKEN = "cli-test-token-0001"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PDMIGRATE, *args], capture_output=True, text=True, check=False, timeout=120
    )


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the console entry point in-process: (exit code, stdout, stderr)."""
    argv = sys.argv
    sys.argv = ["pdmigrate", *args]
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        sys.argv = argv
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


def _read_json_object(stream: Any, timeout_s: float) -> dict[str, Any]:
    """Read stdout lines until they form one JSON object (the --json start-up summary)."""
    result: dict[str, Any] = {}
    lines: list[str] = []

    def read() -> None:
        for line in stream:
            lines.append(line)
            try:
                result.update(json.loads("".join(lines)))
                return
            except ValueError:
                continue

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not result:
        raise AssertionError(f"no start-up JSON within {timeout_s}s: {''.join(lines)!r}")
    return result


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    """`sandbox serve --port 0 --json --db FILE --tokens FILE` as a subprocess."""
    db = tmp_path / "sandbox.db"
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"# the only accepted token\n{TOKEN} 7\n", encoding="utf-8")
    proc = subprocess.Popen(
        [*PDMIGRATE, "sandbox", "serve", "--port", "0", "--json", "--db", str(db),
         "--tokens", str(tokens), "--plan", "growth", "--max-file-mb", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        started = _read_json_object(proc.stdout, timeout_s=60)
        yield started["url"], proc, db
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


@pytest.mark.slow
def test_serve_answers_persons_with_a_spec_shaped_envelope(
    served: tuple[str, subprocess.Popen[str], Path],
) -> None:
    """GET /api/v2/persons with x-api-token answers the v2 envelope, rate headers, on 127.0.0.1."""
    url, proc, db = served
    assert url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=url, headers={"x-api-token": TOKEN}, timeout=30) as client:
        created = client.post(
            "/api/v2/persons",
            json={"name": "Ada Lovelace", "emails": [{"value": "ada@x.example"}]},
        )
        assert created.status_code == 200, created.text
        response = client.get("/api/v2/persons")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert [p["name"] for p in body["data"]] == ["Ada Lovelace"]
    assert body["additional_data"] == {"next_cursor": None}
    assert SpecValidator().validate_response("GET", "/api/v2/persons", 200, body) == []
    assert response.headers["x-ratelimit-limit"] == "40"
    assert int(response.headers["x-ratelimit-remaining"]) == 38
    assert response.headers["x-token-cost"] == "10"

    with httpx.Client(base_url=url, headers={"x-api-token": TOKEN}, timeout=30) as client:
        person_id = created.json()["data"]["id"]
        big = client.post(
            "/api/v1/files",
            files={"file": ("scan.tif", b"\0" * (1024 * 1024 + 1), "image/tiff")},
            data={"person_id": str(person_id)},
        )
        assert big.status_code == 413
        assert big.json()["code"] == "ERR_FILE_TOO_LARGE"

    refused = httpx.get(f"{url}/api/v2/persons", headers={"x-api-token": "not-listed"})
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized access"

    proc.terminate()
    assert proc.wait(timeout=20) == 0
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "listening on http://127.0.0.1:" in stderr
    assert "Traceback" not in stderr

    # The state survived in the --db file: `sandbox dump` shows company 7 and the person.
    dumped = _run("sandbox", "dump", "--db", str(db))
    assert dumped.returncode == 0, dumped.stderr
    state = json.loads(dumped.stdout)
    (account,) = state["accounts"]
    assert account["account"]["company_id"] == 7
    assert [p["name"] for p in account["records"]["persons"]] == ["Ada Lovelace"]
    assert TOKEN not in dumped.stdout


def test_build_config_merges_latency_into_the_fault_spec(tmp_path: Path) -> None:
    """--latency-ms fills the fault spec's latency; giving it in both places is refused."""
    from pdmigrate.cli.sandbox_cmd import build_config
    from pdmigrate.errors import UsageError

    common: dict[str, Any] = {"db": None, "plan": "premium", "seats": 3, "tokens": None,
                              "users": None, "contact_sync": "on", "fair_use": False}  # fmt: skip
    config = build_config(latency_ms=120, faults="seed=7,5xx=0.05", **common)
    assert config.faults is not None
    assert (config.faults.latency_ms, config.faults.error_rate, config.faults.seed) == (
        120.0,
        0.05,
        7,
    )
    assert (config.plan, config.seats, config.contact_sync, config.fair_use) == (
        "premium",
        3,
        True,
        False,
    )
    with pytest.raises(UsageError, match="not both"):
        build_config(latency_ms=120, faults="latency=100+-20", **common)
    plain = build_config(latency_ms=50, faults=None, max_file_bytes=10, **common)
    assert (plain.faults, plain.latency_ms, plain.max_file_bytes) == (None, 50, 10)


def test_dump_prints_every_account_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sandbox dump --db FILE` prints each account with its records (file bytes as a hash)."""
    db = tmp_path / "s.db"
    sandbox = Sandbox(SandboxConfig(db_path=db))
    for token in ("token-a", "token-b"):
        account = sandbox.account_for_token(token)
        assert account is not None
        sandbox.store.insert(account.company_id, "persons", {"name": f"owner {token[-1].upper()}"})
    sandbox.store.insert(
        1_000_001, "fileBlobs", {"size": 2, "sha256": "ab", "content_b64": "aGk="}, record_id=1
    )
    sandbox.store.close()
    code, out, err = _main(capsys, "sandbox", "dump", "--db", str(db))
    assert code == 0, err
    state = json.loads(out)
    assert [a["account"]["company_id"] for a in state["accounts"]] == [1_000_001, 1_000_002]
    assert [a["tokens"] for a in state["accounts"]] == [1, 1]
    first, second = state["accounts"]
    assert [p["name"] for p in first["records"]["persons"]] == ["owner A"]
    assert [p["name"] for p in second["records"]["persons"]] == ["owner B"]
    assert first["records"]["users"][0]["email"] == "admin@sandbox.example"
    (blob,) = first["records"]["fileBlobs"]
    assert (blob["size"], blob["sha256"]) == (2, "ab")
    assert "content_b64" not in blob
    assert "token-a" not in out


def test_dump_of_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --db that does not exist exits 2 with the path, creates nothing, shows no traceback."""
    missing = tmp_path / "nope.db"
    code, _out, err = _main(capsys, "sandbox", "dump", "--db", str(missing))
    assert code == 2
    assert f"{missing}: no such sandbox file" in err
    assert "Traceback" not in err
    assert not missing.exists()


def test_dump_of_a_file_that_is_not_a_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --db that is some other file exits 2 saying so."""
    other = tmp_path / "notes.txt"
    other.write_text("hello\n" * 100, encoding="utf-8")
    code, _out, err = _main(capsys, "sandbox", "dump", "--db", str(other))
    assert code == 2
    assert "not a SQLite file" in err


def test_bad_users_file_exits_2_with_file_and_line(tmp_path: Path) -> None:
    """`serve --users` with a user lacking an email exits 2 naming file:line, no traceback."""
    users = tmp_path / "users.json"
    users.write_text(
        '[\n  {"name": "Dana Reyes", "email": "dana@clinic.example"},\n  {"name": "Lee Park"}\n]\n',
        encoding="utf-8",
    )
    start = time.monotonic()
    result = _run("sandbox", "serve", "--port", "0", "--users", str(users))
    assert result.returncode == 2
    assert f"{users}:3: user has no 'email'" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - start < 60


def test_bad_tokens_file_exits_2_without_echoing_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`serve --tokens` with a repeated token exits 2 with file:line and never prints it."""
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("secret-token-1 1\nsecret-token-1 2\n", encoding="utf-8")
    code, out, err = _main(capsys, "sandbox", "serve", "--port", "0", "--tokens", str(tokens))
    assert code == 2
    assert f"{tokens}:2: duplicate token (first on line 1)" in err
    assert "secret-token-1" not in err + out


def test_port_in_use_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A --port someone else holds exits 2 with a hint, not a traceback."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        code, _out, err = _main(capsys, "sandbox", "serve", "--port", str(port))
    assert code == 2
    assert f"port {port} on 127.0.0.1 is already in use" in err
    assert "Traceback" not in err


def test_bad_faults_spec_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --faults key exits 2 with the keys that exist."""
    code, _out, err = _main(
        capsys, "sandbox", "serve", "--port", "0", "--faults", "5xx=0.1,bogus=1"
    )
    assert code == 2
    assert "--faults: unknown key 'bogus'" in err
    assert "Traceback" not in err


def test_dump_of_a_workspace_sandbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sandbox dump -w DIR` dumps the sandbox account `init --target sandbox` created."""
    from pdmigrate.workspace import create_workspace

    (tmp_path / "exports").mkdir()
    monkeypatch.chdir(tmp_path)
    create_workspace(Path("clinic"), source="practicemaster", exports=Path("exports"))
    code, out, err = _main(capsys, "sandbox", "dump", "-w", "clinic")
    assert code == 0, err
    (account,) = json.loads(out)["accounts"]
    assert account["tokens"] == 1
    assert account["records"]["users"][0]["is_admin"] is True


def test_dump_needs_a_db_or_a_workspace(capsys: pytest.CaptureFixture[str]) -> None:
    """`sandbox dump` with neither --db nor -w says what to pass and exits 2."""
    code, _out, err = _main(capsys, "sandbox", "dump")
    assert code == 2
    assert "say which sandbox to dump: --db FILE (or -w DIR)" in err


def test_serve_of_a_workspace_without_sandbox_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`serve -w DIR` on a workspace that targets a real Pipedrive exits 2, naming the file."""
    from pdmigrate.workspace import create_workspace

    (tmp_path / "exports").mkdir()
    create_workspace(
        tmp_path / "live",
        source="practicemaster",
        exports=tmp_path / "exports",
        target="https://clinic.pipedrive.com",
    )
    code, _out, err = _main(capsys, "sandbox", "serve", "-w", str(tmp_path / "live"))
    assert code == 2
    assert "the target is not the local sandbox" in err


def test_server_thread_serves_and_releases_its_port() -> None:
    """ServerThread serves the app on 127.0.0.1 and frees the port when it stops."""
    from pdmigrate.sandbox.app import create_app
    from pdmigrate.sandbox.server import ServerThread, bind

    with ServerThread(create_app(SandboxConfig(validate=False))) as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        response = httpx.get(f"{server.url}/api/v1/users/me", headers={"x-api-token": "t"})
        assert response.status_code == 200
        assert response.json()["data"]["email"] == "admin@sandbox.example"
    again = bind(server.port)
    again.close()


def test_serve_refuses_a_db_that_is_not_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`serve --db` on a text file exits 2 saying so, with no traceback."""
    other = tmp_path / "garbage.db"
    other.write_text("not a database\n" * 100, encoding="utf-8")
    code, _out, err = _main(capsys, "sandbox", "serve", "--port", "0", "--db", str(other))
    assert code == 2
    assert "not a SQLite file" in err
    assert "Traceback" not in err


def test_serve_never_writes_into_another_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`serve --db state.db` (someone else's SQLite file) exits 2 and leaves it untouched."""
    import sqlite3

    other = tmp_path / "state.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY)")
    before = other.read_bytes()
    code, _out, err = _main(capsys, "sandbox", "serve", "--port", "0", "--db", str(other))
    assert code == 2
    assert "a SQLite file, but not a pdmigrate sandbox" in err
    assert other.read_bytes() == before
