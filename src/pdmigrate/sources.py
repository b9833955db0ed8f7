"""Which export file holds which source object, and its rows under the profile's column names.

:func:`discover` looks at every data file in an exports folder, finds its header
(title rows above it skipped) and asks the profile which object it holds, by file
name and header (headers may be re-spelt, reordered or extended). :func:`read_rows`
then streams that file's rows with values keyed by the profile's column names;
headers the profile does not know keep their own name and are reported once.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pdmigrate.extract import CSV_SUFFIXES, XLSX_SUFFIXES, Table, open_table
from pdmigrate.profiles import Profile, SourceObject, match_file
from pdmigrate.profiles.match import OBJECT_THRESHOLD, FileMatch
from pdmigrate.records import Finding, Row, TableInfo
from pdmigrate.workspace import list_exports

#: File suffixes read as exports (everything else, e.g. PDFs, is an attachment).
DATA_SUFFIXES = frozenset({*(s for s in CSV_SUFFIXES if s), *XLSX_SUFFIXES, ".xls", ".out"})


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One export file and what it was recognised as."""

    path: Path
    name: str
    object: str | None
    columns: dict[str, str]
    confidence: float
    info: TableInfo
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def name_matches(obj: SourceObject, file_name: str) -> bool:
    """True when ``file_name`` fits one of the object's file name patterns."""
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1].casefold()
    return any(fnmatch.fnmatch(base, pattern.casefold()) for pattern in obj.file.patterns)


class Reader:
    """Identifies and reads the exports of one profile (caching header matches).

    Report exports come as dozens of files with one header (one per month and
    dentist); the profile's fuzzy header match runs once per distinct header.
    """

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.expected: frozenset[str] = frozenset(
            name
            for obj in profile.objects
            for col in obj.columns
            for name in (col.name, *col.aliases)
        )
        self._matches: dict[tuple[tuple[str, ...], tuple[str, ...]], FileMatch] = {}

    def match(self, name: str, header: tuple[str, ...]) -> FileMatch:
        """The profile object a file with this name and header holds (cached)."""
        by_name = tuple(o.name for o in self.profile.objects if name_matches(o, name))
        key = (header, by_name)
        found = self._matches.get(key)
        if found is None:
            found = self._matches[key] = match_file(self.profile, name, list(header))
        return found

    def open(self, path: Path, name: str) -> tuple[SourceFile, Table]:
        """Open one export, find its header and the object it holds; the table stays open."""
        table = open_table(path, expected=self.expected, name=name)
        info = table.info
        found = self.match(name, info.header) if info.header else None
        obj = found.object if found is not None else None
        findings = list(table.opening_findings)
        if obj is None:
            findings.append(
                Finding(
                    "warning",
                    "unknown_file",
                    name,
                    None,
                    None,
                    f"not recognised as any {self.profile.name} export (by name and header); "
                    "not read",
                    fix="rename it like the documented export, or add column aliases",
                )
            )
        source = SourceFile(
            path=path,
            name=name,
            object=obj,
            columns=dict(found.columns) if found is not None else {},
            confidence=found.confidence if found is not None else 0.0,
            info=info,
            findings=tuple(findings),
        )
        return source, table

    def identify(self, path: Path, name: str) -> SourceFile:
        """Identify one export (reads only up to its header)."""
        source, table = self.open(path, name)
        table.close()
        return source

    def sources(self, exports: Path) -> Iterator[tuple[SourceFile, Iterator[Row | Finding]]]:
        """Each data file under ``exports`` with its rows, read in one pass per file."""
        for path in data_files(exports):
            source, table = self.open(path, str(path.relative_to(exports)))
            try:
                yield source, self.rows(source, table)
            finally:
                table.close()

    def rows(self, source: SourceFile, table: Table | None = None) -> Iterator[Row | Finding]:
        """Stream one identified file: rows keyed by the profile's column names, and findings.

        Findings carry the source object's name. Required columns missing from the
        header give one error; unknown headers one info finding.
        """
        obj_name = source.object
        columns = source.columns
        yield from _header_findings(self.profile, source)
        identity = all(header == column for header, column in columns.items())
        if table is None:
            info = source.info
            table = open_table(
                source.path,
                expected=self.expected,
                name=source.name,
                encoding=info.encoding,
                delimiter=info.delimiter,
                sheet=info.sheet,
            )
        names = [columns.get(h, h) for h in table.info.header]
        width = len(names)
        with table:
            for item in table:
                if isinstance(item, Finding):
                    if item.code in _OPENING:
                        continue  # reported with the file
                    yield replace(item, object=obj_name)
                elif identity:
                    yield item
                elif len(item.values) == width:  # keyed by the header, in its order
                    values = dict(zip(names, item.values.values(), strict=True))
                    yield Row(values, item.file, item.line, item.sheet)
                else:  # a long ragged row has extra "Column N" keys
                    values = {columns.get(h, h): v for h, v in item.values.items()}
                    yield Row(values, item.file, item.line, item.sheet)


_OPENING = frozenset({"sheet", "encoding_detected", "encoding_uncertain", "title_rows_skipped"})


def data_files(exports: Path) -> list[Path]:
    """The export files under ``exports`` that are read as data (not attachments)."""
    return [p for p in list_exports(exports) if p.suffix.lower() in DATA_SUFFIXES]


def discover(profile: Profile, exports: Path) -> list[SourceFile]:
    """Every data file under ``exports``, identified (sorted by object, then name)."""
    reader = Reader(profile)
    files = [reader.identify(p, str(p.relative_to(exports))) for p in data_files(exports)]
    return sorted(files, key=lambda f: (f.object or "~", f.name))


def read_rows(profile: Profile, source: SourceFile) -> Iterator[Row | Finding]:
    """Stream one identified file (see :meth:`Reader.rows`)."""
    return Reader(profile).rows(source)


def _header_findings(profile: Profile, source: SourceFile) -> Iterator[Finding]:
    if source.object is None:
        return
    obj = profile.object(source.object)
    mapped = set(source.columns.values())
    line = source.info.header_line
    for col in obj.columns:
        if col.required and col.name not in mapped:
            yield Finding(
                "error",
                "missing_column",
                source.name,
                line,
                col.name,
                f"required column {col.name!r} is not in the header",
                fix="export the file with this column, or name it in the profile's aliases",
                object=source.object,
                sheet=source.info.sheet,
            )
    unknown = [h for h in source.info.header if h not in source.columns]
    if unknown:
        yield Finding(
            "info",
            "unknown_columns",
            source.name,
            line,
            None,
            f"{len(unknown)} column(s) the profile does not know: {', '.join(unknown[:10])}"
            + (" ..." if len(unknown) > 10 else ""),
            fix="map them in mapping.yaml if they matter; otherwise they are not migrated",
            object=source.object,
            sheet=source.info.sheet,
        )


def recognised(files: Sequence[SourceFile]) -> list[SourceFile]:
    """The files that were identified as a source object."""
    return [f for f in files if f.object is not None and f.confidence >= OBJECT_THRESHOLD]
