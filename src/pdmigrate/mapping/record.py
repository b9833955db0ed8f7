"""One record from one row or one group: entity shapes, side payloads, pivots, notes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from pdmigrate.mapping.crossref import join_spec, joined_ref
from pdmigrate.mapping.entities import first_filled
from pdmigrate.mapping.fill import email_flag, fill_fields, key_values, links_for, render
from pdmigrate.mapping.model import (
    SOURCE_ID_FIELD,
    MappingObject,
)
from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.payload import Applied, ApplyContext, Payload, Ref, source_key
from pdmigrate.mapping.rollups import (
    as_decimal,
    note_table,
    pivot,
    split_before_dot,
)
from pdmigrate.mapping.sides import attached_files, payment_note
from pdmigrate.mapping.values import (
    chain_of,
    finding,
    transform_context,
)
from pdmigrate.records import Finding, Row
from pdmigrate.transforms import Problem, TransformContext

#: Link name -> the entity it points at.
LINK_ENTITY = {"person_id": "person", "org_id": "organization", "deal_id": "deal"}


def _record_ref(obj: MappingObject, rows: Sequence[Row]) -> Ref | None:
    link = obj.links.get("record")
    if link is None:
        return None
    values = [rows[0].get(c).strip() for c in link.columns]
    if link.match == "before_dot" and values:
        values[0] = split_before_dot(values[0])
    if not any(values):
        return None
    return Ref(link.to, "|".join(values), link.match)


def display_columns(obj: MappingObject) -> list[str]:
    """``options.display_name``: the row's columns that name the person an activity is for."""
    listed = obj.options.get("display_name")
    if isinstance(listed, str):
        return [listed]
    return [str(c) for c in listed] if isinstance(listed, list) else []


def _subject_names(
    obj: MappingObject, links: Mapping[str, Any], ctx: ApplyContext, rows: Sequence[Row]
) -> dict[str, str]:
    """``{patient}``/``{client}``: the linked person, else the display columns, else the key."""

    names: dict[str, str] = {}
    refs = links.get("participants") or links.get("person_id")
    first = refs[0] if isinstance(refs, tuple) and refs else refs
    if isinstance(first, Ref):
        name = ctx.person_names.get(first.key)
        fallback = first_filled(rows[0], display_columns(obj))
        names["patient"] = names["client"] = name or " ".join(fallback.split()) or first.key
    return names


