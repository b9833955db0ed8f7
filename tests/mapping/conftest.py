"""Shared fixtures for the mapping tests: small synth exports and their proposals."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdmigrate.mapping.gather import read_rows, sample_exports
from pdmigrate.mapping.model import Mapping, Settings
from pdmigrate.mapping.propose import Proposal, TableSample, propose
from pdmigrate.profiles import Profile, load_profile
from pdmigrate.records import Row
from pdmigrate.synth import synth

SYSTEMS = ("advancedpm", "corepractice", "practicebynumbers", "practicemaster", "visualpractice")


def settings_for(profile: Profile) -> Settings:
    """The profile's own practice settings, as init would write them."""
    order = {"DMY": "dmy", "MDY": "mdy", "YMD": "ymd"}.get(profile.system.date_order)
    return Settings(
        country=profile.system.country,
        timezone=profile.system.timezone,
        currency=profile.system.currency,
        date_order=order,  # type: ignore[arg-type]
    )


def documented_tables(profile: Profile) -> list[TableSample]:
    """One table per profile object with exactly its documented headers (no rows)."""
    return [
        TableSample(
            name=o.file.patterns[0].replace("*", ""),
            object=o.name,
            headers=tuple(c.name for c in o.columns),
        )
        for o in profile.objects
    ]


@pytest.fixture(scope="session")
def synth_exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Synth exports (30 patients, seed 5) for every system, written once per session."""
    root = tmp_path_factory.mktemp("synth")
    out: dict[str, Path] = {}
    for system in (*SYSTEMS, "generic"):
        folder = root / system
        synth(system, folder, patients=30, seed=5)
        out[system] = folder
    return out


@pytest.fixture(scope="session")
def synth_mappings(
    synth_exports: dict[str, Path],
) -> dict[str, tuple[Proposal, dict[str, list[Row]]]]:
    """The proposal (offline) and the rows of every system's synth exports."""
    out: dict[str, tuple[Proposal, dict[str, list[Row]]]] = {}
    for system, folder in synth_exports.items():
        profile = load_profile(system)
        proposal = propose(profile, settings_for(profile), sample_exports(profile, folder))
        out[system] = (proposal, read_rows(proposal.mapping, folder, profile))
    return out


def small_mapping(text: str) -> Mapping:
    """Parse a mapping written in a test."""
    from pdmigrate.mapping.io import parse_text

    return parse_text(text)[0]
