"""Payload -> Pipedrive request body. Pure: names become keys, refs become ids.

A :class:`~pdmigrate.mapping.payload.Payload` holds field *names* and links by source
identity. :func:`build_body` turns one into the JSON body of its create call:

* native fields are checked against the endpoint's request keys and reshaped where
  the API wants another shape (``location``/``address``/``postal_address`` objects,
  ``prices`` list, RFC 3339 ``add_time`` on v2, ``YYYY-MM-DD HH:MM:SS`` on v1 notes);
* other names are custom fields, resolved through ``field_keys`` to 40-char keys,
  enum/set labels to option ids, numbers and money to the type's shape;
* ``pipeline``/``stage`` become ids; ``type`` an activity type's ``key_string``;
  owners (``owner_id``/``user_id``) go through the plan's owner resolution;
* links (``org_id``, ``person_id``, ``deal_id``, ``participants``...) become ids
  through a lookup the caller gives (the id map). A link that cannot be resolved is
  *reported* in :attr:`Body.missing` (never silently dropped).

Names that resolve to nothing are listed in :attr:`Body.dropped` for the run report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.plan.model import SOURCE_ID_FIELD, Owners
from pdmigrate.state_ops import FieldKey

__all__ = ["NATIVE", "Body", "BodyContext", "build_body", "link_entity"]

#: The request keys each create endpoint takes (from the official specs).
NATIVE: dict[str, frozenset[str]] = {
    "person": frozenset(
        [
            "add_time",
            "birthday",
            "emails",
            "im",
            "job_title",
            "label_ids",
            "marketing_status",
            "name",
            "notes",
            "org_id",
            "owner_id",
            "phones",
            "postal_address",
            "visible_to",
        ]
    ),
    "organization": frozenset(
        [
            "add_time",
            "address",
            "annual_revenue",
            "employee_count",
            "industry",
            "label_ids",
            "linkedin",
            "name",
            "owner_id",
            "visible_to",
            "website",
        ]
    ),
    "deal": frozenset(
        [
            "archive_time",
            "close_time",
            "currency",
            "expected_close_date",
            "is_archived",
            "label_ids",
            "lost_reason",
            "lost_time",
            "org_id",
            "owner_id",
            "person_id",
            "pipeline_id",
            "probability",
            "stage_id",
            "status",
            "title",
            "value",
            "visible_to",
            "won_time",
        ]
    ),
    "activity": frozenset(
        [
            "attendees",
            "busy",
            "deal_id",
            "done",
            "due_date",
            "due_time",
            "duration",
            "lead_id",
            "location",
            "note",
            "org_id",
            "owner_id",
            "participants",
            "priority",
            "public_description",
            "subject",
            "type",
        ]
    ),
    "product": frozenset(
        [
            "billing_frequency",
            "billing_frequency_cycles",
            "category",
            "code",
            "description",
            "is_linkable",
            "name",
            "owner_id",
            "prices",
            "tax",
            "unit",
            "visible_to",
        ]
    ),
    "note": frozenset(
        [
            "content",
            "add_time",
            "user_id",
            "deal_id",
            "person_id",
            "org_id",
            "lead_id",
            "pinned_to_deal_flag",
            "pinned_to_person_flag",
            "pinned_to_organization_flag",
            "pinned_to_lead_flag",
        ]
    ),
    "lead": frozenset(
        [
            "title",
            "owner_id",
            "label_ids",
            "person_id",
            "organization_id",
            "value",
            "expected_close_date",
            "visible_to",
            "was_seen",
        ]
    ),
    "deal_product": frozenset(
        [
            "product_id",
            "item_price",
            "quantity",
            "discount",
            "discount_type",
            "tax",
            "tax_method",
            "comments",
            "is_enabled",
        ]
    ),
}
#: Entities whose create takes ``custom_fields``.
CUSTOM = frozenset({"person", "organization", "deal", "product"})
#: Fields a payload carries to steer the record, not to store.
STEERING = frozenset({"pipeline", "stage", "stages", "active", "active_flag", "file_name"})
#: Link name -> the entity it points at.
LINK_ENTITY: dict[str, str] = {
    "org_id": "organization",
    "organization_id": "organization",
    "person_id": "person",
    "participants": "person",
    "deal_id": "deal",
    "lead_id": "lead",
    "product_id": "product",
    "parent": "organization",
}
_OWNER_KEYS = ("owner_id", "user_id")
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def link_entity(link: str) -> str | None:
    """The entity a link name points at (``org_id`` -> organization), or None."""
    return LINK_ENTITY.get(link)


class Uuid(str):
    """A resolved id that is a uuid string (leads), not a reason."""

    __slots__ = ()


@dataclass(frozen=True)
class BodyContext:
    """What body building needs: keys, owners, visibility, currency and an id lookup.

    ``resolve(ref, entity)`` returns the Pipedrive id of the record a link points at,
    or a string reason (``"failed: ..."``, ``"not migrated"``) when it cannot.
    """

    keys: Mapping[tuple[str, str], FieldKey]
    owners: Owners
    currency: str
    resolve: Callable[[Ref, str], int | str]
    visible_to: Callable[[str], int]


@dataclass
class Body:
    """A request body, plus what could not be resolved."""

    body: dict[str, Any]
    dropped: list[str] = field(default_factory=list)
    missing: list[tuple[str, str, str]] = field(default_factory=list)  # (link, target, reason)
    #: Links to records that are not among the payloads at all (optional links the mapping
    #: emits for every row, e.g. a firm organization an individual client does not have).
    absent: list[tuple[str, str]] = field(default_factory=list)
    file_name: str | None = None


def _rfc3339(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return f"{text}T00:00:00Z"
    text = text.replace(" ", "T")
    if not text.endswith("Z") and not re.search(r"[+-]\d{2}:\d{2}$", text):
        text += "Z"
    return text


def _v1_time(value: Any) -> str | None:
    text = _rfc3339(value)
    if text is None:
        return None
    return text.replace("T", " ").replace("Z", "")[:19]


def _date(value: Any) -> str | None:
    text = str(value).strip()
    return text[:10] if re.match(r"\d{4}-\d{2}-\d{2}", text) else None


def _hhmm(value: Any) -> str | None:
    m = _HHMM.match(str(value).strip())
    if not m:
        return None
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, Mapping):
        return _number(value.get("value"))
    try:
        number = float(str(value).replace(",", "").replace("$", "").strip())
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def _labels(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v not in (None, "")]
    if isinstance(value, bool):
        return ["Yes"] if value else []
    return [p.strip() for p in str(value).split(",") if p.strip()]


def custom_value(fk: FieldKey, value: Any, currency: str) -> Any:
    """A value in the shape a custom field of ``fk``'s type takes; None when it cannot be."""
    ftype = (fk.field_type or "varchar").lower()
    if value is None or value == "" or value == []:
        return None
    if ftype == "enum":
        labels = _labels(value)
        return fk.options.get(labels[0]) if labels else None
    if ftype == "set":
        ids = [fk.options[v] for v in _labels(value) if v in fk.options]
        return ids or None
    if ftype == "monetary":
        if isinstance(value, Mapping):
            amount = _number(value.get("value"))
            cur = str(value.get("currency") or currency)
        else:
            amount, cur = _number(value), currency
        return None if amount is None else {"value": amount, "currency": cur}
    if ftype == "double":
        return _number(value)
    if ftype == "date":
        return _date(value)
    if ftype == "time":
        hhmm = _hhmm(value)
        return None if hhmm is None else f"{hhmm}:00"
    if ftype == "address":
        return {"value": str(value.get("value") if isinstance(value, Mapping) else value)}
    if ftype in ("org", "people", "user"):
        return value if isinstance(value, int) else None
    if isinstance(value, Mapping) and "value" in value:
        value = value["value"]
    if isinstance(value, list | tuple):
        value = ", ".join(
            str(v.get("value", v)) if isinstance(v, Mapping) else str(v) for v in value
        )
    text = str(value)
    return text[:255] if ftype in ("varchar", "varchar_auto", "phone") else text


