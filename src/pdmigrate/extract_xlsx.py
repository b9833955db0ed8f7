"""XLSX reading: stream a sheet's rows as text cells with openpyxl in read-only mode.

Cells become text without interpretation: text cells stay exactly as typed
(``011``, ``1234.010``), whole numbers lose Excel's ``.0`` (``1234.0`` -> ``1234``),
other numbers use the shortest exact form, and date-formatted cells (Excel serial
dates) become ISO 8601 (``2024-03-05`` or ``2024-03-05T09:30:00``). A serial date in
a cell without a date format stays a number; the date transforms accept serials.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl

from pdmigrate.extract_csv import RawRecord
from pdmigrate.records import Finding


def cell_text(value: Any) -> str:
    """The text of one XLSX cell value, as extract promises it (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def iter_xlsx_records(
    path: Path, *, sheet: str | None = None, name: str | None = None
) -> Iterator[RawRecord | Finding]:
    """Yield ``(row_number, cells)`` for every row of one sheet (the first unless ``sheet``).

    A file openpyxl cannot open yields one error Finding and nothing else. The first
    item yielded is always a Finding (info, code ``sheet``) naming the sheet read.
    """
    shown = name or path.name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # any corrupt/foreign file: report it, never crash
        yield Finding(
            "error",
            "unreadable_file",
            shown,
            None,
            None,
            f"cannot be opened as an Excel workbook ({type(exc).__name__})",
            fix="open it in Excel and save it again as .xlsx or as CSV UTF-8",
        )
        return
    try:
        names = list(workbook.sheetnames)
        if sheet is not None and sheet not in names:
            yield Finding(
                "error",
                "sheet_not_found",
                shown,
                None,
                None,
                f"has no sheet named {sheet!r} (sheets: {', '.join(names)})",
                fix="set the sheet name in the profile or mapping",
            )
            return
        if not names:
            return
        chosen = sheet if sheet is not None else names[0]
        others = [n for n in names if n != chosen]
        message = f"read sheet {chosen!r}"
        if others:
            message += f"; other sheets not read: {', '.join(others)}"
        yield Finding("info", "sheet", shown, None, None, message, sheet=chosen)
        worksheet = workbook[chosen]
        number = 0
        for row in worksheet.iter_rows(min_row=1):
            number += 1
            for cell in row:
                actual = getattr(cell, "row", None)
                if isinstance(actual, int):
                    number = actual
                    break
            yield number, [cell_text(cell.value) for cell in row]
    except Exception as exc:  # a corrupt sheet part: report where reading stopped
        yield Finding(
            "error",
            "unreadable_sheet",
            shown,
            None,
            None,
            f"reading stopped at a damaged part of the workbook ({type(exc).__name__})",
            fix="open it in Excel and save it again as .xlsx or as CSV UTF-8",
        )
    finally:
        workbook.close()
