"""Accessors for the migration engine's tables in ``state.db`` (schema: state migration 3).

* ``ops``: one row per write the engine means to do, ``(stage, source_key)`` unique,
  moving ``pending -> started -> done | failed | skipped``. ``started`` is committed
  *before* the API call and the result after it, so a crash leaves at most the
  in-flight ops ``started``; resume reconciles those by source id before any retry.
* ``id_map``: entity + source key -> Pipedrive id, the content hash written and the
  ``update_time`` the write returned. ``origin`` is ``matched_existing`` for people
  that were already in the account (rollback never deletes those).
* ``field_keys``: account + entity + name -> 40-char key (or a pipeline / stage id or
  an activity type key) with option ids, ``created`` or ``reused`` (rollback removes
  only what pdmigrate created).
* ``audit``: append-only (triggers refuse UPDATE and DELETE).

Nothing here writes the API token; error messages stored are Pipedrive's messages,
which name fields, never values.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from pdmigrate.state import State, now_utc

OpStatus = Literal["pending", "started", "done", "failed", "skipped"]
Origin = Literal["created", "reused"]

__all__ = ["AuditEntry", "FieldKey", "Op", "OpSpec", "Ops"]


@dataclass(frozen=True, slots=True)
class OpSpec:
    """An op to register: stage, entity, source key, kind (create/update/link), hash, where."""

    stage: str
    entity: str
    source_key: str
    kind: str
    content_hash: str = ""
    where: str = ""
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Op:
    """One row of ``ops``."""

    id: int
    stage: str
    entity: str
    source_key: str
    kind: str
    status: str
    seq: int
    content_hash: str | None
    pipedrive_id: str | None
    attempts: int
    error: str | None
    where: str | None
    run_id: int | None
    started_at: str | None


@dataclass(frozen=True, slots=True)
class FieldKey:
    """One row of ``field_keys``."""

    entity: str
    name: str
    key: str
    field_type: str | None
    options: dict[str, int]
    origin: str


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audit row to append."""

    entity: str
    pipedrive_id: str | None
    field: str | None = None
    old_value: Any = None
    new_value: Any = None
    op_id: int | None = None
    source_object: str | None = None
    source_key: str | None = None


_OP_COLUMNS = (
    "id, stage, entity, source_key, kind, status, seq, content_hash, pipedrive_id, attempts, "
    "error, src_where, run_id, started_at"
)


