"""Per-entity v2 rules: which body keys each create/update takes, their types, the live
rules the spec does not express, defaults, and how a stored record is rendered.

:func:`prepare` turns a request body into the changes to store (raising
:class:`~pdmigrate.sandbox.envelope.ApiError` on a broken rule); :func:`render` turns a
stored record into the v2 response object. Choices where Pipedrive's behaviour is not
documented, made once here:

- Contact Sync fields (``postal_address notes im birthday job_title``) on an account
  without Contact Sync are rejected like any key the account does not have: 400
  ``ERR_SCHEMA_VALIDATION_FAILED`` "Parameter '<key>' is not allowed for this request".
- A reference to a missing record (``org_id``, ``person_id``, ``stage_id`` ...) is a 400
  ``ERR_BAD_REQUEST`` "<Entity> with id <n> not found".
- ``name``/``title``/``subject`` and other standard varchar keys are capped at 255 chars.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pdmigrate.sandbox import fields
from pdmigrate.sandbox.envelope import (
    ApiError,
    bad_request,
    json_type,
    not_allowed,
    validation_error,
)
from pdmigrate.sandbox.plans import get_plan
from pdmigrate.sandbox.store import Account, Store, parse_time, rfc3339

CONTACT_SYNC_KEYS = ("postal_address", "notes", "im", "birthday", "job_title")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HHMM = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")
_LABELS = {"persons": "Person", "organizations": "Organization", "deals": "Deal",
           "activities": "Activity", "products": "Product", "pipelines": "Pipeline",
           "stages": "Stage", "users": "User"}  # fmt: skip

_ADDRESS = ("value", *fields.ADDRESS_SUBFIELDS)

# key -> kind. Kinds: str, text, int, num, bool, ids (int list), date, time, datetime,
# contacts ([{value, primary, label}]), address, custom, any
_KEYS: dict[str, dict[str, str]] = {
    "persons": {"name": "str", "owner_id": "int", "org_id": "int", "add_time": "datetime",
                "emails": "contacts", "phones": "contacts", "visible_to": "int",
                "label_ids": "ids", "postal_address": "address", "notes": "text",
                "im": "contacts", "birthday": "date", "job_title": "str",
                "marketing_status": "str", "custom_fields": "custom"},
    "organizations": {"name": "str", "owner_id": "int", "add_time": "datetime",
                      "visible_to": "int", "label_ids": "ids", "address": "address",
                      "website": "str", "linkedin": "str", "industry": "int",
                      "annual_revenue": "int", "employee_count": "int", "custom_fields": "custom"},
    "deals": {"title": "str", "owner_id": "int", "person_id": "int", "org_id": "int",
              "pipeline_id": "int", "stage_id": "int", "value": "num", "currency": "str",
              "is_deleted": "bool", "is_archived": "bool", "archive_time": "any",
              "status": "str", "probability": "num", "lost_reason": "str", "visible_to": "int",
              "close_time": "datetime", "won_time": "datetime", "lost_time": "datetime",
              "expected_close_date": "date", "label_ids": "ids", "custom_fields": "custom"},
    "activities": {"subject": "str", "type": "str", "owner_id": "int", "deal_id": "int",
                   "lead_id": "any", "person_id": "int", "org_id": "int", "project_id": "int",
                   "due_date": "date", "due_time": "time", "duration": "time", "busy": "bool",
                   "done": "bool", "location": "address", "participants": "any",
                   "attendees": "any", "public_description": "text", "priority": "int",
                   "note": "text"},
    "products": {"name": "str", "code": "str", "description": "text", "unit": "str",
                 "tax": "num", "category": "any", "owner_id": "int", "is_linkable": "bool",
                 "visible_to": "int", "prices": "any", "custom_fields": "custom",
                 "billing_frequency": "str", "billing_frequency_cycles": "any"},
    "pipelines": {"name": "str", "is_deal_probability_enabled": "bool"},
    "stages": {"name": "str", "pipeline_id": "int", "deal_probability": "int",
               "is_deal_rot_enabled": "bool", "days_to_rotten": "any"},
}  # fmt: skip
_REQUIRED = {"organizations": "name", "persons": "name", "deals": "title", "products": "name",
             "pipelines": "name", "stages": "name"}  # fmt: skip
_TYPE_NAMES = {"str": "string", "text": "string", "int": "integer", "num": "number",
               "bool": "boolean", "ids": "array", "contacts": "array", "address": "object",
               "custom": "object", "date": "string", "time": "string",
               "datetime": "string"}  # fmt: skip
_REFS = {"owner_id": "users", "org_id": "organizations", "person_id": "persons",
         "deal_id": "deals", "pipeline_id": "pipelines", "stage_id": "stages"}  # fmt: skip

#: Key order of each entity's response object, as the v2 spec lists them.
_ORDER: dict[str, tuple[str, ...]] = {
    "persons": ("id", "name", "first_name", "last_name", "owner_id", "org_id", "add_time",
        "update_time", "emails", "phones", "is_deleted", "visible_to", "label_ids",
        "picture_id", "postal_address", "notes", "im", "birthday", "job_title",
        "custom_fields"),
    "organizations": ("id", "name", "owner_id", "add_time", "update_time", "is_deleted",
        "visible_to", "address", "label_ids", "website", "linkedin", "industry",
        "annual_revenue", "employee_count", "custom_fields"),
    "deals": ("id", "title", "owner_id", "person_id", "org_id", "pipeline_id", "stage_id",
        "value", "currency", "add_time", "update_time", "stage_change_time", "is_deleted",
        "is_archived", "status", "probability", "lost_reason", "visible_to", "close_time",
        "won_time", "lost_time", "expected_close_date", "label_ids", "origin", "origin_id",
        "channel", "channel_id", "source_lead_id", "arr", "mrr", "acv", "custom_fields"),
    "activities": ("id", "subject", "type", "owner_id", "creator_user_id", "is_deleted",
        "add_time", "update_time", "deal_id", "lead_id", "person_id", "org_id", "project_id",
        "due_date", "due_time", "duration", "busy", "done", "marked_as_done_time", "location",
        "participants", "attendees", "conference_meeting_client", "conference_meeting_url",
        "conference_meeting_id", "public_description", "priority", "note"),
    "products": ("id", "name", "code", "unit", "tax", "is_deleted", "is_linkable",
        "visible_to", "owner_id", "add_time", "update_time", "description", "category",
        "custom_fields", "billing_frequency", "billing_frequency_cycles", "prices"),
    "pipelines": ("id", "name", "order_nr", "is_deleted", "is_deal_probability_enabled",
        "add_time", "update_time"),
    "stages": ("id", "order_nr", "name", "is_deleted", "deal_probability", "pipeline_id",
        "is_deal_rot_enabled", "days_to_rotten", "add_time", "update_time"),
}  # fmt: skip


@dataclass
class Ctx:
    """What the rules need: the store, the account and the current time."""

    store: Store
    account: Account
    now: str

    @property
    def cid(self) -> int:
        """The account's company id."""
        return self.account.company_id


