"""Row accounting for ``verify``: every source row in exactly one bucket per target. Pure.

A target is a mapping object (``object``), or ``object/entity`` when the object makes
records of several entities (a firm client row -> person and organization; a plan's
deal and its procedure-table note). For each target, each source row the object reads
lands in one bucket (:data:`BUCKETS`):

* ``migrated`` -- a record made from the row was written (or linked to a person
  already in the account);
* ``merged`` -- the row's record was a duplicate folded into the kept one;
* ``skipped`` -- left out on purpose: a mapping filter, decisions.csv, an engine rule,
  staff that become owners, a row that makes no record of this kind by the landing
  rules, or a lookup row (payment allocations) whose data lands in other records;
* ``failed`` -- Pipedrive refused the record, or what it hangs on was not written;
* ``quarantined`` -- never sent: apply refused the row (a missing key) or no op
  reached its record yet.

Rows are named by ``file:line`` (:attr:`~pdmigrate.mapping.payload.Payload.origin`):
a grouped record (claim lines -> one deal) puts all its rows in its bucket. When a row
feeds several records of one target, the worst bucket wins (failed, quarantined,
migrated, merged, skipped). ``source`` is the sum of the buckets: the object's rows.
``records`` counts the distinct records made or filled (``records_migrated`` the ones
created and written, which ``found`` is compared with), and
``why`` counts the skipped rows by reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pdmigrate.load_items import Item
from pdmigrate.mapping.payload import Payload
from pdmigrate.plan.payloads import DROPPED
from pdmigrate.records import Row

__all__ = ["BUCKETS", "ObjectRows", "bucket_of", "object_rows", "reconcile", "target_name"]

BUCKETS = ("migrated", "merged", "skipped", "failed", "quarantined")
#: When one row feeds several records of one target: the first of these wins.
_WORST = {"failed": 0, "quarantined": 1, "migrated": 2, "merged": 3, "skipped": 4}


@dataclass(frozen=True)
class ObjectRows:
    """The source rows one mapping object reads (``file:line`` each)."""

    first: str  # the entity rows that make no record are counted under
    primary: frozenset[str]
    secondary: frozenset[str]  # rows of its other sources (lines, payments, lookups)
    excluded: frozenset[str]  # primary rows its filters leave out
    reference: bool = False  # users and pipelines: counted by record, not by row


def object_rows(mapping: Any, rows: Mapping[str, Sequence[Row]]) -> dict[str, ObjectRows]:
    """``{object id: ObjectRows}`` for every migrated object with source rows."""
    from pdmigrate.mapping.crossref import prepared
    from pdmigrate.mapping.fill import keep_row

    out: dict[str, ObjectRows] = {}
    for obj in mapping.objects:
        if obj.primary is None or obj.cardinality == "not_migrated" or not obj.targets:
            continue
        primary = rows.get(obj.primary, [])
        excluded = frozenset(
            r.where
            for r in primary
            if (obj.filter or obj.exclude) and not keep_row(obj, prepared(mapping, obj, r))
        )
        out[obj.id] = ObjectRows(
            first=str(obj.targets[0]),
            primary=frozenset(r.where for r in primary),
            secondary=frozenset(r.where for s in obj.source[1:] for r in rows.get(s, [])),
            excluded=excluded,
            reference=obj.cardinality == "reference",
        )
    return out


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


def target_name(obj: str, entity: str, multi: Mapping[str, set[str]]) -> str:
    """``obj``, or ``obj/entity`` when the object makes records of several entities."""
    return obj if len(multi.get(obj, ())) <= 1 else f"{obj}/{entity}"


class _Tally:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, tuple[str, str]]] = {}
        self.records: dict[str, dict[str, str]] = {}
        self.creates: set[tuple[str, str]] = set()  # (target, record) made, not filled
        self.touched: dict[str, set[str]] = {}

    def put(self, name: str, row: str, bucket: str, why: str = "") -> None:
        rows = self.rows.setdefault(name, {})
        old = rows.get(row)
        if old is None or _WORST[bucket] < _WORST[old[0]]:
            rows[row] = (bucket, why or "engine rule")

    def summary(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name in sorted(set(self.rows) | set(self.records)):
            placed = self.rows.get(name, {}).values()
            counts = Counter(bucket for bucket, _ in placed)
            why = Counter(reason for bucket, reason in placed if bucket == "skipped")
            row: dict[str, Any] = {"source": sum(counts.values())}
            row.update({b: counts.get(b, 0) for b in BUCKETS})
            made = self.records.get(name, {})
            row["records"] = len(made)
            row["records_migrated"] = sum(
                1 for r, b in made.items() if b == "migrated" and (name, r) in self.creates
            )
            row["why"] = dict(sorted(why.items()))
            out[name] = row
        return out


def _record_bucket(
    p: Payload,
    by_slot: Mapping[tuple[str, str], Item],
    by_op: Mapping[tuple[str, str], Item],
    index: Any,
    statuses: Mapping[tuple[str, str], str],
    merges: Mapping[str, str],
) -> tuple[str, str]:
    """(bucket, reason) of the record a payload makes or fills."""
    if p.entity in DROPPED:
        return "skipped", "owners and pipelines (prepared, not migrated)"
    if p.update_of is not None:
        own = by_op.get((p.entity, p.source_key))
        if own is not None and own.kind == "update":
            return bucket_of(own, statuses.get((own.stage, own.source_key))), own.note
        target = index.source_key(p.update_of, p.entity)
        profile = p.source_key.split("/", 1)[0]
        if target is None and f"{profile}/{p.update_of.to}/{p.update_of.key}" in merges:
            return "merged", ""  # it fills a duplicate folded into the kept record
        item = by_slot.get((p.entity, target)) if target else None
    else:
        if merges.get(p.source_key) is not None and (p.entity, p.source_key) not in by_slot:
            return "merged", ""
        item = by_slot.get((p.entity, p.source_key))
    status = None if item is None else statuses.get((item.stage, item.source_key))
    return bucket_of(item, status), "" if item is None else item.note


def reconcile(
    raw: Iterable[Payload],
    items: list[Item],
    index: Any,
    statuses: Mapping[tuple[str, str], str],
    merges: Mapping[str, str],
    objects: Mapping[str, ObjectRows],
    problems: frozenset[str] = frozenset(),
) -> dict[str, dict[str, Any]]:
    """``{target: {source, buckets..., records, why}}`` (see the module docstring).

    ``raw`` are the payloads apply made (before merges and skips), ``objects`` the rows
    each object reads (:func:`object_rows`), ``problems`` the rows apply refused.
    """
    payloads = list(raw)
    by_slot = {(i.entity, i.source_key): i for i in items if i.stage != "org_parent"}
    by_op = {(i.stage, i.source_key): i for i in items}
    multi: dict[str, set[str]] = {}
    for p in payloads:
        multi.setdefault(p.object, set()).add(p.entity)
    tally = _Tally()
    for p in payloads:
        name = target_name(p.object, p.entity, multi)
        bucket, why = _record_bucket(p, by_slot, by_op, index, statuses, merges)
        record = f"{p.entity}:{p.source_key}"
        made = tally.records.setdefault(name, {})
        if record not in made or _WORST[bucket] < _WORST[made[record]]:
            made[record] = bucket
        if p.update_of is None:
            tally.creates.add((name, record))
        rows = objects.get(p.object)
        if rows is None or rows.reference:  # users, pipelines: count records, not rows
            origin: tuple[str, ...] = (record,)
        else:  # rows only (the practice organization from pdmigrate.toml is no row)
            origin = tuple(r for r in p.origin if r in rows.primary or r in rows.secondary)
        tally.touched.setdefault(p.object, set()).update(origin)
        for row in origin:
            tally.put(name, row, bucket, why)
    for obj, read in objects.items():
        if read.reference:
            continue
        name = target_name(obj, read.first, multi)
        seen = tally.touched.get(obj, set())
        for row in sorted((read.primary | read.secondary) - seen):
            if row in read.excluded:
                tally.put(name, row, "skipped", "mapping filter")
            elif row in problems:
                tally.put(name, row, "quarantined")
            elif row in read.primary:
                tally.put(name, row, "skipped", "makes no record by the landing rules")
            else:
                tally.put(name, row, "skipped", "lookup row (lands in other records)")
    return tally.summary()
