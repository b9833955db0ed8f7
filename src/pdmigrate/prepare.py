"""Apply the plan's target preparation: fields, options, pipelines, stages, activity types.

:func:`prepare_target` reads the account once (four field lists, pipelines, stages,
activity types) and then, for each spec of :class:`~pdmigrate.plan.model.TargetPrep`:

* reuses what the plan said to reuse (``reuse``) or what already carries the same
  name, recording it in ``field_keys`` as ``reused``;
* creates the rest and records it as ``created`` (rollback removes only those);
* adds the enum/set options a field lacks (one atomic call per field).

Re-running it is safe: a field created by an interrupted run is found by name in the
listing and keeps its ``created`` origin (it was not there when the plan was made).
Every creation is audited.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from pdmigrate.errors import OutcomeUnknown
from pdmigrate.plan.model import TargetPrep
from pdmigrate.state_ops import AuditEntry, FieldKey, Ops, Origin

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient

__all__ = ["FIELD_CLIENT", "Prepared", "prepare_target"]

#: Field entity -> the client's field-schema helper.
FIELD_CLIENT: dict[str, str] = {
    "person": "person_fields",
    "organization": "organization_fields",
    "deal": "deal_fields",
    "product": "product_fields",
}


@dataclass
class Prepared:
    """What target preparation did, and the keys load resolves names with."""

    keys: dict[tuple[str, str], FieldKey] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    reused: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool) -> None:
        """Count one created or reused item of ``kind`` (field, pipeline, stage, ...)."""
        bucket = self.created if created else self.reused
        bucket[kind] = bucket.get(kind, 0) + 1


def _options(raw: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for o in raw.get("options") or []:
        if isinstance(o, Mapping) and o.get("label") is not None and isinstance(o.get("id"), int):
            out[str(o["label"])] = int(o["id"])
    return out


def _name(raw: Mapping[str, Any]) -> str:
    return str(raw.get("field_name") or raw.get("name") or "")


def _code(raw: Mapping[str, Any]) -> str:
    return str(raw.get("field_code") or raw.get("key") or "")


async def prepare_target(
    client: PipedriveClient, ops: Ops, prep: TargetPrep, *, account: str, run_id: int
) -> Prepared:
    """Create or reuse everything ``prep`` lists; record each in ``field_keys``; audited."""
    out = Prepared()
    known = ops.field_keys(account)
    audit: list[AuditEntry] = []

    def record(
        entity: str, name: str, key: str, ftype: str | None, options: Mapping[str, int], made: bool
    ) -> None:
        was = known.get((entity, name))
        kept = was is not None and was.origin == "created" and was.key == key
        origin: Origin = "created" if made or kept else "reused"
        ops.put_field_key(
            account, entity, name, key, field_type=ftype, options=options,
            origin=origin, run_id=run_id,
        )  # fmt: skip
        out.count(entity if entity in ("pipeline", "stage", "activity_type") else "field", made)
        if made:
            audit.append(AuditEntry(f"{entity}_schema", key, field=name, new_value=ftype))

    # -- custom fields ---------------------------------------------------------------------
    listings: dict[str, list[dict[str, Any]]] = {}
    entities = sorted({f.entity for f in prep.fields if f.entity in FIELD_CLIENT})
    for entity in entities:
        listings[entity] = await getattr(client, FIELD_CLIENT[entity]).list()
    for spec in prep.fields:
        helper_name = FIELD_CLIENT.get(spec.entity)
        if helper_name is None:
            continue
        helper = getattr(client, helper_name)
        existing = listings.get(spec.entity, [])
        wanted_key = prep.reuse.get((spec.entity, spec.name))
        found = None
        if wanted_key is not None:
            found = next((f for f in existing if _code(f) == wanted_key), None)
        if found is None:
            found = next((f for f in existing if _name(f).casefold() == spec.name.casefold()), None)
        made = False
        if found is None:
            body: dict[str, Any] = {"field_name": spec.name, "field_type": spec.field_type}
            if spec.field_type in ("enum", "set"):
                body["options"] = [{"label": label} for label in spec.options or ("Yes",)]
            found = await _create_once(
                partial(helper.create, body),
                partial(_find_field, client, spec.entity, spec.name),
            )
            existing.append(found)
            made = True
        else:
            # Not reused by the plan (so absent when it was made): an interrupted run made it.
            made = wanted_key is None
        options = _options(found)
        missing = [o for o in spec.options if o not in options]
        if missing and spec.field_type in ("enum", "set") and found.get("options") is not None:
            added = await helper.add_options(_code(found), missing)
            options.update(_options({"options": added}))
            audit.append(
                AuditEntry(f"{spec.entity}_schema", _code(found), field=spec.name,
                           new_value={"options_added": missing})
            )  # fmt: skip
        record(spec.entity, spec.name, _code(found), str(found.get("field_type") or ""),
               options, made)  # fmt: skip

    # -- pipelines and stages --------------------------------------------------------------
    if prep.pipelines:
        pipelines = [p async for p in client.pipelines.list()]
        stages = [s async for s in client.stages.list()]
        for pipe in prep.pipelines:
            reuse_id = prep.reuse.get(("pipeline", pipe.name))
            hit = next(
                (
                    p
                    for p in pipelines
                    if (reuse_id is not None and str(p.get("id")) == reuse_id)
                    or str(p.get("name", "")).casefold() == pipe.name.casefold()
                ),
                None,
            )
            made = False
            if hit is None:
                hit = await _create_once(
                    partial(
                        client.pipelines.create,
                        {"name": pipe.name, "is_deal_probability_enabled": True},
                    ),
                    partial(_find_named, client.pipelines.list, {}, pipe.name),
                )
                pipelines.append(hit)
                made = True
            else:
                made = reuse_id is None and _was_created(known, "pipeline", pipe.name, True)
            pid = int(hit["id"])
            record("pipeline", pipe.name, str(pid), None, {}, made)
            for order, st in enumerate(pipe.stages):
                name = f"{pipe.name}/{st.name}"
                sreuse = prep.reuse.get(("stage", name))
                shit = next(
                    (
                        s
                        for s in stages
                        if int(s.get("pipeline_id") or 0) == pid
                        and (
                            (sreuse is not None and str(s.get("id")) == sreuse)
                            or str(s.get("name", "")).casefold() == st.name.casefold()
                        )
                    ),
                    None,
                )
                smade = False
                if shit is None:
                    body = {"name": st.name, "pipeline_id": pid}
                    if st.probability is not None:
                        body["deal_probability"] = st.probability
                    shit = await _create_once(
                        partial(client.stages.create, body),
                        partial(_find_named, client.stages.list, {"pipeline_id": pid}, st.name),
                    )
                    stages.append(shit)
                    smade = True
                else:
                    smade = sreuse is None and _was_created(known, "stage", name, made)
                record("stage", name, str(shit["id"]), str(order), {}, smade)

    # -- activity types --------------------------------------------------------------------
    if prep.activity_types:
        types = await client.activity_types.list()
        for at in prep.activity_types:
            reuse_key = prep.reuse.get(("activity_type", at.name))
            thit = next(
                (
                    t
                    for t in types
                    if t.get("active_flag", True)
                    and (
                        (reuse_key is not None and t.get("key_string") == reuse_key)
                        or str(t.get("name", "")).casefold() == at.name.casefold()
                    )
                ),
                None,
            )
            tmade = False
            if thit is None:
                thit = await client.activity_types.create(
                    {"name": at.name, "icon_key": at.icon_key}
                )
                types.append(thit)
                tmade = True
            else:
                tmade = reuse_key is None and _was_created(known, "activity_type", at.name, True)
            record("activity_type", at.name, str(thit.get("key_string") or ""), None, {}, tmade)

    if audit:
        ops.append_audit(audit, run_id)
    out.keys = ops.field_keys(account)
    return out


async def _create_once(
    create: Callable[[], Awaitable[dict[str, Any]]],
    find: Callable[[], Awaitable[dict[str, Any] | None]],
    attempts: int = 5,
) -> dict[str, Any]:
    """Create, and after a lost answer look the item up by name before trying again."""
    last: OutcomeUnknown | None = None
    for _ in range(attempts):
        try:
            return await create()
        except OutcomeUnknown as exc:
            last = exc
        found = await find()
        if found is not None:
            return found
    assert last is not None
    raise last


async def _find_named(
    lister: Callable[..., AsyncIterator[dict[str, Any]]], filters: Mapping[str, Any], name: str
) -> dict[str, Any] | None:
    async for item in lister(**filters):
        if str(item.get("name", "")).casefold() == name.casefold():
            return item
    return None


async def _find_field(client: PipedriveClient, entity: str, name: str) -> dict[str, Any] | None:
    fields = await getattr(client, FIELD_CLIENT[entity]).list()
    return next((f for f in fields if _name(f).casefold() == name.casefold()), None)


async def _find_type(client: PipedriveClient, name: str) -> dict[str, Any] | None:
    types = await client.activity_types.list()
    return next((t for t in types if str(t.get("name", "")).casefold() == name.casefold()), None)


def _was_created(
    known: Mapping[tuple[str, str], FieldKey], entity: str, name: str, default: bool
) -> bool:
    was = known.get((entity, name))
    return default if was is None else was.origin == "created"
