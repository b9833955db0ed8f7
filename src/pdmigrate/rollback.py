"""Rollback: reverse the audit log, report every record as reversed, kept or error.

:func:`rollback_migration` (async core, any client) executes the actions of
:func:`pdmigrate.rollback_plan.plan_rollback`:

* a record edited in Pipedrive after pdmigrate's last write (a later ``update_time``,
  or a note/activity pdmigrate did not create hanging on it; found with listings)
  is **kept** and reported unless ``force``;
* deletes go children first; a deleted record leaves ``id_map`` and its ops go back
  to ``pending``, so the next ``run`` creates it again (that is how ``--object`` /
  ``--records`` let an affected subset be fixed and re-run);
* restores PATCH the oldest old values back; ``matched_existing`` people only get the
  fields pdmigrate filled cleared, and leave ``id_map`` (the next run fills them again);
* schema items pdmigrate created are removed (``--schema``), never reused ones.

It is a run like ``run``: each action is an op (stage ``rollback_<kind>``) whose
intent is committed before the call and result after; a crashed rollback resumes by
running it again (in-flight deletes that already happened answer 404 and count as
done; its own in-flight writes are not mistaken for staff edits); a finished
rollback has nothing left to do, so running it twice is harmless. The dry run makes
read calls only and writes nothing, not even to ``state.db``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pdmigrate.delta_diff import Children, is_later
from pdmigrate.delta_fetch import fetch_children, fetch_records
from pdmigrate.errors import BudgetExhausted, FatalAPIError, RecordRejected
from pdmigrate.load import UPDATE_ENDPOINT
from pdmigrate.pipedrive.responses import NotFound
from pdmigrate.prepare import FIELD_CLIENT
from pdmigrate.rollback_plan import Action
from pdmigrate.state_ops import AuditEntry, Op, Ops, OpSpec

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient

__all__ = ["RollbackSummary", "rollback_migration"]

_DELETE = {
    "organization": "organizations.delete",
    "person": "persons.delete",
    "product": "products.delete",
    "deal": "deals.delete",
    "lead": "leads.delete",
    "activity": "activities.delete",
    "note": "notes.delete",
    "file": "files.delete",
    "organizationRelationship": "organizationRelationships.delete",
}
_PARENTS = frozenset({"person", "organization", "deal"})


@dataclass
class RollbackSummary:
    """What a rollback did, or (dry run) would do: every record in one list."""

    run_id: int | None
    status: str = "running"
    dry_run: bool = True
    deleted: list[dict[str, Any]] = field(default_factory=list)
    restored: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    schema: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``deleted``, ``restored``, ``kept``, ``errors`` are lists of records)."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "deleted": list(self.deleted),
            "restored": list(self.restored),
            "kept": list(self.kept),
            "errors": list(self.errors),
            "schema": list(self.schema),
            "counts": {
                "deleted": len(self.deleted),
                "restored": len(self.restored),
                "kept": len(self.kept),
                "errors": len(self.errors),
                "schema": len(self.schema),
            },
            "tokens": self.tokens,
        }


def _stage(action: Action) -> str:
    return f"rollback_{action.kind}"


async def rollback_migration(
    client: PipedriveClient,
    ops: Ops,
    actions: Sequence[Action],
    *,
    run_id: int | None,
    dry_run: bool = True,
    force: bool = False,
    stop: asyncio.Event | None = None,
) -> RollbackSummary:
    """Execute (or with ``dry_run`` only report) ``actions`` (see the module docstring)."""
    summary = RollbackSummary(run_id, dry_run=dry_run)
    known = {
        (str(s), str(k)): str(st)
        for s, k, st in ops.conn.execute(
            "SELECT stage, source_key, status FROM ops WHERE stage LIKE 'rollback_%'"
        )
    }
    todo = [a for a in actions if known.get((_stage(a), a.op_key)) not in ("done", "skipped")]
    in_flight = {a.op_key for a in todo if known.get((_stage(a), a.op_key)) == "started"}
    edited = await _edited(client, ops, [a for a in todo if a.kind != "schema"], in_flight)
    if not dry_run and run_id is not None:
        ops.register((OpSpec(_stage(a), a.entity, a.op_key, a.kind) for a in todo), run_id)
    deal_lines = await _deal_lines(client, todo)
    type_ids: dict[str, int] = {}
    if any(a.kind == "schema" and a.entity == "activity_type" for a in todo):
        type_ids = {str(t.get("key_string")): int(t["id"])
                    for t in await client.activity_types.list()}  # fmt: skip
    try:
        for action in todo:
            if stop is not None and stop.is_set():
                summary.status = "interrupted"
                break
            why = edited.get((action.entity, action.pipedrive_id))
            if why is not None and not force and action.kind in ("delete", "restore"):
                summary.kept.append({**action.describe(), "why": why})
                continue
            held = None if force else _schema_held(action, summary.kept)
            if held is not None:
                summary.kept.append({**action.describe(), "why": held})
                continue
            bucket = _bucket(summary, action)
            if dry_run:
                bucket.append(_describe(action))
                continue
            assert run_id is not None
            op = ops.get(_stage(action), action.op_key)
            assert op is not None
            try:
                await _execute(client, ops, op, action, run_id, deal_lines, type_ids)
            except (RecordRejected, FatalAPIError) as exc:
                if isinstance(exc, FatalAPIError) and exc.status in (None, 401, 402, 403):
                    raise
                ops.finish(op, "failed", error=exc.message[:500], run_id=run_id)
                summary.errors.append({**action.describe(), "error": exc.message[:200]})
                continue
            bucket.append(_describe(action))
    except BudgetExhausted:
        summary.status = "stopped"
    if summary.status == "running":
        summary.status = "attention" if summary.errors or summary.kept else "done"
    summary.tokens = client.stats.tokens_charged
    return summary


#: Fields Pipedrive refuses as null: deal times (cleared by the status change itself) and
#: links (the record pdmigrate linked is deleted by the same rollback, or stays linked).
_NO_NULL = frozenset({"won_time", "lost_time", "close_time", "org_id", "person_id", "deal_id"})


def restorable(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body restoring ``values``, without the nulls Pipedrive refuses."""
    return {k: v for k, v in values.items() if not (k in _NO_NULL and v is None)}


