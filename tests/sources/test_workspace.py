"""init and the workspace: pdmigrate.toml, state.db (0600, versioned), reports/, sandbox account."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from pdmigrate import state as state_module
from pdmigrate.cli import cli
from pdmigrate.errors import ConfigError, UsageError
from pdmigrate.sandbox.store import Store
from pdmigrate.state import MIGRATIONS, State
from pdmigrate.workspace import create_workspace, load_workspace


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    """A tiny exports folder with one CSV and a users.json."""
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "CMCLIENT.csv").write_bytes(b"Client ID,Name\r\n1234.010,Acme LLC\r\n")
    (folder / "users.json").write_text(
        json.dumps(
            [
                {"name": "Dana Reyes", "email": "dana@firm.example"},
                {"name": "Lee Park", "email": "lee@firm.example", "active_flag": False},
            ]
        ),
        encoding="utf-8",
    )
    return folder


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_config_state_reports_with_profile_defaults(
    tmp_path: Path, exports: Path
) -> None:
    """init writes the profile's country/zone/currency, state.db (0600) and reports/."""
    root = tmp_path / "ws"
    workspace = create_workspace(root, source="practicemaster", exports=exports, target="sandbox")
    data = tomllib.loads((root / "pdmigrate.toml").read_text(encoding="utf-8"))
    assert data["source"] == {"system": "practicemaster", "exports": str(exports.resolve())}
    assert data["practice"] == {
        "country": "US",
        "timezone": "America/Chicago",
        "currency": "USD",
        "date_order": "MDY",
        "max_file_mb": 50,
    }
    assert data["target"] == {"url": "sandbox"}
    assert data["workspace"]["name"] == "ws"
    assert (root / "reports").is_dir()
    assert _mode(root / "state.db") == 0o600
    assert _mode(root / "pdmigrate.toml") == 0o600
    assert load_workspace(root).config == workspace.config


def test_init_records_a_run_with_input_hashes(tmp_path: Path, exports: Path) -> None:
    """The init run lists the sha256 of every export file (users.json excluded)."""
    root = tmp_path / "ws"
    create_workspace(root, source="practicemaster", exports=exports, target="sandbox")
    expected = hashlib.sha256((exports / "CMCLIENT.csv").read_bytes()).hexdigest()
    with State(root / "state.db") as state:
        runs = state.runs()
    assert [(r.id, r.kind, r.profile, r.status, r.inputs) for r in runs] == [
        (1, "init", "practicemaster", "done", {"CMCLIENT.csv": expected})
    ]
    assert runs[0].finished_at is not None


