"""The sandbox's state: accounts, API tokens and every record, in memory or in SQLite.

A :class:`Store` keeps one JSON document per record, keyed by (company id, entity,
id). In memory by default (``db_path=None``); with a path it is a SQLite file in WAL
mode, so a workspace's sandbox survives between processes. Every method is
thread-safe (one connection behind a re-entrant lock).

Public API (route modules, v1 included, code against this):

- Accounts and tokens
  - ``create_account(plan=, seats=, contact_sync=, company_id=None) -> Account``
  - ``get_account(company_id) -> Account | None``; ``accounts() -> list[Account]``
  - ``save_account(account)`` after changing an :class:`Account`'s fields
  - ``bind_token(token, company_id)``; ``company_for_token(token) -> int | None``
- Records of an entity per account. ``entity`` is a free string: v2 uses
  ``persons organizations deals activities products pipelines stages``, field
  definitions live under ``personFields`` etc., and seeded ``users`` and
  ``activityTypes`` are records too. v1 adds its own (``notes``, ``files``, ``leads``...).
  - ``insert(cid, entity, doc, *, record_id=None, add_time=None) -> dict``: gives the
    record the next id of the account's sequence for ``entity`` (or ``record_id``,
    e.g. a lead's UUID), sets ``id``, ``add_time`` (now unless given) and
    ``update_time`` (now), stores and returns the stored document.
  - ``get(cid, entity, record_id, *, include_deleted=False) -> dict | None``
  - ``update(cid, entity, record_id, changes) -> dict``: merges ``changes`` (top
    level keys), sets ``update_time``; raises ``KeyError`` if the record is absent.
  - ``soft_delete(cid, entity, record_id, flags=None) -> dict``: marks deleted (hidden
    from ``get``/``list`` unless ``include_deleted``) and merges ``flags``, by default
    ``{"is_deleted": True}`` (v1 passes e.g. ``{"active_flag": False}``).
  - ``hard_delete(cid, entity, record_id)``; ``list(cid, entity, *, include_deleted=False)
    -> list[dict]`` ordered by id; ``count(cid, entity)``; ``query(...)``: a filtered,
    sorted page done in SQL (what the v2 list endpoints use).
  - ``next_id(cid, entity) -> int``: the per-account id sequence.
  - ``transaction()``: a context manager; everything inside commits or rolls back together.
- ``dump() -> dict``: ``{"accounts": [{"account", "tokens" (a count), "records":
  {entity: [doc, ...]}}]}``, JSON-able. Tokens are stored as SHA-256 digests only.

Timestamps are UTC. Documents store them in RFC 3339 (``2026-01-15T09:00:00Z``), the
v2 form; :func:`v1_time` converts one to v1's ``YYYY-MM-DD HH:MM:SS``.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pdmigrate.errors import UsageError
from pdmigrate.sandbox.clock import Clock, SystemClock

RecordId = int | str

FIRST_COMPANY_ID = 1_000_001
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_SANDBOX_TABLES = ("accounts", "records", "tokens")


def check_sandbox_file(path: Path) -> None:
    """Refuse a file that is not a SQLite database, or one that holds other tables.

    An empty file or a database with no tables is fine (a new sandbox); anything else
    must have the sandbox's tables, so ``--db state.db`` never writes into a workspace's
    state database or any other SQLite file by mistake.
    """
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            names = {
                str(r[0])
                for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        raise UsageError(f"{path}: not a SQLite file") from None
    if names and not set(_SANDBOX_TABLES) <= names:
        raise UsageError(f"{path}: a SQLite file, but not a pdmigrate sandbox")


_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (company_id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token_sha256 TEXT PRIMARY KEY, company_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (
    company_id INTEGER NOT NULL, entity TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (company_id, entity));
CREATE TABLE IF NOT EXISTS records (
    company_id INTEGER NOT NULL, entity TEXT NOT NULL, id NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL,
    PRIMARY KEY (company_id, entity, id));
"""


def _json_path(key: str) -> str:
    """``'$.key'`` for a document key made of letters, digits and underscores only."""
    if not _KEY.match(key):
        raise ValueError(f"not a document key: {key!r}")
    return f"'$.{key}'"