def _op(row: Sequence[Any]) -> Op:
    return Op(
        id=int(row[0]),
        stage=str(row[1]),
        entity=str(row[2]),
        source_key=str(row[3]),
        kind=str(row[4]),
        status=str(row[5]),
        seq=int(row[6]),
        content_hash=row[7],
        pipedrive_id=row[8],
        attempts=int(row[9]),
        error=row[10],
        where=row[11],
        run_id=row[12],
        started_at=row[13],
    )


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class Ops:
    """The engine's view of ``state.db``: ops, id map, field keys and audit."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.conn: sqlite3.Connection = state.conn
        self.conn.execute("PRAGMA synchronous=NORMAL")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One IMMEDIATE transaction (committed on success, rolled back on error)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- ops ---------------------------------------------------------------------------

    def register(self, specs: Iterable[OpSpec], run_id: int) -> int:
        """Add ops not yet known (``pending``); known ones keep their status. Returns new count."""
        now = now_utc()
        before = self.conn.total_changes
        with self.transaction():
            self.conn.executemany(
                "INSERT OR IGNORE INTO ops (stage, entity, source_key, kind, status, seq, "
                "content_hash, src_where, run_id, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, "
                "?, ?, ?)",
                (
                    (
                        s.stage,
                        s.entity,
                        s.source_key,
                        s.kind,
                        s.seq,
                        s.content_hash,
                        s.where,
                        run_id,
                        now,
                    )
                    for s in specs
                ),
            )
        return self.conn.total_changes - before

    def get(self, stage: str, source_key: str) -> Op | None:
        """The op of ``stage`` for ``source_key``, or None."""
        row = self.conn.execute(
            f"SELECT {_OP_COLUMNS} FROM ops WHERE stage = ? AND source_key = ?",
            (stage, source_key),
        ).fetchone()
        return None if row is None else _op(row)

    def of_stage(self, stage: str, statuses: Sequence[str] | None = None) -> list[Op]:
        """Ops of a stage (optionally only these statuses), in registration order."""
        sql = f"SELECT {_OP_COLUMNS} FROM ops WHERE stage = ?"
        args: list[Any] = [stage]
        if statuses:
            sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
            args.extend(statuses)
        return [_op(r) for r in self.conn.execute(sql + " ORDER BY seq, id", args)]

    def with_status(self, status: str) -> list[Op]:
        """Every op in ``status``."""
        rows = self.conn.execute(
            f"SELECT {_OP_COLUMNS} FROM ops WHERE status = ? ORDER BY id", (status,)
        )
        return [_op(r) for r in rows]

    def mark_started(self, op_ids: Sequence[int], run_id: int) -> None:
        """Commit the intent: these ops are about to be sent (one transaction)."""
        now = now_utc()
        with self.transaction():
            self.conn.executemany(
                "UPDATE ops SET status = 'started', attempts = attempts + 1, run_id = ?, "
                "started_at = ?, updated_at = ? WHERE id = ?",
                ((run_id, now, now, i) for i in op_ids),
            )

    def finish(
        self,
        op: Op,
        status: OpStatus,
        *,
        pipedrive_id: Any = None,
        error: str | None = None,
        id_map: tuple[str, str, Any, str | None, str | None] | None = None,
        audit: Sequence[AuditEntry] = (),
        run_id: int | None = None,
    ) -> None:
        """Commit an op's result, its id-map row and its audit rows in one transaction.

        ``id_map`` is ``(entity, source_key, pipedrive_id, content_hash, update_time)``.
        """
        now = now_utc()
        with self.transaction():
            self.conn.execute(
                "UPDATE ops SET status = ?, pipedrive_id = ?, error = ?, updated_at = ? "
                "WHERE id = ?",
                (status, None if pipedrive_id is None else str(pipedrive_id), error, now, op.id),
            )
            if id_map is not None:
                entity, key, pid, chash, utime = id_map
                self._put_id(entity, key, pid, chash, utime, "created", run_id)
            self._audit(audit, run_id, now)

    def reset(self, statuses: Sequence[str], stages: Sequence[str] | None = None) -> int:
        """Put ops in ``statuses`` back to ``pending`` (e.g. ``--retry-failed``)."""
        sql = f"UPDATE ops SET status = 'pending', error = NULL WHERE status IN ({_qs(statuses)})"
        args: list[Any] = list(statuses)
        if stages:
            sql += f" AND stage IN ({_qs(stages)})"
            args.extend(stages)
        return self.conn.execute(sql, args).rowcount

    def counts(self) -> dict[str, dict[str, int]]:
        """``{stage: {status: n}}`` over every op."""
        out: dict[str, dict[str, int]] = {}
        for stage, status, n in self.conn.execute(
            "SELECT stage, status, COUNT(*) FROM ops GROUP BY stage, status"
        ):
            out.setdefault(stage, {})[status] = int(n)
        return out

    def done_by_run(self, run_id: int) -> dict[str, Counter[str]]:
        """``{kind: Counter(entity)}`` of the ops this run finished ``done``."""
        out: dict[str, Counter[str]] = {}
        for kind, entity, n in self.conn.execute(
            "SELECT kind, entity, COUNT(*) FROM ops WHERE run_id = ? AND status = 'done' "
            "GROUP BY kind, entity",
            (run_id,),
        ):
            out.setdefault(kind, Counter())[entity] += int(n)
        return out

    # -- id map ------------------------------------------------------------------------

    def _put_id(
        self,
        entity: str,
        source_key: str,
        pipedrive_id: Any,
        content_hash: str | None,
        update_time: str | None,
        origin: str,
        run_id: int | None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO id_map (entity, source_key, pipedrive_id, content_hash, update_time, "
            "origin, run_id) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (entity, source_key) DO "
            "UPDATE SET pipedrive_id = excluded.pipedrive_id, content_hash = "
            "excluded.content_hash, update_time = excluded.update_time",
            (entity, source_key, str(pipedrive_id), content_hash, update_time, origin, run_id),
        )

    def put_existing(self, entity: str, source_key: str, pipedrive_id: int, run_id: int) -> None:
        """Record a person already in the account (``matched_existing``: never deleted)."""
        self.conn.execute(
            "INSERT OR IGNORE INTO id_map (entity, source_key, pipedrive_id, origin, run_id) "
            "VALUES (?, ?, ?, 'matched_existing', ?)",
            (entity, source_key, str(pipedrive_id), run_id),
        )

    def id_map(self, entity: str | None = None) -> dict[tuple[str, str], str]:
        """``{(entity, source_key): pipedrive id}``."""
        sql = "SELECT entity, source_key, pipedrive_id FROM id_map"
        rows = self.conn.execute(
            sql + (" WHERE entity = ?" if entity else ""), ((entity,) if entity else ())
        )
        return {(str(e), str(k)): str(v) for e, k, v in rows}

    def origin(self, entity: str, source_key: str) -> str | None:
        """``created`` / ``matched_existing`` for a mapped record, else None."""
        row = self.conn.execute(
            "SELECT origin FROM id_map WHERE entity = ? AND source_key = ?", (entity, source_key)
        ).fetchone()
        return None if row is None else str(row[0])

    # -- field keys --------------------------------------------------------------------

    def put_field_key(
        self,
        account: str,
        entity: str,
        name: str,
        key: str,
        *,
        field_type: str | None,
        options: Mapping[str, int],
        origin: Origin,
        run_id: int | None,
    ) -> None:
        """Record a field (or pipeline, stage, activity type) key; ``created`` is never demoted."""
        self.conn.execute(
            "INSERT INTO field_keys (account, entity, name, key, field_type, options, origin, "
            "run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, entity, name) DO "
            "UPDATE SET key = excluded.key, field_type = excluded.field_type, options = "
            "excluded.options, origin = CASE WHEN field_keys.origin = 'created' "
            "AND field_keys.key = excluded.key THEN 'created' ELSE excluded.origin END",
            (account, entity, name, key, field_type, json.dumps(dict(options)), origin, run_id),
        )

    def field_keys(self, account: str) -> dict[tuple[str, str], FieldKey]:
        """``{(entity, name): FieldKey}`` for one account."""
        rows = self.conn.execute(
            "SELECT entity, name, key, field_type, options, origin FROM field_keys "
            "WHERE account = ?",
            (account,),
        )
        return {
            (str(e), str(n)): FieldKey(str(e), str(n), str(k), t, json.loads(o or "{}"), str(g))
            for e, n, k, t, o, g in rows
        }

    # -- audit -------------------------------------------------------------------------

    def _audit(self, entries: Sequence[AuditEntry], run_id: int | None, at: str) -> None:
        if not entries:
            return
        self.conn.executemany(
            "INSERT INTO audit (run_id, op_id, source_object, source_key, entity, pipedrive_id, "
            "field, old_value, new_value, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    run_id,
                    e.op_id,
                    e.source_object,
                    e.source_key,
                    e.entity,
                    None if e.pipedrive_id is None else str(e.pipedrive_id),
                    e.field,
                    _json(e.old_value),
                    _json(e.new_value),
                    at,
                )
                for e in entries
            ),
        )

    def append_audit(self, entries: Sequence[AuditEntry], run_id: int | None) -> None:
        """Append audit rows outside an op (target preparation)."""
        with self.transaction():
            self._audit(entries, run_id, now_utc())

    def audit_count(self, run_id: int | None = None) -> int:
        """Audit rows (of one run)."""
        if run_id is None:
            return int(self.conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])
        sql = "SELECT COUNT(*) FROM audit WHERE run_id = ?"
        return int(self.conn.execute(sql, (run_id,)).fetchone()[0])


def _qs(values: Sequence[str]) -> str:
    return ", ".join("?" for _ in values)