def _describe(action: Action) -> dict[str, Any]:
    out = action.describe()
    if action.kind in ("restore", "clear"):
        left = sorted(set(action.values) - set(restorable(action.entity, action.values)))
        if left:
            out["not_nulled"] = left
    return out


#: Schema items records depend on, by the entity of those records.
_HOLDS = {"stage": ("deal",), "pipeline": ("deal",), "activity_type": ("activity",)}


def _schema_held(action: Action, kept: Sequence[dict[str, Any]]) -> str | None:
    """Why a schema item stays: records it holds values of were kept (edited in Pipedrive)."""
    if action.kind != "schema" or not kept:
        return None
    owner = str(action.extra.get("entity") or "")
    needs = _HOLDS.get(action.entity) or ((owner, "lead") if owner == "deal" else (owner,))
    held = sorted({str(k.get("entity")) for k in kept} & set(needs))
    if not held:
        return None
    return (
        f"kept {held[0]} records (edited in Pipedrive) still use it; removing it would lose "
        "their values (use --force to remove anyway)"
    )


def _bucket(summary: RollbackSummary, action: Action) -> list[dict[str, Any]]:
    if action.kind == "delete":
        return summary.deleted
    if action.kind == "schema":
        return summary.schema
    return summary.restored


async def _edited(
    client: PipedriveClient, ops: Ops, actions: Sequence[Action], in_flight: set[str]
) -> dict[tuple[str, str], str]:
    """``{(entity, id): why}`` for records edited in Pipedrive after pdmigrate's last write."""
    times = {
        (str(e), str(p)): (t, str(o))
        for e, p, t, o in ops.conn.execute(
            "SELECT entity, pipedrive_id, update_time, origin FROM id_map"
        )
    }
    checked = [a for a in actions if a.kind in ("delete", "restore")]
    by_entity: dict[str, list[str]] = {}
    for a in checked:
        if (a.entity, a.pipedrive_id) in times:
            by_entity.setdefault(a.entity, []).append(a.pipedrive_id)
    current: dict[str, dict[str, dict[str, Any]]] = {}
    for entity, ids in sorted(by_entity.items()):
        current[entity] = await fetch_records(client, entity, ids)
    parents = any(a.entity in _PARENTS and a.kind == "delete" for a in checked)
    children = await fetch_children(client, ops) if parents else Children()
    out: dict[tuple[str, str], str] = {}
    for a in checked:
        if a.op_key in in_flight:
            continue  # our own write may have landed before the crash
        reasons: list[str] = []
        utime, _origin = times.get((a.entity, a.pipedrive_id), (None, ""))
        rec = current.get(a.entity, {}).get(a.pipedrive_id)
        if rec is not None and is_later(rec.get("update_time"), utime):
            reasons.append(f"edited in Pipedrive at {rec.get('update_time')}")
        if a.kind == "delete":
            kids = children.of(a.entity, a.pipedrive_id)
            if kids:
                reasons.append("has " + ", ".join(kids[:5]) + " not created by pdmigrate")
        if reasons:
            out[(a.entity, a.pipedrive_id)] = "; ".join(reasons)
    return out


