"""Exports -> rows with provenance: CSV/TXT and XLSX, streamed, never crashing on content.

``open_table(path)`` detects the encoding and delimiter (CSV), finds the header row
(skipping title and banner rows above it), and then streams :class:`Row` objects
and :class:`Finding` objects in file order. Values are the cells' text, untouched:
extract never converts types, so ``1234.010``, ``0800`` and ``011`` stay as typed.

Problems in the content (ragged rows, NUL bytes, very long cells, double-encoded
text, unparseable records, trailing Total rows) become findings; the read goes on.
Memory stays flat: one record at a time plus a bounded look-ahead for the header.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Generator, Iterable, Iterator
from functools import lru_cache
from itertools import chain
from pathlib import Path
from types import TracebackType

from pdmigrate.extract_csv import (
    RawRecord,
    detect_encoding,
    iter_csv_records,
    read_sample,
    sniff_delimiter,
)
from pdmigrate.extract_xlsx import iter_xlsx_records
from pdmigrate.records import Finding, Row, Severity, TableInfo

#: How many records above the data are searched for the header row.
HEADER_SCAN = 30
#: Excel's own cell limit; a longer cell is reported (it still reads).
LONG_CELL_CHARS = 32_767

CSV_SUFFIXES = frozenset({".csv", ".txt", ".tsv", ".tab", ".psv", ""})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})

_NOT_HEADER = re.compile(r"^[\d\s.,:/$%()+-]+$")
_TOTAL = re.compile(r"^(grand\s+|sub-?\s*)?totals?\b", re.IGNORECASE)
_SUSPECT = re.compile("[\x00\ufffd\u00c2\u00c3\u00e2]")
_MOJIBAKE = re.compile("[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac")
_SEP = "\x1f"


@lru_cache(maxsize=65536)
def normalise_header(text: str) -> str:
    """Header text reduced for matching: casefolded, punctuation and ``_`` to spaces.

    ``"\\ufeffPatient ID"``, ``"patient_id"`` and ``" Patient  ID "`` all give
    ``"patient id"``; ``#`` and ``%`` are kept (``Record #``, ``Coverage %``).
    """
    text = text.replace("\ufeff", "").replace("\x00", "").casefold()
    return " ".join(re.sub(r"[^0-9a-z#%]+", " ", text).split())


def _cp1252_chars(low: int, high: int) -> str:
    chars = []
    for byte in range(low, high + 1):
        try:
            chars.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            chars.append(chr(byte))
    return "".join(chars)


_MOJIBAKE_RUN = re.compile(
    f"[{re.escape(_cp1252_chars(0xC2, 0xF4))}][{re.escape(_cp1252_chars(0x80, 0xBF))}]{{1,3}}"
)


def _unmangle(match: re.Match[str]) -> str:
    text = match.group(0)
    raw = bytearray()
    for char in text:
        try:
            raw += char.encode("cp1252")
        except UnicodeEncodeError:
            raw += char.encode("latin-1")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return text


def repair_mojibake(text: str) -> str | None:
    """Undo UTF-8 that was decoded as cp1252 (``CafÃ©`` -> ``Café``); None if nothing to undo.

    Only runs that decode as UTF-8 are changed, so correctly accented text around
    them (``Nîmes``) is left alone.
    """
    try:
        fixed = _MOJIBAKE_RUN.sub(_unmangle, text)
    except UnicodeEncodeError:
        return None
    return fixed if fixed != text else None


class Table:
    """One table (a CSV file or an XLSX sheet) being read.

    After construction ``info`` holds the encoding, delimiter and header found.
    Iterating yields :class:`Row` and :class:`Finding` objects in file order. Use it
    as a context manager, or iterate to the end, so the file is closed.
    """

    def __init__(
        self,
        path: Path,
        *,
        expected: Collection[str] | None = None,
        encoding: str | None = None,
        delimiter: str | None = None,
        sheet: str | None = None,
        name: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.name = name or self.path.name
        self.sheet: str | None = None
        self._pending: list[Finding] = []
        self._expected = {normalise_header(e) for e in expected or () if normalise_header(e)}
        found_encoding: str | None = None
        found_delimiter: str | None = None
        source: Iterator[RawRecord | Finding]
        suffix = self.path.suffix.lower()
        #: Excel leaves trailing empty cells out of a row: short rows are normal there.
        self._short_rows_ok = suffix in XLSX_SUFFIXES
        if suffix in XLSX_SUFFIXES:
            source = iter_xlsx_records(self.path, sheet=sheet, name=self.name)
        elif suffix == ".xls":
            source = iter(())
            self._pending.append(
                Finding(
                    "error",
                    "unsupported_format",
                    self.name,
                    None,
                    None,
                    "old Excel .xls files are not read",
                    fix="open it in Excel and save it as .xlsx or as CSV UTF-8",
                )
            )
        else:
            guess = detect_encoding(self.path, name=self.name)
            found_encoding = encoding or guess.encoding
            if encoding is None:
                self._pending.extend(guess.findings)
            found_delimiter = delimiter or sniff_delimiter(read_sample(self.path, found_encoding))
            source = iter_csv_records(
                self.path, encoding=found_encoding, delimiter=found_delimiter, name=self.name
            )
        self._source = source
        self._buffer: list[RawRecord | Finding] = []
        self._header: list[str] = []
        self._raw_header: list[str] = []
        self._header_line: int | None = None
        self._find_header()
        self.info = TableInfo(
            file=self.name,
            sheet=self.sheet,
            encoding=found_encoding,
            delimiter=found_delimiter,
            header_line=self._header_line,
            header=tuple(self._header),
        )

    @property
    def opening_findings(self) -> tuple[Finding, ...]:
        """Findings made while opening (encoding, sheet, title rows), before iteration."""
        return tuple(self._pending)

    # -- header --------------------------------------------------------------------

    def _find_header(self) -> None:
        for item in self._source:
            if isinstance(item, Finding) and item.code == "sheet":
                self.sheet = item.sheet
            self._buffer.append(item)
            if len(self._buffer) >= HEADER_SCAN:
                break
        candidates = [
            (i, rec)
            for i, rec in enumerate(self._buffer)
            if not isinstance(rec, Finding) and _non_empty(rec[1])
        ]
        if not candidates:
            self._pending.extend(f for f in self._buffer if isinstance(f, Finding))
            if not any(f.severity == "error" for f in self._pending):
                self._pending.append(
                    Finding(
                        "warning",
                        "empty_file",
                        self.name,
                        None,
                        None,
                        "has no rows",
                        fix="check that the right file was exported",
                        sheet=self.sheet,
                    )
                )
            self._buffer = []
            return
        chosen = self._match_expected(candidates)
        recognised = chosen is not None
        if chosen is None:
            chosen = self._plausible(candidates)
        self._pending.extend(f for f in self._buffer[:chosen] if isinstance(f, Finding))
        line, cells = dict(candidates)[chosen]
        if not recognised and self._expected:
            self._pending.append(
                Finding(
                    "warning",
                    "header_not_recognised",
                    self.name,
                    line,
                    None,
                    f"no row matches the expected column names; line {line} is used as the header",
                    fix="check the file belongs to this source, or add column aliases",
                    sheet=self.sheet,
                )
            )
        skipped = sum(1 for i, rec in candidates if i < chosen)
        if skipped:
            self._pending.append(
                Finding(
                    "info",
                    "title_rows_skipped",
                    self.name,
                    line,
                    None,
                    f"{skipped} title/banner row(s) above the header were skipped",
                    sheet=self.sheet,
                )
            )
        self._set_header(line, cells)
        self._buffer = self._buffer[chosen + 1 :]

    def _match_expected(self, candidates: list[tuple[int, RawRecord]]) -> int | None:
        if not self._expected:
            return None
        need = min(2, len(self._expected))
        for index, (_, cells) in candidates:
            hits = sum(1 for c in cells if normalise_header(c) in self._expected)
            if hits >= need:
                return index
        return None

    @staticmethod
    def _plausible(candidates: list[tuple[int, RawRecord]]) -> int:
        widest = max(_non_empty(rec[1]) for _, rec in candidates)
        for index, (_, cells) in candidates:
            filled = [c.strip() for c in cells if c.strip()]
            if (
                len(filled) >= 2
                and len(filled) >= 0.5 * widest
                and len(set(filled)) == len(filled)
                and not any(_NOT_HEADER.match(c) for c in filled)
            ):
                return index
        return candidates[0][0]

    def _set_header(self, line: int, cells: list[str]) -> None:
        self._header_line = line
        self._raw_header = list(cells)
        while cells and not cells[-1].strip():
            cells = cells[:-1]
        names: list[str] = []
        seen: set[str] = set()
        for position, cell in enumerate(cells, start=1):
            name = cell.replace("\ufeff", "").replace("\x00", "").strip()
            if not name:
                name = f"Column {position}"
            if name in seen:
                base, n = name, 2
                while f"{base} ({n})" in seen:
                    n += 1
                name = f"{base} ({n})"
                self._pending.append(
                    Finding(
                        "info",
                        "duplicate_header",
                        self.name,
                        line,
                        base,
                        f"column name {base!r} appears more than once; "
                        f"column {position} is read as {name!r}",
                        sheet=self.sheet,
                    )
                )
            seen.add(name)
            names.append(name)
        self._header = names

    # -- rows ----------------------------------------------------------------------

    def __iter__(self) -> Iterator[Row | Finding]:
        yield from self._pending
        self._pending = []
        if not self._header:
            for item in self._source:
                if isinstance(item, Finding):
                    yield item
            return
        records: Iterable[RawRecord | Finding] = chain(self._buffer, self._source)
        self._buffer = []
        header, raw_header, width = self._header, self._raw_header, len(self._header)
        name, sheet = self.name, self.sheet
        for item in records:
            if isinstance(item, Finding):
                yield item
                continue
            line, cells = item
            # The common case, decided cheaply: a full-width, plain, non-Total row.
            if len(cells) == width and cells != raw_header:
                first = cells[0].lstrip()
                if first and first[0] not in "TtGgSs":
                    joined = _SEP.join(cells)
                    if len(joined) <= LONG_CELL_CHARS and not _SUSPECT.search(joined):
                        yield Row(dict(zip(header, cells, strict=True)), name, line, sheet)
                        continue
            yield from self._shape(line, cells)

    def _shape(self, line: int, cells: list[str]) -> Iterator[Row | Finding]:
        joined = _SEP.join(cells)
        if not joined.strip():
            return
        header = self._header
        if cells == self._raw_header:
            yield self._finding("info", "repeated_header", line, None, "header row repeated")
            return
        first = cells[0].strip() if cells else ""
        if not first:
            first = next((c.strip() for c in cells if c.strip()), "")
        if first[:1] in "TtGgSs" and _TOTAL.match(first):
            yield self._finding(
                "info", "total_row", line, None, "a Total row was skipped (not a record)"
            )
            return
        if _SUSPECT.search(joined):
            cells = yield from self._check_cells(line, cells)
        if len(joined) > LONG_CELL_CHARS:
            for position, cell in enumerate(cells):
                if len(cell) > LONG_CELL_CHARS:
                    yield self._finding(
                        "warning",
                        "long_cell",
                        line,
                        self._column(position),
                        f"cell holds {len(cell):,} characters, more than Excel's "
                        f"{LONG_CELL_CHARS:,} (often a broken quote)",
                        fix="check the quotes on this record; long notes go to a note body",
                    )
        width = len(header)
        if len(cells) > width:
            extra = cells[width:]
            if any(c.strip() for c in extra):
                yield self._finding(
                    "error",
                    "ragged_row_long",
                    line,
                    None,
                    f"record has {len(cells)} cells but the header has {width}; "
                    "values may be in the wrong columns",
                    fix="quote cells that contain the delimiter, then export again",
                )
                values = dict(zip(header, cells, strict=False))
                for position in range(width, len(cells)):
                    values[f"Column {position + 1}"] = cells[position]
                yield Row(values, self.name, line, self.sheet)
                return
            cells = cells[:width]
        elif len(cells) < width and self._short_rows_ok:
            cells = cells + [""] * (width - len(cells))
        elif len(cells) < width:
            yield self._finding(
                "warning",
                "ragged_row_short",
                line,
                None,
                f"record has {len(cells)} cells but the header has {width}; "
                "the missing cells are read as empty",
                fix="check this record in the export",
            )
            cells = cells + [""] * (width - len(cells))
        yield Row(dict(zip(header, cells, strict=True)), self.name, line, self.sheet)

    def _check_cells(self, line: int, cells: list[str]) -> Generator[Finding, None, list[str]]:
        """Report NULs, replacement characters and double encoding; strip NULs."""
        cleaned = list(cells)
        for position, cell in enumerate(cells):
            if "\x00" in cell:
                cleaned[position] = cell.replace("\x00", "")
                yield self._finding(
                    "warning",
                    "nul_bytes",
                    line,
                    self._column(position),
                    "cell contains NUL bytes; they were removed",
                    fix="check the export for binary data in this column",
                )
            if "\ufffd" in cell:
                yield self._finding(
                    "warning",
                    "undecodable_bytes",
                    line,
                    self._column(position),
                    "cell has bytes that do not decode in the file's encoding",
                    fix="re-export the file as UTF-8",
                )
            if _MOJIBAKE.search(cell) and repair_mojibake(cell) is not None:
                yield self._finding(
                    "warning",
                    "double_encoded",
                    line,
                    self._column(position),
                    "text looks double-encoded (UTF-8 read as Windows-1252, e.g. 'Ã©' for 'é')",
                    fix="re-export the file as UTF-8, or repair the column before loading",
                )
        return cleaned

    def _column(self, position: int) -> str:
        if position < len(self._header):
            return self._header[position]
        return f"Column {position + 1}"

    def _finding(
        self,
        severity: Severity,
        code: str,
        line: int,
        column: str | None,
        message: str,
        fix: str = "",
    ) -> Finding:
        return Finding(
            severity,
            code,
            self.name,
            line,
            column,
            message,
            fix=fix,
            sheet=self.sheet,
        )

    # -- lifetime ------------------------------------------------------------------

    def close(self) -> None:
        """Close the underlying file (safe to call twice)."""
        close = getattr(self._source, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _non_empty(cells: list[str]) -> int:
    return sum(1 for c in cells if c.strip())


def open_table(
    path: Path | str,
    *,
    expected: Collection[str] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    name: str | None = None,
) -> Table:
    """Open one export for streaming; see :class:`Table`.

    ``expected`` are the column names (with aliases) the profile knows for this file:
    the header is the first row with at least two of them. Without it, the header is
    the first plausible row (several distinct, non-numeric cells).
    ``name`` is how the file is named in rows and findings (default: its file name).
    """
    return Table(
        Path(path),
        expected=expected,
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
        name=name,
    )


def extract(path: Path | str, **options: object) -> Iterator[Row | Finding]:
    """Stream every Row and Finding of one export (``options`` as for :func:`open_table`).

    Never raises on file content: an unreadable file gives an error Finding.
    """
    try:
        table = open_table(path, **options)  # type: ignore[arg-type]
    except OSError as exc:
        yield Finding(
            "error",
            "unreadable_file",
            Path(path).name,
            None,
            None,
            f"cannot be read ({exc.strerror or type(exc).__name__})",
            fix="check the path and the file permissions",
        )
        return
    with table:
        yield from table
