"""What the exports hold, for the reports: rows per source object and each column's fill rate.

:class:`SourceStats` takes rows in the same single pass over the exports that infers
the workflow rules (:func:`pdmigrate.workflows.scan_exports`). It keeps counts only,
never values.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any


class SourceStats:
    """Rows per object and non-empty cells per column (feed :meth:`add`)."""

    def __init__(self) -> None:
        self.rows: Counter[str] = Counter()
        self.filled: dict[str, Counter[str]] = {}

    def add(self, obj: str, values: Mapping[str, str]) -> None:
        """Count one row of ``obj``."""
        self.rows[obj] += 1
        filled = self.filled.setdefault(obj, Counter())
        for column, value in values.items():
            filled[column] += 0 if value is None or not str(value).strip() else 1

    def to_dict(self) -> dict[str, Any]:
        """``{objects: {name: {rows, fill: {column: percent}}}}``, percent to one decimal."""
        objects: dict[str, Any] = {}
        for obj in sorted(self.rows):
            rows = self.rows[obj]
            fill = {
                column: round(100.0 * n / rows, 1) for column, n in self.filled.get(obj, {}).items()
            }
            mean = round(sum(fill.values()) / len(fill), 1) if fill else 0.0
            objects[obj] = {"rows": rows, "fill": fill, "mean_fill": mean}
        return {"objects": objects, "rows": sum(self.rows.values())}
