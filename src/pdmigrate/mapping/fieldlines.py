"""Field lines from profile defaults and from sniffed columns: field, custom type, transforms.

The profile's landing says *where* a column goes (``Status: {field: Patient Status,
type: enum}``) and sometimes names a profile-level helper (``join_address``,
``fee_times_qty``...). This module writes the line a user reviews: the transform
chain from the closed registry, the rollup, the weight, the value map. The same
rules give unknown columns a proposed custom field from their sniffed kind.
"""

from __future__ import annotations

import re
from typing import Any

from pdmigrate.mapping.model import FieldLine, MappingObject, Settings
from pdmigrate.mapping.sniff import Sniffed
from pdmigrate.profiles.match import normalise_header
from pdmigrate.profiles.model import (
    NATIVE_FIELDS,
    Aggregate,
    ColumnType,
    CustomFieldType,
    FieldTarget,
    SourceObject,
)

#: Profile aggregates -> mapping rollups.
AGGREGATES: dict[Aggregate, str] = {
    "first": "first",
    "latest": "max",
    "earliest": "min",
    "sum": "sum",
    "mean": "mean",
    "count": "count",
    "worst": "worst",
    "most_frequent": "most_frequent",
    "join": "join",
}

#: Custom field type for a sniffed or declared column type.
CUSTOM_TYPE: dict[ColumnType, CustomFieldType] = {
    "text": "varchar",
    "id": "varchar",
    "int": "double",
    "decimal": "double",
    "money": "monetary",
    "date": "date",
    "datetime": "date",
    "time": "time",
    "bool": "enum",
    "email": "varchar",
    "phone": "phone",
    "enum": "enum",
    "html": "text",
    "multi": "set",
}

_ADDRESS_WORDS = (
    "address",
    "street",
    "addr",
    "suburb",
    "city",
    "town",
    "state",
    "county",
    "zip",
    "postcode",
    "postal",
    "country",
    "apt",
)
_SENSITIVE = re.compile(
    r"\b(ssn|social security|ss#|medicare|dva|tax file|tfn|sin|nhs|national insurance|"
    r"passport|driver.?s? licen[cs]e|concession|pension)\b",
    re.IGNORECASE,
)


def order_param(settings: Settings) -> str:
    """The date transform's parameter for the workspace date order (empty: detect)."""
    return {"dmy": "(dayfirst)", "mdy": "(monthfirst)", "ymd": "(ymd)"}.get(
        settings.date_order or "", ""
    )


def is_sensitive(column: str) -> bool:
    """True for government identifiers that are never migrated (landing rules §6)."""
    return bool(_SENSITIVE.search(column.replace("_", " ")))


def address_columns(obj: SourceObject, first: str) -> list[str]:
    """The address columns of ``obj`` in order, starting at ``first``."""
    names = [c.name for c in obj.columns]
    start = names.index(first) if first in names else 0
    out = [first]
    for name in names[start + 1 :]:
        norm = normalise_header(name)
        if any(w in norm.split() or norm.startswith(w) for w in _ADDRESS_WORDS):
            out.append(name)
    return out


def base_chain(kind: ColumnType, settings: Settings, *, field: str, custom: str | None) -> str:
    """The transform chain for a value of ``kind`` written into ``field``."""
    order = order_param(settings)
    if kind == "date":
        return f"null_dates | date{order}"
    if kind == "datetime":
        return f"null_dates | datetime{order}"
    if kind == "time":
        return "time"
    if kind == "email":
        return "email"
    if kind == "phone":
        return f"phone({settings.country})"
    if kind == "money":
        if custom == "monetary" or field == "prices":
            return f"money({settings.currency})"
        return f"money({settings.currency}, number)"
    if kind in ("decimal",):
        return "decimal"
    if kind == "int":
        return "int" if custom != "double" else "decimal"
    if kind == "bool":
        return "bool"
    if kind == "html":
        return "html_to_text"
    if kind == "id":
        return "text"
    if kind == "multi":
        return "split"
    if custom == "varchar":
        return "strip | truncate(255)"
    return "strip"


