"""Field definitions per account: the standard fields, custom fields and their options.

Custom fields are stored as records of entity ``<object>Fields`` (``personFields``,
``organizationFields``, ``dealFields``, ``productFields``; ``activityFields`` has no
custom fields in v2). Each gets a random 40-hex ``field_code`` at creation, so two
accounts never share keys for the same field name. Enum/set options get numeric ids
from the account's ``fieldOptions`` sequence.

:func:`validate_custom_fields` applies v2's value rules (enum = option id as a number,
set = list of option ids, varchar <= 255 characters ...) and returns the values to store.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from pdmigrate.sandbox.envelope import ApiError, validation_error
from pdmigrate.sandbox.plans import get_plan
from pdmigrate.sandbox.store import Store

#: v2 entity -> the object name used in ``<object>Fields``.
FIELD_OBJECTS: dict[str, str] = {
    "persons": "person",
    "organizations": "organization",
    "deals": "deal",
    "products": "product",
    "activities": "activity",
}

CUSTOM_FIELD_TYPES: tuple[str, ...] = (
    "varchar", "text", "double", "phone", "date", "daterange", "time", "timerange",
    "set", "enum", "varchar_auto", "address", "monetary", "org", "people", "user",
)  # fmt: skip

ADDRESS_SUBFIELDS: tuple[str, ...] = (
    "country", "admin_area_level_1", "admin_area_level_2", "locality", "sublocality",
    "route", "street_number", "subpremise", "postal_code",
)  # fmt: skip

_STANDARD: dict[str, list[tuple[str, str, str]]] = {
    "person": [
        ("id", "ID", "int"), ("name", "Name", "varchar"), ("first_name", "First name", "varchar"),
        ("last_name", "Last name", "varchar"), ("owner_id", "Owner", "user"),
        ("org_id", "Organization", "org"), ("emails", "Email", "varchar"),
        ("phones", "Phone", "phone"), ("label_ids", "Labels", "set"),
        ("visible_to", "Visible to", "visible_to"), ("add_time", "Person created", "date"),
        ("update_time", "Update time", "date"), ("picture_id", "Profile picture", "picture"),
    ],
    "organization": [
        ("id", "ID", "int"), ("name", "Name", "varchar"), ("owner_id", "Owner", "user"),
        ("address", "Address", "address"), ("label_ids", "Labels", "set"),
        ("visible_to", "Visible to", "visible_to"), ("website", "Website", "varchar"),
        ("linkedin", "LinkedIn profile", "varchar"), ("industry", "Industry", "enum"),
        ("annual_revenue", "Annual revenue", "monetary"),
        ("employee_count", "Number of employees", "int"),
        ("add_time", "Organization created", "date"), ("update_time", "Update time", "date"),
    ],
    "deal": [
        ("id", "ID", "int"), ("title", "Title", "varchar"), ("owner_id", "Owner", "user"),
        ("person_id", "Contact person", "people"), ("org_id", "Organization", "org"),
        ("pipeline_id", "Pipeline", "double"), ("stage_id", "Stage", "stage"),
        ("value", "Value", "monetary"), ("currency", "Currency", "varchar"),
        ("status", "Status", "status"), ("probability", "Probability", "double"),
        ("lost_reason", "Lost reason", "varchar_options"),
        ("visible_to", "Visible to", "visible_to"), ("close_time", "Deal closed on", "date"),
        ("won_time", "Won time", "date"), ("lost_time", "Lost time", "date"),
        ("expected_close_date", "Expected close date", "date"),
        ("label_ids", "Labels", "set"), ("add_time", "Deal created", "date"),
        ("update_time", "Update time", "date"),
    ],
    "product": [
        ("id", "ID", "int"), ("name", "Name", "varchar"), ("code", "Product code", "varchar"),
        ("description", "Description", "text"), ("unit", "Unit", "varchar"),
        ("tax", "Tax", "double"), ("category", "Category", "enum"),
        ("owner_id", "Owner", "user"), ("is_linkable", "Active", "boolean"),
        ("visible_to", "Visible to", "visible_to"), ("prices", "Price", "price_list"),
        ("billing_frequency", "Billing frequency", "billing_frequency"),
    ],
    "activity": [
        ("id", "ID", "int"), ("subject", "Subject", "varchar"), ("type", "Type", "enum"),
        ("owner_id", "Assigned to user", "user"), ("deal_id", "Deal", "deal"),
        ("lead_id", "Lead", "lead"), ("person_id", "Contact person", "people"),
        ("org_id", "Organization", "org"), ("due_date", "Due date", "date"),
        ("due_time", "Due time", "time"), ("duration", "Duration", "time"),
        ("busy", "Free/busy", "enum"), ("done", "Done", "boolean"),
        ("location", "Location", "address"), ("note", "Note", "text"),
        ("public_description", "Public description", "text"),
        ("priority", "Priority", "enum"), ("add_time", "Add time", "date"),
        ("update_time", "Update time", "date"),
    ],
}  # fmt: skip

_CONTACT_SYNC_FIELDS: list[tuple[str, str, str]] = [
    ("postal_address", "Postal address", "address"), ("notes", "Notes", "text"),
    ("im", "Instant messenger", "varchar"), ("birthday", "Birthday", "date"),
    ("job_title", "Job title", "varchar"),
]  # fmt: skip

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2})?$")


def new_field_code() -> str:
    """A fresh random 40-hex custom field key."""
    return secrets.token_hex(20)


def field_entity(obj: str) -> str:
    """The store entity holding an object's custom fields, e.g. ``personFields``."""
    return f"{obj}Fields"


