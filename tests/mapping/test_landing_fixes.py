"""Landing-rule fixes: whole "Last, First" owners, plan won dates and deals, payment notes."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from tests.mapping.conftest import documented_tables, settings_for

from pdmigrate.mapping.apply import apply_object, apply_rows
from pdmigrate.mapping.gather import read_rows, sample_exports
from pdmigrate.mapping.model import Link
from pdmigrate.mapping.payload import Applied, ApplyContext, Ref
from pdmigrate.mapping.propose import propose
from pdmigrate.profiles import load_profile
from pdmigrate.records import Row
from pdmigrate.synth import synth


def _mapping(system: str) -> Any:
    profile = load_profile(system)
    return propose(profile, settings_for(profile), documented_tables(profile)).mapping


def _rows(file: str, *dicts: dict[str, str]) -> list[Row]:
    return [Row(d, file, n + 2) for n, d in enumerate(dicts)]


@pytest.fixture(scope="module")
def synth40(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Synth exports (40 patients, seed 1) of the systems these rules touch."""
    root = tmp_path_factory.mktemp("synth40")
    out: dict[str, Path] = {}
    for system in ("corepractice", "practicebynumbers", "practicemaster"):
        synth(system, root / system, patients=40, seed=1)
        out[system] = root / system
    return out


def _synth_applied(system: str, folder: Path) -> tuple[Any, dict[str, list[Row]], Applied]:
    profile = load_profile(system)
    mapping = propose(profile, settings_for(profile), sample_exports(profile, folder)).mapping
    rows = read_rows(mapping, folder, profile)
    return mapping, rows, apply_rows(mapping, rows, ApplyContext(practice_name="Synth"))


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(
        encoding="cp1252" if path.name.isupper() or "CM" in path.name else "utf-8-sig", newline=""
    ) as fh:
        return list(csv.DictReader(fh))


# --- 1. owners keep "Last, First" whole; declared multi-user cells still split ----------


def test_last_first_owner_stays_one_name() -> None:
    """A "Last, First" practitioner is one owner, never cut at its comma."""
    cp = _mapping("corepractice")
    obj = cp.object("appointment_activity")
    assert obj.links["owner_id"].separator is None
    row = {
        "Appointment ID": "9",
        "Patient ID": "P1",
        "Practitioner": "Saunders, Candice",
        "Date": "05/03/2024",
        "Start": "09:30",
        "Status": "Booked",
    }
    made = apply_object(cp, obj, _rows("appointments.csv", row))
    assert made.of(obj.id, "activity")[0].links["owner_id"] == Ref(
        "user", "Saunders, Candice", "name"
    )


def test_multi_user_cell_splits_on_its_declared_separator() -> None:
    """Practice Master Users "12, 7": the first user owns (the profile declares ",")."""
    pm = _mapping("practicemaster")
    obj = pm.object("calendar_activity")
    assert obj.links["owner_id"] == Link(to="user", columns=["Users"], match="name", separator=",")
    row = {
        "Record #": "1",
        "Client ID": "100.001",
        "Type": "Event",
        "Date": "03/05/2024",
        "Start Time": "09:30",
        "Description": "Meeting",
        "Users": "12, 7",
        "Completed": "N",
    }
    made = apply_object(pm, obj, _rows("CMCALENDAR.csv", row))
    assert made.of(obj.id, "activity")[0].links["owner_id"] == Ref("user", "12", "name")


def test_synth_owners_land_whole(synth40: dict[str, Path]) -> None:
    """On synth data every corepractice owner is a whole practitioner name; PM's first user."""
    _, _, applied = _synth_applied("corepractice", synth40["corepractice"])
    appts = {r["Appointment ID"]: r for r in _csv(synth40["corepractice"] / "appointments.csv")}
    acts = applied.of("appointment_activity", "activity")
    assert acts
    for act in acts:
        key = act.source_key.rsplit("/", 1)[-1]
        owner = act.links["owner_id"]
        assert isinstance(owner, Ref)
        assert owner.key == appts[key]["Practitioner"].strip()
    assert any("," in a.links["owner_id"].key for a in acts)  # type: ignore[union-attr]
    _, _, pm = _synth_applied("practicemaster", synth40["practicemaster"])
    cal = {r["Record #"]: r for r in _csv(synth40["practicemaster"] / "CMCALENDAR.csv")}
    assert any("," in r["Users"] for r in cal.values())
    for act in pm.of("calendar_activity", "activity"):
        users = cal[act.source_key.rsplit("/", 1)[-1]]["Users"]
        owner = act.links.get("owner_id")
        if users.strip():
            assert owner == Ref("user", users.split(",")[0].strip(), "name")