async def _deal_lines(client: PipedriveClient, actions: Sequence[Action]) -> dict[str, int]:
    """``{deal product id: deal id}`` for the deal products to delete (listings by deal)."""
    lines = [a for a in actions if a.kind == "delete" and a.entity == "deal_product"]
    if not lines:
        return {}
    deals = sorted({int(a.pipedrive_id) for a in actions
                    if a.kind == "delete" and a.entity == "deal"})  # fmt: skip
    out: dict[str, int] = {}
    for i in range(0, len(deals), 100):
        async for row in client.deal_products.list_many(deals[i : i + 100]):
            out[str(row.get("id"))] = int(row.get("deal_id") or 0)
    return out


async def _execute(
    client: PipedriveClient,
    ops: Ops,
    op: Op,
    action: Action,
    run_id: int,
    deal_lines: dict[str, int],
    type_ids: dict[str, int],
) -> None:
    """Intent, call, result (with id map, ops reset and audit) for one action."""
    ops.mark_started([op.id], run_id)
    pid: int | str = (
        int(action.pipedrive_id) if action.pipedrive_id.isdigit() else (action.pipedrive_id)
    )
    audit: list[AuditEntry] = []
    utime: Any = None
    try:
        if action.kind == "delete":
            if action.entity == "deal_product":
                deal = deal_lines.get(action.pipedrive_id)
                if deal:
                    await client.deal_products.delete(deal, int(pid))
            else:
                await client.call(_DELETE[action.entity], path_params={"id": pid})
            audit.append(AuditEntry(action.entity, action.pipedrive_id, field="rollback:deleted",
                                    source_key=action.source_key, op_id=op.id))  # fmt: skip
        elif action.kind in ("restore", "clear"):
            resp = await client.call(
                UPDATE_ENDPOINT[action.entity],
                path_params={"id": pid},
                json=restorable(action.entity, action.values),
            )
            record = resp.data if isinstance(resp.data, dict) else {}
            utime = record.get("update_time")
            audit += [AuditEntry(action.entity, action.pipedrive_id, field=k, new_value=v,
                                 source_key=action.source_key, op_id=op.id)
                      for k, v in action.values.items()]  # fmt: skip
        else:
            await _remove_schema(client, action, type_ids)
            audit.append(AuditEntry(f"{action.extra.get('entity')}_schema", action.pipedrive_id,
                                    field=action.name, old_value="created",
                                    new_value="rollback:removed", op_id=op.id))  # fmt: skip
    except NotFound:
        pass  # already gone (a resumed rollback, or removed by hand): the goal is reached
    with ops.transaction():
        _after(ops, action, utime)
    ops.finish(op, "done", pipedrive_id=action.pipedrive_id, audit=audit, run_id=run_id)


async def _remove_schema(client: PipedriveClient, action: Action, type_ids: dict[str, int]) -> None:
    entity = str(action.extra.get("entity"))
    if action.entity == "stage":
        await client.stages.delete(int(action.pipedrive_id))
    elif action.entity == "pipeline":
        await client.pipelines.delete(int(action.pipedrive_id))
    elif action.entity == "activity_type":
        tid = type_ids.get(action.pipedrive_id)
        if tid is not None:
            await client.activity_types.delete(tid)
    elif action.entity == "option":
        helper = getattr(client, FIELD_CLIENT[entity])
        await helper.delete_options(action.pipedrive_id, action.extra.get("ids", []))
    else:
        helper = getattr(client, FIELD_CLIENT[entity])
        await helper.delete(action.pipedrive_id)


def _after(ops: Ops, action: Action, utime: Any) -> None:
    """State after a reversal: id map rows go, ops return to pending, field keys go."""
    conn = ops.conn
    if action.kind == "delete" or action.kind == "clear":
        conn.execute(
            "DELETE FROM id_map WHERE entity = ? AND pipedrive_id = ?",
            (action.entity, action.pipedrive_id),
        )
        conn.executemany(
            "UPDATE ops SET status = 'pending', pipedrive_id = NULL, error = NULL, attempts = 0 "
            "WHERE id = ? AND stage NOT LIKE 'delta_%'",
            [(i,) for i in action.op_ids],
        )
    elif action.kind == "restore":
        conn.execute(
            "UPDATE id_map SET content_hash = NULL, update_time = ? "
            "WHERE entity = ? AND pipedrive_id = ?",
            (None if utime is None else str(utime), action.entity, action.pipedrive_id),
        )
        # The reverted updates are to be sent again by the next delta (or run).
        conn.executemany(
            "UPDATE ops SET status = 'pending', error = NULL, attempts = 0 WHERE id = ?",
            [(i,) for i in action.op_ids],
        )
    elif action.entity != "option":
        conn.execute(
            "DELETE FROM field_keys WHERE entity = ? AND name = ? AND key = ?",
            (action.extra.get("entity"), action.name, action.pipedrive_id),
        )
