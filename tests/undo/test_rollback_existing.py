"""People already in the account (matched_existing) survive a rollback; only what pdmigrate
filled in is cleared."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from tests.undo.conftest import invoke, staff_client
from tests.undo.exports_edit import read_csv
from tests.undo.snapshot import differences, snapshot

from pdmigrate.plan.store import load_plan
from pdmigrate.synth import synth
from pdmigrate.workspace import load_workspace

pytestmark = pytest.mark.slow


async def _existing(ws: Path, email: str) -> int:
    async with staff_client(ws) as client:
        made = await client.persons.create(
            {"name": "Already Here", "emails": [{"value": email, "primary": True, "label": "work"}]}
        )
        return int(made["id"])


def test_matched_existing_person_is_never_deleted_only_cleared(tmp_path: Path) -> None:
    """run fills an existing person's empty fields; rollback clears them and keeps the person."""
    exports = tmp_path / "exports"
    synth("advancedpm", exports, patients=12, seed=21)
    header, rows = read_csv(exports / "patients.csv", "Chart Number")
    col = {name: i for i, name in enumerate(header)}
    full = [r for r in rows if len(r) == len(header) and "@" in r[col["Email"]]]
    emails = [r[col["Email"]].strip().lower() for r in full]
    row = next(r for r in full if emails.count(r[col["Email"]].strip().lower()) == 1)
    ws = tmp_path / "ws"
    invoke("init", str(ws), "--source", "advancedpm", "--exports", str(exports))
    toml = ws / "pdmigrate.toml"
    toml.write_text(toml.read_text().replace('plan = "growth"', 'plan = "ultimate"'))
    invoke("map", "-w", str(ws))
    invoke("confirm", "--yes", "-w", str(ws))
    person_id = asyncio.run(_existing(ws, row[col["Email"]].strip().lower()))
    owner = json.loads((exports / "users.json").read_text())[0]["email"]
    invoke("plan", "-w", str(ws), "--fallback-owner", owner)
    key = f"advancedpm/patient_person/{row[col['Chart Number']]}"
    assert load_plan(load_workspace(ws)).existing == {key: person_id}
    before = snapshot(ws / "sandbox.db")

    invoke("run", "-w", str(ws), "--json")
    dump = json.loads(invoke("sandbox", "dump", "--db", str(ws / "sandbox.db")).stdout)
    filled = next(p for p in dump["accounts"][0]["records"]["persons"] if p["id"] == person_id)
    assert any(v is not None for v in (filled.get("custom_fields") or {}).values())

    dry = json.loads(invoke("rollback", "-w", str(ws), "--all", "--schema", "--json").stdout)
    assert str(person_id) not in {
        r["pipedrive_id"] for r in dry["deleted"] if r["entity"] == "person"
    }
    cleared = [r for r in dry["restored"] if r["pipedrive_id"] == str(person_id)]
    assert [r["source_key"] for r in cleared] == [key]

    data = json.loads(
        invoke("rollback", "-w", str(ws), "--all", "--schema", "--yes", "--json").stdout
    )
    assert data["errors"] == []
    assert data["kept"] == []
    problems = differences(snapshot(ws / "sandbox.db"), before)
    assert not problems, "\n".join(problems)
