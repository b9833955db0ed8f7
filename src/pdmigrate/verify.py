"""``pdmigrate verify``: read back everything the runs wrote, reconcile, compare every field.

For each target (``object``, or ``object/entity`` when one object makes records of
several entities, e.g. a firm client row -> person and organization), every source
row the object reads lands in exactly one bucket (:data:`BUCKETS`: migrated, merged,
skipped, failed, quarantined) and ``source``, the object's rows, is their sum
(:mod:`pdmigrate.verify_rows`). ``rows`` says how many rows the exports hold and how
many of them some target accounts for.

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
from pdmigrate.load_items import build_items
from pdmigrate.sample_diff import empty, read_path, same
from pdmigrate.state_ops import Ops
from pdmigrate.verify_expect import Expected, ParentLink, expectations, parent_links
from pdmigrate.verify_read import read_back, read_parents
from pdmigrate.verify_rows import BUCKETS, bucket_of, object_rows, reconcile, target_name
from pdmigrate.workspace import Workspace

__all__ = ["BUCKETS", "MAX_LISTED", "bucket_of", "reconcile", "verify_workspace"]

#: Mismatches listed in the summary (the count is always exact).
MAX_LISTED = 200


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


def _compare_parents(
    parents: list[ParentLink],
    found: Mapping[str, Mapping[str, Any]],
    names: Mapping[tuple[str, str], str],
    result: dict[str, Any],
) -> None:
    """Each parent link written must be among its parent's relationships (type parent)."""
    for link in parents:
        name = names.get(("organization", link.item.source_key), link.item.payload.object)
        pair = result["links"].setdefault(name, [0, 0])
        pair[1] += 1
        result["checked"] += 1
        if f"{link.parent_id}>{link.child_id}" in found:
            pair[0] += 1
            continue
        result["mismatched"] += 1
        if len(result["mismatches"]) < MAX_LISTED:
            result["mismatches"].append(
                {
                    "object": link.item.payload.object,
                    "entity": "organization",
                    "source_key": link.item.source_key,
                    "pipedrive_id": str(link.child_id),
                    "field": "parent",
                    "where": link.item.payload.where,
                    "problem": f"not a daughter of organization {link.parent_id} in Pipedrive",
                }
            )


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
    parents = parent_links(items, index, ops)

    async def main() -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, Any]]:
        async with client_factory() as client:
            got = await read_back(client, ids, deal_ids)
            got["org_parent"] = await read_parents(client, {p.parent_id for p in parents})
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
    accounting = object_rows(mapping, rows)
    objects = reconcile(
        source.payloads, items, index, statuses, plan.merges, accounting, source.problem_rows
    )
    multi: dict[str, set[str]] = {}
    for p in source.payloads:
        multi.setdefault(p.object, set()).add(p.entity)
    names = {
        (i.entity, i.source_key): target_name(i.payload.object, i.entity, multi) for i in items
    }
    result = compare(wanted, records, names)
    _compare_parents(parents, records.get("org_parent", {}), names, result)
    for name, row in objects.items():
        row["found"] = result["found"].get(name, 0)
        resolved, total = result["links"].get(name, [0, 0])
        row["links_resolved"] = resolved
        row["links"] = total
        row["fill"] = {}
    for name, fill in result["fill"].items():
        objects.setdefault(name, {"source": 0, **dict.fromkeys(BUCKETS, 0)})["fill"] = fill
    every_row = {r.where for group in rows.values() for r in group}
    in_buckets = {r for o in accounting.values() for r in o.primary | o.secondary}
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
        "rows": {"total": len(every_row), "accounted": len(every_row & in_buckets)},
        "mismatches": result["mismatches"],
    }
    state.finish_run(run_id, "done" if ok else "attention", summary)
    state.close()
    summary["run_id"] = run_id
    return summary