def standard_fields(obj: str, *, contact_sync: bool = False) -> list[dict[str, Any]]:
    """The built-in (non-custom) fields of ``obj`` as v2 field objects."""
    rows = list(_STANDARD[obj])
    if obj == "person" and contact_sync:
        rows += _CONTACT_SYNC_FIELDS
    return [
        {
            "field_name": name,
            "field_code": code,
            "field_type": ftype,
            "options": None,
            "subfields": None,
            "is_custom_field": False,
            "is_optional_response_field": False,
        }
        for code, name, ftype in rows
    ]


def custom_fields(store: Store, cid: int, obj: str) -> list[dict[str, Any]]:
    """The account's live custom fields of ``obj`` (in creation order)."""
    if obj == "activity":
        return []
    return store.list(cid, field_entity(obj))


def custom_by_code(store: Store, cid: int, obj: str) -> dict[str, dict[str, Any]]:
    """The account's live custom fields of ``obj`` keyed by ``field_code``."""
    return {f["field_code"]: f for f in custom_fields(store, cid, obj)}


OPTIONAL_FIELD_KEYS: tuple[str, ...] = ("ui_visibility", "important_fields", "required_fields")


def public_field(doc: dict[str, Any], include: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A stored custom field as the API shows it (without the store's bookkeeping).

    ``include`` names the optional keys (``ui_visibility important_fields
    required_fields``) to keep, as ``include_fields`` asks; None keeps them all.
    """
    hidden = {"id", "add_time", "update_time"}
    if include is not None:
        hidden |= set(OPTIONAL_FIELD_KEYS) - set(include)
    return {k: v for k, v in doc.items() if k not in hidden}


def total_custom_fields(store: Store, cid: int) -> int:
    """How many live custom fields the account has over all objects."""
    return sum(store.count(cid, field_entity(o)) for o in FIELD_OBJECTS.values())


def custom_field_cap(plan: str) -> int:
    """The plan's custom-field cap per company (from ``plans.py``)."""
    return get_plan(plan).custom_field_cap


def make_options(store: Store, cid: int, labels: list[Any], now: str) -> list[dict[str, Any]]:
    """New options with ids from the account's option sequence; validates labels."""
    out: list[dict[str, Any]] = []
    for i, item in enumerate(labels):
        label = item.get("label") if isinstance(item, dict) else None
        if not isinstance(label, str) or not label.strip():
            raise validation_error(f"options[{i}].label", "Expected a non-empty string")
        out.append(
            {
                "id": store.next_id(cid, "fieldOptions"),
                "label": label,
                "color": None,
                "add_time": now,
                "update_time": now,
            }
        )
    return out


def build_custom_field(
    store: Store, cid: int, obj: str, body: dict[str, Any], now: str
) -> dict[str, Any]:
    """Validate a ``POST /<obj>Fields`` body and return the new field's document."""
    allowed = {"field_name", "field_type", "options", "ui_visibility"}
    if obj != "product":
        allowed |= {"important_fields", "required_fields"}
    if obj == "deal":
        allowed.add("description")
    for key in body:
        if key not in allowed:
            raise validation_error(key, f"Parameter '{key}' is not allowed for this request")
    name = body.get("field_name")
    if name is None:
        raise validation_error("field_name", "Parameter 'field_name' is required")
    if not isinstance(name, str) or not name.strip():
        raise validation_error("field_name", "Parameter 'field_name' must not be empty")
    if len(name) > 255:
        raise validation_error("field_name", "Must be at most 255 characters long")
    ftype = body.get("field_type")
    if ftype not in CUSTOM_FIELD_TYPES:
        raise validation_error("field_type", "Must be one of " + ", ".join(CUSTOM_FIELD_TYPES))
    raw_options = body.get("options")
    options: list[dict[str, Any]] | None = None
    if ftype in ("enum", "set"):
        if not isinstance(raw_options, list) or not raw_options:
            raise validation_error("options", "Required for enum and set field types")
        options = make_options(store, cid, raw_options, now)
    elif raw_options is not None:
        raise validation_error("options", "Only enum and set fields have options")
    code = new_field_code()
    doc: dict[str, Any] = {
        "field_code": code,
        "field_name": name,
        "field_type": ftype,
        "options": options,
        "subfields": _subfields(code, ftype),
        "is_custom_field": True,
        "is_optional_response_field": False,
        "ui_visibility": body.get(
            "ui_visibility", {"add_visible_flag": False, "details_visible_flag": True}
        ),
    }
    if obj != "product":
        doc["important_fields"] = body.get("important_fields", {"enabled": False})
        doc["required_fields"] = body.get("required_fields", {"enabled": False})
    if obj == "deal" and "description" in body:
        doc["description"] = body["description"]
    return doc


def _subfields(code: str, ftype: str) -> list[dict[str, str]] | None:
    """The parts of a composite field, keyed ``<field_code>_<part>`` as Pipedrive does."""
    parts: tuple[tuple[str, str], ...] = ()
    if ftype == "address":
        parts = tuple((sub, sub.replace("_", " ").capitalize()) for sub in ADDRESS_SUBFIELDS)
    elif ftype == "monetary":
        parts = (("currency", "Currency"),)
    elif ftype in ("daterange", "timerange"):
        parts = (("until", "Until"),)
    if not parts:
        return None
    return [
        {"field_code": f"{code}_{part}", "field_name": name, "field_type": "varchar"}
        for part, name in parts
    ]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_value(store: Store, cid: int, key: str, field: dict[str, Any], value: Any) -> Any:
    ftype = field["field_type"]
    where = "custom_fields"
    option_ids = {o["id"] for o in field.get("options") or []}
    if ftype in ("varchar", "varchar_auto", "phone", "text"):
        if not isinstance(value, str):
            raise validation_error(where, f"Expected 'string' as value for custom field '{key}'")
        limit = 65535 if ftype == "text" else 255
        if len(value) > limit:
            raise validation_error(
                where, f"Value for custom field '{key}' must be at most {limit} characters long"
            )
        return value
    if ftype == "double":
        if not _is_number(value):
            raise validation_error(where, "Expected 'number' as value for numeric custom field")
        return value
    if ftype == "enum":
        if not isinstance(value, int) or isinstance(value, bool):
            raise validation_error(
                where, "Expected 'number' as value for single option custom field"
            )
        if value not in option_ids:
            raise validation_error(where, f"Option {value} does not exist for field '{key}'")
        return value
    if ftype == "set":
        if not isinstance(value, list) or not value:
            raise validation_error(
                where, "Expected a non-empty 'array' of option ids for multiple option custom field"
            )
        for item in value:
            if not isinstance(item, int) or isinstance(item, bool):
                raise validation_error(
                    where, "Expected 'number' as value for multiple option custom field"
                )
            if item not in option_ids:
                raise validation_error(where, f"Option {item} does not exist for field '{key}'")
        return value
    if ftype == "monetary":
        if not (isinstance(value, dict) and _is_number(value.get("value"))):
            raise validation_error(where, f"Expected {{value, currency}} for custom field '{key}'")
        currency = value.get("currency")
        if currency is not None and not isinstance(currency, str):
            raise validation_error(where, f"Expected 'string' currency for custom field '{key}'")
        return {"value": value["value"], "currency": currency}
    if ftype == "date":
        if not isinstance(value, str) or not _DATE.match(value):
            raise validation_error(where, f"Expected 'YYYY-MM-DD' for custom field '{key}'")
        return value
    if ftype == "time":
        if not isinstance(value, str) or not _TIME.match(value):
            raise validation_error(where, f"Expected 'HH:MM:SS' for custom field '{key}'")
        return value
    if ftype in ("daterange", "timerange"):
        pattern = _DATE if ftype == "daterange" else _TIME
        ok = isinstance(value, dict) and all(
            isinstance(value.get(k), str) and pattern.match(value[k]) for k in ("value", "until")
        )
        if not ok:
            raise validation_error(where, f"Expected {{value, until}} for custom field '{key}'")
        out = {"value": value["value"], "until": value["until"]}
        if ftype == "timerange":
            out["timezone_name"] = value.get("timezone_name")
        return out
    if ftype == "address":
        if not (isinstance(value, dict) and isinstance(value.get("value"), str)):
            raise validation_error(where, f"Expected {{value, ...}} for custom field '{key}'")
        return {"value": value["value"], **{s: value.get(s) for s in ADDRESS_SUBFIELDS}}
    # org / people / user: a bare id of a record that exists
    entity = {"org": "organizations", "people": "persons", "user": "users"}[ftype]
    if not isinstance(value, int) or isinstance(value, bool):
        raise validation_error(where, f"Expected 'number' as value for custom field '{key}'")
    if store.get(cid, entity, value) is None:
        raise validation_error(where, f"Referenced item {value} of field '{key}' does not exist")
    return value


def validate_custom_fields(store: Store, cid: int, obj: str, value: Any) -> dict[str, Any]:
    """Check a v2 ``custom_fields`` object; return ``{key: stored value or None}``."""
    if not isinstance(value, dict):
        raise validation_error("custom_fields", "Expected 'object' as value")
    known = custom_by_code(store, cid, obj)
    out: dict[str, Any] = {}
    for key, item in value.items():
        field = known.get(key)
        if field is None:
            raise validation_error("custom_fields", f"Custom field '{key}' does not exist")
        out[key] = None if item is None else _check_value(store, cid, key, field, item)
    return out


def capping_error(what: str, code: str) -> ApiError:
    """403 for an account limit, with Pipedrive's ``code`` [CAP]."""
    return ApiError(403, f"You have reached the limit of {what} for your plan", code=code)
