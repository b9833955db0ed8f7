"""Shared fixtures for the report tests: synth exports per system and a manifest-driven oracle."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from pdmigrate.synth import synth

SYSTEMS = ("advancedpm", "corepractice", "practicebynumbers", "practicemaster", "visualpractice")


@pytest.fixture(scope="session")
def synth_exports(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """Synth exports (40 patients, seed 7) of a system, generated once per session."""
    made: dict[str, Path] = {}

    def get(system: str) -> Path:
        if system not in made:
            out = tmp_path_factory.mktemp(f"synth-{system}")
            synth(system, out, patients=40, seed=7)
            made[system] = out
        return made[system]

    return get


def csv_rows(folder: Path, obj: str) -> list[dict[str, str]]:
    """The rows of a CSV export of ``obj``, read with the csv module using the synth manifest.

    An oracle independent of pdmigrate's reader: title rows, header row and trailer rows
    are where the manifest says they are.
    """
    manifest = json.loads((folder / "synth_manifest.json").read_text(encoding="utf-8"))
    rows: list[dict[str, str]] = []
    for name, info in manifest["files"].items():
        if info["object"] != obj:
            continue
        assert info["format"] == "csv", f"{name} is not CSV"
        text = (folder / name).read_bytes().decode(info["encoding"])
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=info["delimiter"]))
        header = records[info["header_row"] - 1]
        body = records[info["header_row"] : len(records) - info["trailer_rows"]]
        rows.extend(dict(zip(header, r, strict=False)) for r in body if any(c.strip() for c in r))
    return rows


def export_date(folder: Path) -> str:
    """The synth export's date (the manifest's ``export_date``)."""
    manifest = json.loads((folder / "synth_manifest.json").read_text(encoding="utf-8"))
    return str(manifest["export_date"])
