"""Links of a proposed object: owner, deal, parent, relationships and the record it fills.

Derived from the profile: a landing's ``owner`` and ``parent``, the relationships of
its source object to objects other landings turn into records, other landings of the
same rows (a client's organization for its matters), and for field-only landings the
record their fields update.
"""

from __future__ import annotations

from pdmigrate.mapping.landing import RECORD_CARDINALITIES, link_name, record_landing
from pdmigrate.mapping.model import Link
from pdmigrate.profiles.model import Landing, Profile, SourceObject


def derive_links(profile: Profile, landing: Landing, obj: SourceObject) -> dict[str, Link]:
    entity = landing.targets[0]
    out: dict[str, Link] = {}
    if landing.parent:
        out["parent"] = Link(
            to=landing.parent if landing.parent == "practice" else landing.id,
            columns=[] if landing.parent == "practice" else [landing.parent],
        )
    if landing.owner:
        out["owner_id"] = Link(
            to="user",
            columns=[landing.owner],
            match="name",
            separator=separator_of(obj, landing.owner),
        )
    deal = options.get("deal") if (options := landing.options) else None
    if isinstance(deal, str) and any(x.id == deal for x in profile.landing):
        other = next(x for x in profile.landing if x.id == deal)
        out["deal_id"] = Link(to=deal, columns=list(other.key or landing.key))
    options = landing.options
    org_from = options.get("org_from")
    if isinstance(org_from, dict) and entity == "person":
        target = record_landing(profile, str(org_from.get("object", "")), "organization")
        loc = next(
            (
                x
                for x in profile.landing
                if "organization" in x.targets
                and x.cardinality in RECORD_CARDINALITIES
                and x.key
                and str(org_from.get("column")) not in x.key
            ),
            None,
        )
        out["org_id"] = Link(
            to=(target or loc or landing).id if (target or loc) else "organization",
            columns=[str(org_from.get("column"))],
            match="most_frequent",
            via=str(org_from.get("object")),
            fallback=str(options.get("org_fallback") or "") or None,
        )
    for rel in obj.relationships:
        ref_obj = profile.object(rel.references)
        ref_key = list(rel.ref_columns or ref_obj.key)
        for other in profile.landings_for(rel.references):
            if other.id == landing.id or other.cardinality not in RECORD_CARDINALITIES:
                continue
            if list(other.key or other.group_by) != ref_key and not (
                other.split_key == "before_dot" and list(other.group_by) == ref_key
            ):
                continue
            name = link_name(entity, other.targets[0], rel.name)
            if name is None or name in out:
                continue
            match = "before_dot" if other.split_key == "before_dot" else "key"
            out[name] = Link(to=other.id, columns=list(rel.columns), match=match)
    if landing.cardinality == "fields_only":
        record = record_link(profile, landing, obj)
        if record is not None:
            out["record"] = record
    for other in profile.landings_for(obj.name):
        if other.id == landing.id or other.cardinality not in RECORD_CARDINALITIES:
            continue
        if other.targets[0] == entity:
            continue
        name = link_name(entity, other.targets[0], "")
        cols = list(other.group_by or other.key)
        if name is None or name in out or not cols:
            continue
        match = "before_dot" if other.split_key == "before_dot" else "key"
        out[name] = Link(to=other.id, columns=cols, match=match)
    return out


def separator_of(obj: SourceObject, column: str) -> str | None:
    """The separator a multi-value column declares in the profile (None for one value)."""
    try:
        col = obj.column(column)
    except KeyError:
        return None
    return col.separator if col.type == "multi" else None


def record_link(profile: Profile, landing: Landing, obj: SourceObject) -> Link | None:
    """The record a field-only landing's fields update (same object, related, or first)."""
    entity = landing.targets[0]
    records = [
        x
        for x in profile.landing
        if x.id != landing.id and x.targets[0] == entity and x.cardinality in RECORD_CARDINALITIES
    ]
    for other in records:
        if obj.name in other.objects[:1]:
            cols = list(other.group_by or other.key)
            match = "before_dot" if other.split_key == "before_dot" else "key"
            return Link(to=other.id, columns=cols, match=match)
    for rel in obj.relationships:
        for other in records:
            if rel.references in other.objects[:1]:
                match = "before_dot" if other.split_key == "before_dot" else "key"
                return Link(to=other.id, columns=list(rel.columns), match=match)
    if records:
        cols = list(landing.group_by or landing.key or obj.key[:1])
        return Link(to=records[0].id, columns=cols)
    return None
