"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The `shared/` folder beside the clone (specs and references)."""
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found next to the clone at {SHARED}")
    return SHARED
