"""`pdmigrate delta` on a cutover week: exactly the expected writes, edits in Pipedrive kept.

The exports change after the run (5% of patients with a new phone, 2% new patients,
half the Submitted claims now Paid) and staff touch 1% of the records in Pipedrive
in between (one changed patient edited, one paid claim's deal given a note). The
delta must create the new patients, update exactly the other changed records, close
the paid claims as won, flag exactly the touched ones, and spend tokens on nothing
but those writes and listing calls.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from tests.undo.conftest import copy_of, invoke, recording_factory, staff_client
from tests.undo.exports_edit import cutover
from tests.undo.snapshot import snapshot

from pdmigrate.delta_run import delta_workspace
from pdmigrate.pipedrive.client import PipedriveClient
from pdmigrate.pipedrive.endpoints import get as endpoint
from pdmigrate.pipeline import run_workspace
from pdmigrate.plan.store import load_plan
from pdmigrate.state import State
from pdmigrate.workspace import load_workspace

pytestmark = pytest.mark.slow

P = "advancedpm"


def _ids(ws: Path) -> dict[tuple[str, str], str]:
    with State(ws / "state.db") as st:
        rows = st.conn.execute("SELECT entity, source_key, pipedrive_id FROM id_map").fetchall()
    return {(str(e), str(k)): str(p) for e, k, p in rows}


def _delta_writes(ws: Path, run_id: int) -> dict[str, set[str]]:
    """Source keys the delta run wrote, per op stage (from the ops table)."""
    out: dict[str, set[str]] = {}
    with State(ws / "state.db") as st:
        for stage, key in st.conn.execute(
            "SELECT stage, source_key FROM ops WHERE run_id = ? AND status = 'done'", (run_id,)
        ):
            out.setdefault(str(stage), set()).add(str(key).split("@")[0])
    return out


async def _staff_edits(ws: Path, person_id: int, deal_id: int) -> None:
    async with staff_client(ws) as client:
        await client.persons.update(person_id, {"name": "Edited By Staff"})
        await client.notes.create({"deal_id": deal_id, "content": "Carrier called about EOB"})


def test_delta_writes_exactly_the_changes_and_keeps_edits(
    migrated: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    """New, changed, Paid claims and staff edits: exact writes, won deals, edited ones kept."""
    ws, exports = copy_of(migrated, tmp_path)
    plan = load_plan(load_workspace(ws))
    merged = set(plan.merges) | set(plan.merges.values())
    fresh = tmp_path / "fresh"
    import shutil

    shutil.copytree(exports, fresh)
    edits = cutover(fresh, seed=3, exclude={k.rsplit("/", 1)[-1] for k in merged})
    assert len(edits.changed_patients) == 5
    assert len(edits.new_patients) == 2
    assert edits.paid_claims
    ids = _ids(ws)
    edited_person = f"{P}/patient_person/{edits.changed_patients[0]}"
    edited_deal = f"{P}/claim_deal/{edits.paid_claims[0]}"
    asyncio.run(
        _staff_edits(ws, int(ids[("person", edited_person)]), int(ids[("deal", edited_deal)]))
    )

    clients: list[PipedriveClient] = []
    summary = delta_workspace(
        load_workspace(ws), fresh, client_factory=recording_factory(ws, clients)
    )
    data = summary.to_dict()

    assert data["status"] == "attention"  # edited records were kept
    assert {(e["entity"], e["source_key"]) for e in data["edited"]} == {
        ("person", edited_person),
        ("deal", edited_deal),
    }
    assert data["created"] == {"person": 2}
    want_persons = {f"{P}/patient_person/{k}" for k in edits.changed_patients} - {edited_person}
    want_deals = {f"{P}/claim_deal/{k}" for k in edits.paid_claims} - {edited_deal}
    assert data["updated"] == {"person": len(want_persons), "deal": len(want_deals)}
    writes = _delta_writes(ws, data["run_id"])
    assert writes == {
        "person": {f"{P}/patient_person/{k}" for k in edits.new_patients},
        "delta_person": want_persons,
        "delta_deal": want_deals,
    }
    assert data["failed"] == []

    # Paid claims closed as won; the edited deal kept its status.
    records = json.loads(invoke("sandbox", "dump", "--db", str(ws / "sandbox.db")).stdout)
    deals = {d["id"]: d for d in records["accounts"][0]["records"]["deals"]}
    ids = _ids(ws)
    for key in want_deals:
        deal = deals[int(ids[("deal", key)])]
        assert (deal["status"], deal["won_time"][:10]) == ("won", "2025-07-02"), key
    assert deals[int(ids[("deal", edited_deal)])]["status"] == "open"

    # Tokens: only the writes above plus listing calls; the ledger agrees with x-token-cost.
    stats = clients[0].stats
    spent = dict(stats.by_endpoint)
    writes_called = {n: c for n, c in spent.items() if endpoint(n).is_write}
    assert writes_called == {
        "persons.create": 2,
        "persons.update": len(want_persons),
        "deals.update": len(want_deals),
    }
    reads = {n for n in spent if not endpoint(n).is_write}
    assert all(n.endswith((".list", ".listMany")) for n in reads - {"persons.search"}), reads
    # One exact email search per new patient (is a staff-added person already there?).
    assert spent["persons.search"] == len(edits.new_patients)
    assert data["matched_existing"] == 0
    write_tokens = sum(endpoint(n).cost * c for n, c in writes_called.items())
    list_tokens = sum(endpoint(n).cost * c for n, c in spent.items() if n in reads)
    assert stats.tokens_charged == write_tokens + list_tokens
    print(
        f"\ndelta tokens: {stats.tokens_charged} = writes {write_tokens} "
        f"({sum(writes_called.values())} calls) + listings {list_tokens} "
        f"({sum(spent[n] for n in reads)} calls)"
    )

    # A second delta over the same exports writes nothing (and sends no request at all
    # beyond the listings that re-check the kept records).
    clients.clear()
    again = delta_workspace(
        load_workspace(ws), fresh, client_factory=recording_factory(ws, clients)
    )
    assert again.created == {}
    assert again.updated == {}
    assert {n for n in clients[0].stats.by_endpoint if endpoint(n).is_write} == set()
    assert {(e["entity"], e["source_key"]) for e in again.edited} == {
        ("person", edited_person),
        ("deal", edited_deal),
    }
    # A plain `run` afterwards reads the workspace's older exports: it must not undo what
    # the delta wrote from the fresh ones.
    clients.clear()
    after = run_workspace(load_workspace(ws), client_factory=recording_factory(ws, clients))
    assert after.created == {}
    assert after.updated == {}
    assert {n for c in clients for n in c.stats.by_endpoint if endpoint(n).is_write} == set()


def test_a_new_patient_staff_already_added_is_filled_not_duplicated(
    migrated: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    """Staff added a new patient by hand during cutover: delta links to that person."""
    import shutil

    ws, exports = copy_of(migrated, tmp_path)
    fresh = tmp_path / "fresh"
    shutil.copytree(exports, fresh)
    edits = cutover(fresh, seed=3, exclude=set())
    assert len(edits.new_patients) == 2

    async def add_by_hand() -> int:
        async with staff_client(ws) as client:
            made = await client.persons.create(
                {"name": "Walk In", "emails": [{"value": "NEWCOMER0@example.org"}]}
            )
            return int(made["id"])

    by_hand = asyncio.run(add_by_hand())
    data = delta_workspace(load_workspace(ws), fresh).to_dict()
    assert data["matched_existing"] == 1
    assert data["created"] == {"person": 1}
    ids = _ids(ws)
    first = f"{P}/patient_person/{edits.new_patients[0]}"
    assert ids[("person", first)] == str(by_hand)
    records = json.loads(invoke("sandbox", "dump", "--db", str(ws / "sandbox.db")).stdout)
    people = records["accounts"][0]["records"]["persons"]
    emails = [e["value"].casefold() for p in people for e in p.get("emails") or []]
    assert emails.count("newcomer0@example.org") == 1


def test_delta_on_unchanged_exports_sends_nothing(
    migrated: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    """The exports the run used, read again: every record unchanged, not one request."""
    ws, exports = copy_of(migrated, tmp_path)
    clients: list[PipedriveClient] = []
    summary = delta_workspace(
        load_workspace(ws), exports, client_factory=recording_factory(ws, clients)
    )
    assert summary.status == "done"
    assert summary.created == {}
    assert summary.updated == {}
    assert summary.gone == []
    assert summary.unchanged > 200
    assert clients[0].stats.requests == 0


def test_delta_dry_run_changes_nothing(migrated: tuple[Path, Path, Any], tmp_path: Path) -> None:
    """--dry-run reports the new and changed records and leaves account and id map alone."""
    ws, exports = copy_of(migrated, tmp_path)
    plan = load_plan(load_workspace(ws))
    merged = {k.rsplit("/", 1)[-1] for k in set(plan.merges) | set(plan.merges.values())}
    edits = cutover(exports, seed=4, exclude=merged)
    before, ids = snapshot(ws / "sandbox.db"), _ids(ws)
    result = invoke("delta", "-w", str(ws), "--exports", str(exports), "--dry-run", "--json")
    data = json.loads(result.stdout)
    assert data["dry_run"] is True
    assert data["created"] == {"person": len(edits.new_patients)}
    assert data["updated"] == {"person": 5, "deal": len(edits.paid_claims)}
    assert snapshot(ws / "sandbox.db") == before
    assert _ids(ws) == ids
