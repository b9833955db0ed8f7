"""v2 CRUD routes: persons, organizations, deals, activities, products, pipelines, stages.

Each entity has list (cursor pagination), get, create (POST), update (PATCH) and a soft
DELETE. The body rules live in :mod:`pdmigrate.sandbox.entities`; this module parses
query parameters, pages, and wraps the results in Pipedrive's envelope.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import Response

from pdmigrate.sandbox import entities, fields
from pdmigrate.sandbox.envelope import ApiRoute, RequestContext, ok, validation_error
from pdmigrate.sandbox.store import parse_time, rfc3339

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
MAX_IDS = 100

ENTITIES: tuple[str, ...] = (
    "persons", "organizations", "deals", "activities", "products", "pipelines", "stages",
)  # fmt: skip

_SORT_KEYS: dict[str, tuple[str, ...]] = {
    "activities": ("id", "update_time", "add_time", "due_date"),
    "stages": ("id", "update_time", "add_time", "order_nr"),
}
_INT_FILTERS: dict[str, tuple[str, ...]] = {
    "persons": ("owner_id", "org_id"),
    "organizations": ("owner_id",),
    "deals": ("owner_id", "person_id", "org_id", "pipeline_id", "stage_id"),
    "activities": ("owner_id", "deal_id", "org_id"),
    "products": ("owner_id",),
    "stages": ("pipeline_id",),
    "pipelines": (),
}
_HAS_IDS = ("persons", "organizations", "deals", "activities", "products")
_HAS_UPDATED = ("persons", "organizations", "deals", "activities", "products")


def ctx_rules(ctx: RequestContext) -> entities.Ctx:
    """The entity-rule context for a request."""
    return entities.Ctx(store=ctx.store, account=ctx.account, now=ctx.store.now())


def query_int(query: QueryParams, name: str) -> int | None:
    """An optional integer query parameter; a non-integer is a 400."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise validation_error(name, "Expected 'integer' as value") from None


def query_bool(query: QueryParams, name: str) -> bool | None:
    """An optional ``true``/``false`` query parameter."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    if raw not in ("true", "false"):
        raise validation_error(name, "Expected 'boolean' as value")
    return raw == "true"


def query_limit(query: QueryParams, maximum: int = MAX_LIMIT) -> int:
    """``limit``: default 100, 1..``maximum``."""
    limit = query_int(query, "limit")
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1:
        raise validation_error("limit", "Must be greater than or equal to 1")
    if limit > maximum:
        raise validation_error("limit", f"Must be less than or equal to {maximum}")
    return limit


def _encode_cursor(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise validation_error("cursor", "Invalid cursor") from None
    if not isinstance(state, dict) or not isinstance(state.get("k"), list):
        raise validation_error("cursor", "Invalid cursor")
    return state


def _sort_key(field: str) -> Callable[[dict[str, Any]], list[Any]]:
    def key(doc: dict[str, Any]) -> list[Any]:
        value = doc.get(field)
        return [value is not None, value if value is not None else 0, doc["id"]]

    return key


def paginate(
    items: list[dict[str, Any]],
    query: QueryParams,
    *,
    sort_by: str = "id",
    direction: str = "asc",
    maximum: int = MAX_LIMIT,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``items`` after ``cursor``, and the next page's cursor (None at the end)."""
    limit = query_limit(query, maximum)
    key = _sort_key(sort_by)
    ordered = sorted(items, key=key, reverse=direction == "desc")
    cursor = query.get("cursor")
    if cursor:
        state = _decode_cursor(cursor)
        if state.get("s") != sort_by or state.get("d") != direction:
            raise validation_error("cursor", "Invalid cursor")
        last = state["k"]
        if direction == "asc":
            ordered = [d for d in ordered if key(d) > last]
        else:
            ordered = [d for d in ordered if key(d) < last]
    page = ordered[:limit]
    next_cursor = None
    if len(ordered) > limit:
        next_cursor = _encode_cursor({"s": sort_by, "d": direction, "k": key(page[-1])})
    return page, next_cursor