def one_record(
    mapping: MappingFile,
    obj: MappingObject,
    rows: Sequence[Row],
    key: Sequence[str],
    tctx: TransformContext,
    ctx: ApplyContext,
) -> Applied:
    """One record (and its side payloads) from one row or one group of rows."""
    from pdmigrate.mapping import entities

    out = Applied()
    findings: list[Finding] = []
    row = rows[0]
    skey = source_key(mapping, obj, key)
    where = row.where
    entity = obj.targets[0]
    firm_cols = entities.firm_columns(obj)
    firm = entities.is_firm(row, ctx.firm_name_patterns, ctx.firm_categories, firm_cols)
    if "firm_test" in obj.options and not any(
        entities.is_firm(r, ctx.firm_name_patterns, ctx.firm_categories, firm_cols) for r in rows
    ):
        return out
    min_members = obj.options.get("min_members")
    if isinstance(min_members, int) and len(rows) < min_members:
        return out
    by_entity = fill_fields(mapping, obj, rows, tctx, findings)
    links = links_for(obj, rows, mapping=mapping, key=key, index=ctx.index)
    found_deal = ctx.index.deals.get(obj.id, {}).get("|".join(key)) if ctx.index else None
    if found_deal is not None and "deal_id" not in links:
        links["deal_id"] = found_deal  # options.deal_from: the open plan sharing a code
    record = _record_ref(obj, rows)
    record_entity: str = entity
    note_link: str | None = None
    joined = joined_ref(obj, "|".join(key), rows, ctx.index)
    if join_spec(obj) is not None:
        record = joined[0] if joined is not None else None
        if joined is not None and joined[1] != "record":
            note_link = joined[1]
            record_entity = LINK_ENTITY.get(joined[1], entity)
    if obj.cardinality == "fields_only" or record is not None:
        for ent, fields in by_entity.items():
            if ent in ("note", "file"):
                continue
            target = record if ent == entity else Ref(ent, "|".join(key), "key")
            if ent == entity:
                option_value(obj, rows, fields)
            if fields and target is not None:
                kind = record_entity if ent == entity else ent
                out.payloads.append(Payload(obj.id, kind, skey, fields, links, where, target))
        if obj.pivot is not None:
            out.extend(_pivoted(mapping, obj, rows, skey, record, tctx))
        if obj.note_table is not None and rows:
            parent = record or Ref(obj.id, "|".join(key))
            out.extend(_table_note(mapping, obj, rows, skey, parent, note_link))
        if record is not None and join_spec(obj) is not None:
            # Payments and invoice PDFs land on the record the fields update (§2 Invoice).
            group = "|".join(key)
            out.extend(payment_note(mapping, obj, group, skey, record, note_link, ctx, where))
            out.extend(attached_files(obj, rows, skey, record, note_link, ctx))
        out.findings.extend(findings)
        return out
    note_when = obj.options.get("note_when")
    as_note = isinstance(note_when, dict) and all(
        row.get(str(c)).strip() in [str(v) for v in vals] for c, vals in note_when.items()
    )
    main = dict(by_entity.get(entity, {}))
    if as_note:
        entity = "note"
        main = dict(by_entity.get("note", {}))
        people = links.pop("participants", None)
        if isinstance(people, tuple) and people:
            links["person_id"] = people[0]
    if entity == "person":
        entities.person_name(obj, main, row, firm=firm)
        obj_email_flag = obj
        email_flag(obj_email_flag, main, rows, findings)
    elif entity == "organization":
        name_template = obj.options.get("name")
        if isinstance(name_template, str):
            main["name"] = render(name_template, row)
        main.setdefault("name", " ".join(key) if entity == "organization" else None)
    elif entity == "deal":
        linked = ctx.index.latest_linked(obj.id, "|".join(key)) if ctx.index else None
        entities.deal_status(mapping, obj, rows, main, tctx, linked=linked)
        if obj.title:
            main.setdefault("title", render(obj.title, row))
        main.setdefault("title", " ".join(key))
        if isinstance(obj.options.get("value"), int):
            main["value"] = obj.options["value"]
        option_value(obj, rows, main)
        main.setdefault("currency", mapping.settings.currency)
    elif entity == "activity":
        names = _subject_names(obj, links, ctx, rows)
        if not entities.activity_fields(mapping, obj, row, skey, main, tctx, names, findings):
            out.findings.append(
                finding(
                    row,
                    obj.activity.status_column if obj.activity else None,
                    "skipped_by_rule",
                    "status is skipped by the landing rule",
                    obj.id,
                    "info",
                )
            )
            return out
    elif entity == "note":
        entities.note_fields(mapping, obj, row, skey, main, tctx)
    elif entity == "product":
        main.setdefault("name", " ".join(key))
    if obj.source_id and entity in ("person", "organization", "deal", "product"):
        main[SOURCE_ID_FIELD] = skey
    out.payloads.append(Payload(obj.id, entity, skey, main, links, where))
    for ent, fields in by_entity.items():
        if ent == entity or not fields or as_note or ent not in ("person", "organization", "note"):
            continue
        side = Ref(obj.id, "|".join(key), "key")
        if ent == "note" and isinstance(note_when, dict) and entity == "activity":
            text = fields.get("content")
            if text:
                main["note"] = f"{main.get('note', '')}\n{text}".strip()
            continue
        if ent == "note" and entity != "note":
            note = dict(fields)
            entities.note_fields(mapping, obj, row, skey, note, tctx)
            out.payloads.append(Payload(obj.id, "note", skey, note, {f"{entity}_id": side}, where))
            continue
        link_name = {"person": "person_id", "organization": "org_id", "deal": "deal_id"}.get(ent)
        existing = links.get(link_name or "")
        member = _member_record(mapping, obj, ent)
        if obj.cardinality == "grouped" and member is not None and len(obj.key) <= 1:
            out.extend(_per_member(mapping, obj, ent, member, rows, tctx))
            continue
        if isinstance(existing, Ref):
            out.payloads.append(Payload(obj.id, ent, skey, fields, {}, where, existing))
        else:
            if ent == "person":
                entities.person_name(obj, fields, row, firm=False)
                email_flag(obj, fields, rows, findings)
            out.payloads.append(Payload(obj.id, ent, skey, fields, {}, where))
            if link_name:
                out.payloads[0].links[link_name] = Ref(obj.id, "|".join(key), f"{ent}_of")
    if obj.pivot is not None:
        out.extend(_pivoted(mapping, obj, rows, skey, Ref(obj.id, "|".join(key)), tctx))
    if obj.note_table is not None and len(rows) >= 1 and entity != "note":
        out.extend(_table_note(mapping, obj, rows, skey, Ref(obj.id, "|".join(key))))
    out.findings.extend(findings)
    return out


