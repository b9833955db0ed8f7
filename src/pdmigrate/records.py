"""The small frozen types passed between stages.

A :class:`Row` is one source record exactly as the export had it: every value is
the cell's text, untouched (IDs such as ``1234.010`` or ``0800`` stay text), plus
where it came from. A :class:`Finding` is one data-quality observation with a place
(file, line, column), a severity, a stable ``code`` scripts can match on, and a
suggested fix. Messages never quote row values: reports may be shared, rows may
hold patient data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]

#: Severity order, most serious first (for sorting and summaries).
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Row:
    """One source record: header -> cell text, with its provenance.

    ``line`` is the physical line (CSV) or sheet row (XLSX) where the record starts,
    counted from 1, so ``file:line`` opens the editor at the right place.
    """

    values: Mapping[str, str]
    file: str
    line: int
    sheet: str | None = None

    @property
    def where(self) -> str:
        """``file:line`` (or ``file[sheet]:line``) for messages."""
        place = self.file if self.sheet is None else f"{self.file}[{self.sheet}]"
        return f"{place}:{self.line}"

    def get(self, column: str, default: str = "") -> str:
        """The cell text of ``column``, or ``default`` when the column is absent."""
        return self.values.get(column, default)


@dataclass(frozen=True, slots=True)
class Finding:
    """One data-quality observation.

    ``code`` is stable (scripts and tests match on it); ``message`` is for people and
    names the column and the problem, never the value; ``fix`` suggests what to do.
    ``object`` is the source object (``patients``, ``matters``...) when known.
    """

    severity: Severity
    code: str
    file: str
    line: int | None
    column: str | None
    message: str
    fix: str = ""
    object: str | None = None
    sheet: str | None = None

    @property
    def where(self) -> str:
        """``file:line`` for messages (``file`` alone for file-level findings)."""
        place = self.file if self.sheet is None else f"{self.file}[{self.sheet}]"
        return place if self.line is None else f"{place}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        """The finding as a JSON-ready dict (the keys of the `--json` contract)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class TableInfo:
    """What extract learnt about one table (a CSV file or an XLSX sheet)."""

    file: str
    sheet: str | None
    encoding: str | None
    delimiter: str | None
    header_line: int | None
    header: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The table description as a JSON-ready dict."""
        data = asdict(self)
        data["header"] = list(self.header)
        return data
