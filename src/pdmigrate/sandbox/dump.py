"""Inspect a sandbox: every account's full state as JSON (`pdmigrate sandbox dump --db FILE`).

:func:`dump_db` reads a sandbox SQLite file (it may be in use by a running
`sandbox serve`; SQLite's WAL lets it read a consistent snapshot) and returns
``{"accounts": [{"account", "tokens", "records": {entity: [doc, ...]}}]}``,
the shape of :meth:`pdmigrate.sandbox.store.Store.dump`. Tests and reports compare
accounts before and after a run with it.

:func:`compact` is applied to every dump: uploaded file contents (``fileBlobs``
records) are replaced by their size and SHA-256, so a dump stays readable and
small and two dumps still differ when a file's bytes differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pdmigrate.errors import UsageError
from pdmigrate.sandbox.store import Store, check_sandbox_file

BLOBS = "fileBlobs"


def compact(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` with file contents replaced by ``size`` and ``sha256`` (a new dict)."""
    accounts = []
    for account in state.get("accounts", []):
        records = dict(account.get("records", {}))
        if BLOBS in records:
            records[BLOBS] = [
                {k: v for k, v in doc.items() if k != "content_b64"} for doc in records[BLOBS]
            ]
        accounts.append({**account, "records": records})
    return {**state, "accounts": accounts}


def _check_sandbox_file(path: Path) -> None:
    if not path.exists():
        raise UsageError(f"{path}: no such sandbox file", hint="start one with sandbox serve --db")
    if not path.is_file():
        raise UsageError(f"{path}: is not a file")
    check_sandbox_file(path)
    if path.stat().st_size == 0:
        raise UsageError(f"{path}: an empty file, not a pdmigrate sandbox")


def dump_db(path: Path) -> dict[str, Any]:
    """Every account in the sandbox file at ``path``; a UsageError if it is not one."""
    _check_sandbox_file(path)
    store = Store(path)
    try:
        return compact(store.dump())
    finally:
        store.close()
