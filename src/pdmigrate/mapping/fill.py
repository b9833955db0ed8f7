"""Per-row pieces of apply: filters, keys, templates, links and field values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pdmigrate.mapping.crossref import CrossIndex, most_frequent_ref
from pdmigrate.mapping.model import (
    EMAIL_MISSING_FIELD,
    FieldLine,
    MappingObject,
)
from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.payload import Ref
from pdmigrate.mapping.rollups import (
    as_decimal,
    rollup,
    split_before_dot,
)
from pdmigrate.mapping.values import (
    chain_of,
    evaluate,
    finding,
    merge,
    to_api,
)
from pdmigrate.records import Finding, Row
from pdmigrate.transforms import Problem, TransformContext, Value

_TEMPLATE = re.compile(r"\{([^{}]+)\}")


def key_values(obj: MappingObject, row: Row) -> list[str]:
    values = [row.get(c).strip() for c in obj.key]
    if obj.split_key == "before_dot" and obj.cardinality == "grouped" and values:
        values[0] = split_before_dot(values[0])
    return values


def _matches(row: Row, rules: Mapping[str, list[str]]) -> bool:
    for column, allowed in rules.items():
        wanted = {a.casefold() for a in allowed}
        if row.get(column).strip().casefold() not in wanted:
            return False
    return True


def keep_row(obj: MappingObject, row: Row) -> bool:
    """True unless the object's filter rejects the row or its exclude matches it."""
    if obj.filter and not _matches(row, obj.filter):
        return False
    return not (obj.exclude and _matches(row, obj.exclude))


def render(template: str, row: Row, extra: Mapping[str, str] | None = None) -> str:
    """Fill ``{Column}`` placeholders from the row (and ``extra``); unknown ones stay blank."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if extra and name in extra:
            return extra[name]
        return " ".join(row.get(name).split())

    return " ".join(_TEMPLATE.sub(one, template).split()).strip(" :·-")


# --- links ----------------------------------------------------------------------------


def links_for(
    obj: MappingObject,
    rows: Sequence[Row],
    *,
    mapping: MappingFile | None = None,
    key: Sequence[str] = (),
    index: CrossIndex | None = None,
) -> dict[str, Ref | tuple[Ref, ...]]:
    """The object's links as refs, from the first row (or the group's most frequent value).

    A ``via`` link (most frequent value among another object's rows) is resolved from
    ``index`` for the record ``key``; without ``mapping`` it stays an unresolved ref.
    """
    out: dict[str, Ref | tuple[Ref, ...]] = {}
    row = rows[0]
    for name, link in obj.links.items():
        if name == "record":
            continue
        if link.via is not None:
            if mapping is None:
                out[name] = Ref(link.to, f"{link.via}:{'|'.join(link.columns)}", "most_frequent")
                continue
            found = most_frequent_ref(mapping, obj, name, link, "|".join(key), index)
            if found is not None:
                out[name] = found
            continue
        if not link.columns:
            out[name] = Ref(link.to, link.fallback or link.to, "root")
            continue
        values = [row.get(c).strip() for c in link.columns]
        if link.match == "most_frequent":
            counts: dict[str, int] = {}
            for r in rows:
                v = r.get(link.columns[0]).strip()
                if v:
                    counts[v] = counts.get(v, 0) + 1
            values = [max(counts, key=lambda k: counts[k])] if counts else [""]
        if not any(values):
            continue
        if link.match == "before_dot":
            values[0] = split_before_dot(values[0])
        sep = link.separator
        if name in ("participants", "owner_id") and len(values) == 1 and sep and sep in values[0]:
            # Only a declared multi-value column splits: "Saunders, Candice" is one name.
            refs = tuple(
                Ref(link.to, v.strip(), link.match) for v in values[0].split(sep) if v.strip()
            )
            if refs:
                out[name] = refs if name == "participants" else refs[0]
                if name == "owner_id" and obj.options.get("owners_attend"):
                    out["attendees"] = refs  # every listed user attends (landing rules §5)
            continue
        ref = Ref(link.to, "|".join(values), link.match)
        out[name] = (ref,) if name == "participants" else ref
        if name == "owner_id" and obj.options.get("owners_attend"):
            out["attendees"] = (ref,)
    return out


# --- fields ---------------------------------------------------------------------------


def _line_value(
    mapping: MappingFile,
    obj: MappingObject,
    line: FieldLine,
    rows: Sequence[Row],
    ctx: TransformContext,
    findings: list[Finding],
) -> Any:
    """A line's API value over one row, or over a group with its rollup."""
    native = line.native_on(obj.entity_of(line))
    if len(rows) == 1 and line.rollup is None:
        got = evaluate(mapping, obj.id, line, rows[0], ctx)
        findings.extend(got.findings)
        return to_api(got.value, line, native=native)
    op = line.rollup or "first"
    if op == "count":
        return sum(1 for r in rows if any(r.get(c).strip() for c in line.columns))
    if op == "ratio":
        top = line.model_copy(update={"columns": line.columns[:1]})
        bottom = line.model_copy(update={"columns": line.columns[1:], "transform": "decimal"})
        nums = [evaluate(mapping, obj.id, top, r, ctx) for r in rows]
        dens = [evaluate(mapping, obj.id, bottom, r, ctx) for r in rows]
        for e in (*nums, *dens):
            findings.extend(e.findings)
        value = rollup("ratio", [e.value for e in nums], denominators=[e.value for e in dens])
        return to_api(value, line, native=native)
    values: list[Value] = []
    weights: list[Any] = []
    for row in rows:
        got = evaluate(mapping, obj.id, line, row, ctx)
        findings.extend(got.findings)
        values.append(got.value)
        if line.weight:
            weights.append(as_decimal(_weight(row.get(line.weight))))
    order = list(line.options) or list((mapping.value_maps.get(line.values or "") or {}).values())
    value = rollup(
        op,
        values,
        weights=weights if line.weight else None,
        order=[str(o) for o in order if o is not None],
    )
    return to_api(value, line, native=native)


def _weight(text: str) -> Value:
    result = chain_of("decimal")(text, TransformContext())
    return None if isinstance(result, Problem) else result.value


def fill_fields(
    mapping: MappingFile,
    obj: MappingObject,
    rows: Sequence[Row],
    ctx: TransformContext,
    findings: list[Finding],
) -> dict[str, dict[str, Any]]:
    """``{entity: {field name: value}}`` for every field line of the object."""
    out: dict[str, dict[str, Any]] = {}
    dropped = {n.column for n in mapping.not_migrated if n.column and n.object in obj.source}
    for line in obj.fields:
        if dropped.intersection(line.columns):
            continue
        entity = obj.entity_of(line)
        value = _line_value(mapping, obj, line, rows, ctx, findings)
        label = ", ".join(line.columns) if line.why else ""
        merge(out.setdefault(entity, {}), line.field, value, label)
    return out


def email_flag(
    obj: MappingObject, fields: dict[str, Any], rows: Sequence[Row], findings: list[Finding]
) -> None:
    """Set "Email missing" = Yes when no valid email survived; never invent an address."""
    if not obj.email_missing or fields.get("emails"):
        return
    fields[EMAIL_MISSING_FIELD] = "Yes"
    dropped = [f for f in findings if f.code.startswith("email.") and f.line == rows[0].line]
    if not dropped:
        column = next((ln.columns[0] for ln in obj.fields if ln.field == "emails"), None)
        findings.append(
            finding(
                rows[0],
                column,
                "email.missing",
                "no email address; flagged Email missing",
                obj.id,
                "info",
            )
        )