def label(entity: str) -> str:
    """``persons`` -> ``Person`` (for messages)."""
    return _LABELS.get(entity, entity.rstrip("s").capitalize())


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_kind(key: str, kind: str, value: Any) -> Any:
    if value is None and kind in ("ids", "contacts"):
        return []
    if value is None or kind in ("any", "custom"):
        return value
    expected = _TYPE_NAMES[kind]
    bad = validation_error(key, f"Expected '{expected}' as value, got '{json_type(value)}'")
    if kind in ("str", "text"):
        if not isinstance(value, str):
            raise bad
        limit = 255 if kind == "str" else 100_000
        if key == "notes":
            limit = 10_000
        if len(value) > limit:
            raise validation_error(key, f"Must be at most {limit} characters long")
        return value
    if kind == "int":
        if not _is_int(value):
            raise bad
        return value
    if kind == "num":
        if not _is_num(value):
            raise bad
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if kind == "ids":
        if not isinstance(value, list) or not all(_is_int(v) for v in value):
            raise bad
        return value
    if kind == "date":
        if not isinstance(value, str) or not _DATE.match(value):
            raise validation_error(key, "This value is not a valid date (YYYY-MM-DD).")
        return value
    if kind == "time":
        if not isinstance(value, str) or not _HHMM.match(value):
            raise validation_error(key, "This value is not a valid time (HH:MM).")
        return value[:5]
    if kind == "datetime":
        try:
            return rfc3339(parse_time(value))
        except (AttributeError, TypeError, ValueError):
            raise validation_error(key, "This value is not a valid datetime.") from None
    if kind == "contacts":
        return _contacts(key, value)
    if kind == "address":
        if not isinstance(value, dict) or not isinstance(value.get("value", ""), str):
            raise bad
        extra = sorted(set(value) - set(_ADDRESS))
        if extra:
            raise not_allowed(f"{key}.{extra[0]}")
        return {k: value.get(k) for k in _ADDRESS}
    raise AssertionError(kind)  # pragma: no cover


