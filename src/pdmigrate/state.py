"""The workspace's ``state.db``: SQLite, file mode 0600, versioned schema.

The schema grows by appending SQL scripts to :data:`MIGRATIONS`; script *n* (1-based)
takes the database from ``PRAGMA user_version`` *n-1* to *n*. Opening a database
applies the missing scripts in one transaction each, so an old workspace upgrades
itself and a crash mid-upgrade leaves the last good version. A database written by
a newer pdmigrate (a higher version than this one knows) is refused.

Every command appends one row to ``runs`` (kind, profile, the sha256 of each input
file, status, timestamps) through :meth:`State.start_run` / :meth:`State.finish_run`.
Values from source rows and the API token are never stored here by this module.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, TracebackType
from typing import IO, Any, Literal

from pdmigrate.errors import ConfigError, UsageError

fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; the lock is advisory there
    fcntl = None

#: Runs that write to Pipedrive: one at a time per workspace (:meth:`State.start_run`).
WRITING_RUNS = ("run", "sample", "delta", "rollback")

RunStatus = Literal["running", "done", "failed", "attention", "interrupted", "stopped"]

#: Schema scripts; index + 1 is the ``user_version`` each one leads to. Append only.
MIGRATIONS: list[str] = [
    # 1: runs, one per command that touches the workspace.
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        profile TEXT,
        mapping_sha256 TEXT,
        inputs TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        summary TEXT
    );
    CREATE INDEX runs_kind ON runs (kind, id);
    """,
    # 2: mapping confirmations; the latest row is the locked mapping (pdmigrate confirm).
    """
    CREATE TABLE mapping_confirmations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sha256 TEXT NOT NULL,
        profile TEXT NOT NULL,
        path TEXT NOT NULL,
        run_id INTEGER REFERENCES runs (id),
        confirmed_at TEXT NOT NULL
    );
    """,
    # 3: the migration engine (issue 6): ops, id map, field keys, audit log.
    """
    CREATE TABLE ops (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        stage TEXT NOT NULL,
        entity TEXT NOT NULL,
        source_key TEXT NOT NULL,
        kind TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'started', 'done', 'failed', 'skipped')),
        seq INTEGER NOT NULL DEFAULT 0,
        content_hash TEXT,
        pipedrive_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        src_where TEXT,
        run_id INTEGER REFERENCES runs (id),
        started_at TEXT,
        updated_at TEXT NOT NULL,
        UNIQUE (stage, source_key)
    );
    CREATE INDEX ops_stage_status ON ops (stage, status, seq);
    CREATE TABLE id_map (
        entity TEXT NOT NULL,
        source_key TEXT NOT NULL,
        pipedrive_id TEXT NOT NULL,
        content_hash TEXT,
        update_time TEXT,
        origin TEXT NOT NULL DEFAULT 'created' CHECK (origin IN ('created', 'matched_existing')),
        run_id INTEGER REFERENCES runs (id),
        PRIMARY KEY (entity, source_key)
    );
    CREATE TABLE field_keys (
        account TEXT NOT NULL,
        entity TEXT NOT NULL,
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        field_type TEXT,
        options TEXT NOT NULL DEFAULT '{}',
        origin TEXT NOT NULL CHECK (origin IN ('created', 'reused')),
        run_id INTEGER REFERENCES runs (id),
        PRIMARY KEY (account, entity, name)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER REFERENCES runs (id),
        op_id INTEGER REFERENCES ops (id),
        source_object TEXT,
        source_key TEXT,
        entity TEXT NOT NULL,
        pipedrive_id TEXT,
        field TEXT,
        old_value TEXT,
        new_value TEXT,
        at TEXT NOT NULL
    );
    CREATE INDEX audit_run ON audit (run_id, id);
    CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
    CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
    """,
]


