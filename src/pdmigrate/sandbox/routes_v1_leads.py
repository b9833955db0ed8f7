"""v1 leads: list (and archived), create (201), get, update (PATCH), delete. Ids are UUIDs.

Live rules: ``title`` is required; a lead needs a ``person_id`` or an
``organization_id`` that exists in the account; ``value`` is ``{amount, currency}``
or null; ``visible_to`` is a **string** here (``"1"``, ``"3"``, ``"5"``, ``"7"``);
``label_ids`` are UUID strings; ``channel`` is an integer; the deals' custom fields
are top-level 40-hex keys in v1 value shapes (set ones only in answers). Validation errors use
the leads service's own shape (``error`` "Couldn't create lead, body is invalid."
with the detail in ``error_info``); a missing lead is ``"requested lead not found"``
(both from the v1 spec and public issue threads). Lead times are ISO 8601 with
milliseconds (``2020-10-14T11:30:36.551Z``), as the spec's examples show.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.responses import Response

from pdmigrate.sandbox.envelope import ApiError, ApiRoute, RequestContext, json_type, ok
from pdmigrate.sandbox.fields import custom_by_code, validate_custom_fields
from pdmigrate.sandbox.routes_v1_common import (
    check_date,
    existing,
    me,
    paginate,
    query_int,
    query_time,
    sort_records,
    updated_since,
)
from pdmigrate.sandbox.store import parse_time

ENTITY = "leads"
VISIBLE_TO = ("1", "3", "5", "7")
SORTABLE = {
    "id",
    "title",
    "owner_id",
    "creator_id",
    "was_seen",
    "expected_close_date",
    "next_activity_id",
    "add_time",
    "update_time",
}
_ALLOWED = {
    "title",
    "owner_id",
    "label_ids",
    "person_id",
    "organization_id",
    "value",
    "expected_close_date",
    "visible_to",
    "was_seen",
    "origin_id",
    "channel",
    "channel_id",
}
_PATCH_ONLY = {"is_archived"}
_HEX_KEY = re.compile(r"[0-9a-f]{40}")


def lead_time(value: str) -> str:
    """A stored timestamp as the leads service writes it: ``YYYY-MM-DDTHH:MM:SS.000Z``."""
    return parse_time(value).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


def invalid(detail: str, *, creating: bool) -> ApiError:
    """400 in the leads service's shape."""
    verb = "create" if creating else "update"
    return ApiError(400, f"Couldn't {verb} lead, body is invalid.", error_info=detail)


def not_found() -> ApiError:
    """404 in the leads service's shape."""
    return ApiError(404, "requested lead not found", error_info="Object was not found.")


def _type(name: str, expected: str, creating: bool) -> ApiError:
    return invalid(f'"{name}" must be a {expected}', creating=creating)


def _int(body: dict[str, Any], name: str, creating: bool, *, nullable: bool) -> int | None:
    value = body[name]
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type(name, "number", creating)
    return value


def _custom(ctx: RequestContext, body: dict[str, Any], creating: bool) -> dict[str, Any]:
    """The deal custom fields in a lead body (40-hex keys, v1 value shapes), v2-shaped.

    Leads inherit the deals' custom fields [V1 ``POST /leads``]; values come as the v1
    deals endpoints take them: a monetary amount with ``<key>_currency`` beside it, an
    address as text, an option id. Unknown keys are refused like other unknown keys.
    """
    defs = custom_by_code(ctx.store, ctx.cid, "deal")
    out: dict[str, Any] = {}
    for key, value in body.items():
        if not _HEX_KEY.fullmatch(key):
            continue
        field = defs.get(key)
        if field is None:
            raise invalid(f'"{key}" is not allowed', creating=creating)
        if value is not None and field["field_type"] == "monetary":
            value = {"value": value, "currency": body.get(f"{key}_currency") or "USD"}
        elif value is not None and field["field_type"] == "address" and isinstance(value, str):
            value = {"value": value}
        try:
            out.update(validate_custom_fields(ctx.store, ctx.cid, "deal", {key: value}))
        except ApiError as exc:
            raise invalid(
                exc.error.removeprefix("Validation failed: "), creating=creating
            ) from None
    return out


def _v1_custom(stored: dict[str, Any]) -> dict[str, Any]:
    """Stored (v2-shaped) custom values as v1 lead keys; unset ones are left out."""
    out: dict[str, Any] = {}
    for key, value in stored.items():
        if value is None:
            continue
        if isinstance(value, dict) and "currency" in value:
            out[key], out[f"{key}_currency"] = value.get("value"), value["currency"]
        elif isinstance(value, dict):
            out[key] = value.get("value")
        else:
            out[key] = value
    return out