def _pivoted(
    mapping: MappingFile,
    obj: MappingObject,
    rows: Sequence[Row],
    skey: str,
    record: Ref | None,
    tctx: TransformContext,
) -> Applied:
    spec = obj.pivot
    assert spec is not None
    order = {"dmy": "(dayfirst)", "mdy": "(monthfirst)", "ymd": "(ymd)"}.get(
        tctx.date_order or "", ""
    )
    chain = chain_of(f"null_dates | date{order}")

    def sort_key(text: str) -> str:
        result = chain(text, tctx)
        value = None if isinstance(result, Problem) else result.value
        return value.isoformat() if isinstance(value, dt.date) else ""

    values = pivot(
        rows,
        spec.column,
        spec.value,
        order_by=spec.order_by,
        where_blank=spec.where_blank,
        sort_key=sort_key,
    )
    fields: dict[str, Any] = {}
    for name, text in values.items():
        number = as_decimal(text.rstrip("%"))
        fields[name] = float(number) if number is not None else text
    if not fields or record is None:
        return Applied()
    entity = spec.entity or obj.targets[0]
    return Applied([Payload(obj.id, entity, skey, fields, {}, rows[0].where, record)])


def _table_note(
    mapping: MappingFile,
    obj: MappingObject,
    rows: Sequence[Row],
    skey: str,
    parent: Ref,
    link_name: str | None = None,
) -> Applied:
    spec = obj.note_table
    assert spec is not None
    from pdmigrate.mapping.entities import marker

    text = note_table(rows, spec.columns, spec.title)
    content = f"{marker(mapping, skey + '#table', None)}\n{text}"
    link = link_name or {"deal": "deal_id", "organization": "org_id", "person": "person_id"}.get(
        obj.targets[0], "deal_id"
    )
    return Applied(
        [
            Payload(
                obj.id, "note", f"{skey}#table", {"content": content}, {link: parent}, rows[0].where
            )
        ]
    )


def reference(mapping: MappingFile, obj: MappingObject, rows: Sequence[Row]) -> Applied:
    out = Applied()
    if obj.pipeline and "pipeline" in obj.targets:
        pipe = mapping.pipeline(obj.pipeline)
        names = [obj.pipeline]
        if obj.status and obj.status.selector:
            names = [k for k in obj.status.selector if k not in ("by", "else")]
            names += [obj.status.selector["else"]] if "else" in obj.status.selector else []
        for name in names:
            pipe = mapping.pipeline(name)
            if pipe is None:
                continue
            stages = [{"name": s.name, "deal_probability": s.probability} for s in pipe.stages]
            out.payloads.append(
                Payload(
                    obj.id,
                    "pipeline",
                    f"{mapping.profile}/pipeline/{name}",
                    {"name": name, "stages": stages},
                )
            )
        return out
    owner_columns = obj.options.get("owner_columns")
    if isinstance(owner_columns, list) and "user" in obj.targets:
        seen: dict[str, Row] = {}
        for row in rows:
            for column in owner_columns:
                for value in row.get(str(column)).split(","):
                    if value.strip() and value.strip() not in seen:
                        seen[value.strip()] = row
        for value, row in seen.items():
            out.payloads.append(
                Payload(
                    obj.id,
                    "user",
                    f"{mapping.profile}/{obj.id}/{value}",
                    {"name": value, "email": None, "active": True},
                    {},
                    row.where,
                )
            )
        return out
    cols = obj.options.get("user_columns")
    cols = cols if isinstance(cols, dict) else {}

    def pick(row: Row, role: str) -> str:
        listed = cols.get(role) or []
        listed = [listed] if isinstance(listed, str) else listed
        return " ".join(first_filled(row, [str(c) for c in listed]).split())

    for row in rows:
        key = key_values(obj, row) if obj.key else [str(row.line)]
        name = pick(row, "name") or " ".join(
            x for x in (pick(row, "first"), pick(row, "last")) if x
        )
        active = pick(row, "active").casefold() not in {"n", "no", "false", "0", "inactive"}
        fields: dict[str, Any] = {
            "name": name,
            "email": pick(row, "email") or None,
            "active": active,
        }
        for entity in obj.targets:
            if entity == "person" and fields["active"]:
                continue
            payload_fields = dict(fields)
            if entity == "person":
                payload_fields = {"name": name, **{ln.field: "Yes" for ln in obj.fields}}
            out.payloads.append(
                Payload(
                    obj.id, entity, source_key(mapping, obj, key), payload_fields, {}, row.where
                )
            )
    return out


