"""v1 organization relationships: parent/daughter and related links between organizations.

``POST {type: "parent", rel_owner_org_id: PARENT, rel_linked_org_id: DAUGHTER}``.
Live rules the sandbox enforces: both organizations exist, they differ, a
daughter has at most one parent, and parent links never form a cycle; the same
pair is never linked twice. Reads from an organization's point of view
(``org_id``) add ``calculated_type`` (``parent``, ``daughter`` or ``related``: what
the *other* organization is to it) and ``calculated_related_org_id``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.responses import JSONResponse, Response

from pdmigrate.sandbox.envelope import ApiError, ApiRoute, RequestContext, ok
from pdmigrate.sandbox.routes_v1_common import (
    body_object,
    existing,
    not_a_choice,
    opt_int,
    opt_str,
    paginate,
    query_int,
    required,
    v1_out,
)

ENTITY = "organizationRelationships"
TYPES = ("parent", "related")


def _not_found() -> ApiError:
    return ApiError(404, "Organization relationship not found")


def _bad(message: str) -> ApiError:
    return ApiError(400, message, code="ERR_BAD_REQUEST")


def _people_counts(ctx: RequestContext) -> Counter[Any]:
    """Persons per organization, counted once per request (kept in ``ctx.extra``)."""
    counts = ctx.extra.get("people_counts")
    if not isinstance(counts, Counter):
        counts = Counter(p.get("org_id") for p in ctx.store.list(ctx.cid, "persons"))
        ctx.extra["people_counts"] = counts
    return counts


def _org_summary(ctx: RequestContext, org_id: int) -> dict[str, Any]:
    org = existing(ctx, "organizations", org_id) or ctx.store.get(
        ctx.cid, "organizations", org_id, include_deleted=True
    )
    org = org or {"name": "", "owner_id": 0}
    address = org.get("address")
    if isinstance(address, dict):
        address = address.get("value")
    people = _people_counts(ctx).get(org_id, 0)
    return {
        "id": org_id,
        "name": org.get("name", ""),
        "people_count": people,
        "owner_id": org.get("owner_id") or 0,
        "address": address if isinstance(address, str) else None,
        "active_flag": not org.get("is_deleted", False),
        "cc_email": f"sandbox-{ctx.cid}+org{org_id}@pipedrivemail.com",
    }


def _side(ctx: RequestContext, org_id: int) -> dict[str, Any]:
    summary = _org_summary(ctx, org_id)
    side = {k: v for k, v in summary.items() if k != "id"}
    side["value"] = org_id
    return side


def _calculated(rel: dict[str, Any], org_id: int) -> tuple[str, int] | None:
    """What the other organization is to ``org_id``, and its id."""
    owner, linked = rel["rel_owner_org_id"], rel["rel_linked_org_id"]
    if org_id not in (owner, linked):
        return None
    if rel["type"] == "related":
        return "related", linked if org_id == owner else owner
    return ("daughter", linked) if org_id == owner else ("parent", owner)


def render(
    ctx: RequestContext, rel: dict[str, Any], org_id: int | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A relationship in v1's shape, and its ``related_objects.organization`` entries."""
    owner, linked = rel["rel_owner_org_id"], rel["rel_linked_org_id"]
    out: dict[str, Any] = {
        "id": rel["id"],
        "type": rel["type"],
        "rel_owner_org_id": _side(ctx, owner),
        "rel_linked_org_id": _side(ctx, linked),
        "add_time": v1_out(rel["add_time"]),
        "update_time": v1_out(rel["update_time"]),
        "active_flag": "true",
    }
    calculated = _calculated(rel, org_id) if org_id is not None else None
    if calculated is not None:
        out["calculated_type"], out["calculated_related_org_id"] = calculated
        out["related_organization_name"] = out[
            "rel_linked_org_id" if calculated[1] == linked else "rel_owner_org_id"
        ]["name"]
    related = {str(i): _org_summary(ctx, i) for i in (owner, linked)}
    return out, related


