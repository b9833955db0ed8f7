"""Delta pick-up during cutover: write only what changed in fresh exports.

:func:`delta_migration` (async core, any client) takes the payloads of the fresh
exports (confirmed mapping applied, plan decisions folded in) and sorts every record
against ``id_map`` by source key and content hash:

* **new** (no op yet, or one never finished): created through the normal engine
  (:func:`pdmigrate.pipeline.run_migration`), with its links, markers and Source ID; a
  new person whose email belongs to a person already in the account (added by staff
  during cutover) fills that person instead, as ``plan`` does for the first run;
* **changed** (hash differs): only the fields that differ from what Pipedrive holds,
  and only fields the mapping owns (the body's keys), are PATCHed; old values go to
  ``audit`` so rollback can restore them; the id map gets the new hash and the
  ``update_time`` the write returned;
* **unchanged**: nothing; **gone** from the source: reported, deleted only with
  ``delete_missing``.

A changed (or gone) record is **edited in Pipedrive** when its ``update_time`` is
later than the one pdmigrate's last write returned, or when a note or activity that
pdmigrate did not create hangs on it. Both are found with listings (``ids=`` list
calls, one activity and one note listing), never per-record gets. Edited records are
kept and listed unless ``overwrite_edited``.

Each update is an op (stage ``delta_<stage>``, key ``<source key>@<new hash>``):
intent before the call, result after, so a crashed delta resumes without redoing a
finished write and without mistaking its own in-flight write for a staff edit. A
second delta on the same exports finds every hash equal and writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pdmigrate.delta_diff import Children, field_patch, is_later
from pdmigrate.delta_fetch import IdRow, fetch_children, fetch_records, id_rows, match_new_people
from pdmigrate.errors import BudgetExhausted, FatalAPIError, RecordRejected, RetriableError
from pdmigrate.load import UPDATE_ENDPOINT, Loader
from pdmigrate.load_body import build_body, content_hash
from pdmigrate.load_items import STAGE_OF, Item, build_items
from pdmigrate.mapping.payload import Payload
from pdmigrate.plan.model import Plan
from pdmigrate.prepare import prepare_target
from pdmigrate.state_ops import AuditEntry, Op, Ops, OpSpec

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient

__all__ = ["RECORD_STAGES", "DeltaSummary", "classify", "delta_migration"]

#: Stages whose records delta compares and updates (the others are only created).
RECORD_STAGES = ("organization", "person", "product", "deal", "lead", "activity", "note")
#: Entities with children (notes, activities) that staff may add.
PARENTS = frozenset({"person", "organization", "deal"})
_DELETE_ENDPOINT = {
    "organization": "organizations.delete",
    "person": "persons.delete",
    "product": "products.delete",
    "deal": "deals.delete",
    "lead": "leads.delete",
    "activity": "activities.delete",
    "note": "notes.delete",
}


@dataclass
class DeltaSummary:
    """What a delta did (the ``--json`` summary of ``delta``)."""

    run_id: int
    status: str = "running"
    dry_run: bool = False
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    matched_existing: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    gone: list[dict[str, Any]] = field(default_factory=list)
    edited: list[dict[str, Any]] = field(default_factory=list)
    fields: dict[str, int] = field(default_factory=dict)
    tokens: int = 0
    requests: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "created": dict(self.created),
            "updated": dict(self.updated),
            "deleted": dict(self.deleted),
            "unchanged": self.unchanged,
            "matched_existing": self.matched_existing,
            "failed": list(self.failed),
            "gone": list(self.gone),
            "edited": list(self.edited),
            "fields": dict(self.fields),
            "tokens": self.tokens,
            "requests": self.requests,
        }


@dataclass
class Sorted:
    """Records sorted against the id map."""

    new: list[Item] = field(default_factory=list)
    changed: list[tuple[Item, IdRow, str]] = field(default_factory=list)  # (item, row, new hash)
    unchanged: int = 0
    gone: list[IdRow] = field(default_factory=list)


def classify(items: Iterable[Item], ops: Ops) -> Sorted:
    """Sort work items into new, changed (with the new hash), unchanged and gone."""
    out = Sorted()
    status = {
        (str(s), str(k)): str(st)
        for s, k, st in ops.conn.execute("SELECT stage, source_key, status FROM ops")
    }
    rows = id_rows(ops)
    seen: set[tuple[str, str]] = set()
    for item in items:
        seen.add((item.entity, item.source_key))
        op_status = status.get((item.stage, item.source_key))
        if op_status is None or op_status in ("pending", "started"):
            if item.kind != "skip":
                out.new.append(item)
            continue
        if item.stage not in RECORD_STAGES or item.kind != "create":
            out.unchanged += 1
            continue
        row = rows.get((item.entity, item.source_key))
        if row is None or row.origin != "created":
            out.unchanged += 1
            continue
        digest = content_hash(item.payload)
        if digest == row.content_hash:
            out.unchanged += 1
        else:
            out.changed.append((item, row, digest))
    for key, row in rows.items():
        if row.origin == "created" and row.entity in RECORD_STAGES and key not in seen:
            out.gone.append(row)
    return out


def _count(bucket: dict[str, int], entity: str) -> None:
    bucket[entity] = bucket.get(entity, 0) + 1


async def delta_migration(
    client: PipedriveClient,
    ops: Ops,
    *,
    plan: Plan,
    payloads: Iterable[Payload],
    run_id: int,
    account: str,
    currency: str = "USD",
    attachments: Any = None,
    dry_run: bool = False,
    overwrite_edited: bool = False,
    delete_missing: bool = False,
    stop: asyncio.Event | None = None,
) -> DeltaSummary:
    """Create the new, update the changed, report the gone (see the module docstring)."""
    payloads = list(payloads)
    summary = DeltaSummary(run_id, dry_run=dry_run)
    items, index = build_items(payloads, plan)
    found = classify(items, ops)
    matched = await match_new_people(client, found.new, ops)
    if matched:  # staff added them during cutover: fill those people, do not duplicate them
        plan = replace(plan, existing={**plan.existing, **matched})
        items, index = build_items(payloads, plan)
        found = classify(items, ops)
    summary.matched_existing = len(matched)
    summary.unchanged = found.unchanged
    for row in found.gone:
        summary.gone.append(
            {"entity": row.entity, "source_key": row.source_key, "pipedrive_id": row.pipedrive_id}
        )
    # Which changed (or to-be-deleted) records were edited in Pipedrive since our last write?
    started = {
        op.source_key
        for stage in {f"delta_{i.stage}" for i, _r, _h in found.changed}
        for op in ops.of_stage(stage, ["started"])
    }
    targets: list[tuple[str, IdRow]] = [(r.entity, r) for _i, r, _h in found.changed]
    if delete_missing:
        targets += [(r.entity, r) for r in found.gone]
    current: dict[str, dict[str, dict[str, Any]]] = {}
    for entity in sorted({e for e, _ in targets}):
        ids = [r.pipedrive_id for e, r in targets if e == entity]
        current[entity] = await fetch_records(client, entity, ids)
    children = (
        await fetch_children(client, ops) if any(e in PARENTS for e, _ in targets) else Children()
    )

    def edited_why(row: IdRow, own_write: bool) -> str | None:
        rec = current.get(row.entity, {}).get(row.pipedrive_id)
        if rec is None:
            return "not found in Pipedrive (deleted there)"
        reasons: list[str] = []
        if not own_write and is_later(rec.get("update_time"), row.update_time):
            reasons.append(f"updated in Pipedrive at {rec.get('update_time')}")
        kids = children.of(row.entity, row.pipedrive_id)
        if kids:
            reasons.append("has " + ", ".join(kids[:5]) + " not created by pdmigrate")
        return "; ".join(reasons) or None

    # -- new records: the normal engine (the loader, stage by stage) ----------------------
    keys = ops.field_keys(account)
    if found.new and not dry_run:
        ops.register(
            (OpSpec(i.stage, i.entity, i.source_key, i.kind, "", i.payload.where, i.seq)
             for i in found.new),
            run_id,
        )  # fmt: skip
        keys = (await prepare_target(client, ops, plan.target, account=account, run_id=run_id)).keys
    loader = Loader(
        client=client, ops=ops, plan=plan, keys=keys, index=index, run_id=run_id,
        currency=currency, attachments=attachments, stop=stop or asyncio.Event(),
    )  # fmt: skip
    if found.new:
        if dry_run:
            for item in found.new:
                _count(summary.created, item.entity)
        else:
            try:
                await _create_new(loader, found.new, ops, run_id, summary)
            except BudgetExhausted:
                summary.status = "stopped"
            if summary.status == "stopped" or loader.stop.is_set():
                summary.status = "stopped" if summary.status == "stopped" else "interrupted"
                _stats(summary, client)
                return summary

    # -- changed records: only the fields that differ --------------------------------------
    ctx = loader._ctx()
    todo: list[tuple[Item, IdRow, str, dict[str, Any], dict[str, Any]]] = []
    for item, row, digest in found.changed:
        op_key = f"{item.source_key}@{digest}"
        why = edited_why(row, own_write=op_key in started)
        if why is not None and not overwrite_edited:
            summary.edited.append(
                {"entity": row.entity, "source_key": row.source_key,
                 "pipedrive_id": row.pipedrive_id, "where": item.payload.where, "why": why}
            )  # fmt: skip
            continue
        rec = current.get(row.entity, {}).get(row.pipedrive_id)
        if rec is None:
            summary.failed.append(
                {"stage": item.stage, "source_key": item.source_key, "where": item.payload.where,
                 "error": "the record is no longer in Pipedrive"}
            )  # fmt: skip
            continue
        built = build_body(item.payload, ctx)
        patch, old = field_patch(built.body, rec)
        if not patch:
            if op_key in started and not dry_run:
                # Our crashed write had landed: record its result now.
                done = ops.get(f"delta_{item.stage}", op_key)
                assert done is not None
                ops.finish(done, "done", pipedrive_id=row.pipedrive_id, run_id=run_id,
                           id_map=(item.entity, item.source_key, row.pipedrive_id, digest,
                                   str(rec.get("update_time") or "") or None))  # fmt: skip
                _count(summary.updated, item.entity)
                continue
            if not dry_run:
                _set_hash(ops, row, digest)
            summary.unchanged += 1
            continue
        for k in patch:
            summary.fields[k] = summary.fields.get(k, 0) + 1
        todo.append((item, row, digest, patch, old))
    if dry_run:
        for item, _row, _d, _p, _o in todo:
            _count(summary.updated, item.entity)
        if delete_missing:
            for row in found.gone:
                _count(summary.deleted, row.entity)
        summary.status = "done"
        _stats(summary, client)
        return summary
    ops.register(
        (OpSpec(f"delta_{i.stage}", i.entity, f"{i.source_key}@{d}", "update", d, i.payload.where)
         for i, _r, d, _p, _o in todo),
        run_id,
    )  # fmt: skip
    try:
        for item, row, digest, patch, old in todo:
            if stop is not None and stop.is_set():
                summary.status = "interrupted"
                break
            op = ops.get(f"delta_{item.stage}", f"{item.source_key}@{digest}")
            if op is None or op.status in ("done", "failed", "skipped"):
                continue
            ok = await _update(client, ops, op, item, row, digest, patch, old, run_id, summary)
            if ok:
                _count(summary.updated, item.entity)
        if delete_missing and summary.status == "running":
            await _delete_gone(client, ops, found.gone, edited_why, overwrite_edited, run_id,
                               summary)  # fmt: skip
    except BudgetExhausted:
        summary.status = "stopped"
    if summary.status == "running":
        summary.status = "attention" if summary.failed or summary.edited else "done"
    _stats(summary, client)
    return summary


async def _create_new(
    loader: Loader, new: list[Item], ops: Ops, run_id: int, summary: DeltaSummary
) -> None:
    """Create the new records in stage order, exactly as ``run`` does (same loader)."""
    from pdmigrate.pipeline import STAGES

    for stage in STAGES:
        if loader.stop.is_set():
            return
        todo = [i for i in new if i.stage == stage]
        if todo:
            await loader.run_stage(stage, todo)
    keys = {(i.stage, i.source_key) for i in new}
    for stage, key, status, where, error, entity, kind in ops.conn.execute(
        "SELECT stage, source_key, status, src_where, error, entity, kind FROM ops "
        "WHERE run_id = ? AND status IN ('done', 'failed')",
        (run_id,),
    ):
        if (stage, key) not in keys:
            continue
        if status == "failed":
            summary.failed.append({"stage": stage, "source_key": key, "where": where,
                                   "error": error})  # fmt: skip
        elif kind in ("create", "link"):
            _count(summary.created, str(entity))


def _stats(summary: DeltaSummary, client: PipedriveClient) -> None:
    summary.tokens = client.stats.tokens_charged
    summary.requests = client.stats.requests


def _set_hash(ops: Ops, row: IdRow, digest: str) -> None:
    ops.conn.execute(
        "UPDATE id_map SET content_hash = ? WHERE entity = ? AND source_key = ?",
        (digest, row.entity, row.source_key),
    )


async def _update(
    client: PipedriveClient,
    ops: Ops,
    op: Op,
    item: Item,
    row: IdRow,
    digest: str,
    patch: dict[str, Any],
    old: dict[str, Any],
    run_id: int,
    summary: DeltaSummary,
) -> bool:
    pid: int | str = int(row.pipedrive_id) if row.pipedrive_id.isdigit() else row.pipedrive_id
    if op.status == "pending":
        # Old values go to the audit log with the intent, before the call: a crash after the
        # PATCH landed must not lose what rollback restores.
        ops.append_audit(
            [AuditEntry(item.entity, row.pipedrive_id, field=k, old_value=old.get(k),
                        new_value=v, op_id=op.id, source_object=item.payload.object,
                        source_key=item.source_key)
             for k, v in patch.items()],
            run_id,
        )  # fmt: skip
    ops.mark_started([op.id], run_id)
    try:
        resp = await client.call(UPDATE_ENDPOINT[item.stage], path_params={"id": pid}, json=patch)
    except (RecordRejected, FatalAPIError) as exc:
        if isinstance(exc, FatalAPIError) and exc.status not in (400, 404, 409, 422):
            raise
        ops.finish(op, "failed", error=exc.message[:500], run_id=run_id)
        summary.failed.append(
            {
                "stage": item.stage,
                "source_key": item.source_key,
                "where": item.payload.where,
                "error": exc.message[:200],
            }
        )
        return False
    except RetriableError as exc:
        summary.failed.append(
            {
                "stage": item.stage,
                "source_key": item.source_key,
                "where": item.payload.where,
                "error": f"no answer ({exc})",
            }
        )
        return False  # stays started: the next delta sends it again
    record = resp.data if isinstance(resp.data, dict) else {}
    utime = record.get("update_time")
    ops.finish(op, "done", pipedrive_id=row.pipedrive_id, run_id=run_id,
               id_map=(item.entity, item.source_key, row.pipedrive_id, digest,
                       None if utime is None else str(utime)))  # fmt: skip
    return True


async def _delete_gone(
    client: PipedriveClient,
    ops: Ops,
    gone: list[IdRow],
    edited_why: Callable[[IdRow, bool], str | None],
    overwrite_edited: bool,
    run_id: int,
    summary: DeltaSummary,
) -> None:
    ops.register(
        (OpSpec("delta_delete", r.entity, f"{r.entity}:{r.pipedrive_id}", "delete")
         for r in gone),
        run_id,
    )  # fmt: skip
    for row in gone:
        op = ops.get("delta_delete", f"{row.entity}:{row.pipedrive_id}")
        if op is None or op.status in ("done", "failed", "skipped"):
            continue
        why = None if op.status == "started" else edited_why(row, False)
        if why is not None and why.startswith("not found"):
            why = None  # already gone there too: nothing to keep
        if why is not None and not overwrite_edited:
            summary.edited.append(
                {
                    "entity": row.entity,
                    "source_key": row.source_key,
                    "pipedrive_id": row.pipedrive_id,
                    "where": None,
                    "why": why,
                }
            )
            continue
        ops.mark_started([op.id], run_id)
        pid: int | str = int(row.pipedrive_id) if row.pipedrive_id.isdigit() else row.pipedrive_id
        try:
            await client.call(_DELETE_ENDPOINT[row.entity], path_params={"id": pid})
        except FatalAPIError as exc:
            if exc.status != 404:
                raise
        audit = [AuditEntry(row.entity, row.pipedrive_id, field="deleted", old_value=None,
                            new_value=True, op_id=op.id, source_key=row.source_key)]  # fmt: skip
        with ops.transaction():
            ops.conn.execute(
                "DELETE FROM id_map WHERE entity = ? AND source_key = ?",
                (row.entity, row.source_key),
            )
            ops.conn.execute(
                "UPDATE ops SET status = 'skipped', error = 'deleted by delta: gone from the "
                "source' WHERE stage = ? AND source_key = ?",
                (STAGE_OF.get(row.entity, row.entity), row.source_key),
            )
        ops.finish(op, "done", pipedrive_id=row.pipedrive_id, audit=audit, run_id=run_id)
        _count(summary.deleted, row.entity)
