"""v2 field-schema routes: ``/<object>Fields`` list/get, create, update, delete, options.

``personFields``, ``organizationFields``, ``dealFields`` and ``productFields`` take
POST/PATCH/DELETE and option CRUD; ``activityFields`` is read-only (GET). Option
operations are atomic: every option in the request is valid or nothing changes. A new
custom field over the plan's cap is a 403 ``feature_capping_custom_fields_limit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from pdmigrate.sandbox import fields
from pdmigrate.sandbox.envelope import (
    ApiError,
    ApiRoute,
    RequestContext,
    not_allowed,
    ok,
    validation_error,
)
from pdmigrate.sandbox.routes_v2 import paginate

_WRITABLE = ("person", "organization", "deal", "product")
_ALL = (*_WRITABLE, "activity")


def _include(ctx: RequestContext) -> tuple[str, ...]:
    raw = ctx.query.get("include_fields") or ""
    chosen = tuple(k.strip() for k in raw.split(",") if k.strip())
    for key in chosen:
        if key not in fields.OPTIONAL_FIELD_KEYS:
            raise validation_error(
                "include_fields",
                "Must be a comma-separated list of " + ", ".join(fields.OPTIONAL_FIELD_KEYS),
            )
    return chosen


def _all_fields(ctx: RequestContext, obj: str) -> list[dict[str, Any]]:
    std = fields.standard_fields(obj, contact_sync=ctx.account.contact_sync)
    include = _include(ctx)
    custom = fields.custom_fields(ctx.store, ctx.cid, obj)
    return std + [fields.public_field(f, include) for f in custom]


def _find(ctx: RequestContext, obj: str) -> dict[str, Any]:
    code = ctx.path_params["field_code"]
    for field in fields.custom_fields(ctx.store, ctx.cid, obj):
        if field["field_code"] == code:
            return field
    for field in fields.standard_fields(obj, contact_sync=ctx.account.contact_sync):
        if field["field_code"] == code:
            return field
    raise ApiError(404, "Field not found")


def _custom(ctx: RequestContext, obj: str) -> dict[str, Any]:
    field = _find(ctx, obj)
    if not field.get("is_custom_field"):
        raise ApiError(403, "Standard fields cannot be changed")
    return field


def _list(obj: str) -> Callable[[RequestContext], Any]:
    async def handler(ctx: RequestContext) -> Response:
        rows = [{**f, "id": i} for i, f in enumerate(_all_fields(ctx, obj), start=1)]
        page, next_cursor = paginate(rows, ctx.query)
        data = [{k: v for k, v in f.items() if k != "id"} for f in page]
        return ok(data, {"next_cursor": next_cursor})

    return handler


def _get(obj: str) -> Callable[[RequestContext], Any]:
    async def handler(ctx: RequestContext) -> Response:
        return ok(fields.public_field(_find(ctx, obj), _include(ctx)))

    return handler


def _create(obj: str) -> Callable[[RequestContext], Any]:
    async def handler(ctx: RequestContext) -> Response:
        body = ctx.json_object()
        store = ctx.store
        with store.transaction():
            if fields.total_custom_fields(store, ctx.cid) >= fields.custom_field_cap(
                ctx.account.plan
            ):
                raise fields.capping_error("custom fields", "feature_capping_custom_fields_limit")
            doc = fields.build_custom_field(store, ctx.cid, obj, body, store.now())
            stored = store.insert(ctx.cid, fields.field_entity(obj), doc)
        return ok(fields.public_field(stored))

    return handler


def _update(obj: str) -> Callable[[RequestContext], Any]:
    async def handler(ctx: RequestContext) -> Response:
        body = ctx.json_object()
        allowed = {"field_name", "ui_visibility", "important_fields", "required_fields"}
        if obj == "product":
            allowed = {"field_name", "ui_visibility"}
        if obj == "deal":
            allowed.add("description")
        for key in body:
            if key not in allowed:
                raise not_allowed(key)
        name = body.get("field_name")
        if "field_name" in body and (not isinstance(name, str) or not name.strip()):
            raise validation_error("field_name", "Expected a non-empty string")
        with ctx.store.transaction():
            field = _custom(ctx, obj)
            doc = ctx.store.update(ctx.cid, fields.field_entity(obj), field["id"], body)
        return ok(fields.public_field(doc))

    return handler


def _delete(obj: str) -> Callable[[RequestContext], Any]:
    async def handler(ctx: RequestContext) -> Response:
        with ctx.store.transaction():
            field = _custom(ctx, obj)
            doc = ctx.store.soft_delete(ctx.cid, fields.field_entity(obj), field["id"], {})
        return ok(fields.public_field(doc))

    return handler


def _options_body(ctx: RequestContext, need_id: bool, need_label: bool) -> list[dict[str, Any]]:
    body = ctx.body
    if not isinstance(body, list) or not body:
        raise validation_error("body", "Expected a non-empty 'array' of options")
    for i, item in enumerate(body):
        if not isinstance(item, dict):
            raise validation_error(f"[{i}]", "Expected 'object' as value")
        if need_id and (not isinstance(item.get("id"), int) or isinstance(item["id"], bool)):
            raise validation_error(f"[{i}].id", "Expected 'integer' as value")
        label = item.get("label")
        if need_label and (not isinstance(label, str) or not label.strip()):
            raise validation_error(f"[{i}].label", "Expected a non-empty string")
    return body


def _option_field(ctx: RequestContext, obj: str) -> dict[str, Any]:
    field = _custom(ctx, obj)
    if field["field_type"] not in ("enum", "set"):
        raise ApiError(400, "Only enum and set fields have options", code="ERR_BAD_REQUEST")
    return field


def _options(obj: str, method: str) -> Callable[[RequestContext], Any]:
    async def handler(ctx: RequestContext) -> Response:
        store = ctx.store
        items = _options_body(ctx, need_id=method != "POST", need_label=method != "DELETE")
        with store.transaction():
            field = _option_field(ctx, obj)
            options: list[dict[str, Any]] = list(field.get("options") or [])
            by_id = {o["id"]: o for o in options}
            for i, item in enumerate(items):
                if method != "POST" and item["id"] not in by_id:
                    raise validation_error(f"[{i}].id", f"Option {item['id']} does not exist")
            now = store.now()
            if method == "POST":
                affected = fields.make_options(store, ctx.cid, items, now)
                options += affected
            elif method == "PATCH":
                affected = []
                for item in items:
                    by_id[item["id"]].update(label=item["label"], update_time=now)
                    affected.append(by_id[item["id"]])
            else:
                gone = {item["id"] for item in items}
                affected = [o for o in options if o["id"] in gone]
                options = [o for o in options if o["id"] not in gone]
                if not options:
                    raise ApiError(
                        400, "A field must keep at least one option", code="ERR_BAD_REQUEST"
                    )
            store.update(ctx.cid, fields.field_entity(obj), field["id"], {"options": options})
        return ok([{"id": o["id"], "label": o["label"]} for o in affected], None)

    return handler


def _routes() -> list[ApiRoute]:
    out: list[ApiRoute] = []
    for obj in _ALL:
        base = f"/api/v2/{obj}Fields"
        out += [
            ApiRoute("GET", base, _list(obj)),
            ApiRoute("GET", base + "/{field_code}", _get(obj)),
        ]
        if obj in _WRITABLE:
            out += [
                ApiRoute("POST", base, _create(obj)),
                ApiRoute("PATCH", base + "/{field_code}", _update(obj)),
                ApiRoute("DELETE", base + "/{field_code}", _delete(obj)),
                ApiRoute("POST", base + "/{field_code}/options", _options(obj, "POST")),
                ApiRoute("PATCH", base + "/{field_code}/options", _options(obj, "PATCH")),
                ApiRoute("DELETE", base + "/{field_code}/options", _options(obj, "DELETE")),
            ]
    return out


ROUTES: list[ApiRoute] = _routes()