def _contacts(key: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise validation_error(key, "Expected 'array' as value")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise validation_error(f"{key}[{i}].value", "Expected 'string' as value")
        extra = sorted(set(item) - {"value", "primary", "label"})
        if extra:
            raise not_allowed(f"{key}[{i}].{extra[0]}")
        if not isinstance(item.get("primary", False), bool):
            raise validation_error(f"{key}[{i}].primary", "Expected 'boolean' as value")
        if not isinstance(item.get("label", ""), str):
            raise validation_error(f"{key}[{i}].label", "Expected 'string' as value")
        if len(item["value"]) > 255:
            raise validation_error(f"{key}[{i}].value", "Must be at most 255 characters long")
        out.append(
            {"value": item["value"], "primary": item.get("primary", False),
             "label": item.get("label", "work")}
        )  # fmt: skip
    if out and not any(c["primary"] for c in out):
        out[0]["primary"] = True
    return out


def _ref(ctx: Ctx, key: str, entity: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    doc = ctx.store.get(ctx.cid, entity, value)
    if doc is None:
        raise bad_request(f"{label(entity)} with id {value} not found")
    return doc


def default_owner(ctx: Ctx) -> int | None:
    """The account's first active user (the token owner)."""
    users = [u for u in ctx.store.list(ctx.cid, "users") if u.get("active_flag", True)]
    return int(users[0]["id"]) if users else None


def default_visible_to(account: Account) -> int:
    """3 (entire company) on Lite/Growth, 7 on Premium/Ultimate."""
    return 7 if account.plan in ("premium", "ultimate") else 3


def deal_cap(account: Account) -> int:
    """Deals plus leads the account may hold: plan's per-seat cap x seats, <= 300,000."""
    return get_plan(account.plan).deals_leads_cap(account.seats)


def prepare(
    ctx: Ctx, entity: str, body: dict[str, Any], existing: dict[str, Any] | None
) -> dict[str, Any]:
    """Validate a create (``existing`` None) or update body; return the changes to store."""
    creating = existing is None
    keys = _KEYS[entity]
    if entity == "activities" and "person_id" in body:
        raise bad_request(
            "'person_id' is a read-only field. Add a primary participant to set "
            "'person_id' instead."
        )
    for key in body:
        if key not in keys:
            raise not_allowed(key)
        if key == "add_time" and not creating:
            raise not_allowed(key)
        if key in CONTACT_SYNC_KEYS and entity == "persons" and not ctx.account.contact_sync:
            raise not_allowed(key)
    changes: dict[str, Any] = {}
    for key, value in body.items():
        changes[key] = _check_kind(key, keys[key], value)
    required = _REQUIRED.get(entity)
    if required and (creating or required in body):
        value = changes.get(required)
        if value is None:
            raise validation_error(required, f"Parameter '{required}' is required")
        if not value.strip():
            raise validation_error(required, f"Parameter '{required}' must not be empty")
    for key, ref in _REFS.items():
        if key in changes and key in keys and not (entity == "stages" and key == "stage_id"):
            _ref(ctx, key, ref, changes[key])
    if "custom_fields" in changes:
        obj = fields.FIELD_OBJECTS[entity]
        merged = dict((existing or {}).get("custom_fields") or {})
        merged.update(
            fields.validate_custom_fields(ctx.store, ctx.cid, obj, changes["custom_fields"])
        )
        changes["custom_fields"] = {k: v for k, v in merged.items() if v is not None}
    levels = (1, 3, 5, 7) if ctx.account.plan in ("premium", "ultimate") else (1, 3)
    if "visible_to" in changes and changes["visible_to"] not in levels:
        raise validation_error(
            "visible_to", "Must be one of " + ", ".join(map(str, levels)) + " on this plan"
        )
    rules = _RULES.get(entity)
    if rules is not None:
        rules(ctx, changes, existing)
    if creating:
        changes = {**_defaults(ctx, entity), **changes}
    return changes


def _defaults(ctx: Ctx, entity: str) -> dict[str, Any]:
    owner = default_owner(ctx)
    vis = default_visible_to(ctx.account)
    if entity == "persons":
        base: dict[str, Any] = {"owner_id": owner, "org_id": None, "emails": [], "phones": [],
                                "is_deleted": False, "visible_to": vis, "label_ids": [],
                                "picture_id": None, "custom_fields": {}}  # fmt: skip
        if ctx.account.contact_sync:
            base.update({"postal_address": None, "notes": None, "im": [], "birthday": None,
                         "job_title": None})  # fmt: skip
        return base
    if entity == "organizations":
        return {"owner_id": owner, "is_deleted": False, "visible_to": vis, "address": None,
                "label_ids": [], "website": None, "linkedin": None, "industry": None,
                "annual_revenue": None, "employee_count": None, "custom_fields": {}}  # fmt: skip
    if entity == "deals":
        return {"owner_id": owner, "person_id": None, "org_id": None, "value": 0,
                "currency": ctx.account.currency, "stage_change_time": None,
                "is_deleted": False, "is_archived": False, "archive_time": None,
                "status": "open", "probability": None, "lost_reason": None, "visible_to": vis,
                "close_time": None, "won_time": None, "lost_time": None,
                "expected_close_date": None, "label_ids": [], "origin": "API",
                "origin_id": None, "channel": None, "channel_id": None,
                "source_lead_id": None, "arr": None, "mrr": None, "acv": None,
                "custom_fields": {}}  # fmt: skip
    if entity == "activities":
        return {"subject": None, "type": "task", "owner_id": owner, "creator_user_id": owner,
                "is_deleted": False, "deal_id": None, "lead_id": None, "person_id": None,
                "org_id": None, "project_id": None, "due_date": None, "due_time": None,
                "duration": None, "busy": False, "done": False, "marked_as_done_time": None,
                "location": None, "participants": [], "attendees": [],
                "conference_meeting_client": None, "conference_meeting_url": None,
                "conference_meeting_id": None, "public_description": None, "priority": None,
                "note": None}  # fmt: skip
    if entity == "products":
        return {"code": None, "unit": None, "tax": 0, "is_deleted": False, "is_linkable": True,
                "visible_to": vis, "owner_id": owner, "description": None, "category": None,
                "custom_fields": {}, "billing_frequency": "one-time",
                "billing_frequency_cycles": None, "prices": []}  # fmt: skip
    if entity == "pipelines":
        order = ctx.store.count(ctx.cid, "pipelines") + 1
        return {"order_nr": order, "is_deleted": False, "is_deal_probability_enabled": False}
    return {"is_deleted": False, "deal_probability": 100, "is_deal_rot_enabled": False,
            "days_to_rotten": None}  # fmt: skip


def _persons(ctx: Ctx, changes: dict[str, Any], existing: dict[str, Any] | None) -> None:
    if "name" in changes:
        parts = changes["name"].strip().split(" ", 1)
        changes["first_name"] = parts[0]
        changes["last_name"] = parts[1] if len(parts) > 1 else None
    status = changes.get("marketing_status")
    if status is not None and status not in ("no_consent", "unsubscribed", "subscribed",
                                              "archived"):  # fmt: skip
        raise validation_error("marketing_status", "Must be one of no_consent, unsubscribed, "
                               "subscribed, archived")  # fmt: skip


def first_stage(ctx: Ctx, pipeline_id: int) -> dict[str, Any] | None:
    """The pipeline's first live stage by ``order_nr``."""
    stages = [s for s in ctx.store.list(ctx.cid, "stages") if s["pipeline_id"] == pipeline_id]
    return min(stages, key=lambda s: (s["order_nr"], s["id"])) if stages else None


def _deals(ctx: Ctx, changes: dict[str, Any], existing: dict[str, Any] | None) -> None:
    before = existing or {}
    if "stage_id" in changes and changes["stage_id"] is not None:
        stage = _ref(ctx, "stage_id", "stages", changes["stage_id"])
        assert stage is not None
        pipeline = changes.get("pipeline_id")
        if pipeline is not None and pipeline != stage["pipeline_id"]:
            raise bad_request(
                f"Stage with id {stage['id']} does not belong to pipeline with id {pipeline}"
            )
        changes["pipeline_id"] = stage["pipeline_id"]
    elif changes.get("pipeline_id") is not None:
        if changes["pipeline_id"] != before.get("pipeline_id"):
            stage = first_stage(ctx, changes["pipeline_id"])
            if stage is None:
                raise bad_request(f"Pipeline with id {changes['pipeline_id']} has no stages")
            changes["stage_id"] = stage["id"]
    elif existing is None:
        pipelines = ctx.store.list(ctx.cid, "pipelines")
        stage = first_stage(ctx, pipelines[0]["id"]) if pipelines else None
        if stage is None:
            raise bad_request("The account has no pipeline with stages to put the deal in")
        changes["pipeline_id"], changes["stage_id"] = stage["pipeline_id"], stage["id"]
    if existing is not None and changes.get("stage_id", before.get("stage_id")) != before.get(
        "stage_id"
    ):
        changes["stage_change_time"] = ctx.now
    status = changes.get("status", before.get("status", "open"))
    if status not in ("open", "won", "lost"):
        raise validation_error("status", "Must be one of open, won, lost")
    rules = {"won_time": ("won",), "lost_time": ("lost",), "lost_reason": ("lost",),
             "close_time": ("won", "lost")}  # fmt: skip
    for key, states in rules.items():
        if changes.get(key) is not None and status not in states:
            raise bad_request(f"'{key}' can only be set when the deal status is "
                              + " or ".join(f"'{s}'" for s in states))  # fmt: skip
    if "status" in changes and changes["status"] != before.get("status"):
        if status == "won":
            changes.setdefault("won_time", ctx.now)
            changes.update(lost_time=None, lost_reason=None)
        elif status == "lost":
            changes.setdefault("lost_time", ctx.now)
            changes["won_time"] = None
        else:
            changes.update(won_time=None, lost_time=None, lost_reason=None, close_time=None)
        if status != "open":
            changes.setdefault("close_time", changes.get("won_time") or changes.get("lost_time"))
    if "is_archived" in changes:
        changes["archive_time"] = ctx.now if changes["is_archived"] else None
    changes.pop("is_deleted", None)
    probability = changes.get("probability")
    if probability is not None and not 0 <= probability <= 100:
        raise validation_error("probability", "Must be between 0 and 100")
    held = ctx.store.count(ctx.cid, "deals") + ctx.store.count(ctx.cid, "leads")
    if existing is None and held >= deal_cap(ctx.account):
        raise fields.capping_error("deals", "feature_capping_deals_limit")


def _activities(ctx: Ctx, changes: dict[str, Any], existing: dict[str, Any] | None) -> None:
    if "type" in changes:
        keys = {t.get("key_string") for t in ctx.store.list(ctx.cid, "activityTypes")
                if t.get("active_flag", True)}  # fmt: skip
        if changes["type"] not in keys:
            raise validation_error("type", f"Activity type '{changes['type']}' does not exist")
    if existing is None and not changes.get("subject"):
        kind = changes.get("type", "task")
        types = {
            t.get("key_string"): t.get("name") for t in ctx.store.list(ctx.cid, "activityTypes")
        }
        changes["subject"] = types.get(kind) or kind.capitalize()
    for key in ("org_id", "deal_id"):
        _ref(ctx, key, _REFS[key], changes.get(key))
    if "participants" in changes:
        parts = changes["participants"] or []
        if not isinstance(parts, list):
            raise validation_error("participants", "Expected 'array' as value")
        clean: list[dict[str, Any]] = []
        for i, item in enumerate(parts):
            pid = item.get("person_id") if isinstance(item, dict) else None
            if not _is_int(pid):
                raise validation_error(
                    f"participants[{i}].person_id", "Expected 'integer' as value"
                )
            primary = item.get("primary", False)
            if not isinstance(primary, bool):
                raise validation_error(f"participants[{i}].primary", "Expected 'boolean' as value")
            _ref(ctx, "person_id", "persons", pid)
            clean.append({"person_id": pid, "primary": primary})
        if sum(p["primary"] for p in clean) > 1:
            raise bad_request("Only one participant can be primary")
        changes["participants"] = clean
        changes["person_id"] = next((p["person_id"] for p in clean if p["primary"]), None)
    if "attendees" in changes:
        changes["attendees"] = _attendees(ctx, changes["attendees"])
    if "done" in changes:
        was = bool((existing or {}).get("done"))
        if changes["done"] and not was:
            changes["marked_as_done_time"] = ctx.now
        elif not changes["done"]:
            changes["marked_as_done_time"] = None


def _attendees(ctx: Ctx, value: Any) -> list[dict[str, Any]]:
    """Activity attendees: objects naming a user, a person or an email (ids must exist)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise validation_error("attendees", "Expected 'array' as value")
    clean: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise validation_error(f"attendees[{i}]", "Expected 'object' as value")
        out: dict[str, Any] = {}
        for key, table in (("user_id", "users"), ("person_id", "persons")):
            if item.get(key) is not None:
                if not _is_int(item[key]):
                    raise validation_error(f"attendees[{i}].{key}", "Expected 'integer' as value")
                _ref(ctx, key, table, item[key])
                out[key] = item[key]
        for key in ("email", "name", "status"):
            if item.get(key) is not None:
                if not isinstance(item[key], str):
                    raise validation_error(f"attendees[{i}].{key}", "Expected 'string' as value")
                out[key] = item[key]
        if not out:
            raise validation_error(
                f"attendees[{i}]", "An attendee needs user_id, person_id or email"
            )
        out["is_organizer"] = bool(item.get("is_organizer", False))
        clean.append(out)
    return clean


def _products(ctx: Ctx, changes: dict[str, Any], existing: dict[str, Any] | None) -> None:
    category = changes.get("category")
    if category is not None:
        if not _is_num(category) and not isinstance(category, str):
            raise validation_error(
                "category", f"Expected 'number' as value, got '{json_type(category)}'"
            )
        # The request takes a number, the answer shows it as a string (both per the spec).
        changes["category"] = str(category)
    freq = changes.get("billing_frequency")
    allowed = ("one-time", "annually", "semi-annually", "quarterly", "monthly", "weekly")
    if freq is not None and freq not in allowed:
        raise validation_error("billing_frequency", "Must be one of " + ", ".join(allowed))
    if "prices" in changes or existing is None:
        raw = changes.get("prices")
        if raw is None:
            raw = [{"currency": ctx.account.currency, "price": 0}]
        if not isinstance(raw, list):
            raise validation_error("prices", "Expected 'array' as value")
        seen: set[str] = set()
        prices: list[dict[str, Any]] = []
        for i, p in enumerate(raw):
            if not isinstance(p, dict) or not isinstance(p.get("currency"), str):
                raise validation_error(f"prices[{i}].currency", "Expected 'string' as value")
            if not _is_num(p.get("price", 0)):
                raise validation_error(f"prices[{i}].price", "Expected 'number' as value")
            if p["currency"] in seen:
                raise bad_request("There can only be one price per product per currency")
            seen.add(p["currency"])
            prices.append({"price": p.get("price", 0), "currency": p["currency"],
                           "cost": p.get("cost", 0), "direct_cost": p.get("direct_cost"),
                           "notes": p.get("notes", "")})  # fmt: skip
        changes["prices"] = prices


def _stages(ctx: Ctx, changes: dict[str, Any], existing: dict[str, Any] | None) -> None:
    if existing is None and changes.get("pipeline_id") is None:
        raise validation_error("pipeline_id", "Parameter 'pipeline_id' is required")
    if existing is None:
        pid = changes["pipeline_id"]
        siblings = [s for s in ctx.store.list(ctx.cid, "stages") if s["pipeline_id"] == pid]
        changes["order_nr"] = max((s["order_nr"] for s in siblings), default=0) + 1
    prob = changes.get("deal_probability")
    if prob is not None and not 0 <= prob <= 100:
        raise validation_error("deal_probability", "Must be between 0 and 100")


_RULES = {"persons": _persons, "deals": _deals, "activities": _activities,
          "products": _products, "stages": _stages}  # fmt: skip


def reject_top_level_hex(body: dict[str, Any]) -> None:
    """A custom-field key at the top level of a v2 body: 400 (client-nodejs#651)."""
    for key in body:
        if _HEX40.match(key):
            raise not_allowed(key)


def render(
    store: Store,
    account: Account,
    entity: str,
    doc: dict[str, Any],
    custom_codes: list[str] | None = None,
) -> dict[str, Any]:
    """A stored record as the v2 API returns it.

    ``custom_codes`` (the account's custom field keys of this entity, from
    :func:`custom_codes_for`) saves re-reading the field definitions per record of a page.
    """
    order = _ORDER.get(entity, ())
    out = {k: doc[k] for k in order if k in doc}
    out.update((k, v) for k, v in doc.items() if k not in out and not k.startswith("_"))
    out.pop("marketing_status", None)
    if entity == "persons":
        for key in CONTACT_SYNC_KEYS:
            if not account.contact_sync:
                out.pop(key, None)
            elif out.get(key) is None:
                out[key] = [] if key == "im" else None
    if entity == "products":
        out["prices"] = [{"product_id": doc["id"], **p} for p in doc.get("prices") or []]
    obj = fields.FIELD_OBJECTS.get(entity)
    if obj is not None and obj != "activity":
        codes = (
            custom_codes if custom_codes is not None else custom_codes_for(store, account, entity)
        )
        values = doc.get("custom_fields") or {}
        out["custom_fields"] = {code: values.get(code) for code in codes}
    return out


def custom_codes_for(store: Store, account: Account, entity: str) -> list[str]:
    """The keys of the account's live custom fields of ``entity`` (empty if it has none)."""
    obj = fields.FIELD_OBJECTS.get(entity)
    if obj is None or obj == "activity":
        return []
    return list(fields.custom_by_code(store, account.company_id, obj))


def check_exists(store: Store, cid: int, entity: str, record_id: int) -> dict[str, Any]:
    """The live record or a 404 ``<Entity> not found``."""
    doc = store.get(cid, entity, record_id)
    if doc is None:
        raise ApiError(404, f"{label(entity)} not found")
    return doc
