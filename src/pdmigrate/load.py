"""Execute a stage's ops against Pipedrive: exactly once, concurrently, resumably.

For each op of a stage (:class:`~pdmigrate.load_items.Item` + its ``ops`` row):

1. ``done``/``failed``/``skipped`` ops are left alone (a re-run writes nothing);
2. ``started`` ops (a crash between call and result) are first looked up by source
   id (:mod:`pdmigrate.load_reconcile`); found -> ``done`` with the id, else retried;
3. the intent (``started``) is committed, the call made, the result committed with
   the id map and the audit row in one transaction;
4. a lost answer (``OutcomeUnknown``) is reconciled the same way before a retry;
5. a record Pipedrive rejects is marked ``failed`` with Pipedrive's message; a link
   that could not be resolved is written into the op's ``error`` (reported), and
   a record that cannot exist without it (note, deal product, parent link) fails.

Ops run concurrently (``concurrency`` at a time); the client's limiter keeps the
requests within the burst window and the daily budget. ``BudgetExhausted`` and a
stop request (Ctrl-C) let the in-flight ops finish and then end the stage.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pdmigrate.errors import (
    BudgetExhausted,
    FatalAPIError,
    OutcomeUnknown,
    RecordRejected,
    RetriableError,
)
from pdmigrate.load_body import (
    ABSENT,
    Body,
    BodyContext,
    Uuid,
    build_body,
    content_hash,
    source_id_of,
)
from pdmigrate.load_items import Item, RefIndex
from pdmigrate.load_reconcile import finder_for
from pdmigrate.mapping.payload import Ref
from pdmigrate.plan.model import SOURCE_ID_FIELD, Plan
from pdmigrate.state_ops import AuditEntry, FieldKey, Op, Ops

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient

__all__ = ["Loader", "StageResult"]

log = logging.getLogger(__name__)

#: Stage -> client endpoint group whose ``.create`` writes it.
CREATE_ENDPOINT = {
    "organization": "organizations.create",
    "person": "persons.create",
    "product": "products.create",
    "deal": "deals.create",
    "lead": "leads.create",
    "activity": "activities.create",
    "note": "notes.create",
    "org_parent": "organizationRelationships.create",
}
UPDATE_ENDPOINT = {
    "organization": "organizations.update",
    "person": "persons.update",
    "product": "products.update",
    "deal": "deals.update",
    "lead": "leads.update",
    "activity": "activities.update",
    "note": "notes.update",
}
#: Stages whose record cannot exist without this link.
REQUIRED_LINK = {
    "note": ("person_id", "deal_id", "org_id", "lead_id"),
    "lead": ("person_id", "organization_id"),
    "deal_product": ("deal_id", "product_id"),
    "file": ("person_id", "deal_id", "org_id", "product_id", "lead_id"),
}
MAX_ATTEMPTS = 4


@dataclass
class StageResult:
    """What one stage did."""

    stage: str
    done: int = 0
    created: int = 0
    updated: int = 0
    reconciled: int = 0
    failed: int = 0
    skipped: int = 0
    unknown: int = 0


@dataclass
class Loader:
    """Runs the ops of each stage; one per run (see the module docstring)."""

    client: PipedriveClient
    ops: Ops
    plan: Plan
    keys: Mapping[tuple[str, str], FieldKey]
    index: RefIndex
    run_id: int
    currency: str = "USD"
    attachments: Path | None = None
    concurrency: int = 8
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    on_progress: Callable[[str, int], None] | None = None
    ids: dict[tuple[str, str], int | str] = field(default_factory=dict)
    failed_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    #: Links that point at no record of the run ("stage.link" -> count), e.g. the firm
    #: organization of a client who is an individual: counted and reported, not listed.
    absent: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        for (entity, key), pid in self.ops.id_map().items():
            self.ids[(entity, key)] = int(pid) if pid.isdigit() else pid
        for op in self.ops.with_status("failed"):
            self.failed_keys[(op.entity, op.source_key)] = op.error or "failed"
        for op in self.ops.with_status("skipped"):
            self.failed_keys[(op.entity, op.source_key)] = op.error or "skipped"
        sid = self.keys.get(("person", SOURCE_ID_FIELD))
        self._sid_keys = {
            e: fk.key for (e, n), fk in self.keys.items() if n == SOURCE_ID_FIELD and fk
        }
        del sid

    # -- resolution ------------------------------------------------------------------------

    def resolve(self, ref: Ref, entity: str) -> int | str:
        """Pipedrive id of the record ``ref`` points at, or why there is none."""
        key = self.index.source_key(ref, entity)
        if key is None:
            return ABSENT
        got = self.ids.get((entity, key))
        if isinstance(got, int):
            return got
        if isinstance(got, str) and got:
            return Uuid(got)  # lead ids are uuids
        why = self.failed_keys.get((entity, key))
        return f"its record failed ({why})" if why else "its record is not written yet"

    def _ctx(self) -> BodyContext:
        return BodyContext(
            keys=self.keys,
            owners=self.plan.owners,
            currency=self.currency,
            resolve=self.resolve,
            visible_to=self.plan.visible_to,
        )

    # -- the stage loop --------------------------------------------------------------------

    async def run_stage(self, stage: str, items: list[Item]) -> StageResult:
        """Run every open op of ``stage`` (see the module docstring)."""
        result = StageResult(stage)
        rows = {op.source_key: op for op in self.ops.of_stage(stage)}
        todo: list[tuple[Item, Op]] = []
        for item in items:
            op = rows.get(item.source_key)
            if op is None:
                continue
            if op.status in ("pending", "started"):
                todo.append((item, op))
            elif self.on_progress is not None:
                self.on_progress(stage, 1)
        queue: asyncio.Queue[tuple[Item, Op]] = asyncio.Queue()
        for pair in todo:
            queue.put_nowait(pair)
        errors: list[BaseException] = []

        async def worker() -> None:
            while not self.stop.is_set() and not errors:  # an error halts this stage only
                try:
                    item, op = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                try:
                    await self._one(item, op, result)
                except Exception as exc:  # the budget, or unexpected: this stage stops
                    errors.append(exc)
                if self.on_progress is not None:
                    self.on_progress(stage, 1)

        workers = [asyncio.create_task(worker()) for _ in range(max(1, self.concurrency))]
        await asyncio.gather(*workers)
        if errors:
            budget = [e for e in errors if isinstance(e, BudgetExhausted)]
            raise budget[0] if budget else errors[0]
        return result

    async def _one(self, item: Item, op: Op, result: StageResult) -> None:
        if item.kind == "skip":
            self.ops.finish(op, "skipped", error=item.note, run_id=self.run_id)
            self.failed_keys[(item.entity, item.source_key)] = item.note
            result.skipped += 1
            return
        try:
            body, extra = self._body(item)
        except _Failed as exc:
            self._fail(item, op, result, str(exc))
            return
        if item.kind in ("update", "fill"):
            await self._update(item, op, body, result)
            return
        if op.status == "started":
            found = await self._find(item, body.body, extra, _minus(op.started_at))
            if found is not None:
                self._done(item, op, found, body, result, created=False)
                result.reconciled += 1
                return
        for _attempt in range(MAX_ATTEMPTS):
            self.ops.mark_started([op.id], self.run_id)
            try:
                record = await self._send(item, body, extra)
            except OutcomeUnknown:
                self.client.stats.reconciliations += 1
                await self.client.sleep(0.5)
                found = await self._find(item, body.body, extra)
                if found is not None:
                    self._done(item, op, found, body, result, created=False)
                    result.reconciled += 1
                    return
                continue
            except RecordRejected as exc:
                self._fail(item, op, result, exc.message)
                return
            except FatalAPIError as exc:
                if _record_level(exc):
                    self._fail(item, op, result, exc.message)
                    return
                raise
            except RetriableError:
                # 5xx/timeouts on an idempotent call outlived their retries: leave it started.
                result.unknown += 1
                return
            self._done(item, op, record, body, result, created=True)
            return
        result.unknown += 1  # still unknown after every attempt: stays "started"

    # -- bodies ----------------------------------------------------------------------------

    def _body(self, item: Item) -> tuple[Body, dict[str, Any]]:
        extra: dict[str, Any] = {}
        if item.stage == "org_parent":
            parent = item.payload.links.get("parent")
            assert isinstance(parent, Ref)
            child = self.ids.get(("organization", item.source_key))
            got = self.resolve(parent, "organization")
            if not isinstance(child, int):
                raise _Failed("the organization itself was not written")
            if not isinstance(got, int):
                raise _Failed(f"parent link: parent {parent.to}/{parent.key} {got}")
            body = {"type": "parent", "rel_owner_org_id": got, "rel_linked_org_id": child}
            return Body(body), extra
        built = build_body(item.payload, self._ctx())
        required = REQUIRED_LINK.get(item.stage)
        if required and not any(built.body.get(k) for k in required):
            reasons = "; ".join(
                [f"{link} -> {t}: {why}" for link, t, why in built.missing]
                + [f"{link} -> {t}: {ABSENT}" for link, t in built.absent]
            )
            raise _Failed(f"no record to attach to ({reasons or 'no link'})")
        if item.stage == "deal_product":
            extra["deal_id"] = built.body.pop("deal_id")
        if item.stage == "file":
            name = built.file_name or ""
            extra["file_name"] = Path(name).name
            for k in ("person_id", "deal_id", "org_id", "product_id", "lead_id"):
                if built.body.get(k):
                    extra[k] = built.body[k]
            path = _find_attachment(self.attachments, name, item.payload.links.values())
            if path is None:
                raise _Failed("file not found in the attachments folder")
            extra["path"] = path
        return built, extra

    async def _send(self, item: Item, body: Body, extra: Mapping[str, Any]) -> dict[str, Any]:
        if item.stage == "deal_product":
            resp = await self.client.call(
                "dealProducts.create", path_params={"id": extra["deal_id"]}, json=body.body
            )
        elif item.stage == "file":
            links = {k: v for k, v in extra.items() if k.endswith("_id")}
            return await self.client.files.upload(Path(extra["path"]), **links)
        else:
            resp = await self.client.call(CREATE_ENDPOINT[item.stage], json=body.body)
        return resp.data if isinstance(resp.data, dict) else {}

    async def _find(
        self,
        item: Item,
        body: Mapping[str, Any],
        extra: Mapping[str, Any],
        since: str | None = None,
    ) -> dict[str, Any] | None:
        entity = item.payload.entity
        finder = finder_for(
            self.client,
            item.stage,
            item.source_key,
            body,
            source_id_key=self._sid_keys.get(entity),
            source_id=source_id_of(item.payload),
            extra=extra,
            since=since or self._since(),
        )
        if finder is None:
            return None
        return await finder()

    async def _update(self, item: Item, op: Op, body: Body, result: StageResult) -> None:
        target = item.target if item.kind == "update" else item.source_key
        pid = self.ids.get((item.entity, target or ""))
        if item.kind == "fill":
            pid = self.plan.existing.get(item.source_key)
        if pid is None:
            self._fail(item, op, result, f"the record to update is not migrated {item.note}")
            return
        payload = dict(body.body)
        for k in ("visible_to", "add_time", "participants"):
            payload.pop(k, None)
        old: dict[str, Any] = {}
        self.ops.mark_started([op.id], self.run_id)
        try:
            if item.kind == "fill":
                current = await getattr(self.client, _plural(item.entity)).get(int(pid))
                payload = _only_empty(payload, current, old)
            if payload:
                await self.client.call(
                    UPDATE_ENDPOINT[item.stage], path_params={"id": pid}, json=payload
                )
        except RecordRejected as exc:
            self._fail(item, op, result, exc.message)
            return
        except FatalAPIError as exc:
            if not _record_level(exc):
                raise
            self._fail(item, op, result, exc.message)
            return
        except RetriableError:
            result.unknown += 1
            return
        audit = [
            AuditEntry(item.entity, str(pid), field=k, old_value=old.get(k), new_value=v,
                       op_id=op.id, source_object=item.payload.object, source_key=item.source_key)
            for k, v in payload.items()
        ]  # fmt: skip
        if item.kind == "fill":
            self.ops.put_existing(item.entity, item.source_key, int(pid), self.run_id)
            self.ids[(item.entity, item.source_key)] = int(pid)
        self._count_absent(item, body)
        self.ops.finish(op, "done", pipedrive_id=pid, audit=audit, run_id=self.run_id,
                        error=_missing_text(body))  # fmt: skip
        result.done += 1
        result.updated += 1

    def _since(self) -> str:
        """RFC 3339 time a little before now (lost answers of this run are newer)."""
        return (self.client.clock.now() - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- results ---------------------------------------------------------------------------

    def _done(
        self,
        item: Item,
        op: Op,
        record: Mapping[str, Any],
        body: Body,
        result: StageResult,
        *,
        created: bool,
    ) -> None:
        pid = record.get("id")
        entity = item.entity
        id_row = None
        if item.stage != "org_parent" and pid is not None:
            update_time = record.get("update_time")
            id_row = (entity, item.source_key, pid, content_hash(item.payload),
                      None if update_time is None else str(update_time))  # fmt: skip
        audit = [
            AuditEntry(entity if item.stage != "org_parent" else "organizationRelationship",
                       None if pid is None else str(pid), field=None, old_value=None,
                       new_value=sorted(body.body), op_id=op.id,
                       source_object=item.payload.object, source_key=item.source_key)
        ]  # fmt: skip
        self._count_absent(item, body)
        self.ops.finish(op, "done", pipedrive_id=pid, id_map=id_row, audit=audit,
                        run_id=self.run_id, error=_missing_text(body))  # fmt: skip
        if pid is not None and item.stage != "org_parent":
            self.ids[(entity, item.source_key)] = pid if isinstance(pid, str) else int(pid)
        result.done += 1
        result.created += 1

    def _count_absent(self, item: Item, body: Body) -> None:
        for link, _target in body.absent:
            self.absent[f"{item.stage}.{link}"] += 1

    def _fail(self, item: Item, op: Op, result: StageResult, message: str) -> None:
        self.ops.finish(op, "failed", error=message[:500], run_id=self.run_id)
        self.failed_keys[(item.entity, item.source_key)] = message[:200]
        result.failed += 1


def _minus(stamp: str | None) -> str | None:
    """``stamp`` (``...Z``) minus ten minutes of clock skew, as RFC 3339."""
    if not stamp:
        return None
    try:
        when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return (when - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _find_attachment(folder: Path | None, name: str, links: Any) -> Path | None:
    """The file ``name`` in the attachments folder: as a relative path, else by file name
    anywhere below it (several: the one under a folder named after a linked record's key)."""
    if folder is None or not name:
        return None
    direct = folder / name
    if direct.is_file():
        return direct
    found = sorted(p for p in folder.rglob(Path(name).name) if p.is_file())
    if len(found) <= 1:
        return found[0] if found else None
    keys = set()
    for link in links:
        for ref in link if isinstance(link, tuple) else (link,):
            keys.add(ref.key)
    return next((p for p in found if keys & set(p.parts)), found[0])


def _record_level(exc: FatalAPIError) -> bool:
    """A refusal about this record (a plan cap, a vanished link), not about the whole run."""
    if exc.status == 404:
        return True
    return exc.status == 403 and str(exc.code or "").startswith("feature_capping")


class _Failed(Exception):
    """This op cannot be written (a required link or file is missing)."""


def _plural(entity: str) -> str:
    return {"person": "persons", "organization": "organizations", "deal": "deals"}.get(
        entity, entity + "s"
    )


def _only_empty(
    payload: Mapping[str, Any], current: Mapping[str, Any], old: dict[str, Any]
) -> dict[str, Any]:
    """The part of ``payload`` that fills fields empty in ``current`` (old values in ``old``)."""
    out: dict[str, Any] = {}
    for k, v in payload.items():
        if k == "custom_fields" and isinstance(v, Mapping):
            have = current.get("custom_fields") or {}
            fill = {ck: cv for ck, cv in v.items() if have.get(ck) in (None, "", [])}
            if fill:
                out[k] = fill
                old[k] = {ck: have.get(ck) for ck in fill}
            continue
        if current.get(k) in (None, "", [], {}):
            out[k] = v
            old[k] = current.get(k)
    return out


def _missing_text(body: Body) -> str | None:
    if not body.missing and not body.dropped:
        return None
    parts = [f"link {link} -> {target} not set: {why}" for link, target, why in body.missing]
    if body.dropped:
        parts.append("fields not written: " + ", ".join(sorted(set(body.dropped))))
    return "; ".join(parts)[:500]
