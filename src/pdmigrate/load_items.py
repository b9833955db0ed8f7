"""Payloads -> the ordered work items of a run (pure).

* ``update_of`` payloads (fields that belong to another record: health funds, fee
  totals, invoice fields...) are folded into the record they update when it is
  written in this run, so a record costs one create, not a create and a PATCH;
  the first value of a field wins. When the record is not among the payloads the
  item stays an ``update`` (a PATCH of the mapped record).
* decisions.csv merges fold a duplicate into the kept record; skips become
  ``skipped`` items; people already in the account become ``fill`` items (only
  their empty fields are written).
* organizations with a ``parent`` link get an ``org_parent`` item (the
  organizationRelationships call) after every organization exists.

:class:`RefIndex` resolves a link (``Ref(to, key)``) to the source key of the
record it points at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.plan.model import SOURCE_ID_FIELD, Plan

__all__ = ["STAGE_OF", "Item", "RefIndex", "build_items"]

#: Payload entity -> the stage that writes it.
STAGE_OF: dict[str, str] = {
    "organization": "organization",
    "person": "person",
    "product": "product",
    "deal": "deal",
    "deal_product": "deal_product",
    "lead": "lead",
    "activity": "activity",
    "note": "note",
    "file": "file",
}
#: Entities that carry the Source ID custom field.
SID_ENTITIES = frozenset({"person", "organization", "deal", "product"})


@dataclass
class Item:
    """One write: stage, the payload to write, and how (create, update, fill, link, skip)."""

    stage: str
    payload: Payload
    kind: str = "create"
    seq: int = 0
    note: str = ""
    target: str | None = None  # update items: the source key of the record they change

    @property
    def source_key(self) -> str:
        """The op's source key."""
        return self.payload.source_key

    @property
    def entity(self) -> str:
        """The Pipedrive entity written."""
        return "organization" if self.stage == "org_parent" else self.payload.entity


def _suffix(payload: Payload) -> tuple[str, str]:
    """(object, key) of a source key ``profile/object/key``."""
    parts = payload.source_key.split("/", 2)
    if len(parts) == 3:
        return parts[1], parts[2]
    return payload.object, payload.source_key


@dataclass
class RefIndex:
    """Where links point: (entity, object, key) and (entity, key) -> source key."""

    exact: dict[tuple[str, str, str], str] = field(default_factory=dict)
    by_key: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    merges: Mapping[str, str] = field(default_factory=dict)

    def add(self, payload: Payload) -> None:
        """Index a record payload."""
        obj, key = _suffix(payload)
        self.exact[(payload.entity, obj, key)] = payload.source_key
        if payload.object != obj:
            self.exact[(payload.entity, payload.object, key)] = payload.source_key
        self.by_key.setdefault((payload.entity, key), []).append(payload.source_key)

    def source_key(self, ref: Ref, entity: str) -> str | None:
        """The source key of the ``entity`` record ``ref`` points at, or None."""
        found = self.exact.get((entity, ref.to, ref.key))
        if found is None:
            candidates = self.by_key.get((entity, ref.key), [])
            found = candidates[0] if len(candidates) == 1 else None
        if found is None:
            return None
        return self.merges.get(found, found)


def _fold(base: Payload, extra: Payload) -> Payload:
    fields = dict(base.fields)
    for k, v in extra.fields.items():
        if fields.get(k) in (None, "", []) and v not in (None, "", []):
            fields[k] = v
    links = dict(base.links)
    for k, v in extra.links.items():
        links.setdefault(k, v)
    return replace(base, fields=fields, links=links)


def build_items(payloads: Iterable[Payload], plan: Plan) -> tuple[list[Item], RefIndex]:
    """Work items in registration order, and the link index (see the module docstring)."""
    records: dict[tuple[str, str], Payload] = {}
    updates: list[Payload] = []
    order: list[tuple[str, str]] = []
    index = RefIndex(merges=plan.merges)
    for p in payloads:
        if p.entity not in STAGE_OF:
            continue  # users, pipelines: target preparation handles them
        if p.update_of is not None:
            updates.append(p)
            continue
        key = (p.entity, p.source_key)
        if key in records:
            records[key] = _fold(records[key], p)
            continue
        records[key] = p
        order.append(key)
        index.add(p)
    items_by_key: dict[tuple[str, str], Item] = {}
    leftovers: list[Item] = []
    for upd in updates:
        assert upd.update_of is not None
        target = index.source_key(upd.update_of, upd.entity)
        if target is not None and (upd.entity, target) in records:
            records[(upd.entity, target)] = _fold(records[(upd.entity, target)], upd)
        else:
            note = "" if target is not None else f"record {upd.update_of.to}/{upd.update_of.key}"
            leftovers.append(Item(STAGE_OF[upd.entity], upd, "update", note=note, target=target))
    # Duplicates decided "merge" fold into the kept record.
    for dup, kept in plan.merges.items():
        for entity in ("person", "organization"):
            if (entity, dup) in records and (entity, kept) in records:
                records[(entity, kept)] = _fold(records[(entity, kept)], records[(entity, dup)])
    items: list[Item] = []
    for seq, key in enumerate(order):
        p = records[key]
        if p.entity in SID_ENTITIES and not p.fields.get(SOURCE_ID_FIELD):
            p = replace(p, fields={**p.fields, SOURCE_ID_FIELD: p.source_key})
        if p.entity in ("activity", "note"):
            p = _with_marker(p)
        kind = "create"
        note = ""
        if p.source_key in plan.skips:
            kind, note = "skip", "decisions.csv: skip"
        elif p.source_key in plan.merges and p.entity in ("person", "organization"):
            kind, note = "skip", f"merged into {plan.merges[p.source_key]}"
        elif p.entity == "person" and p.source_key in plan.existing:
            kind = "fill"
        item = Item(STAGE_OF[p.entity], p, kind, seq, note)
        items.append(item)
        items_by_key[key] = item
        parent = p.links.get("parent")
        if p.entity == "organization" and isinstance(parent, Ref) and kind == "create":
            items.append(Item("org_parent", p, "link", seq))
    for n, item in enumerate(leftovers):
        item.seq = len(order) + n
        items.append(item)
    return items, index


def _with_marker(p: Payload) -> Payload:
    body_key = "note" if p.entity == "activity" else "content"
    text = str(p.fields.get(body_key) or "")
    if text.startswith("[pdmigrate src="):
        return p
    marker = f"[pdmigrate src={p.source_key}]"
    return replace(p, fields={**p.fields, body_key: f"{marker}\n{text}" if text else marker})


def summarise_missing(items: Iterable[Item]) -> dict[str, Any]:
    """Counts of items per stage and kind (for status / dry runs)."""
    out: dict[str, dict[str, int]] = {}
    for it in items:
        out.setdefault(it.stage, {}).setdefault(it.kind, 0)
        out[it.stage][it.kind] += 1
    return out