def _native(entity: str, name: str, value: Any, ctx: BodyContext) -> tuple[str, Any] | None:
    """(key, value) for a native field, reshaped; None to leave it out."""
    if entity in ("person", "organization") and name == "add_time":
        v = _rfc3339(value)
        return None if v is None else (name, v)
    if entity == "note" and name == "add_time":
        v = _v1_time(value)
        return None if v is None else (name, v)
    if entity == "deal" and name in ("won_time", "lost_time", "close_time"):
        v = _rfc3339(value)
        return None if v is None else (name, v)
    if name in ("address", "postal_address", "location"):
        if isinstance(value, Mapping):
            return name, dict(value)
        return (name, {"value": str(value)}) if str(value).strip() else None
    if entity == "product" and name == "prices":
        items = value if isinstance(value, list) else [value]
        prices = []
        for item in items:
            if isinstance(item, Mapping):
                price = _number(item.get("price", item.get("value")))
                cur = str(item.get("currency") or ctx.currency)
            else:
                price, cur = _number(item), ctx.currency
            if price is not None:
                prices.append({"price": price, "currency": cur})
        return (name, prices) if prices else None
    if entity == "lead" and name == "value":
        amount = _number(value)
        cur = value.get("currency", ctx.currency) if isinstance(value, Mapping) else ctx.currency
        return None if amount is None else (name, {"amount": amount, "currency": cur})
    if name == "value":
        amount = _number(value)
        return None if amount is None else (name, amount)
    if entity == "activity" and name in ("due_time", "duration"):
        v = _hhmm(value)
        return None if v is None else (name, v)
    if entity == "activity" and name == "due_date":
        v = _date(value)
        return None if v is None else (name, v)
    if name in ("tax", "probability", "quantity", "item_price"):
        n = _number(value)
        return None if n is None else (name, n)
    if name == "done" or name == "busy":
        return name, value in (True, "true", "True", "Y", "Yes", 1, "1")
    if name in ("emails", "phones", "im"):
        return (name, list(value)) if isinstance(value, list) else None
    return name, value


