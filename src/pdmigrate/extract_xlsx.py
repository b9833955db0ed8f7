"""XLSX reading: a sheet's rows as text cells, with their row numbers.

A sheet is read by calamine (Rust; ~5x faster than parsing the XML in Python) when
its XML part is small enough to hold in memory; a bigger sheet, or a workbook
calamine refuses, is streamed in one pass over the sheet XML so memory stays flat.
Both paths give the same text (a test compares them with openpyxl cell for cell).

Cells become text without interpretation: text cells stay exactly as typed
(``011``, ``1234.010``), whole numbers lose Excel's ``.0`` (``1234.0`` -> ``1234``),
other numbers use the shortest exact form, and date-formatted cells (Excel serial
dates) become ISO 8601 (``2024-03-05`` or ``2024-03-05T09:30:00``). A serial date in
a cell without a date format stays a number; the date transforms accept serials.
"""

from __future__ import annotations

import pyexpat
import zipfile
from collections.abc import Generator, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH, from_excel
from python_calamine import CalamineWorkbook

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

    A file that cannot be opened as a workbook yields one error Finding and nothing
    else. The first item yielded is otherwise a Finding (info, code ``sheet``) naming
    the sheet read.
    """
    shown = name or path.name
    try:
        if not _SAFE_XML:
            raise RuntimeError("this Python's expat is too old to read untrusted XML safely")
        archive = zipfile.ZipFile(path)
    except Exception as exc:  # any corrupt/foreign file: report it, never crash
        yield _unreadable(shown, exc)
        return
    try:
        try:
            sheets, date1904 = _sheets(archive)
            dates, durations = _date_styles(archive)
        except Exception as exc:
            yield _unreadable(shown, exc)
            return
        names = [n for n, _ in sheets]
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
        if not sheets:
            return
        chosen = sheet if sheet is not None else names[0]
        part = dict(sheets)[chosen]
        others = [n for n in names if n != chosen]
        message = f"read sheet {chosen!r}"
        if others:
            message += f"; other sheets not read: {', '.join(others)}"
        yield Finding("info", "sheet", shown, None, None, message, sheet=chosen)
        done = 0  # rows up to this number came from calamine
        try:
            if _fits_in_memory(archive, part):
                done = yield from _iter_calamine(path, chosen)
            if done >= 0:
                strings = _shared_strings(archive)
                epoch = MAC_EPOCH if date1904 else WINDOWS_EPOCH
                for record in _iter_sheet(archive, part, strings, dates, durations, epoch):
                    if record[0] > done:
                        yield record
        except Exception as exc:  # a damaged sheet part: report where reading stopped
            yield Finding(
                "error",
                "unreadable_sheet",
                shown,
                None,
                None,
                f"reading stopped at a damaged part of the workbook ({type(exc).__name__})",
                fix="open it in Excel and save it again as .xlsx or as CSV UTF-8",
                sheet=chosen,
            )
    finally:
        archive.close()


#: Sheets whose XML part is larger than this (uncompressed) are streamed by the reader
#: below instead of calamine, which holds a whole sheet in memory: measured, a 46 MB
#: sheet of shared strings costs ~90 MB more peak RSS than streaming it; at this
#: limit (~70,000 rows of 10 cells) calamine adds under 50 MB.
CALAMINE_MAX_PART_BYTES = 24 * 1024 * 1024

#: Excel keeps 15 significant digits; a whole number from 1e15 up (a 16-digit ID written
#: as a number by another tool) is exact only in the XML text, which calamine does not keep.
_EXACT_LIMIT = 1e15


def _fits_in_memory(archive: zipfile.ZipFile, part: str) -> bool:
    try:
        return archive.getinfo(part).file_size <= CALAMINE_MAX_PART_BYTES
    except KeyError:
        return False


def _iter_calamine(path: Path, sheet: str) -> Generator[RawRecord, None, int]:
    """Rows of one sheet read by calamine (Rust); returns how far it got.

    Returns -1 when the whole sheet was read. Returns 0 when calamine cannot read
    the workbook (the streaming reader then reads it, and reports any damage), or
    the last row number yielded when a number needs its exact XML text (see
    ``_EXACT_LIMIT``): the streaming reader carries on after that row.
    """
    try:
        with CalamineWorkbook.from_path(str(path)) as book:
            data = book.get_sheet_by_name(sheet)
            start = data.start
            rows = data.iter_rows()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # stricter than Excel about package parts; a Rust panic is a
        return 0  # BaseException too: the streaming reader reads it or reports the damage
    if start is None:
        return -1
    line, pad = start[0], [""] * start[1]
    try:
        for values in rows:
            line += 1
            cells = [v if v.__class__ is str else _calamine_text(v) for v in values]
            if pad:
                cells[:0] = pad
            if cells.count("") != len(cells):
                yield line, cells
    except _Inexact:
        return line - 1
    return -1


class _Inexact(Exception):
    """A whole number too big for a float to hold exactly (see ``_EXACT_LIMIT``)."""


def _calamine_text(value: object) -> str:
    if value.__class__ is float:
        if value.is_integer():
            if abs(value) >= _EXACT_LIMIT:
                raise _Inexact
            return str(int(value))
        return repr(value)
    return cell_text(value)


def _unreadable(shown: str, exc: Exception) -> Finding:
    return Finding(
        "error",
        "unreadable_file",
        shown,
        None,
        None,
        f"cannot be opened as an Excel workbook ({type(exc).__name__})",
        fix="open it in Excel and save it again as .xlsx or as CSV UTF-8",
    )


# --- a lean streaming reader ------------------------------------------------------------
# openpyxl's read-only mode builds a styled cell object per cell and, for sheets without
# a <dimension>, scans each sheet once more to size it. This reader walks the sheet XML
# once with ElementTree's C parser and keeps only text, using openpyxl's own number-format
# rules for dates. It reads what openpyxl writes, what Excel writes and the synth files.

_MAIN_NS = (
    "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/spreadsheetml/main",
)
_REL_ID = (
    "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id",
    "{http://purl.oclc.org/ooxml/officeDocument/relationships}id",
)


#: Why plain ElementTree is safe here: it never fetches external entities or DTDs,
#: and expat >= 2.4 (checked below) refuses billion-laughs entity amplification.
_SAFE_XML = tuple(int(x) for x in pyexpat.EXPAT_VERSION.split("_")[-1].split(".")[:2]) >= (2, 4)


#: Excel's last column is XFD (16,384 columns); a reference beyond it is damage.
_MAX_COLUMNS = 16_384


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _column_index(ref: str) -> int:
    """0-based column of a cell reference such as ``AB12``."""
    number = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            number = number * 26 + (ord(ch) - 64)
        elif "a" <= ch <= "z":
            number = number * 26 + (ord(ch) - 96)
        else:
            break
    return number - 1


def _text_of(elem: ET.Element) -> str:
    """Text of a shared or inline string: its <t>, or its runs' <t>; phonetic runs skipped."""
    parts: list[str] = []
    for child in elem:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "r":
            for grand in child:
                if _local(grand.tag) == "t":
                    parts.append(grand.text or "")
    return "".join(parts)


