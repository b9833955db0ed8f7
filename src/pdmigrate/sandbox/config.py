"""How a sandbox is set up: plan, seats, storage, tokens, and which behaviours are on.

One :class:`SandboxConfig` is passed to :func:`pdmigrate.sandbox.app.create_app`.
Every field has the default a new Pipedrive company account would have, so
``SandboxConfig()`` is an in-memory Growth account with one seat that opens a new
account for every unknown API token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pdmigrate.sandbox.clock import Clock, SystemClock
from pdmigrate.sandbox.faults import FaultSpec

PLANS: tuple[str, ...] = ("lite", "growth", "premium", "ultimate")


@dataclass
class SandboxConfig:
    """Settings of one sandbox server (shared by every account it holds)."""

    plan: str = "growth"
    seats: int = 1
    db_path: Path | None = None
    tokens: dict[str, int] | None = None
    users: list[dict[str, Any]] | None = None
    contact_sync: bool = False
    fair_use: bool = True
    rate_limits: bool = True
    latency_ms: int = 0
    faults: FaultSpec | None = None
    clock: Clock = field(default_factory=SystemClock)
    validate: bool = True
    max_file_bytes: int = 50 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.plan not in PLANS:
            raise ValueError(f"unknown plan {self.plan!r}; expected one of {', '.join(PLANS)}")
        if self.seats < 1:
            raise ValueError("seats must be at least 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms cannot be negative")
