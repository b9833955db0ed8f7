"""v1 users (list, find, me, get, create, update) and activity types (list, create, update, delete).

Every account is seeded with users and the default activity types
(:mod:`pdmigrate.sandbox.seed`). The token's user (``/users/me``) is the account's
first user. ``POST /users`` needs ``email``; the name is the email's local part,
as for a Pipedrive invitation. Activity types are never removed: ``DELETE`` marks
them ``active_flag: false`` and they stay in the list, because existing
activities still refer to them.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.responses import Response

from pdmigrate.sandbox.envelope import ApiError, ApiRoute, RequestContext, ok, validation_error
from pdmigrate.sandbox.routes_v1_common import (
    body_object,
    existing,
    me,
    not_a_choice,
    opt_bool,
    opt_int,
    opt_str,
    required,
    v1_out,
    wrong_type,
)
from pdmigrate.sandbox.seed import ICON_KEY_LIST, ICON_KEYS, key_string_for, user_record

USERS = "users"
TYPES = "activityTypes"
APPS = ("global", "sales", "campaigns", "projects", "account_settings", "partnership", "nova")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COLOR = re.compile(r"^[0-9A-Fa-f]{6}$")
_NS = uuid.UUID("6f1c5b0e-3d3a-4f59-9a53-2f0f1f4c9a10")


def user_not_found() -> ApiError:
    """404 for an unknown user id (the spec's wording)."""
    return ApiError(404, "User not found or not accessible.")


def _no_permission() -> ApiError:
    return ApiError(403, "You do not have permissions to do this.")


def _permission_set(cid: int, app: str, admin: bool) -> str:
    return str(uuid.uuid5(_NS, f"{cid}:{app}:{admin}"))


def render_user(ctx: RequestContext, user: dict[str, Any], *, me_id: int) -> dict[str, Any]:
    """A stored user in v1's response shape."""
    admin = bool(user.get("is_admin", False))
    apps = user.get("apps") or ["sales", "global"]
    return {
        "id": user["id"],
        "name": user["name"],
        "default_currency": user.get("default_currency", "USD"),
        "locale": user.get("locale", "en_US"),
        "lang": user.get("lang", 1),
        "email": user["email"],
        "phone": user.get("phone"),
        "activated": True,
        "last_login": v1_out(user["add_time"]),
        "created": v1_out(user["add_time"]),
        "modified": v1_out(user["update_time"]),
        "has_created_company": user["id"] == me_id,
        "access": [
            {"app": app, "admin": admin, "permission_set_id": _permission_set(ctx.cid, app, admin)}
            for app in apps
        ],
        "active_flag": bool(user.get("active_flag", True)),
        "timezone_name": user.get("timezone_name", "UTC"),
        "timezone_offset": user.get("timezone_offset", "+00:00"),
        "role_id": user.get("role_id", 1),
        "icon_url": None,
        "is_you": user["id"] == me_id,
        "is_deleted": bool(user.get("is_deleted", False)),
    }


def _users(ctx: RequestContext) -> tuple[list[dict[str, Any]], int]:
    users = ctx.store.list(ctx.cid, USERS)
    me_id = users[0]["id"] if users else me(ctx)["id"]
    return users, me_id


async def list_users(ctx: RequestContext) -> Response:
    """GET /v1/users (no paging)."""
    users, me_id = _users(ctx)
    return ok([render_user(ctx, u, me_id=me_id) for u in users])


async def find_users(ctx: RequestContext) -> Response:
    """GET /v1/users/find?term=&search_by_email=0|1."""
    term = ctx.query.get("term")
    if term is None or term.strip() == "":
        raise required("term")
    by_email = ctx.query.get("search_by_email", "0")
    if by_email not in ("0", "1"):
        raise not_a_choice("search_by_email", ["0", "1"])
    needle = term.strip().lower()
    key = "email" if by_email == "1" else "name"
    users, me_id = _users(ctx)
    found = [u for u in users if needle in str(u.get(key, "")).lower()]
    return ok([render_user(ctx, u, me_id=me_id) for u in found])


async def get_me(ctx: RequestContext) -> Response:
    """GET /v1/users/me: the token's user plus the company."""
    user = me(ctx)
    data = render_user(ctx, user, me_id=user["id"])
    account = ctx.account
    data.update(
        {
            "company_id": account.company_id,
            "company_name": account.name,
            "company_domain": account.domain,
            "company_country": "US",
            "company_industry": "",
            "language": {"language_code": "en", "country_code": "US"},
        }
    )
    return ok(data)


def _user(ctx: RequestContext) -> dict[str, Any]:
    user = existing(ctx, USERS, ctx.path_params["id"])
    if user is None:
        raise user_not_found()
    return user


async def get_user(ctx: RequestContext) -> Response:
    """GET /v1/users/{id}."""
    user = _user(ctx)
    return ok(render_user(ctx, user, me_id=me(ctx)["id"]))


def _access(body: dict[str, Any]) -> tuple[list[str], bool]:
    raw = body.get("access", [{"app": "sales"}])
    if not isinstance(raw, list):
        raise wrong_type("access", "array", raw)
    apps: list[str] = []
    admin = False
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise wrong_type(f"access[{index}]", "object", item)
        app = item.get("app")
        if app is None:
            raise required(f"access[{index}].app")
        if app not in APPS:
            raise not_a_choice(f"access[{index}].app", list(APPS))
        flag = opt_bool(item, "admin")
        admin = admin or bool(flag)
        if app not in apps:
            apps.append(app)
    if "global" not in apps:
        apps.append("global")
    return apps, admin


async def add_user(ctx: RequestContext) -> Response:
    """POST /v1/users: invite a user by email (admins only)."""
    body = body_object(ctx)
    caller = me(ctx)
    if not caller.get("is_admin", False):
        raise _no_permission()
    email = opt_str(body, "email")
    if email is None:
        raise required("email")
    email = email.strip()
    if not _EMAIL.match(email):
        raise validation_error("email", "This value is not a valid email address.")
    apps, admin = _access(body)
    active = opt_bool(body, "active_flag")
    with ctx.store.transaction():
        users = ctx.store.list(ctx.cid, USERS)
        if any(str(u["email"]).lower() == email.lower() for u in users):
            raise ApiError(400, "A user with this email already exists in the company")
        doc = user_record(
            {
                "name": email.split("@", 1)[0],
                "email": email,
                "active_flag": True if active is None else active,
                "is_admin": admin,
            }
        )
        doc["apps"] = apps
        user = ctx.store.insert(ctx.cid, USERS, doc)
        return ok(render_user(ctx, user, me_id=caller["id"]))


async def update_user(ctx: RequestContext) -> Response:
    """PUT /v1/users/{id}: ``active_flag`` (admins only)."""
    body = body_object(ctx)
    caller = me(ctx)
    if not caller.get("is_admin", False):
        raise _no_permission()
    active = opt_bool(body, "active_flag")
    if active is None:
        raise required("active_flag")
    with ctx.store.transaction():
        user = _user(ctx)
        updated = ctx.store.update(ctx.cid, USERS, user["id"], {"active_flag": active})
        return ok(render_user(ctx, updated, me_id=caller["id"]))


# --- activity types ----------------------------------------------------------------


def type_not_found() -> ApiError:
    """404 for an unknown (or deleted) activity type."""
    return ApiError(404, "Activity type not found")


def render_type(record: dict[str, Any]) -> dict[str, Any]:
    """A stored activity type in v1's response shape."""
    return {
        "id": record["id"],
        "order_nr": record["order_nr"],
        "name": record["name"],
        "key_string": record["key_string"],
        "icon_key": record["icon_key"],
        "active_flag": record["active_flag"],
        "color": record.get("color") or "FFFFFF",
        "is_custom_flag": record["is_custom_flag"],
        "add_time": v1_out(record["add_time"]),
        "update_time": v1_out(record["update_time"]),
    }


def _type_fields(body: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    name = opt_str(body, "name")
    if name is not None:
        if not name.strip():
            raise validation_error("name", "This value should not be blank.")
        doc["name"] = name.strip()
    icon = opt_str(body, "icon_key")
    if icon is not None:
        if icon not in ICON_KEYS:
            raise not_a_choice("icon_key", list(ICON_KEY_LIST))
        doc["icon_key"] = icon
    color = opt_str(body, "color")
    if color is not None:
        if not _COLOR.match(color):
            raise validation_error("color", "Expected a 6-character HEX color, e.g. FFFFFF")
        doc["color"] = color
    order = opt_int(body, "order_nr")
    if order is not None:
        doc["order_nr"] = order
    return doc


async def list_types(ctx: RequestContext) -> Response:
    """GET /v1/activityTypes: every type, deleted ones with ``active_flag: false``."""
    records = sorted(ctx.store.list(ctx.cid, TYPES), key=lambda r: (r["order_nr"], r["id"]))
    return ok([render_type(r) for r in records])


async def add_type(ctx: RequestContext) -> Response:
    """POST /v1/activityTypes: ``name`` and ``icon_key`` are required."""
    body = body_object(ctx)
    for key in ("name", "icon_key"):
        if key not in body:
            raise required(key)
    doc = _type_fields(body)
    with ctx.store.transaction():
        records = ctx.store.list(ctx.cid, TYPES)
        taken = {r["key_string"] for r in records}
        base = key_string_for(doc["name"])
        key = base
        suffix = 2
        while key in taken:
            key = f"{base}_{suffix}"
            suffix += 1
        doc["key_string"] = key
        doc.setdefault("order_nr", max((r["order_nr"] for r in records), default=0) + 1)
        doc["active_flag"] = True
        doc["is_custom_flag"] = True
        record = ctx.store.insert(ctx.cid, TYPES, doc)
        return ok(render_type(record))


def _type(ctx: RequestContext) -> dict[str, Any]:
    record = existing(ctx, TYPES, ctx.path_params["id"])
    if record is None or not record.get("active_flag", True):
        raise type_not_found()
    return record


async def update_type(ctx: RequestContext) -> Response:
    """PUT /v1/activityTypes/{id}."""
    body = body_object(ctx)
    with ctx.store.transaction():
        record = _type(ctx)
        updated = ctx.store.update(ctx.cid, TYPES, record["id"], _type_fields(body))
        return ok(render_type(updated))


async def delete_type(ctx: RequestContext) -> Response:
    """DELETE /v1/activityTypes/{id}: marks it inactive and returns it."""
    with ctx.store.transaction():
        record = _type(ctx)
        updated = ctx.store.update(ctx.cid, TYPES, record["id"], {"active_flag": False})
        return ok(render_type(updated))


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/api/v1/users", list_users),
    ApiRoute("POST", "/api/v1/users", add_user),
    ApiRoute("GET", "/api/v1/users/find", find_users),
    ApiRoute("GET", "/api/v1/users/me", get_me),
    ApiRoute("GET", "/api/v1/users/{id:int}", get_user),
    ApiRoute("PUT", "/api/v1/users/{id:int}", update_user),
    ApiRoute("GET", "/api/v1/activityTypes", list_types),
    ApiRoute("POST", "/api/v1/activityTypes", add_type),
    ApiRoute("PUT", "/api/v1/activityTypes/{id:int}", update_type),
    ApiRoute("DELETE", "/api/v1/activityTypes/{id:int}", delete_type),
]
