"""The audit's vocabulary: options, result types, severities and fixes per code.

:mod:`pdmigrate.audit` produces an :class:`AuditResult`; the CLI and the report
builders read it. Nothing here reads files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from pdmigrate.profiles import Profile
from pdmigrate.records import Finding, Severity

#: Individual findings kept per (file, code, column); the rest are counted in one line.
FINDING_CAP = 50

#: (severity, suggested fix) per finding code.
ADVICE: dict[str, tuple[Severity, str]] = {
    "date.unparseable": ("warning", "correct the date in the source, or it is left empty"),
    "date.invalid": ("warning", "no such calendar date; correct it in the source"),
    "date.wrong_order": ("warning", "check the date order (day-first or month-first)"),
    "date.ambiguous": ("warning", "set date_order in pdmigrate.toml"),
    "date.null_sentinel": ("info", "placeholder date: it is left empty in Pipedrive"),
    "date.two_digit_year": ("info", "two-digit year: check the century"),
    "date.implausible": ("warning", "check the year; it is outside 1900 to today"),
    "datetime.unparseable": ("warning", "correct the date and time in the source"),
    "datetime.invalid": ("warning", "no such calendar date; correct it in the source"),
    "datetime.wrong_order": ("warning", "check the date order (day-first or month-first)"),
    "datetime.bad_zone": ("warning", "check the time zone written with the time"),
    "time.unparseable": ("warning", "write times as 9:30, 09:30 or 9:30 AM"),
    "email.invalid": ("warning", "not migrated: the person gets 'Email missing' = Yes"),
    "email.placeholder": ("info", "placeholder: the person gets 'Email missing' = Yes"),
    "email.extra_dropped": ("info", "only the first address is kept; add others by hand"),
    "phone.invalid": ("warning", "not a phone number: kept in a note, not in phones"),
    "phone.unverified": ("info", "check the number; it is kept as written"),
    "phone.too_long": ("warning", "split the numbers into separate columns"),
    "int.fraction": ("warning", "expected a whole number"),
    "int.too_large": ("warning", "number too large"),
    "int.unparseable": ("warning", "expected a whole number"),
    "decimal.unparseable": ("warning", "expected a number"),
    "money.unparseable": ("warning", "expected an amount such as 1,234.50"),
    "money.currency_mismatch": ("warning", "amount in another currency than the practice's"),
    "bool.unrecognised": ("warning", "use Y/N, Yes/No, True/False or 1/0"),
    "html_content": ("info", "converted to plain text; the original stays in the note body"),
    "html.rtf": ("warning", "RTF markup: convert to text before loading"),
    "will_truncate": ("warning", "Pipedrive keeps 255 characters; map it to a text field"),
    "missing_key": ("error", "the record cannot be identified; fill in its key"),
    "missing_required": ("warning", "fill in the value in the source if it matters"),
    "duplicate_key": ("warning", "two records share a key: the later one updates the first"),
    "duplicate_candidate": ("warning", "review the proposed merge in decisions.csv"),
    "possible_duplicate": ("info", "same name and birth date, different email: not merged"),
    "orphan_reference": ("warning", "the link is reported and dropped"),
    "attachment.missing": ("error", "put the file in the attachments folder"),
    "attachment.too_large": ("error", "compress or split the file, or raise max_file_mb"),
    "attachment.outside_folder": ("error", "the path leaves the attachments folder"),
    "unknown_value": ("info", "add the value to the mapping's value map"),
    "count_mismatch": ("warning", "ask the practice whether archived records were left out"),
}


def advice(code: str) -> tuple[Severity, str]:
    if code in ADVICE:
        return ADVICE[code]
    kind = code.rpartition(".")[2]
    return ("warning", "check the value in the source") if kind else ("warning", "")


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """The practice's facts the audit needs (from pdmigrate.toml)."""

    country: str = "US"
    timezone: str = "UTC"
    currency: str = "USD"
    date_order: str = "config"
    attachments: Path | None = None
    max_file_mb: int = 50
    expected: dict[str, int] | None = None
    finding_cap: int = FINDING_CAP


