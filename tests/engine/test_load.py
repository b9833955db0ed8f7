"""The run engine on hand-made payloads against an in-process sandbox.

Exactly once (re-run, crash between call and commit, lost responses), the order and
links, failed records and the links that depended on them, and the budget stop.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.engine.loadkit import (
    TOKEN,
    canonical,
    client_for,
    duplicates,
    hand_payloads,
    hand_plan,
    sandbox,
    sk,
)

from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.pipeline import RunSummary, run_migration
from pdmigrate.sandbox.clock import FakeClock
from pdmigrate.sandbox.faults import FaultSpec
from pdmigrate.state import State
from pdmigrate.state_ops import Ops


async def _migrate(
    sb: Any, state_path: Path, payloads: list[Payload], **client_kw: Any
) -> tuple[RunSummary, Any]:
    with State(state_path) as st:
        ops = Ops(st)
        run_id = st.start_run("run")
        async with client_for(sb, **client_kw) as client:
            summary = await run_migration(
                client, ops, plan=hand_plan(), payloads=payloads, run_id=run_id, account="sb"
            )
        st.finish_run(run_id, summary.status)  # type: ignore[arg-type]
    return summary, client.stats


def _records(sb: Any) -> dict[str, list[dict[str, Any]]]:
    return sb.dump()["accounts"][0]["records"]  # type: ignore[no-any-return]


def _sid(records: dict[str, list[dict[str, Any]]], fields: str) -> str:
    return next(f["field_code"] for f in records[fields] if f["field_name"] == "Source ID")


@pytest.fixture
def clean(tmp_path: Path) -> dict[str, list[str]]:
    """The canonical account after one uninterrupted run of the hand-made payloads."""
    import asyncio

    sb = sandbox(tmp_path / "clean.db")
    summary, _ = asyncio.run(_migrate(sb, tmp_path / "clean-state.db", hand_payloads()))
    assert summary.status == "done"
    out = canonical(sb.dump())
    sb.close()
    return out


@pytest.mark.anyio
async def test_run_writes_records_in_order_with_sid_marker_dates_and_links(tmp_path: Path) -> None:
    """Every record lands once with its Source ID, original dates, marker and resolved links."""
    sb = sandbox(tmp_path / "sb.db")
    summary, stats = await _migrate(sb, tmp_path / "state.db", hand_payloads())
    assert summary.status == "done"
    assert summary.created == {
        "organization": 3,  # 2 organizations + the parent link
        "person": 6,
        "product": 1,
        "deal": 6,
        "activity": 6,
        "note": 6,
    }
    r = _records(sb)
    orgs = {o["name"]: o for o in r["organizations"]}
    assert orgs["Branch"]["add_time"] == "2019-04-01T00:00:00Z"
    person_sid = _sid(r, "personFields")
    p0 = next(p for p in r["persons"] if p["name"] == "Person 0")
    assert p0["custom_fields"][person_sid] == sk("client", "1000")
    assert p0["add_time"] == "2020-01-01T00:00:00Z"
    assert p0["org_id"] == orgs["Root Practice"]["id"]
    assert p0["visible_to"] == 7
    deal = next(d for d in r["deals"] if d["title"] == "Matter 0")
    assert deal["person_id"] == p0["id"]
    pipeline = next(p for p in r["pipelines"] if p["name"] == "Matters")
    assert deal["pipeline_id"] == pipeline["id"]
    stage = next(s for s in r["stages"] if s["id"] == deal["stage_id"])
    assert (stage["name"], stage["deal_probability"]) == ("Open", 50)
    created_date = next(f for f in r["dealFields"] if f["field_name"] == "Source Created Date")
    assert deal["custom_fields"][created_date["field_code"]] == "2021-05-06"
    act = next(a for a in r["activities"] if a["subject"] == "Hearing 0")
    assert act["participants"] == [{"person_id": p0["id"], "primary": True}]
    assert act["deal_id"] == deal["id"]
    court = next(t for t in r["activityTypes"] if t["name"] == "Court date")
    assert act["type"] == court["key_string"]
    note = next(n for n in r["notes"] if n["person_id"] == p0["id"])
    assert note["content"].startswith(f"[pdmigrate src={sk('journal', '1000')}]")
    assert note["add_time"] == "2024-03-05T14:15:00Z"  # sent as 2024-03-05 14:15:00 (v1)
    assert note["deal_id"] == deal["id"]
    rels = r["organizationRelationships"]
    assert [(x["type"], x["rel_owner_org_id"], x["rel_linked_org_id"]) for x in rels] == [
        ("parent", orgs["Root Practice"]["id"], orgs["Branch"]["id"])
    ]
    assert stats.by_endpoint["itemSearch.field"] == 0  # no search when nothing was lost
    with State(tmp_path / "state.db") as st:
        keys = Ops(st).field_keys("sb")
    assert keys[("person", "Source ID")].origin == "created"
    assert keys[("person", "Patient Status")].options.keys() == {"Active", "Inactive"}
    assert keys[("pipeline", "Matters")].key == str(pipeline["id"])
    sb.close()


@pytest.mark.anyio
async def test_rerun_of_finished_migration_sends_no_request(tmp_path: Path) -> None:
    """A second run of a finished migration writes nothing (and reads nothing either)."""
    sb = sandbox(tmp_path / "sb.db")
    await _migrate(sb, tmp_path / "state.db", hand_payloads())
    before = canonical(sb.dump())
    summary, stats = await _migrate(sb, tmp_path / "state.db", hand_payloads())
    assert (summary.status, summary.created, stats.requests) == ("done", {}, 0)
    assert canonical(sb.dump()) == before
    sb.close()


@pytest.mark.anyio
async def test_started_ops_are_reconciled_by_source_id_not_duplicated(
    tmp_path: Path, clean: dict[str, list[str]]
) -> None:
    """Ops left 'started' by a crash after the write are found by SID / marker, not re-sent."""
    sb = sandbox(tmp_path / "sb.db")
    state = tmp_path / "state.db"
    await _migrate(sb, state, hand_payloads())
    with State(state) as st:  # the crash: results never committed
        st.conn.execute(
            "UPDATE ops SET status = 'started' WHERE stage IN ('person', 'activity', 'note', "
            "'org_parent')"
        )
        st.conn.execute("DELETE FROM id_map WHERE entity IN ('person', 'activity', 'note')")
    summary, stats = await _migrate(sb, state, hand_payloads())
    assert summary.status == "done"
    assert summary.reconciled == 6 + 6 + 6 + 1
    assert stats.by_endpoint["persons.create"] == 0
    assert stats.by_endpoint["activities.create"] == 0
    assert stats.by_endpoint["notes.create"] == 0
    assert stats.by_endpoint["itemSearch.field"] == 6
    assert canonical(sb.dump()) == clean
    sb.close()


@pytest.mark.anyio
async def test_started_op_never_sent_is_sent_after_lookup(
    tmp_path: Path, clean: dict[str, list[str]]
) -> None:
    """A 'started' op whose request never left is looked up, not found, then created once."""
    sb = sandbox(tmp_path / "sb.db")
    state = tmp_path / "state.db"
    payloads = hand_payloads()
    with State(state) as st:
        ops = Ops(st)
        run_id = st.start_run("run")
        async with client_for(sb) as client:
            # Register and prepare, then mark every op started before anything is sent.
            from pdmigrate.load_items import build_items
            from pdmigrate.state_ops import OpSpec

            items, _ = build_items(payloads, hand_plan())
            ops.register(
                [OpSpec(i.stage, i.entity, i.source_key, i.kind, seq=i.seq) for i in items], run_id
            )
            st.conn.execute("UPDATE ops SET status = 'started'")
            summary = await run_migration(
                client, ops, plan=hand_plan(), payloads=payloads, run_id=run_id, account="sb"
            )
    assert summary.status == "done"
    assert summary.reconciled == 0
    assert canonical(sb.dump()) == clean
    sb.close()


@pytest.mark.anyio
async def test_lost_responses_and_5xx_still_write_each_record_once(
    tmp_path: Path, clean: dict[str, list[str]]
) -> None:
    """Committed-but-lost writes (30%) and 5xx (10%) end in the same account as a clean run."""
    faults = FaultSpec(seed=3, lost_rate=0.3, error_rate=0.1)
    sb = sandbox(tmp_path / "sb.db", faults=faults)
    summary, stats = await _migrate(
        sb, tmp_path / "state.db", hand_payloads(), backoff_base=0.01, seed=1
    )
    if summary.unknown:  # still unknown after every attempt: a resume settles it
        summary, _ = await _migrate(
            sb, tmp_path / "state.db", hand_payloads(), backoff_base=0.01, seed=2
        )
    assert summary.status == "done"
    assert stats.outcome_unknown > 0
    assert duplicates(sb.dump()) == {}
    assert canonical(sb.dump()) == clean
    sb.close()


@pytest.mark.anyio
async def test_rejected_record_fails_with_message_and_dependants_are_reported(
    tmp_path: Path,
) -> None:
    """A 400 marks the op failed with Pipedrive's message; links to it are reported, run goes on."""
    payloads = hand_payloads(2)
    bad = next(p for p in payloads if p.source_key == sk("client", "1000"))
    broken = Payload(
        bad.object,
        bad.entity,
        bad.source_key,
        {**bad.fields, "emails": [{"value": "p0@example.com", "primary": "yes"}]},
        bad.links,
        bad.where,
    )
    payloads = [broken if p is bad else p for p in payloads]
    sb = sandbox(tmp_path / "sb.db")
    summary, _ = await _migrate(sb, tmp_path / "state.db", payloads)
    assert summary.status == "attention"
    failed = {f["source_key"]: f for f in summary.failed}
    assert failed[sk("client", "1000")]["where"] == "clients.csv:2"
    assert "HTTP 400" in failed[sk("client", "1000")]["error"]
    links = {f["source_key"]: f["error"] for f in summary.links}
    assert links[sk("matter", "1000.001")].startswith("link person_id -> client/1000 not set")
    assert "its record failed" in links[sk("matter", "1000.001")]
    assert summary.created["person"] == 1
    assert summary.created["deal"] == 2  # the deal is written, its missing link reported
    r = _records(sb)
    assert len(r["persons"]) == 1
    sb.close()