def deal_products(mapping: MappingFile, obj: MappingObject, rows: Sequence[Row]) -> Applied:
    out = Applied()
    tctx = transform_context(mapping)
    deal_obj = next((o for o in mapping.objects if "deal" in o.targets[:1] and o.key), None)
    spec = obj.options.get("line_items")
    if not isinstance(spec, dict):
        return out

    def cols(role: str) -> list[str]:
        listed = spec.get(role) or []
        return [str(c) for c in ([listed] if isinstance(listed, str) else listed)]

    for row in rows:
        code = first_filled(row, cols("product")).strip()
        invoice = first_filled(row, cols("deal")).strip()
        if not code or not invoice:
            continue
        qty = chain_of("decimal")(first_filled(row, cols("quantity")) or "1", tctx)
        price = chain_of(f"money({mapping.settings.currency}, number)")(
            first_filled(row, cols("price")), tctx
        )
        fields = {
            "quantity": float(as_decimal(qty.value) or 1) if not isinstance(qty, Problem) else 1.0,
            "item_price": float(as_decimal(price.value) or 0)
            if not isinstance(price, Problem)
            else 0.0,
        }
        links: dict[str, Ref | tuple[Ref, ...]] = {"product_id": Ref(obj.id, code)}
        if deal_obj is not None:
            links["deal_id"] = Ref(deal_obj.id, invoice)
        out.payloads.append(
            Payload(
                obj.id,
                "deal_product",
                f"{mapping.profile}/{obj.id}/{invoice}|{first_filled(row, cols('line'))}",
                fields,
                links,
                row.where,
            )
        )
    return out


def option_value(obj: MappingObject, rows: Sequence[Row], fields: dict[str, Any]) -> None:
    """``options.value: {column, where}``: the deal value as the sum of matching rows."""
    spec = obj.options.get("value")
    if not isinstance(spec, dict) or "column" not in spec or "zero_when" in spec:
        return
    where = spec.get("where") or {}
    total = 0.0
    for row in rows:
        if all(row.get(str(c)).strip() in [str(v) for v in vals] for c, vals in where.items()):
            number = as_decimal(row.get(str(spec["column"])).replace("$", "").replace(",", ""))
            total += float(number or 0)
    fields["value"] = round(total, 2)


def _member_record(mapping: MappingFile, obj: MappingObject, entity: str) -> MappingObject | None:
    """The record object of ``entity`` that reads the same rows one by one (a group's members)."""
    for other in mapping.objects:
        same = other.id != obj.id and other.primary == obj.primary
        if same and other.targets[0] == entity and other.cardinality == "one_to_one" and other.key:
            return other
    return None


def _per_member(
    mapping: MappingFile,
    obj: MappingObject,
    entity: str,
    member: MappingObject,
    rows: Sequence[Row],
    tctx: TransformContext,
) -> Applied:
    """Fields of a grouped object that belong to each member record (e.g. Employer)."""
    out = Applied()
    employer = obj.options.get("employer")
    skip = str(employer.get("field")) if isinstance(employer, dict) else None  # employer_orgs
    lines = [ln for ln in obj.fields if obj.entity_of(ln) == entity and ln.field != skip]
    if not lines:
        return Applied()
    single = obj.model_copy(update={"fields": lines})
    for row in rows:
        findings: list[Finding] = []
        fields = fill_fields(mapping, single, [row], tctx, findings).get(entity, {})
        key = "|".join(row.get(c).strip() for c in member.key)
        if fields and key:
            out.payloads.append(
                Payload(
                    obj.id,
                    entity,
                    source_key(mapping, obj, [key]),
                    fields,
                    {},
                    row.where,
                    Ref(member.id, key),
                    (row.where,),  # this member's row, not the whole group
                )
            )
        out.findings.extend(findings)
    return out
