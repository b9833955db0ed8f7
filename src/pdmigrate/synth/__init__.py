"""Realistic, messy, deterministic exports for each source system.

>>> manifest = synth("corepractice", Path("exports"), patients=200, seed=7)  # doctest: +SKIP

Each generator writes the files the reference lists for its system, in that system's
conventions (encoding, date order, title rows, XLSX report files), plus ``users.json``
(the Pipedrive users a sandbox is seeded with) and ``synth_manifest.json`` (exact counts
per object and every deliberate defect, by source key). The same seed gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pdmigrate.errors import UsageError
from pdmigrate.synth import (
    advancedpm,
    corepractice,
    generic,
    practicebynumbers,
    practicemaster,
    visualpractice,
)
from pdmigrate.synth.common import Manifest, write_manifest

Generator = Callable[[Path, int, int], tuple[Manifest, list[dict[str, Any]]]]

GENERATORS: dict[str, Generator] = {
    "advancedpm": advancedpm.generate,
    "corepractice": corepractice.generate,
    "generic": generic.generate,
    "practicebynumbers": practicebynumbers.generate,
    "practicemaster": practicemaster.generate,
    "visualpractice": visualpractice.generate,
}

#: Most patients (clients) one run may ask for.
MAX_PATIENTS = 2_000_000


def synth(system: str, out: Path, *, patients: int = 200, seed: int = 1) -> Manifest:
    """Write synthetic exports for ``system`` into ``out``; return the manifest.

    Raises UsageError for an unknown system, a patient count out of range, or an output
    folder that exists and is not empty.
    """
    generator = GENERATORS.get(system)
    if generator is None:
        raise UsageError(
            f"unknown source system {system!r}",
            hint=f"choose one of: {', '.join(sorted(GENERATORS))}",
        )
    if not 1 <= patients <= MAX_PATIENTS:
        raise UsageError(f"--patients must be between 1 and {MAX_PATIENTS}, got {patients}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty", hint="choose a new folder for the exports")
    out.mkdir(parents=True, exist_ok=True)
    manifest, _users = generator(out, patients, seed)
    write_manifest(out, manifest)
    return manifest


__all__ = ["GENERATORS", "MAX_PATIENTS", "Manifest", "synth"]
