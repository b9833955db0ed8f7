"""Target preparation: the fields, pipelines, stages and activity types the account needs.

Pure: mapping + payloads + :class:`~pdmigrate.plan.account.AccountSnapshot` ->
:class:`~pdmigrate.plan.model.TargetPrep`. Fields come from the mapping's field lines
(custom type, value-map options), pivots and the identity fields the landing rules
add (Source ID, Source Created Date, Email missing). Without Contact Sync, ``birthday``
and ``postal_address`` become the custom fields "Date of Birth" and "Address".
Existing fields, pipelines, stages and activity types are reused by (equivalent) name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pdmigrate.mapping.model import EMAIL_MISSING_FIELD, SOURCE_ID_ENTITIES
from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.names import equivalent_name
from pdmigrate.mapping.payload import Payload
from pdmigrate.mapping.spread import line_entities
from pdmigrate.plan.account import AccountSnapshot
from pdmigrate.plan.model import (
    ADDRESS_FIELD,
    DOB_FIELD,
    SOURCE_CREATED_FIELD,
    SOURCE_ID_FIELD,
    ActivityTypeSpec,
    FieldSpec,
    PipelineSpec,
    StageSpec,
    TargetPrep,
)
from pdmigrate.profiles.model import NATIVE_FIELDS

#: Entities whose custom fields pdmigrate creates; leads use the deal fields.
FIELD_ENTITY = {"person": "person", "organization": "organization", "deal": "deal"}
FIELD_ENTITY |= {"product": "product", "lead": "deal"}
#: Contact Sync native field -> (custom fallback name, type).
CONTACT_SYNC_FALLBACK = {
    "birthday": (DOB_FIELD, "date"),
    "postal_address": (ADDRESS_FIELD, "address"),
}
#: Payload keys that steer a record rather than fill a field.
STRUCTURAL = frozenset({"pipeline", "stage", "status", "visible_to", "active", "stages"})
#: varchar holds at most this many characters; longer values need a text field.
VARCHAR_MAX = 255
#: Default activity types a new company has (key_string).
DEFAULT_TYPE_KEYS = frozenset({"call", "meeting", "task", "deadline", "email", "lunch"})
_ICON_WORDS = (
    ("court", "calendar"),
    ("appoint", "calendar"),
    ("visit", "calendar"),
    ("call", "call"),
    ("phone", "call"),
    ("mail", "email"),
    ("deadline", "deadline"),
    ("meet", "meeting"),
    ("lunch", "lunch"),
)


@dataclass
class _Spec:
    field_type: str
    options: list[str] = field(default_factory=list)


def icon_for(name: str) -> str:
    """A Pipedrive icon key for a custom activity type name (``task`` when nothing fits)."""
    low = name.casefold()
    return next((icon for word, icon in _ICON_WORDS if word in low), "task")


def _labels(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


def _add(specs: dict[tuple[str, str], _Spec], entity: str, name: str, ftype: str) -> _Spec:
    spec = specs.get((entity, name))
    if spec is None:
        spec = specs[(entity, name)] = _Spec(ftype)
    return spec


def _add_options(spec: _Spec, labels: Iterable[str]) -> None:
    for label in labels:
        if label not in spec.options:
            spec.options.append(label)


def field_specs(
    mapping: MappingFile, payloads: Sequence[Payload], *, contact_sync: bool
) -> tuple[FieldSpec, ...]:
    """Every custom field the payloads need, in first-use order (pure)."""
    specs: dict[tuple[str, str], _Spec] = {}
    created = {p.entity for p in payloads if p.update_of is None}
    for entity in ("person", "organization", "deal", "product"):
        if entity in SOURCE_ID_ENTITIES and entity in created:
            _add(specs, entity, SOURCE_ID_FIELD, "varchar")
    if "deal" in created:
        _add(specs, "deal", SOURCE_CREATED_FIELD, "date")
    for obj in mapping.objects:
        if obj.email_missing and "person" in obj.targets:
            _add_options(_add(specs, "person", EMAIL_MISSING_FIELD, "enum"), ["Yes"])
        for line in obj.fields:
            raw_entity = obj.entity_of(line)
            line_entity = FIELD_ENTITY.get(raw_entity)
            if line_entity is None or line.field in STRUCTURAL:
                continue
            if line.custom is None and line.native_on(raw_entity):
                fallback = CONTACT_SYNC_FALLBACK.get(line.field)
                if fallback and raw_entity == "person" and not contact_sync:
                    _add(specs, "person", *fallback)
                continue
            # A line can land on several entities (cross-object rules): a field on each.
            for landing in line_entities(obj, line):
                field_entity = FIELD_ENTITY.get(landing)
                if field_entity is None:
                    continue
                made = _add(specs, field_entity, line.field, line.custom or "varchar")
                if made.field_type in ("enum", "set"):
                    if line.values is not None:
                        vmap = mapping.value_maps.get(line.values, {})
                        _add_options(made, (lab for v in vmap.values() for lab in _labels(v)))
                    _add_options(made, line.options)
        if obj.pivot is not None:
            pivot_entity = FIELD_ENTITY.get(obj.pivot.entity or obj.targets[0])
            if pivot_entity is not None:
                for p in payloads:
                    if p.object == obj.id and FIELD_ENTITY.get(p.entity) == pivot_entity:
                        for name in p.fields:
                            if (
                                name not in NATIVE_FIELDS.get(p.entity, ())
                                and name not in STRUCTURAL
                            ):
                                _add(specs, pivot_entity, name, obj.pivot.custom)
    # observed values: enum options, and varchar values too long for varchar
    for p in payloads:
        payload_entity = FIELD_ENTITY.get(p.entity)
        if payload_entity is None:
            continue
        for name, value in p.fields.items():
            target = name
            if not contact_sync and p.entity == "person" and name in CONTACT_SYNC_FALLBACK:
                target = CONTACT_SYNC_FALLBACK[name][0]
            seen = specs.get((payload_entity, target))
            if seen is None:
                continue
            if seen.field_type in ("enum", "set"):
                _add_options(seen, _labels(value))
            elif (
                seen.field_type == "varchar" and isinstance(value, str) and len(value) > VARCHAR_MAX
            ):
                seen.field_type = "text"
    return tuple(FieldSpec(e, n, s.field_type, tuple(s.options)) for (e, n), s in specs.items())


def pipeline_specs(mapping: MappingFile) -> tuple[PipelineSpec, ...]:
    """The mapping's pipelines with their stages and probabilities, in order."""
    return tuple(
        PipelineSpec(p.name, tuple(StageSpec(s.name, s.probability) for s in p.stages))
        for p in mapping.pipelines
    )


