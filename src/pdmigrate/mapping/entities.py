"""Entity-specific parts of apply: names, deal status and stage, activity and note shape.

Each function takes the fields already filled from the field lines and completes
them the way the landing rules say: a person always has a name, a deal gets its
pipeline, stage or won/lost status, an activity its type, subject, done flag, UTC
due date/time, duration, location and marker, a note its marker and header.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.model import MappingObject
from pdmigrate.mapping.rollups import as_decimal
from pdmigrate.mapping.values import chain_of
from pdmigrate.profiles.model import StatusRule
from pdmigrate.records import Finding, Row
from pdmigrate.transforms import Ok, TransformContext
from pdmigrate.transforms.text import normalise_key


def person_name(obj: MappingObject, fields: dict[str, Any], row: Row, *, firm: bool) -> None:
    """Fill ``name`` from first/last name, or the Contact of a firm client (§4)."""
    names = obj.options.get("person_name")
    if isinstance(names, dict) and firm and row.get(str(names.get("firm", ""))).strip():
        fields["name"] = " ".join(row.get(str(names["firm"])).split())
    if not fields.get("name"):
        parts = [fields.get("first_name"), fields.get("last_name")]
        full = " ".join(str(p) for p in parts if p)
        if full:
            fields["name"] = full


def is_firm(
    row: Row,
    patterns: Sequence[str],
    categories: Sequence[str],
    columns: Mapping[str, Any] | None = None,
) -> bool:
    """A client row is a firm by its name patterns or its category (landing rules §4).

    ``columns`` is the object's ``options.firm_columns`` (``{name: Name, category:
    Category}``); an object without it has no firm rows.
    """
    if not columns:
        return False
    name = row.get(str(columns.get("name") or ""))
    if name and any(re.search(p, name, flags=re.IGNORECASE) for p in patterns):
        return True
    category = normalise_key(row.get(str(columns.get("category") or "")))
    return bool(category) and category in {normalise_key(c) for c in categories}


def firm_columns(obj: MappingObject) -> Mapping[str, Any] | None:
    """The object's ``options.firm_columns`` (None when it has none)."""
    spec = obj.options.get("firm_columns")
    return spec if isinstance(spec, dict) else None


# --- deals --------------------------------------------------------------------------


def _rule(obj: MappingObject, value: str) -> StatusRule | None:
    status = obj.status
    if status is None:
        return None
    wanted = normalise_key(value)
    for source, rule in status.map.items():
        if normalise_key(source) == wanted:
            return rule
    return status.default


def _stage_probability(mapping: MappingFile, pipeline: str | None, stage: str | None) -> int:
    found = mapping.pipeline(pipeline or "")
    if found is None:
        return -1
    return next((s.probability for s in found.stages if s.name == stage), -1)


def _when(row: Row, column: str | None, ctx: TransformContext) -> str | None:
    if not column:
        return None
    text = row.get(column).strip()
    if not text:
        return None
    order = {"dmy": "(dayfirst)", "mdy": "(monthfirst)", "ymd": "(ymd)"}.get(
        ctx.date_order or "", ""
    )
    result = chain_of(f"null_dates | datetime{order}")(text, ctx)
    if not isinstance(result, Ok) or result.value is None:
        return None
    value = result.value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00Z"
    return None


def pipeline_for(mapping: MappingFile, obj: MappingObject, rows: Sequence[Row]) -> str | None:
    """The pipeline a deal goes to: the object's, or the selector's (highest-fee code range)."""
    status = obj.status
    if status is None or not status.selector:
        return obj.pipeline
    code_col = next((ln.columns[0] for ln in obj.fields if "code" in ln.field.lower()), "")
    fee_col = next((ln.columns[0] for ln in obj.fields if ln.field == "value"), "")
    best = max(rows, key=lambda r: as_decimal(r.get(fee_col).replace("$", "")) or 0)
    code = best.get(code_col).strip().upper()
    for name, ranges in status.selector.items():
        if name in ("by", "else"):
            continue
        for part in ranges.split(","):
            low, _, high = part.strip().partition("-")
            high = high or low
            if len(code) == len(low) and low <= code <= high:
                return name
    return status.selector.get("else", obj.pipeline)