@pytest.mark.anyio
async def test_budget_exhausted_stops_then_resume_after_midnight_matches_clean(
    tmp_path: Path, clean: dict[str, list[str]]
) -> None:
    """Out of tokens mid-run: status stopped with the reset time; after midnight it finishes."""
    clock = FakeClock(datetime(2026, 3, 2, 22, 0, tzinfo=UTC))

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    sb = sandbox(tmp_path / "sb.db", rate_limits=True, clock=clock)
    account = sb.account_for_token(TOKEN)
    assert account is not None
    sb.limits.spend(account.company_id, sb.limits.daily_budget - 250)
    state = tmp_path / "state.db"
    summary, _ = await _migrate(sb, state, hand_payloads(), clock=clock, sleep=sleep)
    assert summary.status == "stopped"
    assert summary.resets_at == datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert 0 < sum(summary.created.values()) < 34
    clock.set(datetime(2026, 3, 3, 0, 0, 5, tzinfo=UTC))
    summary, _ = await _migrate(sb, state, hand_payloads(), clock=clock, sleep=sleep)
    assert summary.status == "done"
    assert canonical(sb.dump()) == clean
    sb.close()


def test_state_db_keeps_no_token_and_audit_is_append_only(tmp_path: Path) -> None:
    """state.db never holds the API token; audit rows cannot be changed or deleted."""
    import asyncio
    import sqlite3

    sb = sandbox(tmp_path / "sb.db")
    asyncio.run(_migrate(sb, tmp_path / "state.db", hand_payloads(2)))
    sb.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("state.db*"))
    assert TOKEN.encode() not in raw
    with State(tmp_path / "state.db") as st:
        n = st.conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        assert n >= 2 + 2 + 2 + 2 + 3 + 1  # every record written, plus the schema items
        row = st.conn.execute(
            "SELECT entity, field, new_value FROM audit WHERE source_key = ?",
            (sk("client", "1000"),),
        ).fetchone()
        assert row[0] == "person"
        assert row[1] is None
        assert "custom_fields" in json.loads(row[2])
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            st.conn.execute("DELETE FROM audit")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            st.conn.execute("UPDATE audit SET field = 'x'")


