"""The data-quality audit: rows + profile -> findings, counts, duplicates and quarantine.

Nothing here talks to Pipedrive or the network (email-validator runs without
deliverability checks). Values are checked with the same named transforms the
mapping applies (``pdmigrate.transforms``), so the audit predicts what a run will
do. Keys, references and duplicate candidates go to a SQLite scratch file, not to
memory, so the audit of a 100,000-patient practice stays small.

Use :func:`audit_exports` for a folder, or feed rows to an :class:`Auditor` yourself.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from pdmigrate.audit_checks import (
    FAST_KINDS,
    HTML_MARKUP,
    VARCHAR_LIMIT,
    Checks,
    DateOrderTally,
    fast_check,
    norm,
    plain_date,
    plan_checks,
)
from pdmigrate.audit_model import (
    ADVICE,
    AuditOptions,
    AuditResult,
    DuplicateGroup,
    ObjectSummary,
    Quarantined,
    advice,
    cluster,
    compare_expected,
)
from pdmigrate.audit_store import KeyStore
from pdmigrate.profiles import Profile
from pdmigrate.records import Finding, Row
from pdmigrate.sources import Reader, SourceFile
from pdmigrate.transforms import Chain, Ok, Problem, TransformContext

_DATE_KINDS = frozenset({"date", "datetime"})


class Auditor:
    """Feeds rows of source objects through the checks; :meth:`finish` gives the result."""

    def __init__(self, profile: Profile, options: AuditOptions, store: KeyStore) -> None:
        self.profile = profile
        self.options = options
        self.store = store
        order = {"DMY": "dmy", "MDY": "mdy", "YMD": "ymd"}.get(options.date_order.upper())
        self.ctx = TransformContext(
            country=options.country,
            timezone=options.timezone,
            currency=options.currency,
            date_order=order,  # type: ignore[arg-type]
        )
        self.objects: dict[str, ObjectSummary] = {o.name: ObjectSummary() for o in profile.objects}
        self.findings: list[Finding] = []
        self.quarantine: list[Quarantined] = []
        self.files: list[dict[str, Any]] = []
        self.codes: Counter[str] = Counter()
        self._kept: Counter[tuple[str, str, str | None]] = Counter()
        self._over: dict[tuple[str, str, str | None], Finding] = {}
        self._checks: dict[str, Checks] = {}
        self._cache: dict[tuple[str, str], tuple[str | None, tuple[Problem, ...]]] = {}
        self._row_errors: dict[tuple[str, int], Finding] = {}
        self._unknown: dict[tuple[str, str], Counter[str]] = {}
        self._known_values: set[tuple[str, str]] = set()
        self._order_unknown = order is None
        self._orders = DateOrderTally()
        self._sources: dict[str, SourceFile] = {}
        self._late: dict[str, list[tuple[int, str, str, Finding]]] = {}
        self._firm_patterns = [
            re.compile(p, re.IGNORECASE) for p in profile.system.firm_name_patterns
        ]
        self._placeholders = [p.casefold() for p in profile.system.placeholder_emails]
        self._today = date.today()

    # -- findings --------------------------------------------------------------------

    def emit(self, finding: Finding) -> None:
        """Count a finding and keep it (up to the cap per file, code and column)."""
        self.codes[finding.code] += 1
        if finding.object in self.objects:
            summary = self.objects[finding.object]
            if finding.severity == "error":
                summary.errors += 1
            elif finding.severity == "warning":
                summary.warnings += 1
            else:
                summary.info += 1
        bucket = (finding.file, finding.code, finding.column)
        self._kept[bucket] += 1
        if self._kept[bucket] <= self.options.finding_cap:
            self.findings.append(finding)
        else:
            self._over.setdefault(bucket, finding)

    def _row_finding(
        self, row: Row, obj: str, code: str, column: str | None, message: str
    ) -> Finding:
        severity, fix = advice(code)
        finding = Finding(
            severity,
            code,
            row.file,
            row.line,
            column,
            message,
            fix=fix,
            object=obj,
            sheet=row.sheet,
        )
        self.emit(finding)
        return finding

    # -- files and rows --------------------------------------------------------------

    def add_file(self, source: SourceFile) -> None:
        """Register one export file (its description and the findings made opening it)."""
        self.files.append(
            {
                **source.info.to_dict(),
                "object": source.object,
                "confidence": source.confidence,
            }
        )
        if source.object is not None:
            self.objects[source.object].files.append(source.name)
            self._sources[source.name] = source
        for finding in source.findings:
            self.emit(finding if finding.object else _with_object(finding, source.object))

    def add(self, object_name: str, item: Row | Finding) -> None:
        """Check one row (or take one finding from extract) of ``object_name``."""
        if isinstance(item, Finding):
            self.emit(item)
            if item.severity == "error" and item.line is not None:
                if item.code in {"cell_too_large", "unparseable_record"}:
                    self._quarantine(item.file, item.line, object_name, "", item, {})
                else:
                    self._row_errors[(item.file, item.line)] = item
            return
        checks = self._checks.get(object_name)
        if checks is None:
            checks = self._checks[object_name] = plan_checks(self.profile, object_name)
        self._check_row(checks, object_name, item)

    def _quarantine(
        self,
        file: str,
        line: int | None,
        obj: str | None,
        key: str,
        finding: Finding,
        values: dict[str, str],
    ) -> None:
        self.quarantine.append(
            Quarantined(file, line, obj, key, finding.code, finding.message, values)
        )
        if obj in self.objects:
            self.objects[obj].quarantined += 1

    # -- planning ------------------------------------------------------------------

    def _check_row(self, c: Checks, obj: str, row: Row) -> None:
        self.objects[obj].rows += 1
        values = row.values
        key_parts = [values.get(k, "").strip() for k in c.key]
        key = "\x1f".join(key_parts)
        blocking = self._row_errors.pop((row.file, row.line), None) if self._row_errors else None
        if blocking is not None:
            self._quarantine(row.file, row.line, obj, key, blocking, dict(values))
        if c.key and not all(key_parts):
            missing = c.key[key_parts.index("")]
            finding = self._row_finding(
                row, obj, "missing_key", missing, f"key column {missing!r} is empty"
            )
            if blocking is None:
                self._quarantine(row.file, row.line, obj, key, finding, dict(values))
            blocking = finding
        elif c.key:
            self.store.add_key(obj, key, row.file, row.line)
        for namespace, columns in c.provides:
            lookup = norm("\x1f".join([values.get(col, "") for col in columns]))
            if lookup:
                self.store.add_key(namespace, lookup, row.file, row.line)
        for column in c.required:
            if not values.get(column, "").strip():
                self._row_finding(
                    row, obj, "missing_required", column, f"required value {column!r} is empty"
                )
        parsed: dict[str, str] = {}
        cache = self._cache
        for column, chain, kind, fast in c.typed:
            value = values.get(column, "")
            if not value or value.isspace():
                continue
            if self._order_unknown and kind in _DATE_KINDS:
                self._orders.add(obj, row.file, column, value)
            outcome = fast(value) if fast is not None else None
            if outcome is None:
                outcome = cache.get((kind, value)) or self._run(chain, kind, value)
            text, problems = outcome
            if text:
                parsed[column] = text
            for problem in problems:
                if problem.code == "date.ambiguous" and self._order_unknown:
                    continue  # reported once per column by _date_orders()
                self._row_finding(row, obj, problem.code, column, f"{column}: {problem.message}")
        for column in c.text:
            value = values.get(column, "")
            if value and ("<" in value or "&" in value or "{\\rtf" in value):
                if value.lstrip().startswith("{\\rtf"):
                    self._row_finding(row, obj, "html.rtf", column, f"{column}: RTF markup")
                elif HTML_MARKUP.search(value):
                    self._row_finding(row, obj, "html_content", column, f"{column}: HTML markup")
        for column in c.truncate:
            value = values.get(column, "")
            if len(value) > VARCHAR_LIMIT:
                self._row_finding(
                    row,
                    obj,
                    "will_truncate",
                    column,
                    f"{column}: {len(value)} characters; Pipedrive keeps {VARCHAR_LIMIT}",
                )
        for column, allowed in c.enums.items():
            value = values.get(column, "")
            if not value or (column, value) in self._known_values:
                continue
            if norm(value) in allowed or not value.strip():
                if len(self._known_values) < 10_000:
                    self._known_values.add((column, value))
            else:
                seen = self._unknown.setdefault((obj, column), Counter())
                if len(seen) < 20 or value.strip() in seen:
                    seen[value.strip()[:40]] += 1
                else:
                    seen["(other)"] += 1
        for target, rel, columns, optional, before_dot in c.refs:
            parts = [values.get(col, "").strip() for col in columns]
            if not all(parts):
                continue
            ref = "\x1f".join(parts)
            if before_dot:
                ref = ref.split(".", 1)[0]
            if "#" in target:
                ref = norm(ref)
            self.store.add_ref(
                obj,
                rel,
                target,
                ref,
                optional,
                row.file,
                row.line,
                key,
                not optional and blocking is None,
            )
        if c.person is not None:
            email_col, dob_col, name_cols = c.person
            email = parsed.get(email_col, "") if email_col else ""
            if email and not self._placeholder(email):
                dob = parsed.get(dob_col, "") if dob_col else ""
                name = " ".join([values.get(n, "") for n in name_cols])
                if c.contact and values.get(c.contact, "").strip() and self._firm(name):
                    name = values[c.contact]  # a firm client: the person is its contact
                name = norm(name)
                grp = key or f"{row.file}:{row.line}"
                if c.group is not None:
                    grp = "\x1f".join(values.get(col, "").strip() for col in c.group[0])
                    if c.group[1]:
                        grp = grp.split(".", 1)[0]
                self.store.add_person(
                    obj, email.casefold(), dob, name, key, grp, row.file, row.line
                )
        if c.attachment is not None and blocking is None:
            self._check_attachment(c.attachment, obj, row, key)

    def _date_orders(self) -> None:
        for finding in self._orders.findings():
            self.emit(finding)

    def _firm(self, name: str) -> bool:
        return any(p.search(name) for p in self._firm_patterns)

    def _placeholder(self, email: str) -> bool:
        folded = email.casefold()
        return any(fnmatch.fnmatchcase(folded, p) for p in self._placeholders)

    def _run(self, chain: Chain, kind: str, value: str) -> tuple[str | None, tuple[Problem, ...]]:
        """Apply a type's transform, cached by value: the value as text (None if it failed)
        and the problems and warnings it raised. Plainly good values (see ``fast_check``)
        are answered without the transform and without the cache."""
        fast = fast_check(kind, value) if kind in FAST_KINDS else None
        if fast is not None:
            return fast
        cache_key = (kind, value)
        hit = self._cache.get(cache_key)
        if hit is not None:
            return hit
        outcome: tuple[str | None, tuple[Problem, ...]]
        iso = None
        if kind == "date":  # a century has ~36,500 days: dates repeat, so cache them too
            iso = plain_date(value, self.ctx.date_order, self._today.year + 50)
        if iso is not None:
            outcome = (iso, ())
        else:
            result = chain(value, self.ctx)
            if isinstance(result, Problem):
                outcome = (None, (result,))
            else:
                outcome = (_as_text(result), result.warnings + self._plausible(kind, result))
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[cache_key] = outcome
        return outcome

    def _plausible(self, kind: str, result: Ok) -> tuple[Problem, ...]:
        if kind == "date" and isinstance(result.value, date):
            year = result.value.year
            if year < 1900 or result.value > date(self._today.year + 50, 12, 31):
                return (Problem("date.implausible", "the year is outside 1900 to 50 years ahead"),)
        return ()

    def _check_attachment(self, column: str, obj: str, row: Row, key: str) -> None:
        value = row.values.get(column, "").strip()
        if not value:
            return
        base = (self.options.attachments or Path(".")).resolve()
        path = (base / value.replace("\\", "/")).resolve()
        if not path.is_relative_to(base):
            finding = self._row_finding(
                row, obj, "attachment.outside_folder", column, f"{column}: path leaves the folder"
            )
            self._quarantine(row.file, row.line, obj, key, finding, dict(row.values))
            return
        if not path.is_file():
            finding = self._row_finding(
                row,
                obj,
                "attachment.missing",
                column,
                f"{column}: file not found in the attachments folder",
            )
            self._quarantine(row.file, row.line, obj, key, finding, dict(row.values))
            return
        size = path.stat().st_size
        limit = self.options.max_file_mb * 1024 * 1024
        if size > limit:
            finding = self._row_finding(
                row,
                obj,
                "attachment.too_large",
                column,
                f"{column}: {size / 1048576:.1f} MB, over the {self.options.max_file_mb} MB limit",
            )
            self._quarantine(row.file, row.line, obj, key, finding, dict(row.values))

    # -- the end ---------------------------------------------------------------------

    def finish(self) -> AuditResult:
        """Cross-row checks (keys, links, duplicates, expected counts) and the result."""
        self.store.flush()
        read = {name for name, s in self.objects.items() if s.files}
        self._duplicate_keys()
        self._orphans(read)
        self._quarantine_late()
        duplicates = self._duplicates()
        self._unknown_values()
        self._date_orders()
        self._expected_counts()
        for bucket, first in self._over.items():
            extra = self._kept[bucket] - self.options.finding_cap
            self.findings.append(
                Finding(
                    first.severity,
                    first.code,
                    first.file,
                    None,
                    first.column,
                    f"... and {extra} more like this in this file and column "
                    f"(first {self.options.finding_cap} listed)",
                    fix=first.fix,
                    object=first.object,
                    sheet=first.sheet,
                )
            )
        return AuditResult(
            profile=self.profile.name,
            objects=self.objects,
            findings=self.findings,
            duplicates=duplicates,
            quarantine=self.quarantine,
            files=self.files,
            codes=self.codes,
        )

    def _keys_repeat_by_design(self, name: str) -> bool:
        """True when a landing groups rows by exactly the key (several rows, one record)."""
        key = set(self.profile.object(name).key)
        return any(
            landing.cardinality == "grouped"
            and landing.split_key == "none"
            and key <= set(landing.group_by)
            for landing in self.profile.landings_for(name)
        )

    def _duplicate_keys(self) -> None:
        for obj, _key, count, file, line in self.store.duplicate_keys():
            if "#" in obj:
                continue
            if self._keys_repeat_by_design(obj):
                continue
            severity, fix = advice("duplicate_key")
            self.emit(
                Finding(
                    severity,
                    "duplicate_key",
                    file,
                    line,
                    ", ".join(self.profile.object(obj).key),
                    f"{count} records share one key value (this is the second)",
                    fix=fix,
                    object=obj,
                )
            )

    def _orphans(self, read: set[str]) -> None:
        skipped: set[tuple[str, str]] = set()
        for obj, rel, namespace, optional, file, line, key, quarantine in self.store.orphans():
            target = namespace.split("#", 1)[0]
            if target not in read:
                skipped.add((obj, target))
                continue
            columns = next(
                r.columns for r in self.profile.object(obj).relationships if r.name == rel
            )
            message = f"{', '.join(columns)} points to no {target} record (relationship {rel!r})"
            finding = Finding(
                "warning" if optional else "error",
                "orphan_reference",
                file,
                line,
                columns[0],
                message,
                fix="the link is reported and dropped"
                if optional
                else "the record has no parent to attach to; it is not migrated",
                object=obj,
            )
            self.emit(finding)
            if not optional and quarantine:
                self._late.setdefault(file, []).append((line, obj, key, finding))
        for obj, target in sorted(skipped):
            self.emit(
                Finding(
                    "info",
                    "references_unchecked",
                    obj,
                    None,
                    None,
                    f"links from {obj} to {target} were not checked: no {target} export was read",
                    object=obj,
                )
            )

    def _quarantine_late(self) -> None:
        """Quarantine rows found unmigratable at the end, reading their values back.

        Only the files holding such rows are read again, in one pass each.
        """
        reader = Reader(self.profile)
        for file, entries in sorted(self._late.items()):
            wanted = {line: (obj, key, finding) for line, obj, key, finding in entries}
            source = self._sources.get(file)
            values: dict[int, dict[str, str]] = {}
            if source is not None:
                for item in reader.rows(source):
                    if isinstance(item, Row) and item.line in wanted:
                        values[item.line] = dict(item.values)
            for line, (obj, key, finding) in sorted(wanted.items()):
                self._quarantine(file, line, obj, key, finding, values.get(line, {}))
        self._late.clear()

    def _duplicates(self) -> list[DuplicateGroup]:
        groups: list[DuplicateGroup] = []
        for obj, members in self.store.people_by_email():
            for reason, group_members in cluster(members):
                keeper = group_members[0]
                group = DuplicateGroup(
                    obj, reason, tuple((m[3], m[4], m[5]) for m in group_members)
                )
                groups.append(group)
                self.objects[obj].duplicates += len(group_members) - 1
                for member in group_members[1:]:
                    what = "date of birth" if reason == "email+dob" else "a close name"
                    self.emit(
                        Finding(
                            "warning",
                            "duplicate_candidate",
                            member[4],
                            member[5],
                            None,
                            f"same email and {what} as {keeper[4]}:{keeper[5]}",
                            fix=ADVICE["duplicate_candidate"][1],
                            object=obj,
                        )
                    )
        for obj, file, line, other_file, other_line in self.store.name_dob_pairs():
            self.emit(
                Finding(
                    "info",
                    "possible_duplicate",
                    file,
                    line,
                    None,
                    f"same name and date of birth as {other_file}:{other_line}, "
                    "but a different email",
                    fix=ADVICE["possible_duplicate"][1],
                    object=obj,
                )
            )
        return groups

    def _unknown_values(self) -> None:
        for (obj, column), seen in sorted(self._unknown.items()):
            total = sum(seen.values())
            shown = ", ".join(repr(v) for v, _ in seen.most_common(8))
            self.emit(
                Finding(
                    "info",
                    "unknown_value",
                    obj,
                    None,
                    column,
                    f"{total} row(s) have {column} values the profile does not list: {shown}",
                    fix=ADVICE["unknown_value"][1],
                    object=obj,
                )
            )

    def _expected_counts(self) -> None:
        if self.options.expected:
            for finding in compare_expected(self.profile, self.objects, self.options.expected):
                self.emit(finding)


def _as_text(result: Ok) -> str:
    value = result.value
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _with_object(finding: Finding, obj: str | None) -> Finding:
    if obj is None:
        return finding
    return Finding(
        finding.severity,
        finding.code,
        finding.file,
        finding.line,
        finding.column,
        finding.message,
        finding.fix,
        obj,
        finding.sheet,
    )


def audit_exports(
    profile: Profile,
    exports: Path,
    options: AuditOptions,
    *,
    scratch: Path | None = None,
) -> AuditResult:
    """Audit every recognised export under ``exports`` (keys kept in ``scratch`` SQLite).

    Each file is opened once: identified from its header, then streamed.
    """
    with KeyStore(scratch) as store:
        auditor = Auditor(profile, options, store)
        for source, rows in Reader(profile).sources(exports):
            auditor.add_file(source)
            if source.object is None:
                continue
            for item in rows:
                auditor.add(source.object, item)
        return auditor.finish()


__all__ = ["AuditOptions", "AuditResult", "Auditor", "audit_exports"]