def deal_status(
    mapping: MappingFile,
    obj: MappingObject,
    rows: Sequence[Row],
    fields: dict[str, Any],
    ctx: TransformContext,
    *,
    linked: dt.date | None = None,
) -> None:
    """Pipeline, stage or won/lost (with time and reason) from the status column's rule(s).

    A rule's ``time_from`` that is no column (``latest_invoice_date``) means the latest
    date of the records joined into this deal (``linked``), else its created date.
    """
    status = obj.status
    pipeline = pipeline_for(mapping, obj, rows)
    if pipeline:
        fields["pipeline"] = pipeline
    if status is None:
        return
    found = [(r, _rule(obj, r.get(status.column or ""))) for r in rows] if status.column else []
    rules: list[tuple[Row, StatusRule]] = [(r, rule) for r, rule in found if rule is not None]
    chosen: tuple[Row, StatusRule] | None = None
    if (rules and all(rule.status == "won" for _, rule in rules)) or (
        rules and all(rule.status == "lost" for _, rule in rules)
    ):
        chosen = rules[-1]
    else:
        open_rules = [(r, rule) for r, rule in rules if rule.status == "open"]
        if open_rules:
            chosen = max(
                open_rules, key=lambda t: _stage_probability(mapping, pipeline, t[1].stage)
            )
        elif rules:
            chosen = rules[-1]
    if chosen is None:
        if status.default is None:
            return
        chosen = (rows[0], status.default)
    row, rule = chosen
    outcome = rule.status
    if rule.when_paid is not None and _paid(rows, obj.options.get("paid_column")):
        outcome = rule.when_paid
    fields["status"] = outcome
    if outcome == "open":
        fields["stage"] = rule.stage
        return
    fields.pop("stage", None)
    when = _when(row, rule.time_from, ctx)
    fields.pop("won_time" if outcome == "lost" else "lost_time", None)
    if rule.time_from and rule.time_from not in row.values:
        created = next(
            (ln.columns[0] for ln in obj.fields if ln.field == "Source Created Date"), None
        )
        if isinstance(linked, dt.datetime):  # won_from with a time: the start, in UTC
            when = linked.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        else:
            when = f"{linked.isoformat()}T00:00:00Z" if linked else _when(row, created, ctx)
    if when:
        fields["won_time" if outcome == "won" else "lost_time"] = when
    if outcome == "lost":
        fields["lost_reason"] = rule.lost_reason or row.get(status.column or "").strip() or None
    if (
        outcome == "won"
        and "value" in fields
        and obj.options.get("value", {})
        and isinstance(obj.options.get("value"), dict)
        and obj.options["value"].get("zero_when")
    ):
        fields["value"] = 0


def group_outcome(obj: MappingObject, values: Sequence[str]) -> str | None:
    """The status (open, won, lost) :func:`deal_status` gives a group with these status values.

    All won or all lost closes the deal; any open rule keeps it open; otherwise the last
    rule decides, and a group without rules takes the default (None without one).
    """
    status = obj.status
    if status is None:
        return None
    rules = [r for v in values if (r := _rule(obj, v)) is not None] if status.column else []
    if rules and (all(r.status == "won" for r in rules) or all(r.status == "lost" for r in rules)):
        return rules[-1].status
    if any(r.status == "open" for r in rules):
        return "open"
    if rules:
        return rules[-1].status
    return status.default.status if status.default is not None else None


def _paid(rows: Sequence[Row], column: Any) -> bool:
    """True when ``options.paid_column`` sums above zero over the group."""
    if not isinstance(column, str):
        return False
    total = sum((as_decimal(r.get(column).replace("$", "").replace(",", "")) or 0 for r in rows), 0)
    return bool(total and total > 0)


# --- activities and notes -----------------------------------------------------------


def marker(
    mapping: MappingFile, key: str, local: dt.datetime | None, *, status: str = "", by: str = ""
) -> str:
    """The first line of an activity note / note content (landing rules §0)."""
    parts = [f"src={key}"]
    if local is not None:
        parts.append(f"at={local.strftime('%Y-%m-%dT%H:%M')}")
        parts.append(f"tz={mapping.settings.timezone}")
    if status:
        parts.append(f"status={status.replace(']', ')')}")
    if by:
        parts.append(f"by={by.replace(']', ')')}")
    return f"[pdmigrate {' '.join(parts)}]"


def local_start(
    row: Row, date_col: str | None, time_col: str | None, ctx: TransformContext
) -> tuple[dt.datetime | None, bool]:
    """The local start (naive, practice zone) and whether it has a time of day."""
    if not date_col:
        return None, False
    text = row.get(date_col).strip()
    if time_col and time_col != date_col and row.get(time_col).strip():
        text = f"{text} {row.get(time_col).strip()}"
    if not text:
        return None, False
    order = {"dmy": "(dayfirst)", "mdy": "(monthfirst)", "ymd": "(ymd)"}.get(
        ctx.date_order or "", ""
    )
    inner = order[1:-1] + ", " if order else ""
    result = chain_of(f"null_dates | datetime({inner}tz=UTC)")(text, ctx)
    if not isinstance(result, Ok) or result.value is None:
        return None, False
    value = result.value
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None), True
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day), False
    return None, False


def to_utc(local: dt.datetime, zone: str) -> dt.datetime:
    """Local practice time -> UTC (DST gaps move forward, overlaps take the first)."""
    from pdmigrate.transforms import localise

    aware, _ = localise(local, ZoneInfo(zone))
    return aware.astimezone(dt.UTC)


