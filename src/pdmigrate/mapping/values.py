"""Evaluate one field line on one row: columns -> transform chain -> value map -> API value.

Never raises on data: a transform Problem or an unmapped pick-list value becomes a
Finding (file:line, column, code) and the field is left empty. Values are turned
into what Pipedrive takes, still keyed by field *name*: dates as ``YYYY-MM-DD``,
UTC times as ``YYYY-MM-DDTHH:MM:SSZ``, monetary fields as ``{value, currency}``,
phones and emails as ``[{value, label, primary}]``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from pdmigrate.mapping.model import FieldLine, Mapping, Settings
from pdmigrate.records import Finding, Row, Severity
from pdmigrate.transforms import (
    Chain,
    Money,
    Ok,
    Phone,
    Problem,
    TransformContext,
    Value,
    parse_chain,
)
from pdmigrate.transforms.core import decimal_to_number
from pdmigrate.transforms.text import normalise_key

#: Native fields whose values are lists that several columns add to.
LIST_FIELDS = frozenset({"emails", "phones", "participants", "attendees"})
#: Native text fields that several columns append to ("Column: value" lines).
TEXT_FIELDS = frozenset({"note", "content"})


@lru_cache(maxsize=1024)
def chain_of(spec: str) -> Chain:
    """The parsed chain of a transform spec (cached; specs are validated at confirm)."""
    return parse_chain(spec)


def transform_context(mapping: Mapping) -> TransformContext:
    """The transforms' context: practice settings and the mapping's value maps as tables."""
    s: Settings = mapping.settings
    return TransformContext(
        country=s.country,
        timezone=s.timezone,
        currency=s.currency,
        date_order=s.date_order,
        own_email_domain=s.own_email_domain,
        tables=MappingProxyType(
            {k: MappingProxyType(dict(v)) for k, v in mapping.value_maps.items()}
        ),
    )


@dataclass
class Evaluated:
    """A line's value on one row (None when empty) and the findings it raised."""

    value: Value
    findings: list[Finding] = field(default_factory=list)


def finding(
    row: Row,
    column: str | None,
    code: str,
    message: str,
    obj: str,
    severity: Severity = "warning",
    fix: str = "",
) -> Finding:
    """A Finding at the row's file:line (never quoting its value)."""
    return Finding(
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


def raw_value(row: Row, columns: list[str]) -> Value:
    """The cell text of one column, or a tuple of several columns' texts."""
    if len(columns) == 1:
        return row.get(columns[0])
    return tuple(row.get(c) for c in columns)


@lru_cache(maxsize=256)
def _normalised(items: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    return {normalise_key(str(k)): v for k, v in items}


def lookup(mapping: Mapping, name: str, value: Value) -> tuple[Value, bool]:
    """``value`` through value map ``name`` (case and spacing ignored); (result, mapped)."""
    table = mapping.value_maps.get(name)
    if table is None:
        return None, False
    try:
        norm = _normalised(tuple(table.items()))
    except TypeError:  # an unhashable target (a list written by hand): no cache
        norm = {normalise_key(str(k)): v for k, v in table.items()}
    if isinstance(value, tuple):
        out: list[Any] = []
        ok = True
        for item in value:
            got, hit = lookup(mapping, name, item)
            ok = ok and hit
            if got is not None:
                out.append(got)
        return (tuple(out) or None), ok
    if value is None or value == "":
        return None, True
    text = "Yes" if value is True else "No" if value is False else str(value)
    key = normalise_key(text)
    if key in norm:
        return norm[key], True
    if isinstance(value, bool):
        alt = normalise_key("Y" if value else "N")
        if alt in norm:
            return norm[alt], True
        return ("Yes" if value else None), True
    return None, False


def evaluate(
    mapping: Mapping, obj_id: str, line: FieldLine, row: Row, ctx: TransformContext
) -> Evaluated:
    """Run one line on one row; problems become findings, never exceptions."""
    value = raw_value(row, line.columns)
    findings: list[Finding] = []
    column = ", ".join(line.columns)
    if line.transform.strip():
        try:
            chain = chain_of(line.transform)
        except Exception:  # a bad spec is caught at confirm; here it is a finding
            findings.append(
                finding(
                    row,
                    column,
                    "mapping.bad_transform",
                    "the line's transform spec is invalid",
                    obj_id,
                    "error",
                )
            )
            return Evaluated(None, findings)
        result = chain(value, ctx)
        if isinstance(result, Problem):
            findings.append(finding(row, column, result.code, result.message, obj_id))
            return Evaluated(None, findings)
        assert isinstance(result, Ok)
        findings.extend(
            finding(row, column, w.code, w.message, obj_id, "info") for w in result.warnings
        )
        value = result.value
    elif isinstance(value, str) and not value.strip():
        value = None
    if line.values and value is not None:
        mapped, hit = lookup(mapping, line.values, value)
        if not hit:
            findings.append(
                finding(
                    row,
                    column,
                    "value_map.unmapped",
                    f"value not in value map '{line.values}'",
                    obj_id,
                    fix=f"add it under value_maps.{line.values} in mapping.yaml",
                )
            )
        value = mapped
    return Evaluated(value, findings)


def to_api(value: Value, line: FieldLine, *, native: bool) -> Any:
    """A transformed value as Pipedrive takes it for this line's field and type."""
    if value is None:
        return None
    custom = line.custom
    if isinstance(value, tuple):
        if value and all(isinstance(v, Phone) for v in value):
            return [v.to_api() for v in value]  # type: ignore[union-attr]
        items = [to_api(v, line, native=native) for v in value]
        if custom == "set" or line.field in LIST_FIELDS:
            return [i for i in items if i is not None]
        return ", ".join(str(i) for i in items if i is not None)
    if line.field == "emails" and isinstance(value, str):
        return [{"value": value, "primary": True, "label": "work"}]
    if isinstance(value, Phone):
        return [value.to_api()]
    if isinstance(value, Money):
        if custom == "monetary" or line.field == "prices":
            return value.to_api()
        return decimal_to_number(value.amount)
    if isinstance(value, bool):
        if custom == "enum":
            return "Yes" if value else None
        return value
    if isinstance(value, Decimal):
        return decimal_to_number(value)
    if isinstance(value, dt.datetime):
        if custom == "date":
            return value.date().isoformat()
        if custom == "time":
            return value.strftime("%H:%M")
        utc = value.astimezone(dt.UTC) if value.tzinfo else value
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return value


def merge(fields: dict[str, Any], name: str, value: Any, label: str) -> None:
    """Put a value into a payload's fields: lists extend, note text appends, else first wins."""
    if value is None or value == "" or value == []:
        return
    if name in LIST_FIELDS:
        current = list(fields.get(name) or [])
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                if any(
                    isinstance(c, dict) and c.get("value") == item.get("value") for c in current
                ):
                    continue
                item = {**item, "primary": not current}
            current.append(item)
        fields[name] = current
        return
    if name in TEXT_FIELDS:
        line = f"{label}: {value}" if label else str(value)
        fields[name] = f"{fields[name]}\n{line}" if name in fields else line
        return
    fields.setdefault(name, value)