def profile_line(
    obj: SourceObject,
    column: str,
    target: FieldTarget,
    settings: Settings,
    *,
    confidence: float,
) -> tuple[list[FieldLine], dict[str, Any]]:
    """The field line(s) for one landing field, and extras (links, value maps) it implies."""
    kind: ColumnType = obj.column(column).type if _has(obj, column) else "text"
    entity = target.entity
    custom = target.type if target.custom else None
    rollup = AGGREGATES.get(target.aggregate) if target.aggregate else None
    options = list(target.options)
    extras: dict[str, Any] = {}
    base: dict[str, Any] = {
        "columns": [column],
        "field": target.field,
        "entity": entity,
        "custom": custom,
        "rollup": rollup,
        "options": options,
        "confidence": confidence,
    }
    helper = target.transform
    order = order_param(settings)
    if helper == "join_address":
        base["columns"] = address_columns(obj, column)
        base["transform"] = 'concat(", ")'
    elif helper == "date_time_to_utc":
        time_col = next((c.name for c in obj.columns if c.type == "time"), None)
        base["columns"] = [column, time_col] if time_col else [column]
        base["transform"] = f'concat(" ") | datetime{order}'
    elif helper == "fee_times_qty":
        qty = next(
            (c.name for c in obj.columns if normalise_header(c.name) in {"qty", "quantity"}), None
        )
        base["weight"] = qty
        base["rollup"] = "sum"
        base["transform"] = f"money({settings.currency}, number)"
    elif helper == "split_name_last_first":
        base["transform"] = "split_name(full)"
    elif helper == "organization_by_name":
        extras["link"] = ("org_id", {"to": "organization", "columns": [column], "match": "name"})
        return [], extras
    elif helper == "sanitise_html":
        base["transform"] = "html_sanitize"
    elif helper == "fee_rate":
        amount = next((c.name for c in obj.columns if c.name == "Amount"), column)
        hours = next((c.name for c in obj.columns if "hours billed" in c.name.lower()), column)
        base["columns"] = [amount, hours]
        base["rollup"] = "ratio"
        base["transform"] = f"money({settings.currency})"
    elif helper == "gst_rate":
        base["transform"] = "strip"
        base["values"] = "gst_rate"
        extras["value_map"] = (
            "gst_rate",
            {"Y": 10, "Yes": 10, "True": 10, "1": 10, "N": 0, "No": 0, "False": 0, "0": 0},
        )
    elif helper == "split_datetime":
        stem = target.field.removesuffix(" Date")
        chain = f"null_dates | datetime{order[:-1] + ', tz=UTC)' if order else '(tz=UTC)'}"
        date_line = FieldLine(**{**base, "transform": chain, "custom": "date"})
        time_line = FieldLine(
            **{**base, "field": f"{stem} Time", "transform": chain, "custom": "time"}
        )
        return [date_line, time_line], extras
    else:
        base["transform"] = base_chain(kind, settings, field=target.field, custom=custom)
    if kind == "bool" and custom == "enum":
        base["values"] = f"{obj.name}.{column}"
        base["options"] = options or ["Yes"]
    elif custom in ("enum", "set") and "values" not in base:
        base["values"] = f"{obj.name}.{column}"
    if rollup == "count":
        base["transform"] = ""
    return [FieldLine(**base)], extras


def _has(obj: SourceObject, column: str) -> bool:
    return any(c.name == column for c in obj.columns)


def custom_name(header: str) -> str:
    """A readable Title Case field name for a raw header (``PHONE_HOME`` -> ``Phone Home``)."""
    text = re.sub(r"__c$", "", header.strip(), flags=re.IGNORECASE)
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", text).replace("_", " ")
    words = text.split()
    return " ".join(
        w if (w.isupper() and len(w) <= 3) or not w.isalpha() else w.capitalize()
        for w in (x.lower() if x.isupper() and len(x) > 3 else x for x in words)
    )


def sniffed_line(
    header: str,
    column_type: ColumnType | None,
    sniffed: Sniffed | None,
    settings: Settings,
    *,
    entity: str,
    object_name: str,
    confidence: float,
    why: str,
) -> FieldLine:
    """A proposed custom field for a column no landing uses."""
    kind: ColumnType = column_type or (sniffed.kind if sniffed else "text")
    if (
        sniffed is not None
        and sniffed.kind == "enum"
        and (
            (column_type is None and kind == "text")
            or column_type in ("phone", "email", "date", "bool")
        )
    ):
        kind = "enum"
    custom: CustomFieldType = CUSTOM_TYPE.get(kind, "varchar")
    if entity in ("activity", "note"):
        field = "note" if entity == "activity" else "content"
        return FieldLine(
            columns=[header],
            field=field,
            entity=entity,
            transform=base_chain(
                kind if kind != "html" else "html", settings, field=field, custom=None
            )
            if kind in ("html",)
            else "text",
            confidence=confidence,
            why=why,
        )
    field = custom_name(header)
    if field in NATIVE_FIELDS.get(entity, frozenset()):
        field = f"{field} (source)"
    values = f"{object_name}.{header}" if custom in ("enum", "set") else None
    options = ["Yes"] if kind == "bool" else []
    return FieldLine(
        columns=[header],
        field=field,
        entity=entity,
        custom=custom,
        transform=base_chain(kind, settings, field=field, custom=custom),
        values=values,
        options=options,
        confidence=confidence,
        why=why,
    )


def address_line(
    home: MappingObject | None, headers: list[tuple[str, str | None]]
) -> FieldLine | None:
    """Address columns no rule uses, joined into the native address of a person or org."""
    if home is None or home.targets[0] not in ("person", "organization"):
        return None
    field_name = "postal_address" if home.targets[0] == "person" else "address"
    if any(f.field == field_name for f in home.fields):
        return None
    words = ("address", "street", "city", "suburb", "town", "state", "county", "zip",
             "postcode", "postal", "country")  # fmt: skip
    columns = [
        c or h
        for h, c in headers
        if any(w in (c or h).lower().replace("_", " ").split() for w in words)
        or (c or h).lower().startswith(("address", "zip", "post"))
    ]
    if not columns:
        return None
    return FieldLine(
        columns=columns,
        field=field_name,
        entity=home.targets[0],
        transform='concat(", ")',
        confidence=0.8,
        why="address columns joined into the native address",
    )
