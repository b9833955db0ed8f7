"""`pdmigrate rollback`: dry run, full reversal, edited records kept, subsets, twice harmless.

Each test works on a private copy of one migrated advancedpm workspace (100 patients)
and compares the sandbox account with snapshots that treat soft-deleted records as
absent.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.undo.conftest import copy_of, invoke, recording_factory, staff_client
from tests.undo.exports_edit import cutover
from tests.undo.snapshot import differences, snapshot

from pdmigrate.pipedrive.client import PipedriveClient
from pdmigrate.plan.store import load_plan
from pdmigrate.rollback_run import rollback_workspace
from pdmigrate.state import State
from pdmigrate.workspace import load_workspace

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]

P = "advancedpm"


def _state(ws: Path) -> dict[str, Any]:
    """Everything rollback may touch in state.db, for before/after comparisons."""
    with State(ws / "state.db") as st:
        c = st.conn
        return {
            "ops": c.execute("SELECT * FROM ops ORDER BY id").fetchall(),
            "id_map": c.execute("SELECT * FROM id_map ORDER BY entity, source_key").fetchall(),
            "field_keys": c.execute("SELECT * FROM field_keys ORDER BY entity, name").fetchall(),
            "audit": c.execute("SELECT COUNT(*) FROM audit").fetchone()[0],
            "runs": c.execute("SELECT COUNT(*) FROM runs").fetchone()[0],
        }


def _ids(ws: Path) -> dict[tuple[str, str], str]:
    with State(ws / "state.db") as st:
        rows = st.conn.execute("SELECT entity, source_key, pipedrive_id FROM id_map").fetchall()
    return {(str(e), str(k)): str(p) for e, k, p in rows}


def _rollback(ws: Path, *args: str) -> dict[str, Any]:
    out = invoke("rollback", "-w", str(ws), "--json", *args)
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_dry_run_is_the_default_and_changes_nothing(
    migrated: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    """Without --yes: every created record listed as would-delete; account and state untouched."""
    ws, _ = copy_of(migrated, tmp_path)
    account, state = snapshot(ws / "sandbox.db"), _state(ws)
    data = _rollback(ws, "--all", "--schema")
    assert data["dry_run"] is True
    created = {(e, k) for e, k in _ids(ws)}
    assert {(r["entity"], r["source_key"]) for r in data["deleted"]} >= created
    assert data["kept"] == []
    assert data["errors"] == []
    assert data["counts"]["schema"] > 0
    assert snapshot(ws / "sandbox.db") == account
    assert _state(ws) == state


def test_rollback_all_schema_returns_the_account_and_twice_is_harmless(
    migrated: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    """run, delta, rollback --all --schema: the pre-run account; a second rollback is a no-op."""
    ws, exports = copy_of(migrated, tmp_path)
    _, _, before = migrated
    plan = load_plan(load_workspace(ws))
    merged = {k.rsplit("/", 1)[-1] for k in set(plan.merges) | set(plan.merges.values())}
    fresh = tmp_path / "fresh"
    shutil.copytree(exports, fresh)
    cutover(fresh, seed=9, exclude=merged)
    invoke("delta", "-w", str(ws), "--exports", str(fresh))
    data = _rollback(ws, "--all", "--schema", "--yes")
    assert data["status"] == "done"
    assert data["errors"] == []
    assert data["kept"] == []
    problems = differences(snapshot(ws / "sandbox.db"), before)
    assert not problems, "\n".join(problems)
    assert _ids(ws) == {}

    clients: list[PipedriveClient] = []
    again = rollback_workspace(load_workspace(ws), all_runs=True, schema=True, dry_run=False,
                               client_factory=recording_factory(ws, clients))  # fmt: skip
    assert (again.deleted, again.restored, again.schema, again.errors) == ([], [], [], [])
    assert not [n for n in clients[0].stats.by_endpoint if not n.endswith(".list")]

    # The next run creates everything again.
    rerun = json.loads(invoke("run", "-w", str(ws), "--json").stdout)
    assert rerun["created"]["person"] == len([k for k in _ids(ws) if k[0] == "person"])
    assert rerun["created"]["person"] > 90


def test_rollback_of_a_delta_restores_old_values(
    migrated: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    """--run DELTA: the new records go, updated fields (paid claims) get their old values back."""
    ws, exports = copy_of(migrated, tmp_path)
    after_run = snapshot(ws / "sandbox.db")
    plan = load_plan(load_workspace(ws))
    merged = {k.rsplit("/", 1)[-1] for k in set(plan.merges) | set(plan.merges.values())}
    fresh = tmp_path / "fresh"
    shutil.copytree(exports, fresh)
    edits = cutover(fresh, seed=5, exclude=merged)
    delta = json.loads(invoke("delta", "-w", str(ws), "--exports", str(fresh), "--json").stdout)
    assert delta["updated"]["deal"] == len(edits.paid_claims)
    data = _rollback(ws, "--run", str(delta["run_id"]), "--yes")
    assert {r["source_key"] for r in data["deleted"]} == {
        f"{P}/patient_person/{k}" for k in edits.new_patients
    }
    restored = {r["source_key"] for r in data["restored"]}
    assert {f"{P}/claim_deal/{k}" for k in edits.paid_claims} <= restored
    assert len(restored) == sum(delta["updated"].values())
    problems = differences(snapshot(ws / "sandbox.db"), after_run)
    assert not problems, "\n".join(problems)
    # The next delta sees the same changes again and writes them again.
    again = json.loads(invoke("delta", "-w", str(ws), "--exports", str(fresh), "--json").stdout)
    assert again["updated"] == delta["updated"]
    assert again["created"] == delta["created"]


async def _staff(ws: Path, edit_id: int, note_on: int) -> int:
    async with staff_client(ws) as client:
        await client.persons.update(edit_id, {"name": "Renamed At The Desk"})
        note = await client.notes.create({"person_id": note_on, "content": "Asked for a refill"})
        return int(note["id"])


def test_records_edited_in_pipedrive_are_kept_unless_force(
    migrated: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    """A renamed person and one with a staff note are kept and reported; --force deletes them."""
    ws, _ = copy_of(migrated, tmp_path)
    ids = _ids(ws)
    edited, noted = f"{P}/patient_person/A000003", f"{P}/patient_person/A000004"
    note_id = asyncio.run(_staff(ws, int(ids[("person", edited)]), int(ids[("person", noted)])))
    data = _rollback(ws, "--all", "--yes")
    assert data["status"] == "attention"
    kept = {r["source_key"]: r["why"] for r in data["kept"]}
    assert set(kept) == {edited, noted}
    assert kept[edited].startswith("edited in Pipedrive at ")
    assert kept[noted] == f"has note {note_id} not created by pdmigrate"
    live = json.loads(invoke("sandbox", "dump", "--db", str(ws / "sandbox.db")).stdout)
    persons = {str(p["id"]): p for p in live["accounts"][0]["records"]["persons"]}
    assert not persons[ids[("person", edited)]].get("is_deleted")
    forced = _rollback(ws, "--all", "--yes", "--force")
    assert {r["source_key"] for r in forced["deleted"]} == {edited, noted}
    assert forced["kept"] == []


def test_schema_of_kept_records_stays_unless_force(
    migrated: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    """--schema keeps the person fields a kept (edited) person still uses; others go."""
    ws, _ = copy_of(migrated, tmp_path)
    ids = _ids(ws)
    edited = f"{P}/patient_person/A000003"
    asyncio.run(_staff(ws, int(ids[("person", edited)]), int(ids[("person", edited)])))
    data = _rollback(ws, "--all", "--schema")  # dry run: reports, writes nothing
    held = [r for r in data["kept"] if "source_key" not in r]
    assert held, data["kept"]
    assert all(r["why"].startswith("kept person records (edited in Pipedrive)") for r in held)
    with State(ws / "state.db") as st:
        person_fields = {
            str(k)
            for (k,) in st.conn.execute(
                "SELECT key FROM field_keys WHERE entity = 'person' AND origin = 'created'"
            )
        }
    assert {r["pipedrive_id"] for r in held} == person_fields
    removed = {r["pipedrive_id"] for r in data["schema"]}
    assert not removed & person_fields
    assert removed  # deal fields, stages and pipelines still go
    forced = _rollback(ws, "--all", "--schema", "--force")
    assert person_fields <= {r["pipedrive_id"] for r in forced["schema"]}


def test_records_subset_is_recreated_by_the_next_run(
    migrated: tuple[Path, Path, Any], tmp_path: Path
) -> None:
    """--records FILE reverses only those keys; `run` then creates exactly them again."""
    ws, _ = copy_of(migrated, tmp_path)
    before = snapshot(ws / "sandbox.db")
    ids = _ids(ws)
    keys = sorted(k for e, k in ids if e == "deal")[:3]
    listing = tmp_path / "keys.txt"
    listing.write_text("# claims to redo\n" + "\n".join(keys) + "\n", encoding="utf-8")
    data = _rollback(ws, "--all", "--records", str(listing), "--yes")
    assert sorted(r["source_key"] for r in data["deleted"]) == keys
    assert data["restored"] == []
    remaining = _ids(ws)
    assert all(("deal", k) not in remaining for k in keys)
    assert len(remaining) == len(ids) - 3
    rerun = json.loads(invoke("run", "-w", str(ws), "--json").stdout)
    assert rerun["created"] == {"deal": 3}
    assert {k for e, k in _ids(ws) if e == "deal"} >= set(keys)
    # Same account apart from the three deals' ids.
    after = snapshot(ws / "sandbox.db")
    assert _without_ids(after["deals"]) == _without_ids(before["deals"])


def _without_ids(rows: list[str]) -> list[str]:
    out = []
    for row in rows:
        doc = {k: v for k, v in json.loads(row).items() if k not in ("id", "add_time")}
        out.append(json.dumps(doc, sort_keys=True))
    return sorted(out)


def test_usage_errors_exit_2(migrated: tuple[Path, Path, Any], tmp_path: Path) -> None:
    """Neither --run nor --all, an unknown run, a missing --records file: exit 2, no traceback."""
    ws, _ = copy_of(migrated, tmp_path)
    cases = {
        (): "pass --run ID or --all",
        ("--run", "999"): "--run 999: no such run",
        ("--all", "--records", str(tmp_path / "none.txt")): "no such file",
    }
    for args, says in cases.items():
        result = subprocess.run(
            [sys.executable, "-m", "tests.undo.cli_entry", "rollback", "-w", str(ws), *args],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert says in result.stderr
        assert "Traceback" not in result.stderr