def now_utc() -> str:
    """The current UTC time as ISO 8601 with seconds (``2024-03-05T09:30:00Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def hash_inputs(paths: Iterable[Path], root: Path | None = None) -> dict[str, str]:
    """``{name: sha256}`` for input files; names are relative to ``root`` when given."""
    result: dict[str, str] = {}
    for path in sorted(paths):
        name = str(path.relative_to(root)) if root is not None else path.name
        result[name] = sha256_file(path)
    return result


@dataclass(frozen=True, slots=True)
class Run:
    """One row of ``runs``."""

    id: int
    kind: str
    profile: str | None
    mapping_sha256: str | None
    inputs: dict[str, str]
    status: str
    started_at: str
    finished_at: str | None
    summary: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """The run as a JSON-ready dict."""
        return {
            "id": self.id,
            "kind": self.kind,
            "profile": self.profile,
            "mapping_sha256": self.mapping_sha256,
            "inputs": self.inputs,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "summary": self.summary,
        }


def _create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (never widen it later)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, 0o600)


def migrate(conn: sqlite3.Connection, where: str = "state.db") -> int:
    """Bring the schema up to date; return the resulting version."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > len(MIGRATIONS):
        raise ConfigError(
            f"{where}: schema version {version} is newer than this pdmigrate knows "
            f"({len(MIGRATIONS)})",
            hint="upgrade pdmigrate to work with this workspace",
        )
    for target in range(version + 1, len(MIGRATIONS) + 1):
        script = MIGRATIONS[target - 1]
        try:
            conn.executescript(
                f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {target:d};\nCOMMIT;"
            )
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


class State:
    """An open ``state.db``. Use as a context manager, or call :meth:`close`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock: IO[str] | None = None
        _create_private(self.path)
        try:
            self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            self.version = migrate(self.conn, str(self.path))
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.path}: not a pdmigrate state database ({exc})") from exc

    # -- runs ------------------------------------------------------------------------

    def start_run(
        self,
        kind: str,
        *,
        profile: str | None = None,
        inputs: Mapping[str, str] | None = None,
        mapping_sha256: str | None = None,
    ) -> int:
        """Record the start of a command's run; return its id.

        A writing run (:data:`WRITING_RUNS`) first takes the workspace's write lock
        (``state.db.lock``, held until :meth:`close`): a second writer on the same
        workspace stops with a clear error instead of racing the first. Holding the lock
        proves no other writer is alive, so writing runs still marked ``running`` (a
        process killed with -9) are marked ``interrupted``.
        """
        if kind in WRITING_RUNS:
            self._take_write_lock()
            self.conn.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = ? "
                f"WHERE status = 'running' AND kind IN ({', '.join('?' * len(WRITING_RUNS))})",
                (now_utc(), *WRITING_RUNS),
            )
        cursor = self.conn.execute(
            "INSERT INTO runs (kind, profile, mapping_sha256, inputs, status, started_at) "
            "VALUES (?, ?, ?, ?, 'running', ?)",
            (kind, profile, mapping_sha256, json.dumps(dict(inputs or {})), now_utc()),
        )
        return int(cursor.lastrowid or 0)

    def finish_run(
        self, run_id: int, status: RunStatus, summary: Mapping[str, Any] | None = None
    ) -> None:
        """Record how a run ended, with a small JSON summary (counts, never row values)."""
        self.conn.execute(
            "UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE id = ?",
            (
                status,
                now_utc(),
                None if summary is None else json.dumps(dict(summary), default=str),
                run_id,
            ),
        )

    def runs(self, kind: str | None = None) -> list[Run]:
        """Every run (or every run of ``kind``), oldest first."""
        sql = "SELECT * FROM runs" + (" WHERE kind = ?" if kind else "") + " ORDER BY id"
        rows = self.conn.execute(sql, (kind,) if kind else ()).fetchall()
        return [_run(r) for r in rows]

    def run(self, run_id: int) -> Run | None:
        """The run with this id, or None."""
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return None if row is None else _run(row)

    # -- lifetime --------------------------------------------------------------------

    def _take_write_lock(self) -> None:
        if self._lock is not None or fcntl is None:  # held already; no flock on Windows
            return
        path = self.path.with_name(self.path.name + ".lock")
        _create_private(path)
        handle = path.open("r+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise UsageError(
                f"{self.path.parent}: another pdmigrate command (run, sample, delta or "
                "rollback) is writing from this workspace",
                hint="wait for it to finish; two writers would race for the same records",
            ) from None
        self._lock = handle

    def close(self) -> None:
        """Close the connection (and release the write lock, if held)."""
        self.conn.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> State:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _run(row: tuple[Any, ...]) -> Run:
    return Run(
        id=int(row[0]),
        kind=str(row[1]),
        profile=row[2],
        mapping_sha256=row[3],
        inputs=json.loads(row[4] or "{}"),
        status=str(row[5]),
        started_at=str(row[6]),
        finished_at=row[7],
        summary=None if row[8] is None else json.loads(row[8]),
    )


def open_state(path: Path) -> State:
    """Open (creating with mode 0600 and migrating as needed) the state database at ``path``."""
    return State(path)
