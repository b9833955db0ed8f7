"""What changed, and was it touched by someone else? Pure helpers for delta and rollback.

* :func:`field_patch` compares a request body (what the mapping says now) with the
  record Pipedrive holds and returns only the fields that differ, with the old
  values (for the audit log). Only keys present in the body are compared, so fields
  the mapping does not own are never touched.
* :func:`is_later` tells whether a record's ``update_time`` is later than the one
  pdmigrate's own last write returned (v1 and v2 time formats both accepted).
* :class:`Children` indexes notes and activities by the record they hang on, so a
  record with a child pdmigrate did not create counts as edited in Pipedrive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["NOT_COMPARED", "Children", "field_patch", "is_later", "parse_time", "same"]

#: Body keys delta never rewrites: visibility is the plan's policy, add_time is the
#: source's creation date (not editable after the fact), participants are links.
NOT_COMPARED = frozenset({"visible_to", "add_time", "participants"})
_TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _item_value(item: Any) -> Any:
    return item.get("value") if isinstance(item, Mapping) else item


def same(want: Any, have: Any) -> bool:
    """True when the value Pipedrive holds (``have``) says what ``want`` says."""
    if _empty(want):
        return _empty(have)
    if isinstance(want, bool) or isinstance(have, bool):
        return bool(want) == bool(have) and not _empty(have)
    a, b = _number(want), _number(have)
    if a is not None and b is not None:
        return abs(a - b) < 1e-9
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return "value" in want and same(want["value"], have)
        return all(same(v, have.get(k)) for k, v in want.items() if k not in ("primary", "label"))
    if isinstance(want, list | tuple):
        if not isinstance(have, list | tuple):
            return False
        left = sorted(str(_item_value(x)) for x in want)
        right = sorted(str(_item_value(x)) for x in have)
        return left == right
    if isinstance(have, Mapping):
        return same(want, have.get("value"))
    w, h = str(want).strip(), "" if have is None else str(have).strip()
    if _TIME.match(w) and _TIME.match(h):
        return w[:5].zfill(5) == h[:5].zfill(5)
    return w == h


def field_patch(
    body: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(patch, old)``: the body's fields that differ from ``current``, and their old values.

    ``custom_fields`` are compared key by key; the patch carries only changed keys.
    """
    patch: dict[str, Any] = {}
    old: dict[str, Any] = {}
    for key, want in body.items():
        if key in NOT_COMPARED:
            continue
        if key == "custom_fields" and isinstance(want, Mapping):
            have_all = current.get("custom_fields") or {}
            changed = {k: v for k, v in want.items() if not same(v, have_all.get(k))}
            if changed:
                patch[key] = changed
                old[key] = {k: have_all.get(k) for k in changed}
            continue
        if not same(want, current.get(key)):
            patch[key] = want
            old[key] = current.get(key)
    return patch, old


def parse_time(value: Any) -> datetime | None:
    """An API time (``2024-03-05T09:30:00Z`` or ``2024-03-05 09:30:00``) as aware UTC."""
    if not value:
        return None
    text = str(value).strip().replace(" ", "T")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def is_later(current: Any, ours: Any) -> bool:
    """True when ``current`` (the record's update_time now) is after ``ours`` (our last write)."""
    now, then = parse_time(current), parse_time(ours)
    if now is None or then is None:
        return False
    return now > then


#: Child record link keys -> the parent entity they point at.
_CHILD_LINKS = {"person_id": "person", "deal_id": "deal", "org_id": "organization"}


@dataclass
class Children:
    """Notes and activities per parent record, split by who created them."""

    foreign: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        activities: Iterable[Mapping[str, Any]],
        notes: Iterable[Mapping[str, Any]],
        ours: Mapping[str, set[str]],
    ) -> Children:
        """Index children whose id is not in ``ours`` (``{"activity"|"note": {ids}}``)."""
        out = cls()
        for kind, rows in (("activity", activities), ("note", notes)):
            mine = ours.get(kind, set())
            for row in rows:
                if str(row.get("id")) in mine:
                    continue
                parents: set[tuple[str, int]] = set()
                for link, entity in _CHILD_LINKS.items():
                    value = row.get(link)
                    if isinstance(value, Mapping):
                        value = value.get("value") or value.get("id")
                    if isinstance(value, int) and not isinstance(value, bool):
                        parents.add((entity, value))
                for p in row.get("participants") or []:
                    pid = p.get("person_id") if isinstance(p, Mapping) else None
                    if isinstance(pid, int):
                        parents.add(("person", pid))
                for parent in parents:
                    out.foreign.setdefault(parent, []).append(f"{kind} {row.get('id')}")
        return out

    def of(self, entity: str, pipedrive_id: Any) -> list[str]:
        """Children of this record that pdmigrate did not create (``["note 12", ...]``)."""
        try:
            key = (entity, int(pipedrive_id))
        except (TypeError, ValueError):
            return []
        return self.foreign.get(key, [])
