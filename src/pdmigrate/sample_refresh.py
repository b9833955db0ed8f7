"""Records already written whose payload changed since: update them in place (a PATCH).

A sample writes records before the full run. When the mapping is then changed and
confirmed again, ``run`` must not create those records again (their ops are
``done``) but must bring them in line with the new mapping. :func:`stale_items`
finds the ``done`` create ops whose payload's content hash differs from the one the
id map recorded at the write; :func:`refresh` reads those records back in ``ids=``
batches, PATCHes only the keys whose value differs, records the old values in the
audit log (so rollback can restore them) and stores the new content hash, so a
second run writes nothing. ``pipeline.run_migration`` calls it after each stage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pdmigrate.errors import FatalAPIError, RecordRejected, RetriableError
from pdmigrate.load_body import BodyContext, build_body, content_hash
from pdmigrate.load_items import Item
from pdmigrate.sample_diff import same
from pdmigrate.state_ops import AuditEntry, Ops
from pdmigrate.verify_read import BATCH, read_back

if TYPE_CHECKING:
    from pdmigrate.load import Loader

__all__ = ["changed_keys", "refresh", "stale_items"]

#: Stages whose records can be updated in place.
UPDATABLE = frozenset({"organization", "person", "product", "deal", "lead", "activity", "note"})
#: Keys a create takes but an update must not resend.
_CREATE_ONLY = frozenset({"add_time", "visible_to"})


def stale_items(items: Iterable[Item], ops: Ops) -> list[Item]:
    """Create items already ``done`` whose payload differs from what was written."""
    hashes = {
        (str(e), str(k)): h
        for e, k, h in ops.conn.execute(
            "SELECT entity, source_key, content_hash FROM id_map WHERE origin = 'created'"
        )
    }
    done = {
        (str(s), str(k))
        for s, k in ops.conn.execute(
            "SELECT stage, source_key FROM ops WHERE status = 'done' AND kind = 'create'"
        )
    }
    # A delta wrote these from fresher exports than the workspace's: the workspace's older
    # rows must not undo that (op keys are ``delta_<stage>`` / ``<source key>@<hash>``).
    by_delta = {
        (str(s).removeprefix("delta_"), str(k).rpartition("@")[0])
        for s, k in ops.conn.execute(
            "SELECT stage, source_key FROM ops WHERE status = 'done' AND stage LIKE 'delta\\_%' "
            "ESCAPE '\\'"
        )
    }
    out: list[Item] = []
    for item in items:
        if item.kind != "create" or item.stage not in UPDATABLE:
            continue
        if (item.stage, item.source_key) not in done or (item.stage, item.source_key) in by_delta:
            continue
        old = hashes.get((item.entity, item.source_key))
        if old and old != content_hash(item.payload):
            out.append(item)
    return out


def changed_keys(
    body: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the part of ``body`` that differs from ``current``, the old values of that part)."""
    patch: dict[str, Any] = {}
    old: dict[str, Any] = {}
    for key, value in body.items():
        if key in _CREATE_ONLY:
            continue
        if key == "custom_fields" and isinstance(value, Mapping):
            have = current.get("custom_fields") or {}
            diff = {k: v for k, v in value.items() if not same(v, have.get(k))}
            if diff:
                patch[key] = diff
                old[key] = {k: have.get(k) for k in diff}
            continue
        if not same(value, current.get(key)):
            patch[key] = value
            old[key] = current.get(key)
    return patch, old


async def refresh(loader: Loader, items: list[Item]) -> Counter[str]:
    """PATCH the records of ``items`` to their current payload; count them per entity."""
    from pdmigrate.load import UPDATE_ENDPOINT

    ops, client = loader.ops, loader.client
    ctx = BodyContext(
        keys=loader.keys,
        owners=loader.plan.owners,
        currency=loader.currency,
        resolve=loader.resolve,
        visible_to=loader.plan.visible_to,
    )
    pids = {i.source_key: str(loader.ids.get((i.entity, i.source_key), "")) for i in items}
    wanted: dict[str, set[str]] = {}
    for i in items:
        if pids[i.source_key]:
            wanted.setdefault(i.stage, set()).add(pids[i.source_key])
    current = await read_back(client, wanted)
    done: Counter[str] = Counter()
    for item in items:
        pid = pids[item.source_key]
        op = ops.get(item.stage, item.source_key)
        record = current.get(item.stage, {}).get(pid)
        if not pid or op is None or record is None:
            continue
        body = build_body(item.payload, ctx).body
        if item.stage not in BATCH:  # v1 notes and leads answer with their own shapes
            body.pop("participants", None)
        patch, old = changed_keys(body, record)
        update_time = record.get("update_time")
        if patch:
            try:
                resp = await client.call(
                    UPDATE_ENDPOINT[item.stage], path_params={"id": pid}, json=patch
                )
            except (RecordRejected, FatalAPIError, RetriableError):
                continue  # left as it was; the next run tries again (the hash is unchanged)
            data = resp.data if isinstance(resp.data, dict) else {}
            update_time = data.get("update_time", update_time)
        audit = [
            AuditEntry(item.entity, pid, field=k, old_value=old.get(k), new_value=v,
                       op_id=op.id, source_object=item.payload.object,
                       source_key=item.source_key)
            for k, v in patch.items()
        ]  # fmt: skip
        id_row = (item.entity, item.source_key, pid, content_hash(item.payload),
                  None if update_time is None else str(update_time))  # fmt: skip
        ops.finish(op, "done", pipedrive_id=pid, id_map=id_row, audit=audit,
                   run_id=loader.run_id, error=op.error)  # fmt: skip
        if patch:
            done[item.entity] += 1
    return done