def _read_xml(archive: zipfile.ZipFile, name: str) -> ET.Element | None:
    try:
        with archive.open(name) as fh:
            return ET.parse(fh).getroot()  # noqa: S314 (see _SAFE_XML)
    except KeyError:
        return None


def _sheets(archive: zipfile.ZipFile) -> tuple[list[tuple[str, str]], bool]:
    """[(sheet name, part path)] in workbook order, and whether dates use the 1904 epoch."""
    workbook = _read_xml(archive, "xl/workbook.xml")
    if workbook is None:
        raise ValueError("no xl/workbook.xml")
    rels = _read_xml(archive, "xl/_rels/workbook.xml.rels")
    targets: dict[str, str] = {}
    if rels is not None:
        for rel in rels:
            target = rel.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            targets[rel.get("Id", "")] = target
    date1904 = False
    sheets: list[tuple[str, str]] = []
    for elem in workbook.iter():
        name = _local(elem.tag)
        if name == "workbookPr":
            date1904 = elem.get("date1904", "0").lower() in {"1", "true"}
        elif name == "sheet":
            rid = next((elem.get(k) for k in _REL_ID if elem.get(k)), None)
            path = targets.get(rid or "", f"xl/worksheets/sheet{len(sheets) + 1}.xml")
            sheets.append((elem.get("name", f"Sheet{len(sheets) + 1}"), path))
    return sheets, date1904