def test_sandbox_account_has_its_own_token_and_seeded_users(
    tmp_path: Path, exports: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--target sandbox: sandbox.db, a generated token, an account seeded from users.json."""
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", "real-token-must-not-be-used")
    root = tmp_path / "ws"
    workspace = create_workspace(root, source="practicemaster", exports=exports)
    token = workspace.config.sandbox_token
    assert token is not None
    assert len(token) == 40
    assert "real-token" not in (root / "pdmigrate.toml").read_text(encoding="utf-8")
    assert _mode(root / "sandbox.db") == 0o600
    store = Store(root / "sandbox.db")
    try:
        company = store.company_for_token(token)
        assert company is not None
        users = store.list(company, "users")
    finally:
        store.close()
    assert [(u["name"], u["email"], u["active_flag"], u["is_admin"]) for u in users] == [
        ("Dana Reyes", "dana@firm.example", True, True),
        ("Lee Park", "lee@firm.example", False, False),
    ]


def test_remote_target_has_no_sandbox_and_overrides_apply(tmp_path: Path, exports: Path) -> None:
    """A real Pipedrive URL gets no sandbox section; --country/--timezone/--currency win."""
    root = tmp_path / "ws"
    create_workspace(
        root,
        source="practicemaster",
        exports=exports,
        target="https://firm.pipedrive.com",
        country="au",
        timezone="Australia/Darwin",
        currency="aud",
    )
    data = tomllib.loads((root / "pdmigrate.toml").read_text(encoding="utf-8"))
    assert "sandbox" not in data
    assert not (root / "sandbox.db").exists()
    assert (data["practice"]["country"], data["practice"]["timezone"]) == ("AU", "Australia/Darwin")
    assert data["practice"]["currency"] == "AUD"


def test_init_refuses_bad_input(tmp_path: Path, exports: Path) -> None:
    """Unknown system, missing exports, bad zone or URL, an existing workspace: usage errors."""
    with pytest.raises(ConfigError, match="unknown source system 'nope'"):
        create_workspace(tmp_path / "a", source="nope", exports=exports)
    with pytest.raises(UsageError, match="no such folder"):
        create_workspace(tmp_path / "b", source="practicemaster", exports=tmp_path / "missing")
    with pytest.raises(ConfigError, match="unknown IANA time zone"):
        create_workspace(tmp_path / "c", source="practicemaster", exports=exports, timezone="X/Y")
    with pytest.raises(ConfigError, match="target must be 'sandbox' or a URL"):
        create_workspace(tmp_path / "d", source="practicemaster", exports=exports, target="ftp:x")
    create_workspace(tmp_path / "e", source="practicemaster", exports=exports)
    with pytest.raises(UsageError, match="already exists"):
        create_workspace(tmp_path / "e", source="practicemaster", exports=exports)
    assert not (tmp_path / "c").exists()


def test_loading_missing_or_invalid_config_names_the_file(tmp_path: Path, exports: Path) -> None:
    """A missing, unparsable or wrong pdmigrate.toml is a ConfigError naming the file."""
    root = tmp_path / "ws"
    root.mkdir()
    path = root / "pdmigrate.toml"
    with pytest.raises(ConfigError, match=f"{path}: not found"):
        load_workspace(root)
    path.write_text("[source\nsystem = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{path}: not valid TOML"):
        load_workspace(root)
    create_workspace(tmp_path / "ok", source="practicemaster", exports=exports)
    good = (tmp_path / "ok" / "pdmigrate.toml").read_text(encoding="utf-8")
    path.write_text(good.replace("America/Chicago", "Mars/Olympus"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pdmigrate.toml: unknown IANA time zone"):
        load_workspace(root)
    path.write_text(good.replace('country = "US"\n', ""), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"pdmigrate.toml: practice.country is missing"):
        load_workspace(root)


def test_relative_paths_in_config_resolve_against_the_workspace(
    tmp_path: Path, exports: Path
) -> None:
    """A hand-edited relative exports path is read relative to the workspace folder."""
    root = tmp_path / "ws"
    create_workspace(root, source="practicemaster", exports=exports)
    path = root / "pdmigrate.toml"
    text = path.read_text(encoding="utf-8").replace(str(exports.resolve()), "../exports")
    path.write_text(text, encoding="utf-8")
    workspace = load_workspace(root)
    assert workspace.config.exports.resolve() == exports.resolve()
    assert [p.name for p in workspace.export_files()] == ["CMCLIENT.csv"]


def test_state_schema_is_versioned_and_migrates_forward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """user_version follows MIGRATIONS; a new script applies on reopen; a newer db is refused."""
    path = tmp_path / "state.db"
    with State(path) as state:
        assert state.version == len(MIGRATIONS)
        run = state.start_run("audit", profile="corepractice", inputs={"a.csv": "00"})
        state.finish_run(run, "attention", {"findings": 3})
    assert _mode(path) == 0o600
    monkeypatch.setattr(
        state_module, "MIGRATIONS", [*MIGRATIONS, "CREATE TABLE extra (x INTEGER);"]
    )
    with State(path) as state:
        assert state.version == len(MIGRATIONS) + 1
        assert state.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1
        assert [(r.kind, r.status, r.summary) for r in state.runs()] == [
            ("audit", "attention", {"findings": 3})
        ]
    monkeypatch.setattr(state_module, "MIGRATIONS", list(MIGRATIONS))
    with pytest.raises(ConfigError, match="newer than this pdmigrate knows"):
        State(path)


def test_state_rejects_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    """A state.db that is not a database is a ConfigError naming it."""
    path = tmp_path / "state.db"
    path.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ConfigError, match="not a pdmigrate state database"):
        State(path)


def test_cli_init_json_and_usage_error_without_traceback(tmp_path: Path, exports: Path) -> None:
    """`pdmigrate init --json` prints the workspace summary; a bad system exits 2 cleanly."""
    root = tmp_path / "ws"
    result = CliRunner().invoke(
        cli, ["init", str(root), "--source", "practicemaster", "--exports", str(exports), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["source"] == "practicemaster"
    assert summary["target"] == "sandbox"
    assert summary["sandbox"] == str(root / "sandbox.db")
    proc = subprocess.run(
        [sys.executable, "-m", "pdmigrate", "init", str(tmp_path / "x"), "--source", "nope",
         "--exports", str(exports)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "unknown source system 'nope'" in proc.stderr
    assert "Traceback" not in proc.stderr