def duration_of(
    row: Row, column: str | None, start: dt.datetime | None, ctx: TransformContext
) -> str | None:
    """``HH:MM`` from a minutes column, or from an end time/datetime minus the start."""
    if not column:
        return None
    text = row.get(column).strip()
    if not text:
        return None
    minutes: int | None = None
    number = as_decimal(text) if re.fullmatch(r"\d+(\.\d+)?", text) else None
    if number is not None:
        minutes = int(number)
    elif start is not None:
        end_time = chain_of("time")(text.split()[-1] if " " in text and ":" in text else text, ctx)
        if isinstance(end_time, Ok) and isinstance(end_time.value, dt.time):
            end = dt.datetime.combine(start.date(), end_time.value)
            minutes = int((end - start).total_seconds() // 60)
    if minutes is None or minutes <= 0 or minutes >= 24 * 60:
        return None
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def activity_fields(
    mapping: MappingFile,
    obj: MappingObject,
    row: Row,
    key: str,
    fields: dict[str, Any],
    ctx: TransformContext,
    names: dict[str, str],
    findings: list[Finding],
) -> bool:
    """Complete an activity; False when its status says skip (e.g. Rescheduled)."""
    spec = obj.activity
    if spec is None:
        return True
    status = row.get(spec.status_column).strip() if spec.status_column else ""
    if status and normalise_key(status) in {normalise_key(s) for s in spec.skip_statuses}:
        return False
    kind = spec.type
    if spec.type_column:
        raw = row.get(spec.type_column).strip()
        for source, target in spec.type_map.items():
            if normalise_key(source) == normalise_key(raw):
                kind = target
                break
    fields["type"] = kind
    subject = _render(spec.subject, row, names)
    prefix = next(
        (p for s, p in spec.subject_prefix.items() if normalise_key(s) == normalise_key(status)), ""
    )
    fields["subject"] = (prefix + subject).strip() or kind
    fields["done"] = spec.is_done(status or None)
    local, has_time = local_start(row, spec.due_date, spec.due_time, ctx)
    if local is not None:
        if has_time:
            utc = to_utc(local, mapping.settings.timezone)
            fields["due_date"] = utc.date().isoformat()
            fields["due_time"] = utc.strftime("%H:%M")
        else:
            fields["due_date"] = local.date().isoformat()
        duration = duration_of(row, spec.duration, local if has_time else None, ctx)
        if duration:
            fields["duration"] = duration
    elif spec.due_date:
        findings.append(
            Finding(
                "warning",
                "activity.no_date",
                row.file,
                row.line,
                spec.due_date,
                "no usable start date; the activity has no due date",
                object=obj.id,
            )
        )
    location = ", ".join(" ".join(row.get(c).split()) for c in spec.location if row.get(c).strip())
    if location:
        fields["location"] = location
    head = marker(mapping, key, local, status=status)
    body = fields.get("note")
    fields["note"] = head if not body else f"{head}\n{body}"
    return True


def _render(template: str, row: Row, names: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in names:
            return names[name]
        return " ".join(row.get(name).split())

    return " ".join(re.sub(r"\{([^{}]+)\}", one, template).split()).strip(" :·-")


def note_fields(
    mapping: MappingFile,
    obj: MappingObject,
    row: Row,
    key: str,
    fields: dict[str, Any],
    ctx: TransformContext,
) -> None:
    """Complete a note: marker, ``Author · Type`` header, content; add_time kept."""
    spec = obj.note
    header = _render(spec.header, row, {}) if spec and spec.header else ""
    when = None
    date_line = next((ln for ln in obj.fields if ln.field == "add_time"), None)
    if date_line is not None:
        second = date_line.columns[1] if len(date_line.columns) > 1 else None
        when, _ = local_start(row, date_line.columns[0], second, ctx)
    elif "add_time" in fields and isinstance(fields["add_time"], str):
        when = _parse_iso(fields["add_time"])
    head = marker(mapping, key, when, by=" ".join(first_filled(row, author_columns(obj)).split()))
    parts = [head, header, str(fields.get("content") or "")]
    fields["content"] = "\n".join(p for p in parts if p)


def author_columns(obj: MappingObject) -> list[str]:
    """Columns naming a note's author: ``options.author``, else the object's owner column."""
    listed = obj.options.get("author")
    if isinstance(listed, str):
        return [listed]
    if isinstance(listed, list):
        return [str(c) for c in listed]
    return [obj.owner] if obj.owner else []


def first_filled(row: Row, columns: Sequence[str]) -> str:
    """The first non-blank value of ``columns`` in the row ("" when all are blank)."""
    return next((row.get(c) for c in columns if row.get(c).strip()), "")


def _parse_iso(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            return None
        return dt.datetime(day.year, day.month, day.day)
    return value.replace(tzinfo=None)
