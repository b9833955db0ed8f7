"""Which writes a rollback reverses: the audit log read back into actions. Pure over state.db.

:func:`plan_rollback` selects the audit rows of the chosen runs (``--run ID`` or
``--all`` runs that wrote; rollback runs themselves are never reversed), optionally
narrowed to a source object (``--object``) or a set of source keys (``--records``),
and turns them into :class:`Action` s in reverse dependency order:

1. ``delete``: records the runs created (files, notes, activities, leads, deal products,
   deals, products, persons, parent links, organizations);
2. ``restore``: fields the runs updated on records they did not create, back to the
   oldest old value in the selection; people matched to existing account records
   (``matched_existing``) are never deleted, only the fields pdmigrate filled are
   cleared (``clear``);
3. ``schema`` (``--schema``, whole runs only): stages, pipelines, activity types and
   custom fields pdmigrate created (``field_keys`` origin ``created``), and options it
   added to reused fields. Reused items are never touched.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from pdmigrate.state_ops import Ops

__all__ = ["DELETE_ORDER", "Action", "plan_rollback", "selected_runs"]

#: Deletion order: children before the records they hang on.
DELETE_ORDER = (
    "file",
    "note",
    "activity",
    "lead",
    "deal_product",
    "deal",
    "product",
    "person",
    "organizationRelationship",
    "organization",
)
SCHEMA_ORDER = ("stage", "pipeline", "activity_type", "option", "field")
_FIELD_ENTITIES = ("person", "organization", "deal", "product")


@dataclass
class Action:
    """One reversal: delete a record, restore/clear fields, or remove a schema item."""

    kind: str  # delete | restore | clear | schema
    entity: str
    pipedrive_id: str
    source_key: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    op_ids: list[int] = field(default_factory=list)
    name: str | None = None  # schema items: the field / pipeline / stage / type name
    extra: dict[str, Any] = field(default_factory=dict)
    last_audit: int = 0

    @property
    def op_key(self) -> str:
        """The key of this action's op (unique per record and per audit position)."""
        if self.kind in ("restore", "clear"):
            return f"{self.entity}:{self.pipedrive_id}:{self.last_audit}"
        if self.kind == "schema":
            return f"{self.entity}:{self.pipedrive_id}:{self.name}"
        return f"{self.entity}:{self.pipedrive_id}"

    def describe(self) -> dict[str, Any]:
        """JSON-ready identity of the record this action is about."""
        out: dict[str, Any] = {"entity": self.entity, "pipedrive_id": self.pipedrive_id}
        if self.source_key:
            out["source_key"] = self.source_key
        if self.name:
            out["name"] = self.name
        if self.kind in ("restore", "clear"):
            out["fields"] = sorted(self.values)
        return out


def selected_runs(ops: Ops, run_id: int | None, all_runs: bool) -> list[int]:
    """The runs whose writes are reversed (never rollback runs)."""
    rows = ops.conn.execute("SELECT id, kind FROM runs ORDER BY id").fetchall()
    writing = [int(i) for i, kind in rows if kind != "rollback"]
    if all_runs:
        return writing
    return [run_id] if run_id is not None and run_id in writing else []


def _loads(text: Any) -> Any:
    return None if text is None else json.loads(text)


def plan_rollback(
    ops: Ops,
    runs: Sequence[int],
    *,
    account: str,
    objects: Collection[str] = (),
    records: Collection[str] = (),
    schema: bool = False,
) -> list[Action]:
    """Every reversal for ``runs`` (see the module docstring), in execution order."""
    if not runs:
        return []
    marks = ", ".join("?" for _ in runs)
    # Audit rows of an update whose call Pipedrive refused (op failed) changed nothing.
    rows = ops.conn.execute(
        "SELECT a.id, a.op_id, a.source_object, a.source_key, a.entity, a.pipedrive_id, "
        "a.field, a.old_value, a.new_value FROM audit a LEFT JOIN ops o ON o.id = a.op_id "
        f"WHERE a.run_id IN ({marks}) AND NOT (a.field IS NOT NULL AND o.status = 'failed') "
        "ORDER BY a.id",
        list(runs),
    ).fetchall()
    origin = {
        (str(e), str(p)): str(o)
        for e, p, o in ops.conn.execute("SELECT entity, pipedrive_id, origin FROM id_map")
    }

    def wanted(obj: Any, key: Any, entity: str) -> bool:
        if objects and str(obj) not in objects and entity not in objects:
            return False
        return not (records and str(key) not in records)

    created: dict[tuple[str, str], Action] = {}
    updates: dict[tuple[str, str], Action] = {}
    options: list[Action] = []
    for aid, op_id, obj, key, entity, pid, fld, old, new in rows:
        if pid is None or fld == "deleted":
            continue
        if entity.endswith("_schema"):
            value = _loads(new)
            if isinstance(value, dict) and "options_added" in value and not (objects or records):
                options.append(Action("schema", "option", str(pid), name=str(fld),
                                      extra={"entity": entity[: -len("_schema")],
                                             "labels": list(value["options_added"])}))  # fmt: skip
            continue
        if not wanted(obj, key, entity):
            continue
        ident = (str(entity), str(pid))
        if fld is None:
            act = created.setdefault(ident, Action("delete", entity, str(pid), key))
            if op_id is not None:
                act.op_ids.append(int(op_id))
            act.last_audit = int(aid)
            continue
        kind = "clear" if origin.get(ident) == "matched_existing" else "restore"
        act = updates.setdefault(ident, Action(kind, entity, str(pid), key))
        old_value = _loads(old)
        if fld == "custom_fields" and isinstance(old_value, dict):
            have = act.values.setdefault("custom_fields", {})
            for ck, cv in old_value.items():
                have.setdefault(ck, cv)
        else:
            act.values.setdefault(str(fld), old_value)
        if op_id is not None:
            act.op_ids.append(int(op_id))
        act.last_audit = int(aid)
    out: list[Action] = []
    for entity in DELETE_ORDER:
        out += [a for (e, _p), a in created.items() if e == entity]
    out += [a for ident, a in updates.items() if ident not in created]
    if schema and not (objects or records):
        out += _schema_actions(ops, runs, account, options)
    return out


def _schema_actions(
    ops: Ops, runs: Sequence[int], account: str, options: list[Action]
) -> list[Action]:
    keys = ops.field_keys(account)
    run_of = {
        (str(e), str(n)): r
        for e, n, r in ops.conn.execute(
            "SELECT entity, name, run_id FROM field_keys WHERE account = ?", (account,)
        )
    }
    chosen = set(runs)
    by_kind: dict[str, list[Action]] = {k: [] for k in SCHEMA_ORDER}
    for (entity, name), fk in keys.items():
        if fk.origin != "created" or run_of.get((entity, name)) not in chosen:
            continue
        kind = entity if entity in ("stage", "pipeline", "activity_type") else "field"
        act = Action("schema", kind, fk.key, name=name, extra={"entity": entity})
        by_kind[kind].append(act)
    for opt in options:
        owner = keys.get((opt.extra["entity"], opt.name or ""))
        if owner is None or owner.origin == "created":
            continue  # the whole field goes (or is unknown): no option to remove on its own
        ids = [owner.options[label] for label in opt.extra["labels"] if label in owner.options]
        if ids:
            opt.extra["ids"] = ids
            by_kind["option"].append(opt)
    return [a for kind in SCHEMA_ORDER for a in by_kind[kind]]