def build_body(payload: Payload, ctx: BodyContext) -> Body:
    """The create body of ``payload`` (see the module docstring)."""
    entity = payload.entity
    native = NATIVE.get(entity, frozenset())
    out = Body({})
    custom: dict[str, Any] = {}
    fields = dict(payload.fields)
    if entity == "person" and not fields.get("name"):
        joined = " ".join(str(fields.get(k) or "") for k in ("first_name", "last_name")).strip()
        if joined:
            fields["name"] = joined
    for name, value in fields.items():
        if value is None or value == "" or value == []:
            continue
        if name in STEERING:
            if name == "file_name":
                out.file_name = str(value)
            continue
        if name in _OWNER_KEYS:
            if isinstance(value, int) and not isinstance(value, bool):
                out.body[name] = value
            else:
                user = ctx.owners.user_for(str(value))
                if user is not None:
                    out.body[name] = user
            continue
        fk = ctx.keys.get((_field_entity(entity), name))
        if name in native and (fk is None or name == "name"):
            pair = _native(entity, name, value, ctx)
            if pair is not None:
                out.body[pair[0]] = pair[1]
            continue
        if isinstance(value, Ref):  # an org/person field pointing at a migrated record
            got = ctx.resolve(
                value, "person" if fk is not None and fk.field_type == "people" else "organization"
            )
            if not isinstance(got, int):
                _miss(out, name, value, str(got))
                continue
            value = got
        if fk is not None and (entity in CUSTOM or entity == "lead"):  # leads: deal fields
            v = custom_value(fk, value, ctx.currency)
            if v is None:
                out.dropped.append(name)
            else:
                custom[fk.key] = v
            continue
        if name in ("first_name", "last_name"):
            continue
        out.dropped.append(name)
    if entity == "deal":
        pipe = fields.get("pipeline")
        if pipe:
            pk = ctx.keys.get(("pipeline", str(pipe)))
            if pk is not None:
                out.body["pipeline_id"] = int(pk.key)
                stage = fields.get("stage")
                sk = ctx.keys.get(("stage", f"{pipe}/{stage}")) if stage else None
                if sk is not None:
                    out.body["stage_id"] = int(sk.key)
            else:
                out.dropped.append("pipeline")
        if out.body.get("status") not in ("won", "lost"):
            out.body.pop("lost_reason", None)
        if out.body.get("status") != "won":
            out.body.pop("won_time", None)
        if out.body.get("status") != "lost":
            out.body.pop("lost_time", None)
        if out.body.get("status") not in ("won", "lost"):
            out.body.pop("close_time", None)
    if entity == "activity" and "type" in out.body:
        tk = ctx.keys.get(("activity_type", str(out.body["type"])))
        if tk is not None:
            out.body["type"] = tk.key
        else:
            out.body["type"] = str(out.body["type"]).lower()
    if entity in ("person", "organization", "deal", "product"):
        out.body.setdefault("visible_to", ctx.visible_to(payload.source_key))
    if entity == "lead" and "visible_to" in out.body:
        out.body["visible_to"] = str(out.body["visible_to"])
    for link, refs in payload.links.items():
        _link(out, entity, link, refs, ctx)
    if custom:
        out.body["custom_fields"] = custom
    return out