def activity_type_specs(
    mapping: MappingFile, payloads: Sequence[Payload]
) -> tuple[ActivityTypeSpec, ...]:
    """Activity types the mapping names or the activities use, minus Pipedrive's defaults."""
    names: list[str] = []
    for name in mapping.activity_types:
        if name not in names:
            names.append(name)
    for p in payloads:
        if p.entity == "activity":
            value = p.fields.get("type")
            if isinstance(value, str) and value and value not in names:
                names.append(value)
    return tuple(
        ActivityTypeSpec(n, icon_for(n)) for n in names if n.casefold() not in DEFAULT_TYPE_KEYS
    )


def reuse_map(
    fields: Sequence[FieldSpec],
    pipelines: Sequence[PipelineSpec],
    types: Sequence[ActivityTypeSpec],
    account: AccountSnapshot,
) -> tuple[dict[tuple[str, str], str], list[str]]:
    """What already exists, by (equivalent) name, and warnings for clashing field types."""
    reuse: dict[tuple[str, str], str] = {}
    warnings: list[str] = []
    for spec in fields:
        existing = {f.name: f for f in account.fields.get(spec.entity, ())}
        name = equivalent_name(spec.name, existing)
        if name is None:
            continue
        found = existing[name]
        reuse[(spec.entity, spec.name)] = found.key
        if found.field_type and found.field_type != spec.field_type:
            warnings.append(
                f"{spec.entity} field {spec.name!r}: the account's is {found.field_type}, "
                f"the mapping wants {spec.field_type}; the existing field is reused"
            )
    by_name = {name.casefold(): pid for pid, name in account.pipelines}
    for pipeline in pipelines:
        pid = by_name.get(pipeline.name.casefold())
        if pid is None:
            continue
        reuse[("pipeline", pipeline.name)] = str(pid)
        stages = {n.casefold(): sid for sid, p, n in account.stages if p == pid}
        for stage in pipeline.stages:
            sid = stages.get(stage.name.casefold())
            if sid is not None:
                reuse[("stage", f"{pipeline.name}/{stage.name}")] = str(sid)
    kinds = {name.casefold(): key for key, name in account.activity_types}
    kinds |= {key.casefold(): key for key, _ in account.activity_types}
    for t in types:
        key = kinds.get(t.name.casefold())
        if key is not None:
            reuse[("activity_type", t.name)] = key
    return reuse, warnings


def prepare_target(
    mapping: MappingFile,
    payloads: Sequence[Payload],
    account: AccountSnapshot,
    *,
    visible_to_company: int,
) -> tuple[TargetPrep, list[str]]:
    """The target preparation and its warnings (pure)."""
    contact_sync = account.contact_sync
    fields = field_specs(mapping, payloads, contact_sync=contact_sync)
    pipelines = pipeline_specs(mapping)
    types = activity_type_specs(mapping, payloads)
    reuse, warnings = reuse_map(fields, pipelines, types, account)
    prep = TargetPrep(fields, pipelines, types, contact_sync, visible_to_company, reuse)
    return prep, warnings


def stages_to_create(prep: TargetPrep) -> int:
    """Stages that do not exist yet."""
    return sum(
        1
        for p in prep.pipelines
        for s in p.stages
        if ("stage", f"{p.name}/{s.name}") not in prep.reuse
    )


def pipelines_to_create(prep: TargetPrep) -> int:
    """Pipelines that do not exist yet."""
    return sum(1 for p in prep.pipelines if ("pipeline", p.name) not in prep.reuse)


def types_to_create(prep: TargetPrep) -> int:
    """Activity types that do not exist yet."""
    return sum(1 for t in prep.activity_types if ("activity_type", t.name) not in prep.reuse)


def options_to_add(prep: TargetPrep, account: AccountSnapshot) -> dict[str, int]:
    """Per entity: reused enum/set fields missing option labels (one options call each)."""
    count: dict[str, int] = {}
    for spec in prep.fields:
        key = prep.reuse.get((spec.entity, spec.name))
        if key is None or not spec.options:
            continue
        found = next((f for f in account.fields.get(spec.entity, ()) if f.key == key), None)
        if found is not None and set(spec.options) - set(found.options):
            count[spec.entity] = count.get(spec.entity, 0) + 1
    return count
