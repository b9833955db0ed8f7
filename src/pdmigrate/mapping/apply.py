"""`apply`: confirmed mapping + source rows -> payloads per target entity. Pure.

A :class:`Payload` holds field *names* (native or custom), never 40-character keys,
and links as :class:`Ref` (another mapped object and a source key, or an entity and
a name): keys and ids are resolved at plan time. Bad data never raises: it becomes a
:class:`~pdmigrate.records.Finding` beside the payload, or instead of it.

:func:`apply_object` runs one mapping object over its source rows (filters, then
one row at a time, or grouped with rollups); :func:`apply_rows` runs a whole mapping
over ``{source object: rows}``. Activities and notes carry the marker line
(landing rules §0) as the first line of their note / content.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from pdmigrate.mapping.crossref import build_index, prepared
from pdmigrate.mapping.fill import keep_row, key_values
from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.model import MappingObject
from pdmigrate.mapping.payload import Applied, ApplyContext, Payload, Ref, source_key
from pdmigrate.mapping.record import deal_products, one_record, reference
from pdmigrate.mapping.rollups import group_rows
from pdmigrate.mapping.spread import apply_constant_across, employer_orgs, household_org, spreads
from pdmigrate.mapping.values import finding, transform_context
from pdmigrate.records import Row

__all__ = ["Applied", "ApplyContext", "Payload", "Ref", "apply_object", "apply_rows", "source_key"]


def apply_object(
    mapping: MappingFile, obj: MappingObject, rows: Iterable[Row], ctx: ApplyContext | None = None
) -> Applied:
    """Every payload one mapping object makes from its source rows (never raises on data)."""
    ctx = ctx or ApplyContext()
    tctx = transform_context(mapping)
    out = Applied()
    kept: list[Row] = []
    for row in rows:
        row = prepared(mapping, obj, row)
        if keep_row(obj, row):
            kept.append(row)
    if obj.cardinality == "not_migrated":
        return out
    root = obj.options.get("root")
    if isinstance(root, str) and obj.targets[0] == "organization":
        out.payloads.append(
            Payload(
                obj.id,
                "organization",
                source_key(mapping, obj, ["practice"]),
                {"name": ctx.practice_name, "Source ID": source_key(mapping, obj, ["practice"])},
                {},
                "pdmigrate.toml",
            )
        )
    if obj.cardinality == "reference":
        return reference(mapping, obj, kept)
    if spreads(obj):
        out.extend(apply_constant_across(mapping, obj, kept, tctx, ctx))
        return out
    grouped = obj.cardinality == "grouped" or (obj.cardinality == "fields_only" and obj.group_by)
    if grouped:
        before_dot = obj.split_key == "before_dot"
        for key, group in group_rows(kept, obj.group_by, before_dot=before_dot).items():
            extra = obj.options.get("extra_key")
            if isinstance(extra, str) and obj.targets[0] == "person":
                made = one_record(mapping, obj, group[:1], key, tctx, ctx).stamp(group[:1])
                for n, row in enumerate(group[1:], start=2):
                    extra_key = (f"{'|'.join(key)}#{n}",)
                    made.extend(one_record(mapping, obj, [row], extra_key, tctx, ctx).stamp([row]))
                household_org(mapping, obj, key, group, made)
                out.extend(made.stamp(group))  # the household organization: every member row
                continue
            out.extend(one_record(mapping, obj, group, key, tctx, ctx).stamp(group))
        if obj.options.get("employer"):
            out.extend(employer_orgs(mapping, obj, kept))
        return out
    for row in kept:
        row_key = tuple(key_values(obj, row) if obj.key else [str(row.line)])
        if obj.key and not any(row_key):
            out.findings.append(
                finding(
                    row,
                    ", ".join(obj.key),
                    "missing_key",
                    "the key is empty; the row cannot be migrated",
                    obj.id,
                    "error",
                    "fill the key in the export",
                )
            )
            continue
        out.extend(one_record(mapping, obj, [row], row_key, tctx, ctx))
    return out


def apply_rows(
    mapping: MappingFile, rows: Mapping[str, Iterable[Row]], ctx: ApplyContext | None = None
) -> Applied:
    """The whole mapping over ``{source object: rows}`` (rows are read once per object).

    The cross-object rules' index (:func:`~pdmigrate.mapping.crossref.build_index`) is
    built first, in one pass over each object's rows, unless ``ctx.index`` is given.
    """
    cache: dict[str, list[Row]] = {k: list(v) for k, v in rows.items()}
    ctx = ctx or ApplyContext()
    if ctx.index is None:
        ctx = replace(ctx, index=build_index(mapping, cache, transform_context(mapping)))
    out = Applied()
    for obj in mapping.objects:
        if obj.primary is None or obj.primary not in cache:
            continue
        out.extend(apply_object(mapping, obj, cache[obj.primary], ctx))
        if "deal_product" in obj.targets:
            for other in obj.source[1:]:
                out.extend(deal_products(mapping, obj, cache.get(other, [])))
    return out
