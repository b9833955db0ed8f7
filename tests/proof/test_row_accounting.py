"""Row accounting: every source row in exactly one bucket per target, buckets adding up.

Unit tests drive :func:`pdmigrate.verify_rows.reconcile` with hand-made payloads, work
items and op statuses; the flow test reads the corepractice demo's verify summary against
the synth manifest's row counts.
"""

from __future__ import annotations

import json
from typing import Any

from pdmigrate.demo import DemoResult
from pdmigrate.load_items import Item
from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.verify_rows import BUCKETS, ObjectRows, reconcile


class _Index:
    """Resolves an update's Ref to the record it fills (``to/key`` -> source key)."""

    def __init__(self, keys: dict[tuple[str, str], str]) -> None:
        self.keys = keys

    def source_key(self, ref: Ref, entity: str) -> str | None:
        return self.keys.get((ref.to, ref.key))


def _rows(file: str, n: int) -> frozenset[str]:
    return frozenset(f"{file}:{line}" for line in range(2, n + 2))


def _obj(
    first: str,
    primary: frozenset[str],
    secondary: frozenset[str] = frozenset(),
    excluded: frozenset[str] = frozenset(),
) -> ObjectRows:
    return ObjectRows(first, primary, secondary, excluded)


def _added_up(objects: dict[str, dict[str, Any]]) -> None:
    for name, row in objects.items():
        assert row["source"] == sum(row[b] for b in BUCKETS), name


def test_a_grouped_record_puts_every_row_of_its_group_in_its_bucket() -> None:
    """Five claim lines in two claims: source 5 rows, 2 records; a failed claim fails its rows."""
    rows = sorted(_rows("claims.csv", 5))
    deals = [
        Payload("claim", "deal", "p/claim/A", {}, {}, rows[0], rows=tuple(rows[:3])),
        Payload("claim", "deal", "p/claim/B", {}, {}, rows[3], rows=tuple(rows[3:])),
    ]
    items = [Item("deal", p) for p in deals]
    statuses = {("deal", "p/claim/A"): "done", ("deal", "p/claim/B"): "failed"}
    out = reconcile(
        deals, items, None, statuses, {}, {"claim": _obj("deal", _rows("claims.csv", 5))}
    )
    assert out["claim"]["source"] == 5
    assert (out["claim"]["migrated"], out["claim"]["failed"]) == (3, 2)
    assert (out["claim"]["records"], out["claim"]["records_migrated"]) == (2, 1)
    _added_up(out)


def test_a_firm_row_counts_once_under_each_target_it_maps_to() -> None:
    """Three client rows -> 3 persons and 1 organization: the org target counts its row, the
    two private clients are skipped there by the landing rules, and each target adds up."""
    rows = sorted(_rows("clients.csv", 3))
    made = [Payload("client", "person", f"p/client/{i}", {}, {}, r) for i, r in enumerate(rows)]
    made.append(Payload("client", "organization", "p/client/0", {}, {}, rows[0]))
    items = [Item(p.entity, p) for p in made]
    statuses = {(p.entity, p.source_key): "done" for p in made}
    out = reconcile(made, items, None, statuses, {}, {"client": _obj("person", frozenset(rows))})
    assert out["client/person"]["source"] == 3
    assert out["client/person"]["migrated"] == 3
    assert out["client/organization"]["migrated"] == 1
    assert out["client/organization"]["source"] == 1
    _added_up(out)


def test_rows_that_make_no_record_are_skipped_or_quarantined_with_a_reason() -> None:
    """Filtered rows, a refused row (missing key), a row the rules turn into nothing and a
    lookup row of a second source each land in one bucket, with the reason counted."""
    primary = sorted(_rows("invoices.csv", 4))
    lookup = sorted(_rows("allocations.csv", 1))
    made = [Payload("inv", "deal", "p/inv/1", {}, {}, primary[0])]
    items = [Item("deal", made[0])]
    objects = {
        "inv": _obj(
            "deal",
            frozenset(primary),
            secondary=frozenset(lookup),
            excluded=frozenset(primary[1:2]),
        )
    }
    out = reconcile(
        made, items, None, {("deal", "p/inv/1"): "done"}, {}, objects, frozenset(primary[2:3])
    )
    row = out["inv"]
    assert row["source"] == 5
    assert (row["migrated"], row["skipped"], row["quarantined"]) == (1, 3, 1)
    assert row["why"] == {
        "lookup row (lands in other records)": 1,
        "makes no record by the landing rules": 1,
        "mapping filter": 1,
    }
    _added_up(out)


def test_merged_updates_and_the_worst_bucket_win_per_row() -> None:
    """A duplicate row is merged; a field-only row takes its target record's bucket; a row
    feeding one migrated and one failed record of the same target counts as failed."""
    rows = sorted(_rows("patients.csv", 2))
    fund = sorted(_rows("funds.csv", 1))
    made = [
        Payload("pat", "person", "p/pat/1", {}, {}, rows[0]),
        Payload("pat", "person", "p/pat/2", {}, {}, rows[1]),
        Payload("fund", "person", "p/fund/9", {}, {}, fund[0], Ref("pat", "1")),
        Payload("note", "note", "p/note/a", {}, {}, rows[0]),
        Payload("note", "note", "p/note/b", {}, {}, rows[0]),
    ]
    items = [Item("person", made[0]), Item("person", made[1], "skip", note="merged into p/pat/1")]
    items += [Item("note", made[3]), Item("note", made[4])]
    statuses = {("person", "p/pat/1"): "done", ("note", "p/note/a"): "done"}
    statuses[("note", "p/note/b")] = "failed"
    objects = {
        "pat": _obj("person", frozenset(rows)),
        "fund": _obj("person", frozenset(fund)),
        "note": _obj("note", frozenset(rows[:1])),
    }
    out = reconcile(made, items, _Index({("pat", "1"): "p/pat/1"}), statuses, {}, objects)
    assert (out["pat"]["migrated"], out["pat"]["merged"]) == (1, 1)
    assert out["fund"]["migrated"] == 1
    assert out["note"]["source"] == 1
    assert out["note"]["failed"] == 1
    assert out["note"]["records"] == 2
    _added_up(out)


def test_the_demo_flow_accounts_for_every_row_of_the_exports(flow: DemoResult) -> None:
    """corepractice: every export row is in a bucket; grouped plan rows count row by row."""
    manifest = json.loads(
        (flow.workspace.parent / "exports" / "synth_manifest.json").read_text(encoding="utf-8")
    )
    counts = manifest["objects"]
    rows = flow.verify["rows"]
    assert rows["total"] == rows["accounted"] == sum(counts.values())
    plans = flow.verify["objects"]["treatment_plan_deal/deal"]
    assert plans["source"] == counts["treatment_plans"]
    assert plans["records"] < plans["source"]  # plan items grouped by plan
    assert plans["found"] == plans["records_migrated"]
    invoices = flow.verify["objects"]["invoice_fields/note"]
    assert invoices["migrated"] >= counts["payments"]  # payment rows in payment-history notes
    assert flow.accounted


def test_a_field_only_row_of_a_merged_duplicate_counts_as_merged() -> None:
    """Fields for a duplicate that was folded away are merged with it, not left unsent."""
    fund = sorted(_rows("funds.csv", 1))
    made = [Payload("fund", "person", "p/fund/9", {}, {}, fund[0], Ref("pat", "2"))]
    out = reconcile(
        made, [], _Index({}), {}, {"p/pat/2": "p/pat/1"}, {"fund": _obj("person", frozenset(fund))}
    )
    assert (out["fund"]["merged"], out["fund"]["quarantined"]) == (1, 0)
