"""v2 search: ``persons/search``, ``organizations/search``, ``deals/search``,
``products/search`` (name, code, custom fields),
``itemSearch`` (deals, persons and organizations together; ``limit`` up to 100) and
``itemSearch/field``.

Entity searches match ``term`` case-insensitively in the chosen ``fields`` (all of the
endpoint's fields by default): a substring match, or the whole value with
``exact_match=true``. ``term`` needs 2 characters (1 with ``exact_match``). Results are
``data.items[] = {result_score, item{...}}`` ordered by score (1.0 for a whole-value
match, 0.5 for a prefix, 0.25 otherwise), then id.

``itemSearch/field`` searches one field (a custom field key or a standard key such as
``name``) of one entity type, **case sensitive**, with ``match`` = ``exact`` (default),
``beginning`` or ``middle``; only the spec's searchable custom field types (``address
varchar text varchar_auto double monetary phone``) can be searched. Results follow the
spec's example: ``data = [{id, name}]`` (``name`` is the title for deals).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from pdmigrate.sandbox import fields
from pdmigrate.sandbox.envelope import ApiError, ApiRoute, RequestContext, ok, validation_error
from pdmigrate.sandbox.routes_v2 import paginate, query_bool, query_int

_FIELDS: dict[str, tuple[str, ...]] = {
    "persons": ("custom_fields", "email", "notes", "phone", "name"),
    "organizations": ("address", "custom_fields", "notes", "name"),
    "deals": ("custom_fields", "notes", "title"),
    "products": ("code", "custom_fields", "name"),
}
_SEARCHABLE_TYPES = ("address", "varchar", "text", "varchar_auto", "double", "monetary", "phone")
_ITEM_TYPES = {
    "person": "persons",
    "organization": "organizations",
    "deal": "deals",
    "product": "products",
    "lead": "leads",
}


def _text(value: Any) -> str | None:
    """The searchable text of a stored value (address/monetary -> their ``value``)."""
    if isinstance(value, dict):
        value = value.get("value")
    if value is None or isinstance(value, bool | list):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _score(candidates: list[str], term: str, exact: bool) -> float:
    needle = term.lower()
    best = 0.0
    for text in candidates:
        hay = text.lower()
        if hay == needle:
            best = max(best, 1.0)
        elif not exact and hay.startswith(needle):
            best = max(best, 0.5)
        elif not exact and needle in hay:
            best = max(best, 0.25)
    return best


_NOTE_KEYS = {"persons": "person_id", "organizations": "org_id", "deals": "deal_id"}


def _notes_by_record(ctx: RequestContext, entity: str) -> dict[Any, list[str]]:
    """Contents of the v1 notes (stored by the v1 routes as ``notes``) per linked record."""
    key = _NOTE_KEYS[entity]
    out: dict[Any, list[str]] = {}
    for note in ctx.store.list(ctx.cid, "notes"):
        if note.get(key) is not None and note.get("content"):
            out.setdefault(note[key], []).append(str(note["content"]))
    return out


def _custom_texts(defs: dict[str, dict[str, Any]], doc: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for code, value in (doc.get("custom_fields") or {}).items():
        field = defs.get(code)
        if field is None or field["field_type"] not in _SEARCHABLE_TYPES:
            continue
        text = _text(value)
        if text is not None:
            out.append(text)
    return out


def _candidates(
    doc: dict[str, Any],
    chosen: set[str],
    defs: dict[str, dict[str, Any]],
    notes: dict[Any, list[str]],
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if "name" in chosen and "title" not in doc:
        out["name"] = [doc.get("name") or ""]
    if "title" in chosen:
        out["title"] = [doc.get("title") or ""]
    if "email" in chosen:
        out["email"] = [e["value"] for e in doc.get("emails") or []]
    if "phone" in chosen:
        out["phone"] = [p["value"] for p in doc.get("phones") or []]
    if "address" in chosen:
        out["address"] = [t for t in [_text(doc.get("address"))] if t]
    if "custom_fields" in chosen:
        out["custom_fields"] = _custom_texts(defs, doc)
    if "code" in chosen:
        out["code"] = [t for t in [_text(doc.get("code"))] if t]
    if "notes" in chosen:
        out["notes"] = notes.get(doc["id"], [])
    return out


def _ref(ctx: RequestContext, entity: str, rid: Any, label: str = "name") -> Any:
    if rid is None:
        return None
    doc = ctx.store.get(ctx.cid, entity, rid)
    return None if doc is None else {"id": rid, "name": doc.get(label)}


def _item(
    ctx: RequestContext, entity: str, doc: dict[str, Any], found: dict[str, list[str]]
) -> Any:
    owner = {"id": doc.get("owner_id")}
    custom = found.get("custom_fields", [])
    notes = found.get("notes", [])
    if entity == "persons":
        return {"id": doc["id"], "type": "person", "name": doc.get("name"),
                "phones": [p["value"] for p in doc.get("phones") or []],
                "emails": [e["value"] for e in doc.get("emails") or []],
                "visible_to": doc.get("visible_to"), "owner": owner,
                "organization": _ref(ctx, "organizations", doc.get("org_id")),
                "custom_fields": custom, "notes": notes}  # fmt: skip
    if entity == "products":
        return {"id": doc["id"], "type": "product", "name": doc.get("name"),
                "code": doc.get("code"), "visible_to": doc.get("visible_to"), "owner": owner,
                "custom_fields": custom}  # fmt: skip
    if entity == "organizations":
        return {"id": doc["id"], "type": "organization", "name": doc.get("name"),
                "address": _text(doc.get("address")), "visible_to": doc.get("visible_to"),
                "owner": owner, "custom_fields": custom, "notes": notes}  # fmt: skip
    return {"id": doc["id"], "type": "deal", "title": doc.get("title"), "value": doc.get("value"),
            "currency": doc.get("currency"), "status": doc.get("status"),
            "visible_to": doc.get("visible_to"), "owner": owner,
            "stage": _ref(ctx, "stages", doc.get("stage_id")),
            "person": _ref(ctx, "persons", doc.get("person_id")),
            "organization": _ref(ctx, "organizations", doc.get("org_id")),
            "custom_fields": custom, "notes": notes,
            "is_archived": bool(doc.get("is_archived"))}  # fmt: skip


def _chosen_fields(ctx: RequestContext, entity: str) -> set[str]:
    allowed = _FIELDS[entity]
    raw = ctx.query.get("fields")
    if not raw:
        return set(allowed)
    chosen = {f.strip() for f in raw.split(",") if f.strip()}
    bad = sorted(chosen - set(allowed))
    if bad:
        raise validation_error("fields", "Must be a comma-separated list of " + ", ".join(allowed))
    return chosen


def _term(ctx: RequestContext, exact: bool) -> str:
    term = (ctx.query.get("term") or "").strip()
    if not term:
        raise validation_error("term", "Parameter 'term' is required")
    if len(term) < (1 if exact else 2):
        raise validation_error("term", "Must be at least 2 characters long")
    return term


def _hits(
    ctx: RequestContext, entity: str, docs: list[dict[str, Any]], chosen: set[str], term: str,
    exact: bool,
) -> list[dict[str, Any]]:  # fmt: skip
    defs = fields.custom_by_code(ctx.store, ctx.cid, fields.FIELD_OBJECTS[entity])
    notes = _notes_by_record(ctx, entity) if "notes" in chosen else {}
    hits: list[dict[str, Any]] = []
    for doc in docs:
        cands = _candidates(doc, chosen, defs, notes)
        score = _score([t for texts in cands.values() for t in texts], term, exact)
        if score <= 0:
            continue
        found = {k: [t for t in v if _score([t], term, exact) > 0] for k, v in cands.items()}
        hits.append({"id": doc["id"], "score": -score, "doc": doc, "found": found})
    return hits


_ITEM_SEARCH_TYPES = {
    "deal": "deals",
    "person": "persons",
    "organization": "organizations",
    "product": "products",
}
_ITEM_SEARCH_FIELDS = ("address", "code", "custom_fields", "email", "name", "notes", "phone",
                       "title", "description")  # fmt: skip


async def _item_search(ctx: RequestContext) -> Response:
    """``GET /itemSearch`` over deals, persons and organizations (other types find nothing)."""
    exact = bool(query_bool(ctx.query, "exact_match"))
    term = _term(ctx, exact)
    raw_types = ctx.query.get("item_types")
    types = [t.strip() for t in (raw_types or ",".join(_ITEM_SEARCH_TYPES)).split(",") if t.strip()]
    raw_fields = ctx.query.get("fields")
    wanted = {f.strip() for f in raw_fields.split(",")} if raw_fields else set(_ITEM_SEARCH_FIELDS)
    if wanted - set(_ITEM_SEARCH_FIELDS):
        raise validation_error(
            "fields", "Must be a comma-separated list of " + ", ".join(_ITEM_SEARCH_FIELDS)
        )
    combined: list[dict[str, Any]] = []
    for rank, item_type in enumerate(types):
        entity = _ITEM_SEARCH_TYPES.get(item_type)
        if entity is None:
            continue
        chosen = wanted & set(_FIELDS[entity])
        for hit in _hits(ctx, entity, ctx.store.list(ctx.cid, entity), chosen, term, exact):
            combined.append({**hit, "entity": entity, "rank": rank})
    combined.sort(key=lambda h: (h["score"], h["rank"], h["id"]))
    numbered = [{**h, "id": n} for n, h in enumerate(combined, start=1)]
    page, next_cursor = paginate(numbered, ctx.query, maximum=100)
    items = [
        {"result_score": -h["score"], "item": _item(ctx, h["entity"], h["doc"], h["found"])}
        for h in page
    ]
    return ok({"items": items, "related_items": []}, {"next_cursor": next_cursor})


def _entity_search(entity: str) -> Callable[[RequestContext], Any]:
    async def handler(ctx: RequestContext) -> Response:
        exact = bool(query_bool(ctx.query, "exact_match"))
        term = _term(ctx, exact)
        chosen = _chosen_fields(ctx, entity)
        docs = ctx.store.list(ctx.cid, entity)
        org = query_int(ctx.query, "organization_id")
        if org is not None:
            docs = [d for d in docs if d.get("org_id") == org]
        if entity == "deals":
            person = query_int(ctx.query, "person_id")
            if person is not None:
                docs = [d for d in docs if d.get("person_id") == person]
            status = ctx.query.get("status")
            if status:
                docs = [d for d in docs if d.get("status") == status]
        hits = _hits(ctx, entity, docs, chosen, term, exact)
        page, next_cursor = paginate(hits, ctx.query, sort_by="score")
        items = [
            {"result_score": -h["score"], "item": _item(ctx, entity, h["doc"], h["found"])}
            for h in page
        ]
        return ok({"items": items}, {"next_cursor": next_cursor})

    return handler


def _matches(value: str, term: str, how: str) -> bool:
    if how == "exact":
        return value == term
    if how == "beginning":
        return value.startswith(term)
    return term in value


async def _field_search(ctx: RequestContext) -> Response:
    query = ctx.query
    entity_type = query.get("entity_type") or ""
    entity = _ITEM_TYPES.get(entity_type)
    if entity is None:
        raise validation_error("entity_type", "Must be one of " + ", ".join(_ITEM_TYPES))
    how = query.get("match") or "exact"
    if how not in ("exact", "beginning", "middle"):
        raise validation_error("match", "Must be one of exact, beginning, middle")
    term = query.get("term") or ""
    if len(term) < (1 if how == "exact" else 2):
        raise validation_error("term", "Must be at least 2 characters long")
    key = query.get("field") or ""
    if not key:
        raise validation_error("field", "Parameter 'field' is required")
    obj = fields.FIELD_OBJECTS.get(entity, "deal" if entity == "leads" else "")
    custom = fields.custom_by_code(ctx.store, ctx.cid, obj) if obj else {}
    label = "title" if entity in ("deals", "leads") else "name"
    if key in custom:
        if custom[key]["field_type"] not in _SEARCHABLE_TYPES:
            raise ApiError(400, f"Field '{key}' is not searchable", code="ERR_BAD_REQUEST")

        def value_of(doc: dict[str, Any]) -> Any:
            return (doc.get("custom_fields") or {}).get(key)
    elif key in ("name", "title", "code"):

        def value_of(doc: dict[str, Any]) -> Any:
            return doc.get(key)
    else:
        raise ApiError(400, f"Field '{key}' is not searchable", code="ERR_BAD_REQUEST")
    hits = []
    for doc in ctx.store.list(ctx.cid, entity):
        text = _text(value_of(doc))
        if text is not None and _matches(text, term, how):
            hits.append({"id": doc["id"], "name": doc.get(label)})
    page, next_cursor = paginate(hits, query)
    return ok(page, {"next_cursor": next_cursor})


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/api/v2/persons/search", _entity_search("persons")),
    ApiRoute("GET", "/api/v2/organizations/search", _entity_search("organizations")),
    ApiRoute("GET", "/api/v2/deals/search", _entity_search("deals")),
    ApiRoute("GET", "/api/v2/products/search", _entity_search("products")),
    ApiRoute("GET", "/api/v2/itemSearch/field", _field_search),
    ApiRoute("GET", "/api/v2/itemSearch", _item_search),
]