def _field_entity(entity: str) -> str:
    return "deal" if entity == "lead" else entity


def _link(out: Body, entity: str, link: str, refs: Ref | tuple[Ref, ...], ctx: BodyContext) -> None:
    if link == "owner_id":
        first = refs if isinstance(refs, Ref) else (refs[0] if refs else None)
        if first is not None and "owner_id" not in out.body:
            user = ctx.owners.user_for(first.key)
            if user is not None:
                out.body["owner_id"] = user
        return
    if link == "attendees":
        users: list[int] = []
        for ref in refs if isinstance(refs, tuple) else (refs,):
            user = ctx.owners.by_staff.get(ref.key.strip())  # matched users only, no fallback
            if user is not None and user not in users:
                users.append(user)
        if users and entity == "activity":
            out.body["attendees"] = [{"user_id": u} for u in users]
        return
    if link in ("parent", "record"):
        return  # handled by their own ops (organizationRelationships, update_of)
    target = LINK_ENTITY.get(link)
    if target is None:
        return
    key = "organization_id" if entity == "lead" and link == "org_id" else link
    if link == "participants":
        parts: list[dict[str, Any]] = []
        for ref in refs if isinstance(refs, tuple) else (refs,):
            got = ctx.resolve(ref, "person")
            if isinstance(got, int):
                if all(p["person_id"] != got for p in parts):
                    parts.append({"person_id": got, "primary": not parts})
            else:
                _miss(out, link, ref, got)
        if parts:
            out.body["participants"] = parts
        return
    one = refs if isinstance(refs, Ref) else (refs[0] if refs else None)
    if one is None:
        return
    ref = one
    got = ctx.resolve(ref, target)
    if isinstance(got, int | Uuid):
        out.body[key] = str(got) if isinstance(got, Uuid) else got
    else:
        _miss(out, link, ref, got)


#: What :meth:`BodyContext.resolve` says when a link points at no payload at all.
ABSENT = "not among the migrated records"


def _miss(out: Body, link: str, ref: Ref, why: str) -> None:
    if why == ABSENT:
        out.absent.append((link, f"{ref.to}/{ref.key}"))
    else:
        out.missing.append((link, f"{ref.to}/{ref.key}", why))


def content_hash(payload: Payload) -> str:
    """A stable hash of what a payload says (fields and links), for the id map."""
    import hashlib
    import json

    text = json.dumps(
        {"f": payload.fields, "l": payload.to_dict()["links"]},
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def source_id_of(payload: Payload) -> str:
    """The Source ID value of a payload (its ``Source ID`` field, else its source key)."""
    value = payload.fields.get(SOURCE_ID_FIELD)
    return str(value) if value else payload.source_key