def test_ref_to_a_child_that_names_a_parent_org_is_a_link_op() -> None:
    """An organization with a parent gets an org_parent op after the organizations."""
    from pdmigrate.load_items import build_items

    items, index = build_items(hand_payloads(1), hand_plan())
    stages = [(i.stage, i.source_key) for i in items if i.entity == "organization"]
    assert ("org_parent", sk("org", "branch")) in stages
    assert index.source_key(Ref("org", "root"), "organization") == sk("org", "root")
    assert timedelta(0) == timedelta(0)


@pytest.mark.anyio
async def test_person_already_in_account_gets_only_empty_fields_filled(tmp_path: Path) -> None:
    """A matched_existing person is not created again: empty fields filled, audited, kept."""
    from dataclasses import replace

    sb = sandbox(tmp_path / "sb.db")
    async with client_for(sb) as client:
        existing = await client.persons.create({"name": "Already There", "visible_to": 3})
    plan = replace(hand_plan(), existing={sk("client", "1000"): int(existing["id"])})
    with State(tmp_path / "state.db") as st:
        ops = Ops(st)
        run_id = st.start_run("run")
        async with client_for(sb) as client:
            summary = await run_migration(
                client, ops, plan=plan, payloads=hand_payloads(2), run_id=run_id, account="sb"
            )
        assert ops.origin("person", sk("client", "1000")) == "matched_existing"
        old_new = dict(
            st.conn.execute(
                "SELECT field, new_value FROM audit WHERE source_key = ? AND field IS NOT NULL",
                (sk("client", "1000"),),
            ).fetchall()
        )
    assert summary.created["person"] == 1
    assert summary.updated == {"person": 1}
    persons = {p["id"]: p for p in _records(sb)["persons"]}
    kept = persons[existing["id"]]
    assert kept["name"] == "Already There"  # not overwritten
    assert [e["value"] for e in kept["emails"]] == ["p0@example.com"]  # was empty: filled
    assert set(old_new) >= {"emails", "custom_fields", "org_id"}
    assert "name" not in old_new
    deal = next(d for d in _records(sb)["deals"] if d["title"] == "Matter 0")
    assert deal["person_id"] == existing["id"]
    sb.close()


@pytest.mark.anyio
async def test_links_to_records_outside_the_run_are_counted_not_failed(tmp_path: Path) -> None:
    """A link to a record no payload makes is left empty, counted per stage and link."""
    payloads = hand_payloads(2)
    payloads.append(
        Payload("client", "person", sk("client", "solo"), {"name": "Solo"},
                {"org_id": Ref("firm", "none")}, "clients.csv:9")
    )  # fmt: skip
    sb = sandbox(tmp_path / "sb.db")
    summary, _ = await _migrate(sb, tmp_path / "state.db", payloads)
    assert summary.status == "done"
    assert summary.links_absent == {"person.org_id": 1}
    solo = next(p for p in _records(sb)["persons"] if p["name"] == "Solo")
    assert solo["org_id"] is None
    sb.close()
