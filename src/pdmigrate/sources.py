"""Which export file holds which source object, and its rows under the profile's column names.

:func:`discover` looks at every data file in an exports folder, finds its header
(title rows above it skipped) and asks the profile which object it holds, by file
name and header (headers may be re-spelt, reordered or extended). :func:`read_rows`
then streams that file's rows with values keyed by the profile's column names;
headers the profile does not know keep their own name and are reported once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pdmigrate.extract import CSV_SUFFIXES, XLSX_SUFFIXES, open_table
from pdmigrate.profiles import Profile, match_file
from pdmigrate.profiles.match import OBJECT_THRESHOLD
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


def _expected(profile: Profile) -> set[str]:
    names: set[str] = set()
    for obj in profile.objects:
        for col in obj.columns:
            names.add(col.name)
            names.update(col.aliases)
    return names


def identify(profile: Profile, path: Path, name: str) -> SourceFile:
    """Open one export just long enough to find its header and the object it holds."""
    with open_table(path, expected=_expected(profile), name=name) as table:
        info = table.info
        pending = table.opening_findings
    found = match_file(profile, name, list(info.header)) if info.header else None
    obj = found.object if found is not None else None
    findings = list(pending)
    if obj is None:
        findings.append(
            Finding(
                "warning",
                "unknown_file",
                name,
                None,
                None,
                f"not recognised as any {profile.name} export (by name and header); not read",
                fix="rename it like the documented export, or add column aliases to the profile",
            )
        )
    return SourceFile(
        path=path,
        name=name,
        object=obj,
        columns=dict(found.columns) if found is not None else {},
        confidence=found.confidence if found is not None else 0.0,
        info=info,
        findings=tuple(findings),
    )


def discover(profile: Profile, exports: Path) -> list[SourceFile]:
    """Every data file under ``exports``, identified (sorted by object, then name)."""
    files = []
    for path in list_exports(exports):
        if path.suffix.lower() not in DATA_SUFFIXES:
            continue
        name = str(path.relative_to(exports))
        files.append(identify(profile, path, name))
    return sorted(files, key=lambda f: (f.object or "~", f.name))


def read_rows(profile: Profile, source: SourceFile) -> Iterator[Row | Finding]:
    """Stream one identified file: rows keyed by the profile's column names, and findings.

    Findings carry the source object's name. Required columns missing from the header
    give one error; unknown headers one info finding.
    """
    obj_name = source.object
    columns = source.columns
    yield from _header_findings(profile, source)
    identity = all(header == column for header, column in columns.items())
    info = source.info
    with open_table(
        source.path,
        expected=_expected(profile),
        name=source.name,
        encoding=info.encoding,
        delimiter=info.delimiter,
        sheet=info.sheet,
    ) as table:
        for item in table:
            if isinstance(item, Finding):
                if item.code in {"sheet", "encoding_detected", "title_rows_skipped"}:
                    continue  # already reported by discover
                yield replace(item, object=obj_name)
            elif identity:
                yield item
            else:
                values = {columns.get(h, h): v for h, v in item.values.items()}
                yield Row(values, item.file, item.line, item.sheet)


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
