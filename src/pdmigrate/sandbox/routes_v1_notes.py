"""v1 notes: list (offset pages, filters), create (backdated ``add_time``), get, update, delete.

Live rules the spec does not express: a note needs ``content`` and at least one
parent (``lead_id``, ``deal_id``, ``person_id``, ``org_id``, ``project_id`` or
``task_id``) that exists in the account; ``add_time`` is ``YYYY-MM-DD HH:MM:SS``
UTC, in the past or the future; ``content`` is HTML and is sanitised (script and
style elements and ``on*`` handlers are removed).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from pdmigrate.sandbox.envelope import ApiError, ApiRoute, RequestContext, ok
from pdmigrate.sandbox.routes_v1_common import (
    body_object,
    check_date,
    existing,
    me,
    opt_bool,
    opt_int,
    opt_str,
    paginate,
    query_int,
    query_time,
    required,
    sort_records,
    updated_since,
    v1_input_time,
    v1_out,
    wrong_type,
)
from pdmigrate.sandbox.store import parse_time

ENTITY = "notes"
_INT_PARENTS = ("deal_id", "person_id", "org_id", "project_id", "task_id")
_PARENTS = ("lead_id", *_INT_PARENTS)
_PIN_FLAGS = tuple(
    f"pinned_to_{p}_flag" for p in ("lead", "deal", "organization", "person", "project", "task")
)
#: Parents the sandbox keeps records of: (body key, store entity, display key).
_CHECKED = {
    "deal_id": ("deals", "title"),
    "person_id": ("persons", "name"),
    "org_id": ("organizations", "name"),
    "lead_id": ("leads", "title"),
}
_NO_PARENT = ApiError(
    400,
    "Note must be attached to a deal, person, organization, lead, project or task "
    "(one of deal_id, person_id, org_id, lead_id, project_id, task_id is required)",
)
_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_HANDLER = re.compile(r"\s+on[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)", re.I)


def sanitize(html: str) -> str:
    """Remove what Pipedrive's back-end sanitiser removes from note HTML (scripts, handlers)."""
    return _HANDLER.sub("", _SCRIPT.sub("", html))


def _not_found() -> ApiError:
    return ApiError(404, "Note not found")