def _fields(ctx: RequestContext, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    allowed = _ALLOWED | (set() if creating else _PATCH_ONLY)
    currency_keys = {f"{k}_currency" for k in body if _HEX_KEY.fullmatch(k)}
    unknown = sorted(
        set(body) - allowed - currency_keys - {k for k in body if _HEX_KEY.fullmatch(k)}
    )
    if unknown:
        raise invalid(f'"{unknown[0]}" is not allowed', creating=creating)
    doc: dict[str, Any] = {}
    custom = _custom(ctx, body, creating)
    if custom:
        doc["custom"] = custom
    if "title" in body:
        title = body["title"]
        if not isinstance(title, str) or not title.strip():
            raise invalid('"title" must be a non-empty string', creating=creating)
        doc["title"] = title
    for key in ("person_id", "organization_id"):
        if key in body:
            doc[key] = _int(body, key, creating, nullable=True)
            entity = "persons" if key == "person_id" else "organizations"
            if doc[key] is not None and existing(ctx, entity, doc[key]) is None:
                what = "Person" if key == "person_id" else "Organization"
                raise invalid(f"{what} with id {doc[key]} does not exist", creating=creating)
    if "owner_id" in body:
        doc["owner_id"] = _int(body, "owner_id", creating, nullable=False)
        if existing(ctx, "users", doc["owner_id"]) is None:
            raise invalid(f"User with id {doc['owner_id']} does not exist", creating=creating)
    if "channel" in body:
        doc["channel"] = _int(body, "channel", creating, nullable=True)
    for key in ("origin_id", "channel_id"):
        if key in body:
            if body[key] is not None and not isinstance(body[key], str):
                raise _type(key, "string", creating)
            doc[key] = body[key]
    for key in ("was_seen", "is_archived"):
        if key in body:
            if not isinstance(body[key], bool):
                raise _type(key, "boolean", creating)
            doc[key] = body[key]
    if "label_ids" in body:
        labels = body["label_ids"]
        if not isinstance(labels, list) or not all(_is_uuid(x) for x in labels):
            raise invalid('"label_ids" must be an array of UUID strings', creating=creating)
        doc["label_ids"] = list(labels)
    if "value" in body:
        doc["value"] = _value(body["value"], creating)
    if "expected_close_date" in body:
        day = body["expected_close_date"]
        if day is not None:
            if not isinstance(day, str):
                raise _type("expected_close_date", "string", creating)
            try:
                check_date("expected_close_date", day)
            except ApiError:
                raise invalid(
                    '"expected_close_date" must be a YYYY-MM-DD date', creating=creating
                ) from None
        doc["expected_close_date"] = day
    if "visible_to" in body:
        visible = body["visible_to"]
        if not isinstance(visible, str):
            raise invalid(
                f'"visible_to" must be a string, got {json_type(visible)}', creating=creating
            )
        if visible not in VISIBLE_TO:
            raise invalid('"visible_to" must be one of "1", "3", "5", "7"', creating=creating)
        doc["visible_to"] = visible
    return doc


def _value(value: Any, creating: bool) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid('"value" must be an object with amount and currency', creating=creating)
    amount = value.get("amount")
    currency = value.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        raise invalid('"value.amount" must be a number', creating=creating)
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise invalid('"value.currency" must be a 3-letter currency code', creating=creating)
    if set(value) - {"amount", "currency"}:
        raise invalid('"value" takes only amount and currency', creating=creating)
    return {"amount": amount, "currency": currency.upper()}


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def render(ctx: RequestContext, lead: dict[str, Any]) -> dict[str, Any]:
    """A stored lead in v1's response shape."""
    return {
        "id": lead["id"],
        "title": lead["title"],
        "owner_id": lead["owner_id"],
        "creator_id": lead["creator_id"],
        "label_ids": lead.get("label_ids", []),
        "person_id": lead.get("person_id"),
        "organization_id": lead.get("organization_id"),
        "source_name": "API",
        "origin": "API",
        "origin_id": lead.get("origin_id"),
        "channel": lead.get("channel"),
        "channel_id": lead.get("channel_id"),
        "source_deal_id": None,
        "is_archived": lead.get("is_archived", False),
        "was_seen": lead.get("was_seen", False),
        "value": lead.get("value"),
        "expected_close_date": lead.get("expected_close_date"),
        "next_activity_id": None,
        "add_time": lead_time(lead["add_time"]),
        "update_time": lead_time(lead["update_time"]),
        "visible_to": lead.get("visible_to", "3"),
        "cc_email": f"sandbox-{ctx.cid}+lead{lead['id'].replace('-', '')[:12]}@pipedrivemail.com",
        **_v1_custom(lead.get("custom") or {}),
    }


def _lead(ctx: RequestContext) -> dict[str, Any]:
    lead_id = str(ctx.path_params["id"])
    lead = existing(ctx, ENTITY, lead_id) if _is_uuid(lead_id) else None
    if lead is None:
        raise not_found()
    return lead


def _body(ctx: RequestContext, creating: bool) -> dict[str, Any]:
    if ctx.body is None and not ctx.raw_body.strip():
        return {}
    if not isinstance(ctx.body, dict):
        raise invalid("the body must be a JSON object", creating=creating)
    return ctx.body


async def _list(ctx: RequestContext, archived: bool) -> Response:
    leads = [
        lead
        for lead in ctx.store.list(ctx.cid, ENTITY)
        if bool(lead.get("is_archived", False)) == archived
    ]
    for key in ("owner_id", "person_id", "organization_id"):
        wanted = query_int(ctx, key)
        if wanted is not None:
            leads = [lead for lead in leads if lead.get(key) == wanted]
    leads = updated_since(leads, query_time(ctx, "updated_since"))
    leads = sort_records(leads, ctx.query.get("sort"), SORTABLE)
    if not ctx.query.get("sort"):
        leads.sort(key=lambda lead: (lead["add_time"], lead["id"]))
    page, additional = paginate(ctx, leads)
    return ok([render(ctx, lead) for lead in page], additional)


async def list_leads(ctx: RequestContext) -> Response:
    """GET /v1/leads: leads that are not archived."""
    return await _list(ctx, archived=False)


async def list_archived_leads(ctx: RequestContext) -> Response:
    """GET /v1/leads/archived."""
    return await _list(ctx, archived=True)


async def create_lead(ctx: RequestContext) -> Response:
    """POST /v1/leads: 201."""
    body = _body(ctx, creating=True)
    if "title" not in body:
        raise invalid('"title" is required', creating=True)
    with ctx.store.transaction():
        doc = _fields(ctx, body, creating=True)
        if doc.get("person_id") is None and doc.get("organization_id") is None:
            raise invalid(
                'A lead must be linked to a person or an organization: "person_id" or '
                '"organization_id" is required',
                creating=True,
            )
        owner = me(ctx)["id"]
        doc.setdefault("owner_id", owner)
        doc["creator_id"] = owner
        doc.setdefault("label_ids", [])
        doc.setdefault("visible_to", "3")
        doc.setdefault("was_seen", False)
        doc["is_archived"] = False
        for key in ("person_id", "organization_id", "value", "expected_close_date"):
            doc.setdefault(key, None)
        lead = ctx.store.insert(ctx.cid, ENTITY, doc, record_id=str(uuid.uuid4()))
        return ok(render(ctx, lead), status=201)


async def get_lead(ctx: RequestContext) -> Response:
    """GET /v1/leads/{id}."""
    return ok(render(ctx, _lead(ctx)))


async def update_lead(ctx: RequestContext) -> Response:
    """PATCH /v1/leads/{id}."""
    body = _body(ctx, creating=False)
    with ctx.store.transaction():
        lead = _lead(ctx)
        changes = _fields(ctx, body, creating=False)
        if "custom" in changes:
            changes["custom"] = {**(lead.get("custom") or {}), **changes["custom"]}
        merged = {**lead, **changes}
        if merged.get("person_id") is None and merged.get("organization_id") is None:
            raise invalid("A lead must stay linked to a person or an organization", creating=False)
        updated = ctx.store.update(ctx.cid, ENTITY, lead["id"], changes)
        return ok(render(ctx, updated))


async def delete_lead(ctx: RequestContext) -> Response:
    """DELETE /v1/leads/{id}: ``data`` is ``{"id": id}``."""
    with ctx.store.transaction():
        lead = _lead(ctx)
        ctx.store.soft_delete(ctx.cid, ENTITY, lead["id"])
    return ok({"id": lead["id"]})


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/api/v1/leads", list_leads),
    ApiRoute("GET", "/api/v1/leads/archived", list_archived_leads),
    ApiRoute("POST", "/api/v1/leads", create_lead),
    ApiRoute("GET", "/api/v1/leads/{id}", get_lead),
    ApiRoute("PATCH", "/api/v1/leads/{id}", update_lead),
    ApiRoute("DELETE", "/api/v1/leads/{id}", delete_lead),
]
