"""Account snapshots for the undo tests: a sandbox dump with soft-deleted records taken out.

Pipedrive soft-deletes (v2 ``is_deleted``, v1 ``active_flag`` false, deleted fields and
options); the comparison treats those records as absent, and a link to one (``org_id``,
``person_id``, ``deal_id``) as no link. ``update_time`` and
``stage_change_time`` are the server's clock, not data, and are left out; so are the token counters.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from pdmigrate.sandbox.dump import dump_db

#: Server bookkeeping stamped by the server's clock, not account data.
SKIP_KEYS = frozenset({"update_time", "stage_change_time"})


def _live(doc: dict[str, Any]) -> bool:
    return not doc.get("is_deleted") and doc.get("active_flag", True) is not False


def _clean(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        out = {k: _clean(v, k) for k, v in value.items() if k not in SKIP_KEYS}
        if key == "custom_fields":  # a custom field set to null is a field without a value
            out = {k: v for k, v in out.items() if v is not None}
        return out
    if isinstance(value, list):
        return [_clean(v) for v in value if not isinstance(v, dict) or _live(v)]
    return value


def _deleted(db: Path) -> set[tuple[str, Any]]:
    """(entity, id) of the records the sandbox holds as soft-deleted (its ``deleted`` mark)."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT entity, id FROM records WHERE deleted = 1").fetchall()
    finally:
        conn.close()
    return {(str(e), i) for e, i in rows} | {(str(e), str(i)) for e, i in rows}


#: Link keys -> the entity they point at; a link to a soft-deleted record counts as none.
LINKS = {"org_id": "organizations", "person_id": "persons", "deal_id": "deals"}


def _unlink(doc: dict[str, Any], gone: set[tuple[str, Any]]) -> dict[str, Any]:
    return {k: (None if k in LINKS and (LINKS[k], v) in gone else v) for k, v in doc.items()}


def snapshot(db: Path) -> dict[str, list[str]]:
    """``{entity: sorted live records as JSON}`` of the sandbox's first account."""
    records: dict[str, list[dict[str, Any]]] = dump_db(db)["accounts"][0]["records"]
    gone = _deleted(db)
    out: dict[str, list[str]] = {}
    for entity, docs in records.items():
        live = sorted(
            json.dumps(_clean(_unlink(d, gone)), sort_keys=True)
            for d in docs
            if _live(d) and (entity, d.get("id")) not in gone
        )
        if live:
            out[entity] = live
    return out


def differences(after: dict[str, list[str]], before: dict[str, list[str]]) -> list[str]:
    """What differs, entity by entity (a few records each), for assertion messages."""
    lines: list[str] = []
    for entity in sorted(set(after) | set(before)):
        a, b = set(after.get(entity, [])), set(before.get(entity, []))
        if a == b:
            continue
        lines.append(f"{entity}: {len(a)} live records, expected {len(b)}")
        lines += [f"  extra   {x[:300]}" for x in sorted(a - b)[:3]]
        lines += [f"  missing {x[:300]}" for x in sorted(b - a)[:3]]
    return lines