def parse_ids(query: QueryParams) -> set[int] | None:
    """``ids``: up to 100 comma-separated integers."""
    raw = query.get("ids")
    if raw is None or raw.strip() == "":
        return None
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if len(parts) > MAX_IDS:
        raise validation_error("ids", f"Must contain at most {MAX_IDS} ids")
    try:
        return {int(p) for p in parts}
    except ValueError:
        raise validation_error("ids", "Expected comma-separated integers") from None


def _time_filter(query: QueryParams, name: str) -> str | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        parsed = parse_time(raw)
    except ValueError:
        raise validation_error(name, "This value is not a valid datetime.") from None
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def _sort_params(entity: str, query: QueryParams) -> tuple[str, str]:
    allowed = _SORT_KEYS.get(entity, ("id", "update_time", "add_time"))
    sort_by = query.get("sort_by") or "id"
    if sort_by not in allowed:
        raise validation_error("sort_by", "Must be one of " + ", ".join(allowed))
    direction = query.get("sort_direction") or "asc"
    if direction not in ("asc", "desc"):
        raise validation_error("sort_direction", "Must be one of asc, desc")
    return sort_by, direction


def list_page(
    ctx: RequestContext, entity: str, *, archived: bool = False
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the list endpoint's records (its query filters, sort and cursor) and the
    next page's cursor; filtering, ordering and paging run inside the store's SQL."""
    query = ctx.query
    sort_by, direction = _sort_params(entity, query)
    limit = query_limit(query)
    equals: dict[str, Any] = {}
    for name in _INT_FILTERS.get(entity, ()):
        value = query_int(query, name)
        if value is not None:
            equals[name] = value
    deleted: bool | None = False
    if entity == "deals":
        status = query.get("status") or None
        if status is not None and status not in ("open", "won", "lost", "deleted"):
            raise validation_error("status", "Must be one of open, won, lost, deleted")
        equals["is_archived"] = archived
        if status == "deleted":
            deleted = True
        elif status is not None:
            equals["status"] = status
    participant = None
    if entity == "activities":
        participant = query_int(query, "person_id")
        done = query_bool(query, "done")
        if done is not None:
            equals["done"] = done
    after = None
    cursor = query.get("cursor")
    if cursor:
        state = _decode_cursor(cursor)
        if state.get("s") != sort_by or state.get("d") != direction or len(state["k"]) != 3:
            raise validation_error("cursor", "Invalid cursor")
        after = state["k"]
    has_times = entity in _HAS_UPDATED
    since = _time_filter(query, "updated_since") if has_times else None
    if deleted:
        # "status=deleted ... deals deleted up to 30 days ago"; deletion stamps update_time.
        window = rfc3339(ctx.sandbox.clock.now() - timedelta(days=30))
        since = max(since or window, window)
    docs = ctx.store.query(
        ctx.cid,
        entity,
        deleted=deleted,
        ids=parse_ids(query) if entity in _HAS_IDS else None,
        equals=equals,
        updated_since=since,
        updated_until=_time_filter(query, "updated_until") if has_times else None,
        participant=participant,
        sort_by=sort_by,
        descending=direction == "desc",
        after=after,
        limit=limit + 1,
    )
    page = docs[:limit]
    next_cursor = None
    if len(docs) > limit:
        key = _sort_key(sort_by)(page[-1])
        next_cursor = _encode_cursor({"s": sort_by, "d": direction, "k": key})
    return page, next_cursor


def shape_custom_fields(
    ctx: RequestContext, entity: str, records: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Apply the ``custom_fields`` (keys to keep, at most 15) and ``include_option_labels``
    query parameters to rendered records."""
    obj = fields.FIELD_OBJECTS.get(entity)
    if obj is None or obj == "activity":
        return records
    raw = ctx.query.get("custom_fields")
    keep: set[str] | None = None
    if raw:
        keep = {k.strip() for k in raw.split(",") if k.strip()}
        if len(keep) > 15:
            raise validation_error("custom_fields", "A maximum of 15 keys is allowed")
    labels = query_bool(ctx.query, "include_option_labels")
    if keep is None and not labels:
        return records
    defs = fields.custom_by_code(ctx.store, ctx.cid, obj)
    for record in records:
        values: dict[str, Any] = record.get("custom_fields") or {}
        if keep is not None:
            values = {k: v for k, v in values.items() if k in keep}
        if labels:
            values = {k: _labelled(defs.get(k), v) for k, v in values.items()}
        record["custom_fields"] = values
    return records


def _labelled(field: dict[str, Any] | None, value: Any) -> Any:
    if field is None or value is None or field["field_type"] not in ("enum", "set"):
        return value
    names = {o["id"]: o["label"] for o in field.get("options") or []}
    if isinstance(value, list):
        return [{"id": v, "label": names.get(v)} for v in value]
    return {"id": value, "label": names.get(value)}


def _list(entity: str, *, archived: bool = False) -> Callable[[RequestContext], Any]:
    async def handler(ctx: RequestContext) -> Response:
        page, next_cursor = list_page(ctx, entity, archived=archived)
        codes = entities.custom_codes_for(ctx.store, ctx.account, entity)
        data = [entities.render(ctx.store, ctx.account, entity, d, codes) for d in page]
        data = shape_custom_fields(ctx, entity, data)
        return ok(data, {"next_cursor": next_cursor})

    return handler


def _record_id(ctx: RequestContext) -> int:
    raw = ctx.path_params.get("id")
    try:
        return int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise validation_error("id", "Expected 'integer' as value") from None


def _get(entity: str) -> Callable[[RequestContext], Any]:
    async def handler(ctx: RequestContext) -> Response:
        doc = entities.check_exists(ctx.store, ctx.cid, entity, _record_id(ctx))
        rendered = entities.render(ctx.store, ctx.account, entity, doc)
        return ok(shape_custom_fields(ctx, entity, [rendered])[0])

    return handler


def _create(entity: str) -> Callable[[RequestContext], Any]:
    status = 201 if entity == "products" else 200

    async def handler(ctx: RequestContext) -> Response:
        body = ctx.json_object()
        with ctx.store.transaction():
            changes = entities.prepare(ctx_rules(ctx), entity, body, None)
            add_time = changes.pop("add_time", None)
            doc = ctx.store.insert(ctx.cid, entity, changes, add_time=add_time)
        return ok(entities.render(ctx.store, ctx.account, entity, doc), status=status)

    return handler


def _update(entity: str) -> Callable[[RequestContext], Any]:
    async def handler(ctx: RequestContext) -> Response:
        rid = _record_id(ctx)
        body = ctx.json_object()
        with ctx.store.transaction():
            existing = entities.check_exists(ctx.store, ctx.cid, entity, rid)
            changes = entities.prepare(ctx_rules(ctx), entity, body, existing)
            doc = ctx.store.update(ctx.cid, entity, rid, changes)
        return ok(entities.render(ctx.store, ctx.account, entity, doc))

    return handler


def _delete(entity: str) -> Callable[[RequestContext], Any]:
    async def handler(ctx: RequestContext) -> Response:
        rid = _record_id(ctx)
        with ctx.store.transaction():
            entities.check_exists(ctx.store, ctx.cid, entity, rid)
            ctx.store.soft_delete(ctx.cid, entity, rid)
            if entity == "pipelines":
                for stage in ctx.store.list(ctx.cid, "stages"):
                    if stage["pipeline_id"] == rid:
                        ctx.store.soft_delete(ctx.cid, "stages", stage["id"])
        return ok({"id": rid})

    return handler


def _routes() -> list[ApiRoute]:
    out: list[ApiRoute] = [ApiRoute("GET", "/api/v2/deals/archived", _list("deals", archived=True))]
    for entity in ENTITIES:
        base = f"/api/v2/{entity}"
        out += [
            ApiRoute("GET", base, _list(entity)),
            ApiRoute("POST", base, _create(entity)),
            ApiRoute("GET", base + "/{id:int}", _get(entity)),
            ApiRoute("PATCH", base + "/{id:int}", _update(entity)),
            ApiRoute("DELETE", base + "/{id:int}", _delete(entity)),
        ]
    return out


ROUTES: list[ApiRoute] = _routes()
