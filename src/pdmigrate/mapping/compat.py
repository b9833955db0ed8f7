"""The compatibility summary of landing rules §7, from a mapping's objects.

Compatibility = source objects landing 1:1 on a native Pipedrive object (including
rows grouped into the record they describe) / all source objects of the table.
Families, firm clients, field-only and unmigrated objects count in the total only.
"""

from __future__ import annotations

from collections.abc import Sequence

from pdmigrate.mapping.model import Compatibility, MappingObject


def compatibility(objects: Sequence[MappingObject]) -> Compatibility:
    """Counts and percent (rounded half up) for a mapping's objects."""
    total = len(objects)
    native = sum(1 for o in objects if o.native)
    mapped = sum(1 for o in objects if o.cardinality != "not_migrated")
    fields_only = sum(1 for o in objects if o.cardinality == "fields_only")
    one_to_many = sum(
        1
        for o in objects
        if not o.native and o.cardinality in ("one_to_many", "grouped", "one_to_one", "reference")
    )
    percent = (native * 200 + total) // (2 * total) if total else 0
    return Compatibility(
        mapped=mapped,
        total=total,
        native=native,
        percent=percent,
        one_to_many=one_to_many,
        fields_only=fields_only,
    )


def sentence(compat: Compatibility) -> str:
    """The human summary: "10 of 12 source objects map: 7 one to one onto a native ..."."""
    parts = [f"{compat.native} one to one onto a native Pipedrive object"]
    if compat.one_to_many:
        parts.append(f"{compat.one_to_many} one to many")
    if compat.fields_only:
        parts.append(f"{compat.fields_only} to custom fields")
    skipped = compat.total - compat.mapped
    if skipped:
        parts.append(f"{skipped} not migrated")
    return (
        f"{compat.mapped} of {compat.total} source objects map: {', '.join(parts)}; "
        f"{compat.percent}% compatible"
    )