def _parent_ids(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in _INT_PARENTS:
        if key in body:
            out[key] = opt_int(body, key, nullable=True)
    if "lead_id" in body:
        out["lead_id"] = opt_str(body, "lead_id", nullable=True)
    return out


def _check_parents(ctx: RequestContext, ids: dict[str, Any]) -> None:
    for key, value in ids.items():
        if value is None or key not in _CHECKED:
            continue
        entity, _ = _CHECKED[key]
        if existing(ctx, entity, value) is None:
            what = {"deal_id": "Deal", "person_id": "Person", "org_id": "Organization"}.get(
                key, "Lead"
            )
            raise ApiError(400, f"{what} with id {value} does not exist", code="ERR_BAD_REQUEST")


def _fields(ctx: RequestContext, body: dict[str, Any]) -> dict[str, Any]:
    """The writable fields present in ``body``, checked."""
    doc: dict[str, Any] = _parent_ids(body)
    _check_parents(ctx, doc)
    if "content" in body:
        content = body["content"]
        if not isinstance(content, str):
            raise wrong_type("content", "string", content)
        if not content.strip():
            raise required("content")
        doc["content"] = sanitize(content)
    if "user_id" in body:
        user_id = opt_int(body, "user_id")
        if existing(ctx, "users", user_id) is None:
            raise ApiError(400, f"User with id {user_id} does not exist", code="ERR_BAD_REQUEST")
        doc["user_id"] = user_id
    for flag in _PIN_FLAGS:
        value = opt_bool(body, flag)
        if value is not None:
            doc[flag] = value
    return doc


def render(ctx: RequestContext, note: dict[str, Any]) -> dict[str, Any]:
    """A stored note in v1's response shape."""
    out: dict[str, Any] = {
        "id": note["id"],
        "active_flag": note.get("active_flag", True),
        "add_time": v1_out(note["add_time"]),
        "update_time": v1_out(note["update_time"]),
        "content": note["content"],
        "user_id": note["user_id"],
        "last_update_user_id": note.get("last_update_user_id", note["user_id"]),
    }
    for key in _PARENTS:
        out[key] = note.get(key)
    for flag in _PIN_FLAGS:
        out[flag] = bool(note.get(flag, False))
    for key, label, title_key in (
        ("deal_id", "deal", "title"),
        ("org_id", "organization", "name"),
        ("person_id", "person", "name"),
    ):
        linked = existing(ctx, _CHECKED[key][0], note[key]) if note.get(key) else None
        out[label] = None if linked is None else {title_key: linked.get(_CHECKED[key][1], "")}
    user = existing(ctx, "users", note["user_id"])
    out["user"] = None
    if user is not None:
        out["user"] = {
            "email": user["email"],
            "name": user["name"],
            "icon_url": None,
            "is_you": user["id"] == me(ctx)["id"],
        }
    return out


def _note(ctx: RequestContext) -> dict[str, Any]:
    note = existing(ctx, ENTITY, ctx.path_params["id"])
    if note is None:
        raise _not_found()
    return note


async def list_notes(ctx: RequestContext) -> Response:
    """GET /v1/notes."""
    notes = ctx.store.list(ctx.cid, ENTITY)
    for key in ("user_id", "deal_id", "person_id", "org_id", "project_id", "task_id"):
        wanted = query_int(ctx, key)
        if wanted is not None:
            notes = [n for n in notes if n.get(key) == wanted]
    lead = ctx.query.get("lead_id")
    if lead:
        notes = [n for n in notes if n.get("lead_id") == lead]
    for flag in _PIN_FLAGS:
        raw = ctx.query.get(flag)
        if raw in ("0", "1"):
            notes = [n for n in notes if bool(n.get(flag, False)) == (raw == "1")]
    start_date = ctx.query.get("start_date")
    end_date = ctx.query.get("end_date")
    if start_date:
        day = check_date("start_date", start_date)
        notes = [n for n in notes if parse_time(n["add_time"]).date().isoformat() >= day]
    if end_date:
        day = check_date("end_date", end_date)
        notes = [n for n in notes if parse_time(n["add_time"]).date().isoformat() <= day]
    notes = updated_since(notes, query_time(ctx, "updated_since"))
    notes = sort_records(notes, ctx.query.get("sort"))
    page, additional = paginate(ctx, notes)
    return ok([render(ctx, n) for n in page], additional)


async def create_note(ctx: RequestContext) -> Response:
    """POST /v1/notes."""
    body = body_object(ctx)
    if "content" not in body:
        raise required("content")
    with ctx.store.transaction():
        doc = _fields(ctx, body)
        if not any(doc.get(key) is not None for key in _PARENTS):
            raise _NO_PARENT
        owner = me(ctx)["id"]
        doc.setdefault("user_id", owner)
        doc["last_update_user_id"] = owner
        doc["active_flag"] = True
        for key in _PARENTS:
            doc.setdefault(key, None)
        note = ctx.store.insert(ctx.cid, ENTITY, doc, add_time=v1_input_time(body, "add_time"))
        return ok(render(ctx, note))


async def get_note(ctx: RequestContext) -> Response:
    """GET /v1/notes/{id}."""
    return ok(render(ctx, _note(ctx)))


async def update_note(ctx: RequestContext) -> Response:
    """PUT /v1/notes/{id}."""
    body = body_object(ctx)
    with ctx.store.transaction():
        note = _note(ctx)
        changes = _fields(ctx, body)
        merged = {**note, **changes}
        if not any(merged.get(key) is not None for key in _PARENTS):
            raise _NO_PARENT
        add_time = v1_input_time(body, "add_time")
        if add_time is not None:
            changes["add_time"] = add_time
        changes["last_update_user_id"] = me(ctx)["id"]
        updated = ctx.store.update(ctx.cid, ENTITY, note["id"], changes)
        return ok(render(ctx, updated))


async def delete_note(ctx: RequestContext) -> Response:
    """DELETE /v1/notes/{id}: ``data`` is ``true``."""
    with ctx.store.transaction():
        note = _note(ctx)
        ctx.store.soft_delete(ctx.cid, ENTITY, note["id"], {"active_flag": False})
    return ok(True)


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/api/v1/notes", list_notes),
    ApiRoute("POST", "/api/v1/notes", create_note),
    ApiRoute("GET", "/api/v1/notes/{id:int}", get_note),
    ApiRoute("PUT", "/api/v1/notes/{id:int}", update_note),
    ApiRoute("DELETE", "/api/v1/notes/{id:int}", delete_note),
]
