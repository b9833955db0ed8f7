"""The one CSV writer every report uses: spreadsheet-safe cells, UTF-8 with a BOM.

A cell that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return) is prefixed with ``'`` so it shows as text. The
BOM makes Excel open the file as UTF-8 (accents and non-Latin names intact). Files are
written to a temporary name and renamed, so a crash never leaves half a report.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

#: What a spreadsheet treats as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def neutralise(value: object) -> str:
    """The cell text of ``value``, prefixed with ``'`` when it would start a formula."""
    if value is None:
        return ""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def render_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """CSV text (BOM first, CRLF line ends as Excel writes them) with every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return BOM + buffer.getvalue()


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a CSV report atomically (temp file + rename); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_csv(header, rows), encoding="utf-8", newline="")
    os.replace(tmp, path)
    return path