def _token_hash(token: str) -> str:
    # Tokens are kept only as SHA-256 digests: a real token typed by mistake never lands
    # on disk or in a dump.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def rfc3339(when: datetime) -> str:
    """``when`` as v2's UTC timestamp, e.g. ``2026-01-15T09:00:00Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def v1_time(value: str | None) -> str | None:
    """An RFC 3339 timestamp as v1's ``YYYY-MM-DD HH:MM:SS`` (UTC); None stays None."""
    if value is None:
        return None
    return rfc3339(parse_time(value)).replace("T", " ").rstrip("Z")


def parse_time(value: str) -> datetime:
    """Parse an RFC 3339 or ``YYYY-MM-DD HH:MM:SS`` (UTC) timestamp; raises ValueError."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass
class Account:
    """One Pipedrive company account in the sandbox."""

    company_id: int
    plan: str = "growth"
    seats: int = 1
    contact_sync: bool = False
    currency: str = "USD"
    name: str = ""
    domain: str = ""
    add_time: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The account as a JSON-able dict."""
        return asdict(self)


class Store:
    """Thread-safe record store; see the module docstring for the API."""

    def __init__(self, db_path: Path | None = None, clock: Clock | None = None) -> None:
        self.db_path = db_path
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.RLock()
        self._depth = 0
        target = ":memory:" if db_path is None else str(db_path)
        if db_path is not None:
            check_sandbox_file(db_path)
            db_path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            target, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        if db_path is not None:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._conn.close()

    def now(self) -> str:
        """The clock's current time in RFC 3339."""
        return rfc3339(self.clock.now())

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block atomically (nested blocks join the outer one)."""
        with self._lock:
            if self._depth == 0:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._conn.execute("COMMIT")

    # accounts and tokens -------------------------------------------------------------

    def create_account(
        self,
        *,
        plan: str = "growth",
        seats: int = 1,
        contact_sync: bool = False,
        company_id: int | None = None,
    ) -> Account:
        """Create and store a new account (a fresh company id unless one is given)."""
        with self.transaction():
            cid = company_id if company_id is not None else self._next_company_id()
            account = Account(
                company_id=cid,
                plan=plan,
                seats=seats,
                contact_sync=contact_sync,
                name=f"Sandbox company {cid}",
                domain=f"sandbox-{cid}",
                add_time=self.now(),
            )
            self.save_account(account)
            return account

    def _next_company_id(self) -> int:
        row = self._conn.execute("SELECT MAX(company_id) FROM accounts").fetchone()
        current = row[0] if row and row[0] is not None else FIRST_COMPANY_ID - 1
        return max(int(current) + 1, FIRST_COMPANY_ID)

    def save_account(self, account: Account) -> None:
        """Insert or replace an account's settings."""
        with self.transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO accounts (company_id, doc) VALUES (?, ?)",
                (account.company_id, json.dumps(account.to_dict())),
            )

    def get_account(self, company_id: int) -> Account | None:
        """The account with this company id, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT doc FROM accounts WHERE company_id = ?", (company_id,)
            ).fetchone()
        return None if row is None else Account(**json.loads(row[0]))

    def accounts(self) -> builtins.list[Account]:
        """Every account, by company id."""
        with self._lock:
            rows = self._conn.execute("SELECT doc FROM accounts ORDER BY company_id").fetchall()
        return [Account(**json.loads(r[0])) for r in rows]

    def bind_token(self, token: str, company_id: int) -> None:
        """Let ``token`` act on ``company_id``'s account."""
        with self.transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO tokens (token_sha256, company_id) VALUES (?, ?)",
                (_token_hash(token), company_id),
            )

    def company_for_token(self, token: str) -> int | None:
        """The company id a token is bound to, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT company_id FROM tokens WHERE token_sha256 = ?", (_token_hash(token),)
            ).fetchone()
        return None if row is None else int(row[0])

    # records -------------------------------------------------------------------------

    def next_id(self, company_id: int, entity: str) -> int:
        """Advance and return the account's id sequence for ``entity`` (starts at 1)."""
        with self.transaction():
            row = self._conn.execute(
                "SELECT value FROM sequences WHERE company_id = ? AND entity = ?",
                (company_id, entity),
            ).fetchone()
            value = 1 if row is None else int(row[0]) + 1
            self._conn.execute(
                "INSERT OR REPLACE INTO sequences (company_id, entity, value) VALUES (?, ?, ?)",
                (company_id, entity, value),
            )
            return value

    def insert(
        self,
        company_id: int,
        entity: str,
        doc: dict[str, Any],
        *,
        record_id: RecordId | None = None,
        add_time: str | None = None,
    ) -> dict[str, Any]:
        """Store a new record; returns it with ``id``, ``add_time`` and ``update_time``."""
        with self.transaction():
            rid = record_id if record_id is not None else self.next_id(company_id, entity)
            now = self.now()
            stored = {"id": rid, **{k: v for k, v in doc.items() if k != "id"}}
            stored["add_time"] = add_time or now
            stored["update_time"] = now
            self._conn.execute(
                "INSERT INTO records (company_id, entity, id, deleted, doc) VALUES (?, ?, ?, 0, ?)",
                (company_id, entity, rid, json.dumps(stored)),
            )
            return stored

    def _row(self, company_id: int, entity: str, record_id: RecordId) -> tuple[int, str] | None:
        row = self._conn.execute(
            "SELECT deleted, doc FROM records WHERE company_id = ? AND entity = ? AND id = ?",
            (company_id, entity, record_id),
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def get(
        self, company_id: int, entity: str, record_id: RecordId, *, include_deleted: bool = False
    ) -> dict[str, Any] | None:
        """One record, or None if absent (or soft-deleted and not asked for)."""
        with self._lock:
            row = self._row(company_id, entity, record_id)
        if row is None or (row[0] and not include_deleted):
            return None
        doc: dict[str, Any] = json.loads(row[1])
        return doc

    def _write(self, company_id: int, entity: str, doc: dict[str, Any], deleted: bool) -> None:
        self._conn.execute(
            "UPDATE records SET deleted = ?, doc = ? "
            "WHERE company_id = ? AND entity = ? AND id = ?",
            (int(deleted), json.dumps(doc), company_id, entity, doc["id"]),
        )

    def update(
        self, company_id: int, entity: str, record_id: RecordId, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Merge ``changes`` into a record (deleted or not) and stamp ``update_time``."""
        with self.transaction():
            row = self._row(company_id, entity, record_id)
            if row is None:
                raise KeyError(f"{entity} {record_id} not found")
            doc: dict[str, Any] = json.loads(row[1])
            doc.update({k: v for k, v in changes.items() if k != "id"})
            doc["update_time"] = self.now()
            self._write(company_id, entity, doc, bool(row[0]))
            return doc

    def soft_delete(
        self,
        company_id: int,
        entity: str,
        record_id: RecordId,
        flags: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Mark a record deleted and merge ``flags`` (default ``{"is_deleted": True}``)."""
        with self.transaction():
            row = self._row(company_id, entity, record_id)
            if row is None:
                raise KeyError(f"{entity} {record_id} not found")
            doc: dict[str, Any] = json.loads(row[1])
            doc.update({"is_deleted": True} if flags is None else flags)
            doc["update_time"] = self.now()
            self._write(company_id, entity, doc, True)
            return doc

    def restore(self, company_id: int, entity: str, record_id: RecordId) -> None:
        """Clear the deleted mark (the document's own flags are the caller's business)."""
        with self.transaction():
            self._conn.execute(
                "UPDATE records SET deleted = 0 WHERE company_id = ? AND entity = ? AND id = ?",
                (company_id, entity, record_id),
            )

    def hard_delete(self, company_id: int, entity: str, record_id: RecordId) -> None:
        """Remove a record for good."""
        with self.transaction():
            self._conn.execute(
                "DELETE FROM records WHERE company_id = ? AND entity = ? AND id = ?",
                (company_id, entity, record_id),
            )

    def list(
        self, company_id: int, entity: str, *, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        """Every record of ``entity`` in the account, ordered by id."""
        sql = "SELECT doc FROM records WHERE company_id = ? AND entity = ?"
        if not include_deleted:
            sql += " AND deleted = 0"
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY id", (company_id, entity)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def query(
        self,
        company_id: int,
        entity: str,
        *,
        deleted: bool | None = False,
        ids: Collection[int] | None = None,
        equals: Mapping[str, Any] | None = None,
        updated_since: str | None = None,
        updated_until: str | None = None,
        participant: int | None = None,
        sort_by: str = "id",
        descending: bool = False,
        after: Sequence[Any] | None = None,
        limit: int | None = None,
    ) -> builtins.list[dict[str, Any]]:
        """One filtered, sorted page of records, filtered and ordered inside SQLite.

        ``deleted``: False live only, True deleted only, None both. ``equals`` compares
        top-level document keys (a bool matches a missing key as false). ``participant``
        keeps activities with that person among ``participants``. Records are ordered by
        the key ``[value is not null, value, id]`` of ``sort_by`` (``id``: ``[1, id, id]``);
        ``after`` is such a key, and only records past it (in the sort direction) come back.
        """
        where = ["company_id = ?", "entity = ?"]
        args: builtins.list[Any] = [company_id, entity]
        if deleted is not None:
            where.append("deleted = ?")
            args.append(int(deleted))
        if ids is not None:
            where.append(f"id IN ({','.join('?' * len(ids))})")
            args.extend(ids)
        for key, value in (equals or {}).items():
            if isinstance(value, bool):
                where.append(f"COALESCE(json_extract(doc, {_json_path(key)}), 0) = ?")
                args.append(int(value))
            else:
                where.append(f"json_extract(doc, {_json_path(key)}) = ?")
                args.append(value)
        if updated_since is not None:
            where.append("json_extract(doc, '$.update_time') >= ?")
            args.append(updated_since)
        if updated_until is not None:
            where.append("json_extract(doc, '$.update_time') < ?")
            args.append(updated_until)
        if participant is not None:
            where.append(
                "EXISTS (SELECT 1 FROM json_each(doc, '$.participants') AS p "
                "WHERE json_extract(p.value, '$.person_id') = ?)"
            )
            args.append(participant)
        if sort_by == "id":
            flag, value = "1", "id"
        else:
            field = f"json_extract(doc, {_json_path(sort_by)})"
            flag, value = f"({field} IS NOT NULL)", f"COALESCE({field}, 0)"
        direction = "DESC" if descending else "ASC"
        if after is not None:
            where.append(f"({flag}, {value}, id) {'<' if descending else '>'} (?, ?, ?)")
            args.extend([int(bool(after[0])), after[1], after[2]])
        # (A bare integer in ORDER BY would name a result column, so id sorts by id alone.)
        order = [f"{flag} {direction}", f"{value} {direction}"] if sort_by != "id" else []
        order.append(f"id {direction}")
        sql = f"SELECT doc FROM records WHERE {' AND '.join(where)} ORDER BY {', '.join(order)}"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, company_id: int, entity: str, *, include_deleted: bool = False) -> int:
        """How many records of ``entity`` the account has."""
        sql = "SELECT COUNT(*) FROM records WHERE company_id = ? AND entity = ?"
        if not include_deleted:
            sql += " AND deleted = 0"
        with self._lock:
            row = self._conn.execute(sql, (company_id, entity)).fetchone()
        return int(row[0])

    def entities(self, company_id: int) -> builtins.list[str]:
        """The entity names the account has records of."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT DISTINCT entity FROM records WHERE company_id = ? ORDER BY entity",
                (company_id,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def dump(self) -> dict[str, Any]:
        """Every account: settings, token count and all records (deleted ones included)."""
        out: dict[str, Any] = {"accounts": []}
        with self._lock:
            for account in self.accounts():
                cid = account.company_id
                row = self._conn.execute(
                    "SELECT COUNT(*) FROM tokens WHERE company_id = ?", (cid,)
                ).fetchone()
                records = {e: self.list(cid, e, include_deleted=True) for e in self.entities(cid)}
                out["accounts"].append(
                    {"account": account.to_dict(), "tokens": int(row[0]), "records": records}
                )
        return out
