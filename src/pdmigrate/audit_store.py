"""The audit's scratch store: keys, references and duplicate candidates in SQLite.

A large practice has hundreds of thousands of keys; holding them in Python sets
would grow memory with the input. They go to a temporary SQLite file instead
(batched inserts), and the cross-row questions (duplicate keys, orphan references,
people sharing an email) are answered with SQL at the end.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

_SCHEMA = """
CREATE TABLE keys (object TEXT, key TEXT, file TEXT, line INTEGER);
CREATE TABLE refs (object TEXT, rel TEXT, target TEXT, value TEXT, optional INTEGER,
                   file TEXT, line INTEGER, key TEXT, quarantine INTEGER);
CREATE TABLE people (object TEXT, email TEXT, dob TEXT, name TEXT, key TEXT, grp TEXT,
                     file TEXT, line INTEGER, UNIQUE (object, grp));
"""
_BATCH = 5000

Member = tuple[str, str, str, str, str, int]


class KeyStore:
    """Batched inserts into a scratch SQLite file (deleted on close unless a path is given)."""

    def __init__(self, path: Path | None = None) -> None:
        self._owned = path is None
        if path is None:
            fd, name = tempfile.mkstemp(prefix="pdmigrate-audit-", suffix=".db")
            os.close(fd)
            path = Path(name)
        else:
            path.unlink(missing_ok=True)
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=OFF")
        self.conn.execute("PRAGMA synchronous=OFF")
        self.conn.executescript(_SCHEMA)
        self._keys: list[tuple[Any, ...]] = []
        self._refs: list[tuple[Any, ...]] = []
        self._people: list[tuple[Any, ...]] = []

    def add_key(self, obj: str, key: str, file: str, line: int) -> None:
        """Remember a record's key."""
        self._keys.append((obj, key, file, line))
        if len(self._keys) >= _BATCH:
            self._flush("keys", self._keys, 4)

    def add_ref(
        self,
        obj: str,
        rel: str,
        target: str,
        value: str,
        optional: bool,
        file: str,
        line: int,
        key: str,
        quarantine: bool,
    ) -> None:
        """Remember a link from a record to another object's key (``quarantine``: the
        record cannot be migrated if the link does not resolve)."""
        self._refs.append(
            (obj, rel, target, value, int(optional), file, line, key, int(quarantine))
        )
        if len(self._refs) >= _BATCH:
            self._flush("refs", self._refs, 9)

    def add_person(
        self,
        obj: str,
        email: str,
        dob: str,
        name: str,
        key: str,
        grp: str,
        file: str,
        line: int,
    ) -> None:
        """Remember a person-like record's normalised email, birth date and name.

        ``grp`` identifies the person the row becomes (rows grouped into one person
        share it); only the first row of a group is kept.
        """
        self._people.append((obj, email, dob, name, key, grp, file, line))
        if len(self._people) >= _BATCH:
            self._flush("people", self._people, 8)

    def _flush(self, table: str, rows: list[tuple[Any, ...]], width: int) -> None:
        if rows:
            marks = ", ".join("?" * width)
            self.conn.execute("BEGIN")
            self.conn.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({marks})", rows)
            self.conn.execute("COMMIT")
            rows.clear()

    def flush(self) -> None:
        """Write pending batches and index for the final queries."""
        self._flush("keys", self._keys, 4)
        self._flush("refs", self._refs, 9)
        self._flush("people", self._people, 8)
        self.conn.execute("CREATE INDEX IF NOT EXISTS keys_ok ON keys (object, key)")
        self.conn.execute("CREATE INDEX IF NOT EXISTS people_email ON people (object, email)")

    def duplicate_keys(self) -> Iterator[tuple[str, str, int, str, int]]:
        """(object, key, count, file, line of the second occurrence) for repeated keys."""
        sql = """
            SELECT object, key, COUNT(*) AS n,
                   (SELECT file FROM keys k2 WHERE k2.object = k.object AND k2.key = k.key
                    ORDER BY rowid LIMIT 1 OFFSET 1),
                   (SELECT line FROM keys k2 WHERE k2.object = k.object AND k2.key = k.key
                    ORDER BY rowid LIMIT 1 OFFSET 1)
            FROM keys k GROUP BY object, key HAVING n > 1 ORDER BY object, MIN(rowid)
        """
        yield from self.conn.execute(sql)

    def orphans(self) -> Iterator[tuple[str, str, str, bool, str, int, str, bool]]:
        """(object, rel, target, optional, file, line, key, quarantine) of unresolved links."""
        sql = """
            SELECT r.object, r.rel, r.target, r.optional, r.file, r.line, r.key, r.quarantine
            FROM refs r
            WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.object = r.target AND k.key = r.value)
            ORDER BY r.rowid
        """
        for row in self.conn.execute(sql):
            yield row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], bool(row[7])

    def people_by_email(self) -> Iterator[tuple[str, list[Member]]]:
        """(object, members) for every email shared by more than one record."""
        sql = """
            SELECT p.object, p.email, p.dob, p.name, p.key, p.file, p.line
            FROM people p JOIN (
                SELECT object, email FROM people GROUP BY object, email HAVING COUNT(*) > 1
            ) d ON d.object = p.object AND d.email = p.email
            ORDER BY p.object, p.email, p.rowid
        """
        current: tuple[str, str] | None = None
        members: list[Member] = []
        for obj, email, dob, name, key, file, line in self.conn.execute(sql):
            if current is not None and current != (obj, email):
                yield current[0], members
                members = []
            current = (obj, email)
            members.append((email, dob, name, key, file, line))
        if current is not None:
            yield current[0], members

    def name_dob_pairs(self) -> Iterator[tuple[str, str, int, str, int]]:
        """(object, file, line, first file, first line): same name and birth date, other email."""
        sql = """
            SELECT b.object, b.file, b.line, a.file, a.line
            FROM people a JOIN people b
              ON a.object = b.object AND a.name = b.name AND a.dob = b.dob AND a.rowid < b.rowid
            WHERE a.dob != '' AND a.name != '' AND a.email != b.email
              AND a.rowid = (SELECT MIN(rowid) FROM people c
                             WHERE c.object = a.object AND c.name = a.name AND c.dob = a.dob)
            ORDER BY b.rowid
        """
        self.conn.execute("CREATE INDEX IF NOT EXISTS people_name ON people (object, name, dob)")
        yield from self.conn.execute(sql)

    def close(self) -> None:
        """Close, and delete the scratch file when the store created it."""
        self.conn.close()
        if self._owned:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> KeyStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
