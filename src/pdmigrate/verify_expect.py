"""What each migrated record should hold: bodies recomputed from the source, field by field.

:func:`expectations` rebuilds, for every record op that is ``done``, the request body
the engine builds from the payload (the same :func:`~pdmigrate.load_body.build_body`,
the account's ``field_keys``, links resolved through ``id_map``) and splits it into
fields (:func:`~pdmigrate.sample_diff.expected_fields`). :func:`source_values` finds
each field's source cell text through the mapping's field lines and the row at the
payload's ``file:line``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pdmigrate.load_body import ABSENT, NATIVE, BodyContext, Uuid, build_body
from pdmigrate.load_items import Item, RefIndex
from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.plan.model import Plan
from pdmigrate.records import Row
from pdmigrate.sample_diff import expected_fields
from pdmigrate.state_ops import Ops

__all__ = [
    "RECORD_STAGES",
    "Expected",
    "ParentLink",
    "expectations",
    "parent_links",
    "source_values",
]

#: Stages that write a record of their own (compared field by field).
RECORD_STAGES = (
    "organization",
    "person",
    "product",
    "deal",
    "deal_product",
    "lead",
    "activity",
    "note",
    "file",
)
#: Body keys kept though not in the endpoint's native list (custom fields, pipeline, stage).
_KEEP = frozenset({"custom_fields", "pipeline_id", "stage_id", "type"})


@dataclass
class Expected:
    """One migrated record: its item, Pipedrive id and expected fields."""

    item: Item
    pipedrive_id: str
    fields: dict[str, tuple[tuple[str, ...] | None, Any]]


def _resolver(index: RefIndex, ids: Mapping[tuple[str, str], str]) -> Any:
    def resolve(ref: Ref, entity: str) -> int | str:
        key = index.source_key(ref, entity)
        if key is None:
            return ABSENT
        got = ids.get((entity, key))
        if got is None:
            return "its record is not written"
        return int(got) if got.isdigit() else Uuid(got)

    return resolve


def expectations(
    items: Iterable[Item],
    index: RefIndex,
    ops: Ops,
    plan: Plan,
    *,
    account: str,
    currency: str,
) -> list[Expected]:
    """Every ``done`` create op's record with the fields it should hold."""
    keys = ops.field_keys(account)
    ids = ops.id_map()
    done = {
        (str(stage), str(key)): str(pid)
        for stage, key, pid in ops.conn.execute(
            "SELECT stage, source_key, pipedrive_id FROM ops WHERE status = 'done' "
            "AND kind = 'create' AND pipedrive_id IS NOT NULL"
        )
    }
    ctx = BodyContext(
        keys=keys,
        owners=plan.owners,
        currency=currency,
        resolve=_resolver(index, ids),
        visible_to=plan.visible_to,
    )
    out: list[Expected] = []
    for item in items:
        if item.kind != "create" or item.stage not in RECORD_STAGES:
            continue
        pid = done.get((item.stage, item.source_key))
        if pid is None:
            continue
        body = build_body(item.payload, ctx)
        shaped = dict(body.body)
        if item.stage == "deal_product":
            shaped.pop("deal_id", None)
        if item.stage == "file":
            shaped = {k: v for k, v in shaped.items() if k.endswith("_id")}
        elif item.entity in NATIVE:  # keys the endpoint does not take are not stored
            shaped = {k: v for k, v in shaped.items() if k in NATIVE[item.entity] or k in _KEEP}
        field_entity = "deal" if item.entity == "lead" else item.entity
        fields = expected_fields(shaped, body.dropped, keys, field_entity)
        out.append(Expected(item, pid, fields))
    return out


@dataclass(frozen=True)
class ParentLink:
    """One organization's parent link written by an ``org_parent`` op."""

    item: Item
    child_id: int
    parent_id: int


def parent_links(items: Iterable[Item], index: RefIndex, ops: Ops) -> list[ParentLink]:
    """Every ``done`` org_parent op's child and parent organization ids."""
    ids = ops.id_map()
    done = {
        str(key)
        for (key,) in ops.conn.execute(
            "SELECT source_key FROM ops WHERE stage = 'org_parent' AND status = 'done'"
        )
    }
    resolve = _resolver(index, ids)
    out: list[ParentLink] = []
    for item in items:
        parent = item.payload.links.get("parent")
        if item.stage != "org_parent" or item.source_key not in done:
            continue
        if not isinstance(parent, Ref):
            continue
        child = ids.get(("organization", item.source_key))
        got = resolve(parent, "organization")
        if child is not None and child.isdigit() and isinstance(got, int):
            out.append(ParentLink(item, int(child), got))
    return out


def _cell(row: Row, column: str, headers: Mapping[str, str]) -> str:
    if column in row.values:
        return row.get(column)
    for a, b in headers.items():
        if b == column and a in row.values:
            return row.get(a)
        if a == column and b in row.values:
            return row.get(b)
    return ""


def source_values(
    mapping: MappingFile, rows: Mapping[str, Row], payload: Payload
) -> dict[str, Any]:
    """``{field name: source value}`` of a payload (the cells its field lines read)."""
    out: dict[str, Any] = {}
    obj = next((o for o in mapping.objects if o.id == payload.object), None)
    row = rows.get(payload.where)
    if obj is not None and row is not None:
        headers: dict[str, str] = {}
        for name in obj.source:
            src = mapping.sources.get(name)
            if src is not None:
                headers.update(src.headers)
        for line in obj.fields:
            if line.field in payload.fields:
                cells = [_cell(row, c, headers) for c in line.columns]
                out.setdefault(line.field, " ".join(c for c in cells if c).strip())
        for name, link in obj.links.items():
            if link.columns:
                cells = [_cell(row, c, headers) for c in link.columns]
                out.setdefault(name, " ".join(c for c in cells if c).strip())
        spec = obj.activity
        if spec is not None:  # an activity's timing and status read their own columns
            columns: dict[str, list[str | None]] = {
                "due_date": [spec.due_date],
                "due_time": [spec.due_time],
                "duration": [spec.duration],
                "done": [spec.status_column],
                "location": list(spec.location),
            }
            for name, cols in columns.items():
                cells = [_cell(row, c, headers) for c in cols if c]
                if name in payload.fields and any(cells):
                    out.setdefault(name, " ".join(c for c in cells if c).strip())
    for name, value in payload.fields.items():
        out.setdefault(name, value)
    for name, refs in payload.links.items():
        first = refs if isinstance(refs, Ref) else (refs[0] if refs else None)
        if first is not None:
            out.setdefault(name, first.key)
    return out


def rows_by_where(rows: Mapping[str, list[Row]]) -> dict[str, Row]:
    """Every row by ``file:line``."""
    return {r.where: r for group in rows.values() for r in group}