def _check(ctx: RequestContext, rel: dict[str, Any], rel_id: int | None) -> None:
    owner, linked = rel["rel_owner_org_id"], rel["rel_linked_org_id"]
    for key in ("rel_owner_org_id", "rel_linked_org_id"):
        if existing(ctx, "organizations", rel[key]) is None:
            raise _bad(f"Organization with id {rel[key]} does not exist")
    if owner == linked:
        raise _bad("An organization cannot be related to itself")
    others = [r for r in ctx.store.list(ctx.cid, ENTITY) if r["id"] != rel_id]
    for other in others:
        if {other["rel_owner_org_id"], other["rel_linked_org_id"]} == {owner, linked}:
            raise _bad("These organizations are already related")
    if rel["type"] != "parent":
        return
    if any(o["type"] == "parent" and o["rel_linked_org_id"] == linked for o in others):
        raise _bad(f"Organization {linked} already has a parent organization")
    parents = {
        o["rel_linked_org_id"]: o["rel_owner_org_id"] for o in others if o["type"] == "parent"
    }
    node: int | None = owner
    while node is not None:
        if node == linked:
            raise _bad("This parent link would make an organization its own ancestor")
        node = parents.get(node)


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    kind = opt_str(body, "type")
    if kind is not None:
        if kind not in TYPES:
            raise not_a_choice("type", list(TYPES))
        doc["type"] = kind
    for key in ("rel_owner_org_id", "rel_linked_org_id"):
        value = opt_int(body, key)
        if value is not None:
            doc[key] = value
    return doc


def _rel(ctx: RequestContext) -> dict[str, Any]:
    rel = existing(ctx, ENTITY, ctx.path_params["id"])
    if rel is None:
        raise _not_found()
    return rel


async def list_relationships(ctx: RequestContext) -> Response:
    """GET /v1/organizationRelationships?org_id= (required)."""
    org_id = query_int(ctx, "org_id")
    if org_id is None:
        raise required("org_id")
    rels = [
        r
        for r in ctx.store.list(ctx.cid, ENTITY)
        if org_id in (r["rel_owner_org_id"], r["rel_linked_org_id"])
    ]
    page, additional = paginate(ctx, rels)
    data: list[dict[str, Any]] = []
    organizations: dict[str, Any] = {}
    for rel in page:
        out, related = render(ctx, rel, org_id)
        data.append(out)
        organizations.update(related)
    body: dict[str, Any] = {"success": True, "data": data, "additional_data": additional}
    body["related_objects"] = {"organization": organizations}
    return ok_with_related(body)


def ok_with_related(body: dict[str, Any]) -> Response:
    """A success body that carries ``related_objects`` beside ``data``."""
    return JSONResponse(body)


def _one(ctx: RequestContext, rel: dict[str, Any], org_id: int | None) -> Response:
    out, related = render(ctx, rel, org_id)
    return ok_with_related(
        {"success": True, "data": out, "related_objects": {"organization": related}}
    )


async def add_relationship(ctx: RequestContext) -> Response:
    """POST /v1/organizationRelationships."""
    body = body_object(ctx)
    for key in ("type", "rel_owner_org_id", "rel_linked_org_id"):
        if key not in body:
            raise required(key)
    doc = _fields(body)
    org_id = opt_int(body, "org_id")
    with ctx.store.transaction():
        _check(ctx, doc, None)
        rel = ctx.store.insert(ctx.cid, ENTITY, doc)
        return _one(ctx, rel, org_id)


async def get_relationship(ctx: RequestContext) -> Response:
    """GET /v1/organizationRelationships/{id}[?org_id=]."""
    return _one(ctx, _rel(ctx), query_int(ctx, "org_id"))


async def update_relationship(ctx: RequestContext) -> Response:
    """PUT /v1/organizationRelationships/{id}."""
    body = body_object(ctx)
    with ctx.store.transaction():
        rel = _rel(ctx)
        changes = _fields(body)
        _check(ctx, {**rel, **changes}, rel["id"])
        updated = ctx.store.update(ctx.cid, ENTITY, rel["id"], changes)
        return _one(ctx, updated, opt_int(body, "org_id"))


async def delete_relationship(ctx: RequestContext) -> Response:
    """DELETE /v1/organizationRelationships/{id}: ``data`` is ``{"id": id}``."""
    with ctx.store.transaction():
        rel = _rel(ctx)
        ctx.store.soft_delete(ctx.cid, ENTITY, rel["id"], {"active_flag": False})
    return ok({"id": rel["id"]})


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/api/v1/organizationRelationships", list_relationships),
    ApiRoute("POST", "/api/v1/organizationRelationships", add_relationship),
    ApiRoute("GET", "/api/v1/organizationRelationships/{id:int}", get_relationship),
    ApiRoute("PUT", "/api/v1/organizationRelationships/{id:int}", update_relationship),
    ApiRoute("DELETE", "/api/v1/organizationRelationships/{id:int}", delete_relationship),
]
