"""Helpers of the proposal: landing options read into mapping parts, used columns, homes."""

from __future__ import annotations

from typing import Any

from pdmigrate.mapping.model import MappingObject, NoteSpec, NoteTable, Pivot
from pdmigrate.profiles.model import Landing, Profile, SourceObject

RECORD_CARDINALITIES = frozenset({"one_to_one", "grouped", "one_to_many"})


def landing_stub(obj: MappingObject) -> Landing:
    return Landing(
        id=obj.id,
        source=obj.id,
        targets=obj.targets,
        cardinality="fields_only",
        native=False,
        rule="-",
    )


def title(landing: Landing) -> str | None:
    title = landing.options.get("title")
    return str(title) if isinstance(title, str) else None


def note(landing: Landing) -> NoteSpec | None:
    if "note" not in landing.targets and "header" not in landing.options:
        return None
    if landing.targets[0] != "note" and "header" not in landing.options:
        return None
    attach = landing.options.get("attach_to") or []
    header = landing.options.get("header")
    content = next((c for c, t in landing.fields.items() if t.field == "content"), None)
    return NoteSpec(content=content, header=str(header) if header else None, attach_to=list(attach))


def pivot(landing: Landing) -> Pivot | None:
    spec = landing.options.get("pivot")
    if not isinstance(spec, dict):
        return None
    blank = spec.get("where_blank")
    return Pivot(
        column=str(spec["column"]),
        value=str(spec["value"]),
        rollup="last",
        order_by="Date",
        where_blank=[str(blank)] if blank else [],
        entity=landing.targets[0],
    )


def note_table(landing: Landing, obj: SourceObject | None) -> NoteTable | None:
    wanted = (
        landing.options.get("item_table_note")
        or landing.options.get("history_note")
        or (
            "note" in landing.targets
            and landing.cardinality in ("grouped", "fields_only")
            and landing.targets[0] != "note"
        )
    )
    if not wanted or obj is None:
        return None
    cols = [c.name for c in obj.columns if not c.sensitive][:8]
    return NoteTable(columns=cols, title=landing.source)


def record_landing(profile: Profile, obj_name: str, entity: str) -> Landing | None:
    for landing in profile.landings_for(obj_name):
        if landing.targets[0] == entity and landing.cardinality in RECORD_CARDINALITIES:
            return landing
    return None


def link_name(entity: str, other: str, rel_name: str) -> str | None:
    table: dict[tuple[str, str], str] = {
        ("person", "organization"): "org_id",
        ("deal", "person"): "person_id",
        ("deal", "organization"): "org_id",
        ("activity", "person"): "participants",
        ("activity", "deal"): "deal_id",
        ("activity", "organization"): "org_id",
        ("note", "person"): "person_id",
        ("note", "deal"): "deal_id",
        ("note", "organization"): "org_id",
        ("file", "person"): "person_id",
        ("file", "deal"): "deal_id",
        ("lead", "person"): "person_id",
    }
    if entity == "organization" and other == "organization" and rel_name == "parent":
        return "parent"
    return table.get((entity, other))


def used_columns(obj_name: str, objects: list[MappingObject]) -> set[str]:
    used: set[str] = set()
    for obj in objects:
        if obj_name not in obj.source:
            continue
        used.update(obj.key, obj.group_by, obj.filter, obj.exclude)
        if obj.owner:
            used.add(obj.owner)
        for line in obj.fields:
            used.update(line.columns)
            if line.weight:
                used.add(line.weight)
        for link in obj.links.values():
            used.update(link.columns)
        if obj.status and obj.status.column:
            used.add(obj.status.column)
        if obj.activity:
            spec = obj.activity
            used.update(
                c
                for c in (
                    spec.type_column,
                    spec.status_column,
                    spec.due_date,
                    spec.due_time,
                    spec.duration,
                )
                if c
            )
            used.update(spec.location)
            used.update(template_columns(spec.subject))
        if obj.note:
            used.update(c for c in (obj.note.content,) if c)
            used.update(template_columns(obj.note.header or ""))
        if obj.pivot:
            used.update((obj.pivot.column, obj.pivot.value, *obj.pivot.where_blank))
            if obj.pivot.order_by:
                used.add(obj.pivot.order_by)
        for value in obj.options.values():
            used.update(option_columns(value))
    return used


def option_columns(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value} | template_columns(value)
    if isinstance(value, list):
        return {str(v) for v in value if isinstance(v, str)}
    if isinstance(value, dict):
        out: set[str] = set()
        for k, v in value.items():
            out.add(str(k))
            out |= option_columns(v)
        return out
    return set()


def template_columns(template: str) -> set[str]:
    import re

    return set(re.findall(r"\{([^{}]+)\}", template))


def home(obj_name: str, objects: list[MappingObject]) -> MappingObject | None:
    """The object whose record gets a source object's unknown columns as custom fields.

    A field-only landing that says ``unknown_columns: propose`` (the landing rules'
    "custom fields" rows) is preferred; else the first record-making object.
    """
    for obj in objects:
        propose_here = obj.options.get("unknown_columns") == "propose"
        if obj.primary == obj_name and propose_here and obj.links.get("record") is not None:
            return obj
    for wanted in (("one_to_one", "grouped"), ("fields_only",), ("one_to_many",)):
        for obj in objects:
            if (
                obj.primary == obj_name
                and obj.cardinality in wanted
                and obj.targets[0]
                not in ("user", "pipeline", "stage", "none", "file", "deal_product")
            ):
                return obj
    return None
