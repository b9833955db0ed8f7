"""delta_migration and rollback_migration on hand-made payloads against an in-process sandbox.

Fast (no synth, no CLI): a run, a delta with one changed field, one moved deal and
one new person, a rollback of the delta alone, then of everything.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.engine.loadkit import client_for, hand_payloads, hand_plan, sandbox, sk
from tests.undo.snapshot import differences, snapshot

from pdmigrate.delta import delta_migration
from pdmigrate.load_body import content_hash
from pdmigrate.load_items import build_items
from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.pipeline import run_migration
from pdmigrate.rollback import rollback_migration
from pdmigrate.rollback_plan import plan_rollback, selected_runs
from pdmigrate.sandbox.clock import FakeClock
from pdmigrate.state import State
from pdmigrate.state_ops import Ops, OpSpec


def _changed(payloads: list[Payload]) -> list[Payload]:
    out = []
    for p in payloads:
        if p.source_key == sk("client", "1001"):
            p = replace(p, fields={**p.fields, "Patient Status": "Inactive"})
        if p.source_key == sk("matter", "1002.001"):
            p = replace(p, fields={**p.fields, "stage": "Billed", "value": 900})
        out.append(p)
    new = Payload("client", "person", sk("client", "2000"), {"name": "New Patient"},
                  {"org_id": Ref("org", "root")}, "clients.csv:99")  # fmt: skip
    return [*out, new]


@pytest.mark.anyio
async def test_delta_then_rollback_in_process(tmp_path: Path) -> None:
    """Delta writes one create and two field-level updates; rollbacks undo them exactly."""
    sb = sandbox(tmp_path / "sb.db")
    plan = hand_plan()
    with State(tmp_path / "state.db") as st:
        ops = Ops(st)
        async with client_for(sb) as client:
            await client.users.list()  # opens the account
            before = snapshot(tmp_path / "sb.db")
            run_id = st.start_run("run")
            res = await run_migration(client, ops, plan=plan, payloads=hand_payloads(),
                                      run_id=run_id, account="sb")  # fmt: skip
            assert res.status == "done"
            after_run = snapshot(tmp_path / "sb.db")

            delta_id = st.start_run("delta")
            writes_before = sum(client.stats.by_endpoint.values())
            d = await delta_migration(client, ops, plan=plan, payloads=_changed(hand_payloads()),
                                      run_id=delta_id, account="sb")  # fmt: skip
            assert d.status == "done"
            assert d.created == {"person": 1}
            assert d.updated == {"person": 1, "deal": 1}
            assert d.fields == {"custom_fields": 1, "stage_id": 1, "value": 1}
            assert sum(client.stats.by_endpoint.values()) > writes_before

            again = await delta_migration(client, ops, plan=plan,
                                          payloads=_changed(hand_payloads()),
                                          run_id=st.start_run("delta"), account="sb")  # fmt: skip
            assert (again.created, again.updated, again.edited) == ({}, {}, [])

            undo = plan_rollback(ops, selected_runs(ops, delta_id, False), account="sb")
            assert [(a.kind, a.entity, a.source_key) for a in undo] == [
                ("delete", "person", sk("client", "2000")),
                ("restore", "person", sk("client", "1001")),
                ("restore", "deal", sk("matter", "1002.001")),
            ]
            r = await rollback_migration(client, ops, undo, run_id=st.start_run("rollback"),
                                         dry_run=False)  # fmt: skip
            assert (len(r.deleted), len(r.restored), r.errors, r.kept) == (1, 2, [], [])
            assert not differences(snapshot(tmp_path / "sb.db"), after_run)

            everything = plan_rollback(ops, selected_runs(ops, None, True), account="sb",
                                       schema=True)  # fmt: skip
            last = st.start_run("rollback")
            r2 = await rollback_migration(client, ops, everything, run_id=last, dry_run=False)
            assert r2.errors == []
            assert r2.kept == []
            problems = differences(snapshot(tmp_path / "sb.db"), before)
            assert not problems, "\n".join(problems)
    sb.close()


@pytest.mark.anyio
async def test_gone_records_are_reported_and_deleted_only_when_asked(tmp_path: Path) -> None:
    """A note gone from the source: listed as gone; --delete-missing deletes it, audited."""
    sb = sandbox(tmp_path / "sb.db")
    plan = hand_plan()
    gone_key = sk("journal", "1003")
    fewer = [p for p in hand_payloads() if p.source_key != gone_key]
    with State(tmp_path / "state.db") as st:
        ops = Ops(st)
        async with client_for(sb) as client:
            await run_migration(client, ops, plan=plan, payloads=hand_payloads(),
                                run_id=st.start_run("run"), account="sb")  # fmt: skip
            note_id = ops.id_map("note")[("note", gone_key)]
            kept = await delta_migration(client, ops, plan=plan, payloads=fewer,
                                         run_id=st.start_run("delta"), account="sb")  # fmt: skip
            assert kept.gone == [
                {"entity": "note", "source_key": gone_key, "pipedrive_id": note_id}
            ]
            assert kept.deleted == {}
            assert ("note", gone_key) in ops.id_map()
            run_id = st.start_run("delta")
            removed = await delta_migration(client, ops, plan=plan, payloads=fewer, run_id=run_id,
                                            account="sb", delete_missing=True)  # fmt: skip
            assert removed.deleted == {"note": 1}
            assert ("note", gone_key) not in ops.id_map()
            notes = [n async for n in client.notes.list()]
            assert note_id not in {str(n["id"]) for n in notes}
            audit = st.conn.execute(
                "SELECT entity, pipedrive_id, field FROM audit WHERE run_id = ?", (run_id,)
            ).fetchall()
            assert audit == [("note", note_id, "deleted")]
            # Rolling everything back afterwards still works (the note is already gone).
            undo = plan_rollback(ops, selected_runs(ops, None, True), account="sb", schema=True)
            r = await rollback_migration(client, ops, undo, run_id=st.start_run("rollback"),
                                         dry_run=False)  # fmt: skip
            assert r.errors == []
    sb.close()


@pytest.mark.anyio
async def test_delta_resumes_its_own_in_flight_update_without_calling_it_an_edit(
    tmp_path: Path,
) -> None:
    """A delta killed after its PATCH landed: the next delta finishes it, no 'edited' flag."""
    clock = FakeClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    sb = sandbox(tmp_path / "sb.db", clock=clock)
    plan = hand_plan()
    changed = _changed(hand_payloads())
    key = sk("client", "1001")
    with State(tmp_path / "state.db") as st:
        ops = Ops(st)
        async with client_for(sb) as client:
            await run_migration(client, ops, plan=plan, payloads=hand_payloads(),
                                run_id=st.start_run("run"), account="sb")  # fmt: skip
            clock.advance(3600)
            # The crashed delta: intent committed, PATCH sent, result never recorded.
            crashed = st.start_run("delta")
            item = next(i for i in build_items(changed, plan)[0] if i.source_key == key)
            op_key = f"{key}@{content_hash(item.payload)}"
            ops.register([OpSpec("delta_person", "person", op_key, "update")], crashed)
            op = ops.get("delta_person", op_key)
            assert op is not None
            ops.mark_started([op.id], crashed)
            pid = int(ops.id_map("person")[("person", key)])
            status_key = ops.field_keys("sb")[("person", "Patient Status")]
            await client.persons.update(
                pid, {"custom_fields": {status_key.key: status_key.options["Inactive"]}}
            )
            clock.advance(60)
            resumed = await delta_migration(client, ops, plan=plan, payloads=changed,
                                            run_id=st.start_run("delta"), account="sb")  # fmt: skip
            assert resumed.edited == []
            assert resumed.updated == {"person": 1, "deal": 1}
            done = ops.get("delta_person", op_key)
            assert done is not None
            assert done.status == "done"
    sb.close()


@pytest.mark.anyio
async def test_object_and_records_narrow_the_rollback(tmp_path: Path) -> None:
    """--object journal plans only the notes; --records plans only the listed keys; no schema."""
    sb = sandbox(tmp_path / "sb.db")
    with State(tmp_path / "state.db") as st:
        ops = Ops(st)
        async with client_for(sb) as client:
            await run_migration(client, ops, plan=hand_plan(), payloads=hand_payloads(),
                                run_id=st.start_run("run"), account="sb")  # fmt: skip
        runs = selected_runs(ops, None, True)
        notes = plan_rollback(ops, runs, account="sb", objects={"journal"}, schema=True)
        assert sorted((a.kind, a.entity, a.source_key) for a in notes) == [
            ("delete", "note", sk("journal", str(1000 + n))) for n in range(6)
        ]
        picked = {sk("matter", "1001.001"), sk("client", "1001")}
        subset = plan_rollback(ops, runs, account="sb", records=picked)
        assert [(a.entity, a.source_key) for a in subset] == [
            ("deal", sk("matter", "1001.001")),
            ("person", sk("client", "1001")),
        ]
        everything = plan_rollback(ops, runs, account="sb", schema=True)
        kinds = {a.entity for a in everything if a.kind == "schema"}
        assert kinds == {"stage", "pipeline", "activity_type", "field"}
    sb.close()