@dataclass
class ObjectSummary:
    """Counts for one source object."""

    rows: int = 0
    files: list[str] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0
    info: int = 0
    quarantined: int = 0
    duplicates: int = 0
    expected: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {
            "rows": self.rows,
            "files": self.files,
            "errors": self.errors,
            "warnings": self.warnings,
            "info": self.info,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "expected": self.expected,
        }


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A record that cannot be migrated, with why."""

    file: str
    line: int | None
    object: str | None
    key: str
    code: str
    reason: str
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Records that look like the same person (the later ones merge into the first)."""

    object: str
    reason: str
    records: tuple[tuple[str, str, int], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: object, reason and records (key, file, line)."""
        return {
            "object": self.object,
            "reason": self.reason,
            "records": [{"key": k, "file": f, "line": n} for k, f, n in self.records],
        }


@dataclass
class AuditResult:
    """Everything the audit found."""

    profile: str
    objects: dict[str, ObjectSummary]
    findings: list[Finding]
    duplicates: list[DuplicateGroup]
    quarantine: list[Quarantined]
    files: list[dict[str, Any]]
    codes: Counter[str]

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` summary (keys documented in docs/cli.md)."""
        severities = Counter[str]()
        for summary in self.objects.values():
            severities["error"] += summary.errors
            severities["warning"] += summary.warnings
            severities["info"] += summary.info
        return {
            "profile": self.profile,
            "objects": {name: s.to_dict() for name, s in sorted(self.objects.items())},
            "duplicates": [d.to_dict() for d in self.duplicates],
            "findings": [f.to_dict() for f in self.findings],
            "files": self.files,
            "quarantined": len(self.quarantine),
            "totals": {
                "rows": sum(s.rows for s in self.objects.values()),
                "errors": severities["error"],
                "warnings": severities["warning"],
                "info": severities["info"],
                "by_code": dict(sorted(self.codes.items())),
            },
        }


Member = tuple[str, str, str, str, str, int]  # email, dob, name, key, file, line


def cluster(members: list[Member]) -> list[tuple[str, list[Member]]]:
    """Group one email's records: same date of birth, or token-sort name ratio >= 90."""
    parent = list(range(len(members)))
    reasons: dict[int, str] = {}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(members):
        for j in range(i + 1, len(members)):
            b = members[j]
            reason = None
            if a[1] and a[1] == b[1]:
                reason = "email+dob"
            elif a[2] and b[2] and fuzz.token_sort_ratio(a[2], b[2]) >= 90:
                reason = "email+name"
            if reason is not None:
                ri, rj = root(i), root(j)
                if ri != rj:
                    parent[rj] = ri
                reasons.setdefault(root(i), reason)
    clusters: dict[int, list[Member]] = {}
    for i, member in enumerate(members):
        clusters.setdefault(root(i), []).append(member)
    out = []
    for r, cluster in clusters.items():
        if len(cluster) > 1:
            out.append((reasons.get(r, "email+name"), sorted(cluster, key=lambda m: (m[4], m[5]))))
    return out


def compare_expected(
    profile: Profile, objects: dict[str, ObjectSummary], expected: dict[str, int]
) -> list[Finding]:
    """Findings for the practice's own counts (``--expected``) that differ from the export.

    Objects are named by profile name or label (case and spacing ignored); each
    summary's ``expected`` is set as a side effect.
    """

    def norm(text: str) -> str:
        return " ".join(text.split()).casefold()

    findings: list[Finding] = []
    names = {norm(o.name): o.name for o in profile.objects}
    names.update({norm(o.label): o.name for o in profile.objects})
    for given, count in expected.items():
        obj = names.get(norm(given))
        if obj is None:
            findings.append(
                Finding(
                    "warning",
                    "expected_unknown_object",
                    "--expected",
                    None,
                    None,
                    f"{given!r} is not a {profile.name} source object",
                    fix=f"use one of: {', '.join(o.name for o in profile.objects)}",
                )
            )
            continue
        summary = objects[obj]
        summary.expected = count
        if summary.rows != count:
            gap = count - summary.rows
            findings.append(
                Finding(
                    "warning",
                    "count_mismatch",
                    ", ".join(summary.files) or obj,
                    None,
                    None,
                    f"the export has {summary.rows} {obj} rows; the practice expects "
                    f"{count} ({'missing' if gap > 0 else 'extra'}: {abs(gap)})",
                    fix=ADVICE["count_mismatch"][1],
                    object=obj,
                )
            )
    return findings
