"""The proof tests' shared fixture: one demo flow on a synth corepractice workspace."""

from __future__ import annotations

import pytest

from pdmigrate.demo import DemoResult, run_system


@pytest.fixture(scope="package")
def flow(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    """The demo flow for corepractice (30 patients, seed 1): synth .. report, verified."""
    return run_system("corepractice", tmp_path_factory.mktemp("proof"), patients=30)
