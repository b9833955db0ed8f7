"""Group-level landing rules of apply that look at all of a group's rows.

* ``options.constant_across`` (a field-only object keyed by a ``before_dot`` key, e.g.
  Practice Master's unknown CMCLIENT columns): per client, a custom field whose value
  is the same on every one of the client's matters lands once on the client's person
  (its organization for a firm client); one that differs lands on each matter's deal.
  Native fields always stay on the person. :func:`line_entities` says which entities
  a line's field can therefore land on (the plan creates the field on each).
* ``options.household_org`` (a grouped person object with extra persons, e.g. Visual
  Practice clients): when the group's ``when_blank`` column (Company) is blank and it
  has at least ``min_members`` persons, one organization named after the primary
  person holds them all (key ``<client>#org``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pdmigrate.mapping.crossref import join_spec
from pdmigrate.mapping.fill import fill_fields, key_values
from pdmigrate.mapping.model import SOURCE_ID_FIELD, FieldLine, MappingObject
from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.payload import Applied, ApplyContext, Payload, Ref, source_key
from pdmigrate.mapping.rollups import group_rows, split_before_dot
from pdmigrate.records import Finding, Row
from pdmigrate.transforms import TransformContext

__all__ = ["apply_constant_across", "employer_orgs", "household_org", "line_entities", "spreads"]

_DEAL = "deal"


def spreads(obj: MappingObject) -> bool:
    """True when the object routes fields by ``constant_across``."""
    return bool(obj.options.get("constant_across")) and obj.cardinality == "fields_only"


def line_entities(obj: MappingObject, line: FieldLine) -> tuple[str, ...]:
    """Every entity the line's custom field can land on; plan creates the field on each.

    Its own entity; for a ``constant_across`` object also the organization (firm
    clients) and the deal; for a joining object (``options.join``) also the entity of
    its ``fallback`` link (invoice fields on the patient when no plan matches).
    """
    own = obj.entity_of(line)
    if line.custom is None:
        return (own,)
    if spreads(obj) and _DEAL in obj.targets and own != _DEAL:
        extra = ("organization",) if "organization" in obj.targets and own == "person" else ()
        return (own, *extra, _DEAL)
    spec = join_spec(obj)
    fallback = (
        {"person_id": "person", "org_id": "organization"}.get(spec.fallback or "") if spec else None
    )
    if fallback and fallback != own:
        return (own, fallback)
    return (own,)


def _deal_record(mapping: MappingFile, obj: MappingObject) -> MappingObject | None:
    """The deal object reading the same rows one by one under the same (full) key."""
    for other in mapping.objects:
        if (
            other.id != obj.id
            and other.primary == obj.primary
            and other.targets[0] == _DEAL
            and other.cardinality == "one_to_one"
            and other.key == obj.key
        ):
            return other
    return None


def _client_ref(obj: MappingObject, name: str, client: str) -> Ref | None:
    link = obj.links.get(name)  # type: ignore[call-overload]
    if link is None:
        return None
    return Ref(link.to, client, link.match)


def apply_constant_across(
    mapping: MappingFile,
    obj: MappingObject,
    rows: Sequence[Row],
    tctx: TransformContext,
    ctx: ApplyContext,
) -> Applied:
    """Field updates of a ``constant_across`` object: client-level or per matter (see above)."""
    from pdmigrate.mapping.entities import firm_columns, is_firm

    out = Applied()
    deal = _deal_record(mapping, obj)
    for (client,), group in group_rows(rows, obj.key[:1], before_dot=True).items():
        findings: list[Finding] = []
        per_row = [fill_fields(mapping, obj, [r], tctx, findings) for r in group]
        firm = any(
            is_firm(r, ctx.firm_name_patterns, ctx.firm_categories, firm_columns(obj))
            for r in group
        )
        client_fields: dict[str, dict[str, Any]] = {}
        varying: set[tuple[str, str]] = set()
        for line in obj.fields:
            entity = obj.entity_of(line)
            values = [f.get(entity, {}).get(line.field) for f in per_row]
            present = [v for v in values if v not in (None, "", [])]
            if not present:
                continue
            same = all(v == present[0] for v in present) and len(present) == len(values)
            if same or line.custom is None or deal is None:
                home = "organization" if firm and line.custom is not None else entity
                if home == "organization" and "org_id" not in obj.links:
                    home = entity
                client_fields.setdefault(home, {}).setdefault(line.field, present[0])
            else:
                varying.add((entity, line.field))
        key = split_before_dot(client)
        skey = source_key(mapping, obj, [key])
        for home, fields in client_fields.items():
            target = _client_ref(obj, "org_id" if home == "organization" else "record", key)
            if target is not None:
                wheres = tuple(r.where for r in group)
                made = Payload(obj.id, home, skey, fields, {}, group[0].where, target, wheres)
                out.payloads.append(made)
        if deal is not None and varying:
            for row, filled in zip(group, per_row, strict=True):
                fields = {
                    name: value
                    for ent, values in filled.items()
                    for name, value in values.items()
                    if (ent, name) in varying and value not in (None, "", [])
                }
                matter = "|".join(key_values(deal, row))
                if fields and matter:
                    out.payloads.append(
                        Payload(
                            obj.id,
                            _DEAL,
                            source_key(mapping, obj, [matter]),
                            fields,
                            {},
                            row.where,
                            Ref(deal.id, matter, "key"),
                        )
                    )
        out.findings.extend(findings)
    return out


def household_org(
    mapping: MappingFile,
    obj: MappingObject,
    key: Sequence[str],
    group: Sequence[Row],
    made: Applied,
) -> None:
    """Add the household organization of a blank-Company group and link its persons to it."""
    spec = obj.options.get("household_org")
    if not isinstance(spec, dict) or obj.targets[0] != "person":
        return
    blank = str(spec.get("when_blank") or "")
    minimum = spec.get("min_members", 2)
    if not blank or len(group) < (minimum if isinstance(minimum, int) else 2):
        return
    if any(r.get(blank).strip() for r in group):
        return
    persons = [p for p in made.payloads if p.entity == "person" and p.update_of is None]
    if not persons:
        return
    org_key = f"{'|'.join(key)}#org"
    skey = source_key(mapping, obj, [org_key])
    name = str(persons[0].fields.get("name") or "|".join(key))
    fields: dict[str, Any] = {"name": name}
    if obj.source_id:
        fields[SOURCE_ID_FIELD] = skey
    made.payloads.insert(0, Payload(obj.id, "organization", skey, fields, {}, group[0].where))
    for person in persons:
        person.links["org_id"] = Ref(obj.id, org_key, "key")


def employer_orgs(mapping: MappingFile, obj: MappingObject, rows: Sequence[Row]) -> Applied:
    """``options.employer: {column, field}``: an organization per employer, linked from people.

    corepractice (landing rules §2 Patient): each distinct Employer becomes its own
    organization, and each patient's person gets the ``field`` organization field
    pointing at it (a :class:`Ref` value, resolved to the org id at load). Works for
    every patient, in a family or not.
    """
    spec = obj.options.get("employer")
    member = next(
        (
            o
            for o in mapping.objects
            if o.id != obj.id and o.primary == obj.primary and o.targets[0] == "person" and o.key
        ),
        None,
    )
    if not isinstance(spec, dict) or member is None:
        return Applied()
    column, field_name = str(spec.get("column") or ""), str(spec.get("field") or "")
    out = Applied()
    orgs: dict[str, list[Row]] = {}
    names: dict[str, str] = {}
    for row in rows:
        name = " ".join(row.get(column).split())
        person = "|".join(row.get(c).strip() for c in member.key)
        if not name or not person:
            continue
        folded = name.casefold()
        names.setdefault(folded, name)
        orgs.setdefault(folded, []).append(row)
        org_ref = Ref(obj.id, f"employer:{names[folded]}", "key")
        out.payloads.append(
            Payload(
                obj.id,
                "person",
                source_key(mapping, obj, [f"employer:{person}"]),
                {field_name: org_ref},
                {},
                row.where,
                Ref(member.id, person),
            )
        )
    for folded, group in orgs.items():
        skey = source_key(mapping, obj, [f"employer:{names[folded]}"])
        fields: dict[str, Any] = {"name": names[folded]}
        if obj.source_id:
            fields[SOURCE_ID_FIELD] = skey
        wheres = tuple(r.where for r in group)
        out.payloads.append(
            Payload(obj.id, "organization", skey, fields, {}, group[0].where, None, wheres)
        )
    return out
