"""``pdmigrate verify``: read back everything the runs wrote, reconcile, compare every field.

For each source object (``object``, or ``object/entity`` when one object maps to
several targets, e.g. a firm client row -> person and organization), every source
record lands in exactly one bucket (:data:`BUCKETS`): ``migrated`` (written, or
linked to a person already in the account), ``merged`` (a duplicate folded into the
kept record), ``skipped`` (by a mapping filter, decisions.csv or the engine's rules),
``failed`` (Pipedrive refused it, or what it hangs on was not written),
``quarantined`` (never sent: no op reached it). ``source`` is their sum: every
record the object made (a row, or a group of rows for grouped objects; records
folded into one each counted in that record's bucket) plus the rows the mapping's
filters leave out. Field-only rows (a health fund, an invoice total) are counted with
the record they fill.

Then ``found`` counts the migrated records read back from Pipedrive (``ids=`` batch
gets and paged listings only, :mod:`pdmigrate.verify_read`), ``links`` the links
that resolved, ``fill`` the share of migrated records with a value per field, and
every mapped field of every migrated record is compared with the body recomputed
from the source (:mod:`pdmigrate.verify_expect`). A mismatch, or a migrated record
not found, makes the run ``attention`` (exit 3), naming records and fields.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from pdmigrate.load_body import LINK_ENTITY
from pdmigrate.load_items import Item, build_items
from pdmigrate.mapping.payload import Payload
from pdmigrate.plan.payloads import DROPPED
from pdmigrate.sample_diff import empty, read_path, same
from pdmigrate.state_ops import Ops
from pdmigrate.verify_expect import Expected, expectations
from pdmigrate.verify_read import read_back
from pdmigrate.workspace import Workspace

__all__ = ["BUCKETS", "MAX_LISTED", "bucket_of", "reconcile", "verify_workspace"]

BUCKETS = ("migrated", "merged", "skipped", "failed", "quarantined")
#: Mismatches listed in the summary (the count is always exact).
MAX_LISTED = 200


def bucket_of(item: Item | None, status: str | None) -> str:
    """The bucket of a record from its work item and op status."""
    if item is None:
        return "quarantined"
    if item.kind == "skip":
        return "merged" if item.note.startswith("merged") else "skipped"
    if status == "done":
        return "migrated"
    if status == "failed":
        return "failed"
    if status == "skipped":
        return "skipped"
    return "quarantined"


def _name(obj: str, entity: str, multi: Mapping[str, set[str]]) -> str:
    return obj if len(multi.get(obj, ())) <= 1 else f"{obj}/{entity}"


def reconcile(
    raw: list[Payload],
    items: list[Item],
    index: Any,
    statuses: Mapping[tuple[str, str], str],
    merges: Mapping[str, str],
    excluded: Mapping[tuple[str, str], int],
) -> dict[str, dict[str, Any]]:
    """``{object: {source, bucket...}}`` (see the module docstring). Pure.

    Every payload counts (several payloads of one record each count, in the record's
    bucket); ``excluded`` rows (mapping filters) are skipped.
    """
    by_slot = {(i.entity, i.source_key): i for i in items if i.stage != "org_parent"}
    by_op = {(i.stage, i.source_key): i for i in items}
    multi: dict[str, set[str]] = {}
    for p in raw:
        multi.setdefault(p.object, set()).add(p.entity)
    out: dict[str, dict[str, Any]] = {}

    def count(name: str, bucket: str, n: int = 1) -> None:
        row = out.setdefault(name, {"source": 0, **dict.fromkeys(BUCKETS, 0)})
        row[bucket] += n
        row["source"] += n

    for p in raw:
        name = _name(p.object, p.entity, multi)
        if p.entity in DROPPED:  # staff become owners, pipelines the target preparation
            count(name, "skipped")
            continue
        if p.update_of is not None:
            own = by_op.get((p.entity, p.source_key))
            if own is not None and own.kind == "update":
                count(name, bucket_of(own, statuses.get((own.stage, own.source_key))))
                continue
            target = index.source_key(p.update_of, p.entity)
            item = by_slot.get((p.entity, target)) if target else None
        else:
            key = merges.get(p.source_key)
            if key is not None and (p.entity, p.source_key) not in by_slot:
                count(name, "merged")
                continue
            item = by_slot.get((p.entity, p.source_key))
        status = None if item is None else statuses.get((item.stage, item.source_key))
        count(name, bucket_of(item, status))
    for (obj, entity), n in excluded.items():
        if n:
            count(_name(obj, entity, multi), "skipped", n)
    return out


def _excluded(mapping: Any, rows: Mapping[str, list[Any]]) -> dict[tuple[str, str], int]:
    from pdmigrate.mapping.fill import keep_row

    out: dict[tuple[str, str], int] = {}
    for obj in mapping.objects:
        if not (obj.filter or obj.exclude) or not obj.targets:
            continue
        n = sum(1 for s in obj.source for r in rows.get(s, []) if not keep_row(obj, r))
        out[(obj.id, str(obj.targets[0]))] = n
    return out


def compare(
    wanted: list[Expected],
    records: Mapping[str, Mapping[str, Mapping[str, Any]]],
    names: Mapping[tuple[str, str], str],
) -> dict[str, Any]:
    """Field comparison, links, fill rates and found counts over the migrated records."""
    checked = mismatched = 0
    mismatches: list[dict[str, Any]] = []
    found: Counter[str] = Counter()
    links: dict[str, list[int]] = {}
    filled: dict[str, Counter[str]] = {}
    seen: dict[str, Counter[str]] = {}
    for e in wanted:
        name = names.get((e.item.entity, e.item.source_key), e.item.payload.object)
        record = records.get(e.item.stage, {}).get(e.pipedrive_id)
        if record is None:
            mismatched += 1
            mismatches.append(_miss(e, "(record)", "not found in Pipedrive"))
            continue
        found[name] += 1
        for field, (path, want) in sorted(e.fields.items()):
            if path is None or empty(want):
                continue
            got = read_path(record, path)
            checked += 1
            seen.setdefault(name, Counter())[field] += 1
            if not empty(got):
                filled.setdefault(name, Counter())[field] += 1
            ok = same(want, got)
            if field in LINK_ENTITY:
                pair = links.setdefault(name, [0, 0])
                pair[0] += int(ok)
                pair[1] += 1
            if not ok:
                mismatched += 1
                if len(mismatches) < MAX_LISTED:
                    mismatches.append(_miss(e, field, "differs from the source"))
    fill = {
        name: {f: round(100.0 * filled.get(name, Counter())[f] / n, 1) for f, n in c.items()}
        for name, c in seen.items()
    }
    return {
        "checked": checked,
        "mismatched": mismatched,
        "mismatches": mismatches,
        "found": dict(found),
        "links": links,
        "fill": fill,
    }


def _miss(e: Expected, field: str, why: str) -> dict[str, Any]:
    return {
        "object": e.item.payload.object,
        "entity": e.item.entity,
        "source_key": e.item.source_key,
        "pipedrive_id": e.pipedrive_id,
        "field": field,
        "where": e.item.payload.where,
        "problem": why,
    }


def verify_workspace(
    workspace: Workspace, *, client_factory: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """Reconcile and compare (see the module docstring); return the ``--json`` summary."""
    from pdmigrate.mapping.gather import read_rows
    from pdmigrate.plan.payloads import run_payloads
    from pdmigrate.plan.source import read_source
    from pdmigrate.plan.store import load_plan
    from pdmigrate.profiles import load_profile

    plan = load_plan(workspace)
    source = read_source(workspace)
    mapping = source.mapping
    payloads = run_payloads(
        source.payloads,
        profile=mapping.profile,
        merges=plan.merges,
        skips=plan.skips,
        contact_sync=plan.target.contact_sync,
    )
    items, index = build_items(payloads, plan)
    config = workspace.config
    rows = read_rows(mapping, config.exports, load_profile(config.source))
    if client_factory is None:
        from pdmigrate.plan.account import workspace_client

        client_factory = lambda: workspace_client(workspace)  # noqa: E731
    state = workspace.state()
    ops = Ops(state)
    run_id = state.start_run("verify", profile=config.source, mapping_sha256=source.sha256)
    statuses = {
        (str(s), str(k)): str(st)
        for s, k, st in ops.conn.execute("SELECT stage, source_key, status FROM ops")
    }
    wanted = expectations(items, index, ops, plan, account=config.target, currency=config.currency)
    ids: dict[str, set[str]] = {}
    for e in wanted:
        ids.setdefault(e.item.stage, set()).add(e.pipedrive_id)
    deal_ids = list(ops.id_map("deal").values())

    async def main() -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, Any]]:
        async with client_factory() as client:
            got = await read_back(client, ids, deal_ids)
            stats = client.stats
            return got, {
                "tokens": stats.tokens_charged,
                "requests": stats.requests,
                "by_endpoint": dict(stats.by_endpoint),
            }

    try:
        records, usage = asyncio.run(main())
    except BaseException:
        state.finish_run(run_id, "failed")
        state.close()
        raise
    objects = reconcile(
        list(source.payloads),
        items,
        index,
        statuses,
        plan.merges,
        _excluded(mapping, rows),
    )
    multi: dict[str, set[str]] = {}
    for p in source.payloads:
        multi.setdefault(p.object, set()).add(p.entity)
    names = {(i.entity, i.source_key): _name(i.payload.object, i.entity, multi) for i in items}
    result = compare(wanted, records, names)
    for name, row in objects.items():
        row["found"] = result["found"].get(name, 0)
        resolved, total = result["links"].get(name, [0, 0])
        row["links_resolved"] = resolved
        row["links"] = total
        row["fill"] = {}
    for name, fill in result["fill"].items():
        objects.setdefault(name, {"source": 0, **dict.fromkeys(BUCKETS, 0)})["fill"] = fill
    checked, mismatched = result["checked"], result["mismatched"]
    accuracy = 100.0 if checked == 0 else round(100.0 * (checked - mismatched) / checked, 2)
    unsent = sum(o.get("quarantined", 0) for o in objects.values())
    ok = mismatched == 0
    summary: dict[str, Any] = {
        "ok": ok,
        "objects": objects,
        "fields": {"checked": checked, "mismatched": mismatched},
        "accuracy": accuracy,
        "tokens": usage["tokens"],
        "requests": usage["requests"],
        "by_endpoint": usage["by_endpoint"],
        "unsent": unsent,
        "mismatches": result["mismatches"],
    }
    state.finish_run(run_id, "done" if ok else "attention", summary)
    state.close()
    summary["run_id"] = run_id
    return summary
