"""Helpers shared by the v1 route modules: inputs, v1 pagination, time formats, users.

Input checks raise :class:`~pdmigrate.sandbox.envelope.ApiError` worded like the
spec validator (``sandbox/spec.py``), so a request gets the same 400 whether the
spec check or the handler catches it first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from pdmigrate.sandbox.envelope import ApiError, RequestContext, json_type, validation_error
from pdmigrate.sandbox.store import parse_time, rfc3339, v1_time

V1_TIME = "%Y-%m-%d %H:%M:%S"
_V1_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORM = "application/x-www-form-urlencoded"


def required(name: str) -> ApiError:
    """400: a required parameter is missing."""
    return validation_error(name, f"Parameter '{name}' is required")


def wrong_type(name: str, expected: str, value: Any) -> ApiError:
    """400: a parameter has the wrong JSON type."""
    return validation_error(name, f"Expected '{expected}' as value, got '{json_type(value)}'")


def not_a_choice(name: str, allowed: list[str]) -> ApiError:
    """400: a value outside an enum."""
    return validation_error(
        name, f"The value you selected is not a valid choice. Allowed: {', '.join(allowed)}."
    )


def body_object(ctx: RequestContext) -> dict[str, Any]:
    """The request body as a dict: JSON, or ``application/x-www-form-urlencoded``
    (v1 takes both; form values stay strings and are coerced by the readers below)."""
    if _FORM in ctx.content_type.lower() and not isinstance(ctx.body, dict):
        text = ctx.raw_body.decode("utf-8", errors="replace")
        return dict(parse_qsl(text, keep_blank_values=True))
    return ctx.json_object()


def opt_int(body: Mapping[str, Any], name: str, *, nullable: bool = False) -> int | None:
    """An optional integer body field (form strings of digits are accepted)."""
    if name not in body:
        return None
    value = body[name]
    if value is None:
        if nullable:
            return None
        raise wrong_type(name, "integer", value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(name, "integer", value)
    return value


def opt_str(body: Mapping[str, Any], name: str, *, nullable: bool = False) -> str | None:
    """An optional string body field."""
    if name not in body:
        return None
    value = body[name]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise wrong_type(name, "string", value)
    return value


def opt_bool(body: Mapping[str, Any], name: str) -> bool | None:
    """An optional boolean body field (v1 also takes 0/1 and form "true"/"false")."""
    if name not in body:
        return None
    value = body[name]
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("0", "1", "true", "false"):
        return value.lower() in ("1", "true")
    raise wrong_type(name, "boolean", value)


def v1_input_time(body: Mapping[str, Any], name: str) -> str | None:
    """A ``YYYY-MM-DD HH:MM:SS`` (UTC) body field as the store's RFC 3339, or None."""
    raw = opt_str(body, name)
    if raw is None:
        return None
    text = raw.strip()
    if not _V1_TIME_RE.match(text):
        raise validation_error(name, "Expected format YYYY-MM-DD HH:MM:SS (UTC)")
    try:
        when = datetime.strptime(text, V1_TIME).replace(tzinfo=UTC)
    except ValueError:
        raise validation_error(name, "This value is not a valid datetime.") from None
    return rfc3339(when)


def check_date(name: str, value: str) -> str:
    """A ``YYYY-MM-DD`` date, or a 400."""
    try:
        if not _DATE_RE.match(value):
            raise ValueError(value)
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise validation_error(name, "This value is not a valid date.") from None
    return value


def v1_out(value: str | None) -> str | None:
    """A stored timestamp in v1's ``YYYY-MM-DD HH:MM:SS``."""
    return v1_time(value)


def query_int(
    ctx: RequestContext,
    name: str,
    default: int | None = None,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    """An integer query parameter, range-checked like the spec validator."""
    raw = ctx.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation_error(name, "Expected 'integer' as value, got 'string'") from None
    if minimum is not None and value < minimum:
        raise validation_error(name, f"This value should be greater than or equal to {minimum}.")
    if maximum is not None and value > maximum:
        raise validation_error(name, f"This value should be less than or equal to {maximum}.")
    return value


def query_time(ctx: RequestContext, name: str) -> datetime | None:
    """A timestamp query parameter (RFC 3339 or ``YYYY-MM-DD HH:MM:SS``)."""
    raw = ctx.query.get(name)
    if not raw:
        return None
    try:
        return parse_time(raw)
    except ValueError:
        raise validation_error(name, "This value is not a valid datetime.") from None


def updated_since(records: list[dict[str, Any]], since: datetime | None) -> list[dict[str, Any]]:
    """Records whose ``update_time`` is at or after ``since``."""
    if since is None:
        return records
    return [r for r in records if parse_time(r["update_time"]) >= since]


def sort_records(
    records: list[dict[str, Any]], sort: str | None, allowed: set[str] | None = None
) -> list[dict[str, Any]]:
    """Apply v1's ``sort`` (``"field ASC, other DESC"``); id ascending is the default."""
    out = sorted(records, key=lambda r: str(r["id"]) if isinstance(r["id"], str) else r["id"])
    if not sort:
        return out
    keys: list[tuple[str, bool]] = []
    for part in sort.split(","):
        bits = part.split()
        if not bits:
            continue
        field = bits[0]
        direction = bits[1].upper() if len(bits) > 1 else "ASC"
        if (allowed is not None and field not in allowed) or direction not in ("ASC", "DESC"):
            raise validation_error("sort", "This value is not a valid sort.")
        keys.append((field, direction == "DESC"))
    for field, descending in reversed(keys):
        out.sort(key=_sort_key(field), reverse=descending)
    return out


def _sort_key(field: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    def key(record: dict[str, Any]) -> tuple[int, Any]:
        value = record.get(field)
        if value is None:
            return (0, "")
        if isinstance(value, bool | int | float):
            return (1, value)
        return (2, str(value))

    return key


def paginate(
    ctx: RequestContext, items: list[Any], *, default_limit: int = 100, max_limit: int = 500
) -> tuple[list[Any], dict[str, Any]]:
    """One v1 page (``start``/``limit``) and its ``additional_data``:
    ``{"pagination": {start, limit, more_items_in_collection[, next_start]}}``."""
    start = query_int(ctx, "start", 0, minimum=0) or 0
    limit = query_int(ctx, "limit", default_limit, minimum=1, maximum=max_limit) or default_limit
    page = items[start : start + limit]
    more = start + limit < len(items)
    pagination: dict[str, Any] = {
        "start": start,
        "limit": limit,
        "more_items_in_collection": more,
    }
    if more:
        pagination["next_start"] = start + limit
    return page, {"pagination": pagination}


def me(ctx: RequestContext) -> dict[str, Any]:
    """The user the API token belongs to: the account's first (owner) user."""
    cached = ctx.extra.get("me")
    if isinstance(cached, dict):
        return cached
    user = ctx.store.get(ctx.cid, "users", 1)
    if user is None:
        users = ctx.store.list(ctx.cid, "users")
        if not users:
            raise ApiError(401, "unauthorized access", error_code=401)
        user = users[0]
    ctx.extra["me"] = user
    return user


def existing(ctx: RequestContext, entity: str, record_id: Any) -> dict[str, Any] | None:
    """A live record of the account, or None."""
    return ctx.store.get(ctx.cid, entity, record_id)


def parent_name(record: dict[str, Any] | None, key: str = "name") -> str:
    """The display name of a linked record ('' when there is none)."""
    if record is None:
        return ""
    value = record.get(key)
    return value if isinstance(value, str) else ""
