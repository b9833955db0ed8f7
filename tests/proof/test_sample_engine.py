"""A sample through the engine: its records stay, `run` does not recreate them, a changed
mapping updates them, and the slice covers the strata (hand-made payloads, in-process sandbox).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.engine.loadkit import client_for, hand_payloads, hand_plan, sandbox, sk

from pdmigrate.mapping.payload import Payload
from pdmigrate.pipeline import RunSummary, run_migration
from pdmigrate.sample_select import select, strata_of
from pdmigrate.state import State
from pdmigrate.state_ops import Ops


def _run(sb: Any, state: Path, payloads: list[Payload], kind: str = "run") -> RunSummary:
    async def go() -> RunSummary:
        with State(state) as st:
            run_id = st.start_run(kind)
            async with client_for(sb) as client:
                return await run_migration(
                    client, Ops(st), plan=hand_plan(), payloads=payloads, run_id=run_id,
                    account="sb",
                )  # fmt: skip

    return asyncio.run(go())


def _persons(sb: Any) -> dict[str, dict[str, Any]]:
    records = sb.dump()["accounts"][0]["records"]
    return {p["name"]: p for p in records["persons"]}


def test_selection_includes_dependencies_and_is_deterministic() -> None:
    """Picked notes and activities come with their person and deal; same seed, same slice."""
    payloads = hand_payloads(8)
    one = select(payloads, size=10, seed=3, merges={})
    two = select(payloads, size=10, seed=3, merges={})
    assert [p.source_key for p in one.payloads] == [p.source_key for p in two.payloads]
    keys = {p.source_key for p in one.payloads}
    for p in one.payloads:
        if p.entity in ("note", "activity"):
            client_key = p.source_key.rsplit("/", 1)[1]
            assert sk("client", client_key) in keys
            assert sk("matter", client_key + ".001") in keys
        if p.entity == "person":
            org = p.links["org_id"]
            assert sk("org", org.key) in keys  # type: ignore[union-attr]
    assert sk("org", "root") in keys  # the branch's parent comes along with it
    assert one.records == len(keys) <= 10


def test_selection_covers_every_stratum_when_it_can_and_lists_the_rest() -> None:
    """A big enough slice covers every stratum; a slice too small lists what it left out."""
    payloads = hand_payloads(8)
    every = set().union(*(strata_of(p, {}) for p in payloads if p.update_of is None))
    full = select(payloads, size=50, seed=1, merges={})
    assert set(full.covered) == every
    assert full.uncovered == ["file: none in the exports"]
    assert "activity done=True" in every
    assert "activity done=False" in every
    assert "person with custom field Patient Status" in every
    small = select(payloads, size=5, seed=1, merges={})
    assert small.records <= 5
    assert set(small.uncovered) - {"file: none in the exports"} == every - set(small.covered)
    assert small.uncovered  # 5 records cannot show a person of both organizations and a note


def test_run_after_sample_creates_only_the_rest_and_updates_changed_sample_records(
    tmp_path: Path,
) -> None:
    """Sample records are not created again; after a mapping change they are PATCHed, once."""
    sb = sandbox(tmp_path / "sb.db")
    state = tmp_path / "state.db"
    payloads = hand_payloads(6)
    chosen = select(payloads, size=12, seed=2, merges={})
    sample = _run(sb, state, chosen.payloads, "sample")
    assert sample.status == "done"
    sampled = sum(sample.created.values())
    assert sampled == chosen.records + sum(  # org parent links are ops of their own
        1 for p in chosen.payloads if p.entity == "organization" and "parent" in p.links
    )
    in_sample = {p.source_key for p in chosen.payloads if p.entity == "person"}
    renamed = next(iter(sorted(in_sample)))
    changed = [
        replace(p, fields={**p.fields, "name": "Renamed Person"})
        if p.source_key == renamed and p.entity == "person"
        else p
        for p in payloads
    ]
    full = _run(sb, state, changed)
    assert full.status == "done"
    assert sum(full.created.values()) == len(payloads) + 1 - sampled  # + the parent link
    assert full.updated == {"person": 1}
    persons = _persons(sb)
    assert "Renamed Person" in persons
    assert len(persons) == 6
    again = _run(sb, state, changed)
    assert again.created == {}
    assert again.updated == {}
    with State(state) as st:
        audit = st.conn.execute(
            "SELECT field, old_value, new_value FROM audit WHERE source_key = ? AND field = 'name'",
            (renamed,),
        ).fetchall()
    assert len(audit) == 1
    assert audit[0][2] == '"Renamed Person"'


def test_awkward_values_are_strata_of_their_own() -> None:
    """HTML notes, long values and people without email are strata the sample must show."""
    note = Payload("journal", "note", sk("journal", "9"), {"content": "<p>Call <b>back</b></p>"})
    long = Payload("client", "person", sk("client", "9"), {"name": "A", "Comments": "x" * 300})
    strata = strata_of(note, {}) | strata_of(long, {"clients.csv:4": ["orphan"]})
    assert "awkward: note with HTML content" in strata
    assert "awkward: person value over 255 characters" in strata
    assert "awkward: person without email" in strata
    flagged = replace(long, where="clients.csv:4")
    assert "audit flagged orphan" in strata_of(flagged, {"clients.csv:4": ["orphan"]})
