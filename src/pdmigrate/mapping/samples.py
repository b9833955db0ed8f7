"""What a proposal sees of the exports and what it returns: samples, review items, proposal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pdmigrate.mapping.model import Mapping as MappingFile


@dataclass(frozen=True, slots=True)
class TableSample:
    """What the proposal sees of one export file (no row is kept beyond the sample)."""

    name: str
    object: str | None
    headers: tuple[str, ...]
    samples: Mapping[str, Sequence[str]] = field(default_factory=dict)
    distinct: Mapping[str, Sequence[str] | None] = field(default_factory=dict)
    rows: int = 0


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One thing the user should look at: a low-confidence line or an unmapped value."""

    object: str
    column: str
    field: str
    confidence: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "object": self.object,
            "column": self.column,
            "field": self.field,
            "confidence": self.confidence,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Proposal:
    """The proposed mapping and what needs review."""

    mapping: MappingFile
    review: tuple[ReviewItem, ...]
    unknown_files: tuple[str, ...] = ()
