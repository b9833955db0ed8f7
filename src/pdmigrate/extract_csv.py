"""CSV/TXT reading: encoding and delimiter detection, and a streaming record reader.

The reader yields ``(line, cells)`` where ``line`` is the physical line the record
starts on (records with quoted embedded newlines span several lines), or a
:class:`~pdmigrate.records.Finding` when a record cannot be parsed. It never raises
on bad content and never holds more than one record (plus a bounded sample) in
memory.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from charset_normalizer import from_bytes

from pdmigrate.records import Finding

#: Largest single cell the CSV parser accepts; a bigger one is almost always a
#: broken quote swallowing the rest of the file. It is reported and skipped.
MAX_CELL_CHARS = 1_000_000

#: Candidate delimiters, in order of preference on a tie.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")

_CHUNK = 1 << 20
_SAMPLE_BYTES = 64 * 1024
#: Bytes cp1252 leaves undefined: a file holding one cannot be cp1252.
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_WESTERN = {"cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2", "ascii", "utf_8"}

if csv.field_size_limit() < MAX_CELL_CHARS:
    csv.field_size_limit(MAX_CELL_CHARS)

RawRecord = tuple[int, list[str]]

#: Longest physical line read; a longer one (millions of delimiters, binary data) is
#: skipped with a finding, so one bad line never holds the whole file in memory.
MAX_LINE_CHARS = 4_000_000


def _bounded_lines(fh: TextIO, too_long: list[int]) -> Iterator[str]:
    """The file's lines, each at most MAX_LINE_CHARS; an over-long line becomes empty.

    Line numbers stay right: one item per physical line. ``too_long`` collects the
    numbers of the lines that were cut.
    """
    number = 0
    while True:
        line = fh.readline(MAX_LINE_CHARS)
        if not line:
            return
        number += 1
        if len(line) >= MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            while True:  # drain the rest of this physical line
                rest = fh.readline(MAX_LINE_CHARS)
                if not rest or rest.endswith(("\n", "\r")):
                    break
            too_long.append(number)
            yield "\n"
            continue
        yield line


@dataclass(frozen=True, slots=True)
class EncodingGuess:
    """The encoding chosen for a file, and findings explaining the choice."""

    encoding: str
    findings: tuple[Finding, ...]


def _is_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _cp1252_decodes(path: Path) -> bool:
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            if any(b in chunk for b in _CP1252_UNDEFINED):
                return False
    return True


def _utf16_without_bom(sample: bytes) -> str | None:
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0)
    odd = sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def detect_encoding(path: Path, *, name: str | None = None) -> EncodingGuess:
    """Choose how to decode ``path``: UTF-8 (with or without BOM), UTF-16, cp1252, latin-1.

    UTF-8 is checked over the whole file in chunks (a stray byte at the end still
    counts). A file that is not UTF-8 is read as cp1252 when every byte is defined
    there, else latin-1 (which decodes anything); charset-normalizer's guess on a
    sample is reported, with a warning when it points outside Western encodings.
    """
    shown = name or path.name
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return EncodingGuess("utf-8-sig", ())
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return EncodingGuess(
            "utf-16",
            (_info(shown, "encoding_detected", "read as UTF-16 (byte-order mark found)"),),
        )
    utf16 = _utf16_without_bom(sample)
    if utf16 is not None:
        return EncodingGuess(
            utf16, (_info(shown, "encoding_detected", f"read as {utf16} (no byte-order mark)"),)
        )
    if _is_utf8(path):
        return EncodingGuess("utf-8", ())
    chosen = "cp1252" if _cp1252_decodes(path) else "latin-1"
    best = from_bytes(sample).best()
    guess = best.encoding if best is not None else "unknown"
    findings = [
        _info(
            shown,
            "encoding_detected",
            f"not valid UTF-8: read as {chosen} (charset-normalizer's guess on a sample: {guess})",
            fix="re-export as UTF-8 if accented names look wrong",
        )
    ]
    if best is not None and guess not in _WESTERN:
        findings.append(
            Finding(
                "warning",
                "encoding_uncertain",
                shown,
                None,
                None,
                f"read as {chosen}, but the sample looks like {guess}",
                fix="check accented names in the audit; re-export the file as UTF-8",
            )
        )
    return EncodingGuess(chosen, tuple(findings))


def _info(file: str, code: str, message: str, fix: str = "") -> Finding:
    return Finding("info", code, file, None, None, message, fix=fix)


def sniff_delimiter(text: str) -> str:
    """Pick the delimiter (comma, semicolon, tab, pipe) that splits ``text`` most consistently.

    Each candidate parses the sample; the winner has the most records sharing the same
    field count above one (title rows above the header do not spoil this), ties going
    to the earlier candidate in :data:`DELIMITERS`.
    """
    cut = max(text.rfind("\n"), 0) if len(text) >= _SAMPLE_BYTES // 2 else len(text)
    sample = text[:cut] if cut else text
    best, best_score = ",", -1.0
    for delimiter in DELIMITERS:
        counts: dict[int, int] = {}
        try:
            for cells in csv.reader(sample.splitlines(), delimiter=delimiter):
                if any(c.strip() for c in cells):
                    counts[len(cells)] = counts.get(len(cells), 0) + 1
        except csv.Error:
            continue
        wide = {n: c for n, c in counts.items() if n > 1}
        if not wide:
            continue
        width, agreeing = max(wide.items(), key=lambda kv: (kv[1], kv[0]))
        score = agreeing + width / 1000.0
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_sample(path: Path, encoding: str) -> str:
    """The first ~64 KB of ``path`` decoded with ``encoding`` (for delimiter sniffing)."""
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        return fh.read(_SAMPLE_BYTES)


def iter_csv_records(
    path: Path, *, encoding: str, delimiter: str, name: str | None = None
) -> Iterator[RawRecord | Finding]:
    """Yield ``(start_line, cells)`` per record, or a Finding for a record that cannot be parsed.

    The file is opened with ``newline=''`` so quoted embedded newlines stay inside
    their cell; ``start_line`` is the physical line where the record begins.
    """
    shown = name or path.name
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        too_long: list[int] = []
        reader = csv.reader(_bounded_lines(fh, too_long), delimiter=delimiter, strict=False)
        previous = 0
        while True:
            while too_long:
                yield Finding(
                    "error",
                    "line_too_long",
                    shown,
                    too_long.pop(0),
                    None,
                    f"a line is longer than {MAX_LINE_CHARS:,} characters; it was skipped",
                    fix="check this line of the export (a runaway row or binary data)",
                )
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                start, previous = previous + 1, reader.line_num
                too_big = "field limit" in str(exc)
                yield Finding(
                    "error",
                    "cell_too_large" if too_big else "unparseable_record",
                    shown,
                    start,
                    None,
                    (
                        f"a cell is longer than {MAX_CELL_CHARS:,} characters "
                        "(usually an unclosed quote); the record was skipped"
                        if too_big
                        else f"the record cannot be parsed as CSV ({exc}); it was skipped"
                    ),
                    fix="check the quotes around this line in the export",
                )
                continue
            start, previous = previous + 1, reader.line_num
            yield start, cells