def _date_styles(archive: zipfile.ZipFile) -> tuple[frozenset[int], frozenset[int]]:
    """Indices of cell styles (cellXfs) with a date format, and with a duration format."""
    styles = _read_xml(archive, "xl/styles.xml")
    if styles is None:
        return frozenset(), frozenset()
    custom: dict[int, str] = {}
    dates: set[int] = set()
    durations: set[int] = set()
    for elem in styles.iter():
        if _local(elem.tag) == "numFmt":
            custom[int(elem.get("numFmtId", "0"))] = elem.get("formatCode", "")
    cell_xfs = next((e for e in styles.iter() if _local(e.tag) == "cellXfs"), None)
    for index, xf in enumerate(cell_xfs if cell_xfs is not None else []):
        fmt_id = int(xf.get("numFmtId", "0"))
        code = custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id, "General")
        if is_timedelta_format(code):
            durations.add(index)
        elif is_date_format(code):
            dates.add(index)
    return frozenset(dates), frozenset(durations)


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    strings: list[str] = []
    try:
        fh = archive.open("xl/sharedStrings.xml")
    except KeyError:
        return strings
    with fh:
        for _, elem in ET.iterparse(fh, events=("end",)):  # noqa: S314 (see _SAFE_XML)
            if _local(elem.tag) == "si":
                strings.append(_text_of(elem))
                elem.clear()
    return strings


def _number_text(raw: str) -> str:
    try:
        value: float | int = float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
    except ValueError:
        return raw
    return cell_text(value)


def _iter_sheet(
    archive: zipfile.ZipFile,
    part: str,
    strings: list[str],
    dates: frozenset[int],
    durations: frozenset[int],
    epoch: datetime,
) -> Iterator[tuple[int, list[str]]]:
    """Rows of one sheet part. Only "end" events are asked for (half the events of
    start+end); each row is cleared once read, leaving an empty element of ~70 bytes
    behind, which Excel's 1,048,576-row limit bounds."""
    row_number = 0
    ns: str | None = None
    row_tags = {f"{{{n}}}row" for n in _MAIN_NS} | {"row"}
    with archive.open(part) as fh:
        for _, elem in ET.iterparse(fh, events=("end",)):  # noqa: S314 (see _SAFE_XML)
            tag = elem.tag
            if tag not in row_tags:
                continue
            if ns is None:
                ns = tag[: tag.index("}") + 1] if "}" in tag else ""
            given = elem.get("r")
            row_number = int(given) if given and given.isdigit() else row_number + 1
            cells = _row_cells(elem, ns, strings, dates, durations, epoch)
            elem.clear()
            yield row_number, cells


def _row_cells(
    row: ET.Element,
    ns: str,
    strings: list[str],
    dates: frozenset[int],
    durations: frozenset[int],
    epoch: datetime,
) -> list[str]:
    c_tag, v_tag, t_tag = ns + "c", ns + "v", ns + "t"
    is_tag = ns + "is"
    cells: list[str] = []
    append = cells.append
    for cell in row:
        if cell.tag != c_tag:
            continue
        ref = cell.get("r")
        if ref:
            column = _column_index(ref)
            if column >= _MAX_COLUMNS:
                raise ValueError("cell reference beyond Excel's last column")
            if column > len(cells):
                cells.extend([""] * (column - len(cells)))
        kind = cell.get("t", "n")
        value: str | None = None
        holder: ET.Element | None = None
        for child in cell:
            if child.tag == v_tag:
                value = child.text or ""
            elif child.tag == is_tag:
                holder = child
        if kind == "inlineStr":
            if holder is None:
                append("")
            elif len(holder) == 1 and holder[0].tag == t_tag:
                append(holder[0].text or "")
            else:  # rich text runs, perhaps with phonetic runs
                append(_text_of(holder))
        elif value is None:
            append("")
        elif kind == "s":
            append(strings[int(value)])
        elif kind == "b":
            append("TRUE" if value.strip() in {"1", "true"} else "FALSE")
        elif kind in {"str", "e", "d"}:
            append(value)
        else:
            style = int(cell.get("s") or 0)
            if style in dates or style in durations:
                try:
                    when = from_excel(float(value), epoch, timedelta=style in durations)
                except (ValueError, OverflowError):
                    append(_number_text(value))
                else:
                    append(cell_text(when))
            elif value.isdigit():
                append(value.lstrip("0") or "0")
            else:
                append(_number_text(value))
    return cells
