"""v2 deal products (served beside the v1 routes; same owner): attach, bulk-attach, list, update,
delete one and many.

- ``POST /api/v2/deals/{id}/products`` (201) and ``.../products/bulk`` (201, 1-100
  items, atomic: all are attached or none);
- ``GET /api/v2/deals/{id}/products`` and ``GET /api/v2/deals/products?deal_ids=``
  (at most 100 deals), cursor pages;
- ``PATCH .../products/{product_attachment_id}``; ``DELETE`` one, and many with
  ``?ids=`` (at most 100; without ids the first 100 go).

v2 rules: strict JSON types (numbers are numbers, booleans are booleans), the deal
and the product must exist. ``sum`` is ``item_price x quantity`` less the discount
(percentage or amount), plus tax when ``tax_method`` is ``exclusive``. Attaching,
changing or removing products sets the deal's ``value`` to the sum of its enabled
products, as Pipedrive does.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from pdmigrate.sandbox.envelope import (
    ApiError,
    ApiRoute,
    RequestContext,
    json_type,
    ok,
    validation_error,
)
from pdmigrate.sandbox.routes_v1_common import not_a_choice
from pdmigrate.sandbox.routes_v2 import paginate

ENTITY = "dealProducts"
#: One record per deal (id = deal id): ``{"line_ids": [...]}``, so reads never scan all lines.
INDEX = "dealProductIndex"
MAX_BULK = 100
TAX_METHODS = ("exclusive", "inclusive", "none")
DISCOUNT_TYPES = ("percentage", "amount")
FREQUENCIES = ("one-time", "annually", "semi-annually", "quarterly", "monthly", "weekly")
SORT_ONE = ("id", "add_time", "update_time", "order_nr")
SORT_MANY = ("id", "deal_id", "add_time", "update_time", "order_nr")
_NUMBERS = ("item_price", "quantity", "tax", "discount")
_KEYS = {
    "product_id", "item_price", "quantity", "tax", "comments", "discount", "is_enabled",
    "tax_method", "discount_type", "product_variation_id", "billing_frequency",
    "billing_frequency_cycles", "billing_start_date",
}  # fmt: skip


def _expected(field: str, kind: str, value: Any) -> ApiError:
    return validation_error(field, f"Expected '{kind}' as value, got '{json_type(value)}'")


def _is_num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fields(ctx: RequestContext, body: Any, prefix: str, *, creating: bool) -> dict[str, Any]:
    """The checked attachment fields of one item (``prefix`` names it in errors)."""
    if not isinstance(body, dict):
        raise validation_error(prefix or "body", "Expected 'object' as value")
    name = (lambda key: f"{prefix}.{key}") if prefix else (lambda key: key)
    for key in body:
        if key not in _KEYS:
            raise validation_error(name(key), f"Parameter '{key}' is not allowed for this request")
    if creating:
        for key in ("product_id", "item_price", "quantity"):
            if key not in body:
                raise validation_error(name(key), f"Parameter '{key}' is required")
    doc: dict[str, Any] = {}
    if "product_id" in body:
        product_id = body["product_id"]
        if isinstance(product_id, bool) or not isinstance(product_id, int):
            raise _expected(name("product_id"), "integer", product_id)
        product = ctx.store.get(ctx.cid, "products", product_id)
        if product is None:
            raise ApiError(404, "Product not found")
        doc["product_id"] = product_id
        doc["name"] = product.get("name", "")
    for key in _NUMBERS:
        if key in body:
            if not _is_num(body[key]):
                raise _expected(name(key), "number", body[key])
            doc[key] = body[key]
    for key, choices in (
        ("tax_method", TAX_METHODS),
        ("discount_type", DISCOUNT_TYPES),
        ("billing_frequency", FREQUENCIES),
    ):
        if key in body:
            if body[key] not in choices:
                raise not_a_choice(name(key), list(choices))
            doc[key] = body[key]
    if "is_enabled" in body:
        if not isinstance(body["is_enabled"], bool):
            raise _expected(name("is_enabled"), "boolean", body["is_enabled"])
        doc["is_enabled"] = body["is_enabled"]
    if "comments" in body:
        if not isinstance(body["comments"], str):
            raise _expected(name("comments"), "string", body["comments"])
        doc["comments"] = body["comments"]
    for key in ("product_variation_id", "billing_frequency_cycles"):
        if key in body:
            value = body[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise _expected(name(key), "integer", value)
            doc[key] = value
    if "billing_start_date" in body:
        doc["billing_start_date"] = _date(name("billing_start_date"), body["billing_start_date"])
    return doc


def _date(field: str, value: Any) -> str | None:
    from datetime import date

    if value is None:
        return None
    if not isinstance(value, str):
        raise _expected(field, "string", value)
    try:
        date.fromisoformat(value)
    except ValueError:
        raise validation_error(field, "This value is not a valid date.") from None
    if len(value) != 10:
        raise validation_error(field, "This value is not a valid date.")
    return value


def _check_billing(doc: dict[str, Any]) -> None:
    cycles = doc.get("billing_frequency_cycles")
    if doc.get("billing_frequency", "one-time") == "one-time" and cycles is not None:
        raise validation_error(
            "billing_frequency_cycles", "Must be null when billing_frequency is one-time"
        )
    if cycles is not None and not 1 <= cycles <= 208:
        raise validation_error("billing_frequency_cycles", "Must be between 1 and 208")


def line_sum(doc: dict[str, Any]) -> int | float:
    """The attachment's ``sum``: price x quantity, less discount, plus exclusive tax."""
    gross = float(doc["item_price"]) * float(doc["quantity"])
    if doc.get("discount_type", "percentage") == "percentage":
        net = gross * (1 - float(doc.get("discount", 0)) / 100)
    else:
        net = gross - float(doc.get("discount", 0))
    if doc.get("tax_method") == "exclusive":
        net *= 1 + float(doc.get("tax", 0)) / 100
    total = round(net, 2)
    return int(total) if total.is_integer() else total


def _deal(ctx: RequestContext, deal_id: Any) -> dict[str, Any]:
    deal = ctx.store.get(ctx.cid, "deals", deal_id)
    if deal is None:
        raise ApiError(404, "Deal not found")
    return deal


def _line_ids(ctx: RequestContext, deal_id: int) -> list[int]:
    index = ctx.store.get(ctx.cid, INDEX, deal_id)
    return list(index["line_ids"]) if index else []


def _set_line_ids(ctx: RequestContext, deal_id: int, line_ids: list[int]) -> None:
    if ctx.store.get(ctx.cid, INDEX, deal_id) is None:
        ctx.store.insert(ctx.cid, INDEX, {"line_ids": line_ids}, record_id=deal_id)
    else:
        ctx.store.update(ctx.cid, INDEX, deal_id, {"line_ids": line_ids})


def _products_of(ctx: RequestContext, deal_id: int) -> list[dict[str, Any]]:
    """The deal's lines, through the per-deal index (no scan of every line)."""
    lines = (ctx.store.get(ctx.cid, ENTITY, i) for i in _line_ids(ctx, deal_id))
    return [line for line in lines if line is not None]


def _remove(ctx: RequestContext, deal_id: int, line_ids: list[int]) -> None:
    for line_id in line_ids:
        ctx.store.hard_delete(ctx.cid, ENTITY, line_id)
    gone = set(line_ids)
    _set_line_ids(ctx, deal_id, [i for i in _line_ids(ctx, deal_id) if i not in gone])


def _refresh_deal_value(
    ctx: RequestContext, deal_id: int, lines: list[dict[str, Any]] | None = None
) -> None:
    """Set the deal's value to the sum of its enabled lines (``lines`` if already read)."""
    current = _products_of(ctx, deal_id) if lines is None else lines
    attached = [d for d in current if d.get("is_enabled", True)]
    total = float(round(sum(line_sum(d) for d in attached), 2))
    ctx.store.update(
        ctx.cid, "deals", deal_id, {"value": int(total) if total.is_integer() else total}
    )


def render(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored attachment in v2's response shape."""
    keys = (
        "id", "deal_id", "product_id", "name", "item_price", "quantity", "tax", "comments",
        "currency", "discount", "discount_type", "tax_method", "is_enabled",
        "product_variation_id", "order_nr", "billing_frequency", "billing_frequency_cycles",
        "billing_start_date", "add_time", "update_time",
    )  # fmt: skip
    out = {key: doc.get(key) for key in keys}
    out["sum"] = line_sum(doc)
    return out


def _attach(
    ctx: RequestContext, deal: dict[str, Any], items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Attach checked items to the deal in order; one index update for the batch."""
    existing = _products_of(ctx, deal["id"])
    order = max((d.get("order_nr") or 0 for d in existing), default=0)
    lines: list[dict[str, Any]] = []
    for fields in items:
        order += 1
        doc: dict[str, Any] = {
            "deal_id": deal["id"],
            "tax": 0,
            "comments": "",
            "discount": 0,
            "discount_type": "percentage",
            "tax_method": "inclusive",
            "is_enabled": True,
            "product_variation_id": None,
            "billing_frequency": "one-time",
            "billing_frequency_cycles": None,
            "billing_start_date": None,
            "currency": deal.get("currency", ctx.account.currency),
            "order_nr": order,
        }
        doc.update(fields)
        _check_billing(doc)
        lines.append(ctx.store.insert(ctx.cid, ENTITY, doc))
    _set_line_ids(ctx, deal["id"], [d["id"] for d in existing] + [d["id"] for d in lines])
    _refresh_deal_value(ctx, deal["id"], [*existing, *lines])
    return lines


async def add_product(ctx: RequestContext) -> Response:
    """POST /api/v2/deals/{id}/products: 201."""
    body = ctx.json_object()
    with ctx.store.transaction():
        deal = _deal(ctx, ctx.path_params["id"])
        (doc,) = _attach(ctx, deal, [_fields(ctx, body, "", creating=True)])
        return ok(render(doc), status=201)


async def add_products_bulk(ctx: RequestContext) -> Response:
    """POST /api/v2/deals/{id}/products/bulk: 1-100 items, all or none; 201."""
    body = ctx.json_object()
    if "data" not in body:
        raise validation_error("data", "Parameter 'data' is required")
    for key in body:
        if key != "data":
            raise validation_error(key, f"Parameter '{key}' is not allowed for this request")
    items = body["data"]
    if not isinstance(items, list):
        raise _expected("data", "array", items)
    if not items:
        raise validation_error("data", "This collection should contain 1 elements or more.")
    if len(items) > MAX_BULK:
        raise validation_error(
            "data", f"This collection should contain {MAX_BULK} elements or less."
        )
    with ctx.store.transaction():
        deal = _deal(ctx, ctx.path_params["id"])
        checked = [_fields(ctx, item, f"data[{i}]", creating=True) for i, item in enumerate(items)]
        docs = _attach(ctx, deal, checked)
        return ok([render(d) for d in docs], status=201)


def _sort(ctx: RequestContext, allowed: tuple[str, ...]) -> tuple[str, str]:
    sort_by = ctx.query.get("sort_by") or "id"
    direction = ctx.query.get("sort_direction") or "asc"
    if sort_by not in allowed:
        raise not_a_choice("sort_by", list(allowed))
    if direction not in ("asc", "desc"):
        raise not_a_choice("sort_direction", ["asc", "desc"])
    return sort_by, direction


async def list_products(ctx: RequestContext) -> Response:
    """GET /api/v2/deals/{id}/products."""
    deal = _deal(ctx, ctx.path_params["id"])
    sort_by, direction = _sort(ctx, SORT_ONE)
    docs = _products_of(ctx, deal["id"])
    page, next_cursor = paginate(docs, ctx.query, sort_by=sort_by, direction=direction)
    return ok([render(d) for d in page], {"next_cursor": next_cursor})


async def list_many(ctx: RequestContext) -> Response:
    """GET /api/v2/deals/products?deal_ids=1,2 (at most 100 deals)."""
    raw = ctx.query.get("deal_ids")
    if raw is None or raw.strip() == "":
        raise validation_error("deal_ids", "Parameter 'deal_ids' is required")
    try:
        deal_ids = {int(x) for x in raw.split(",") if x.strip() != ""}
    except ValueError:
        raise validation_error("deal_ids", "Expected 'integer' as value, got 'string'") from None
    if len(deal_ids) > 100:
        raise validation_error("deal_ids", "This collection should contain 100 elements or less.")
    sort_by, direction = _sort(ctx, SORT_MANY)
    docs = [line for deal_id in sorted(deal_ids) for line in _products_of(ctx, deal_id)]
    page, next_cursor = paginate(docs, ctx.query, sort_by=sort_by, direction=direction)
    return ok([render(d) for d in page], {"next_cursor": next_cursor})


def _attachment(ctx: RequestContext, deal: dict[str, Any]) -> dict[str, Any]:
    doc = ctx.store.get(ctx.cid, ENTITY, ctx.path_params["product_attachment_id"])
    if doc is None or doc["deal_id"] != deal["id"]:
        raise ApiError(404, "Deal product not found")
    return doc


async def update_product(ctx: RequestContext) -> Response:
    """PATCH /api/v2/deals/{id}/products/{product_attachment_id}."""
    body = ctx.json_object()
    with ctx.store.transaction():
        deal = _deal(ctx, ctx.path_params["id"])
        doc = _attachment(ctx, deal)
        changes = _fields(ctx, body, "", creating=False)
        _check_billing({**doc, **changes})
        updated = ctx.store.update(ctx.cid, ENTITY, doc["id"], changes)
        _refresh_deal_value(ctx, deal["id"])
        return ok(render(updated))


async def delete_product(ctx: RequestContext) -> Response:
    """DELETE /api/v2/deals/{id}/products/{product_attachment_id}: ``{"id": id}``."""
    with ctx.store.transaction():
        deal = _deal(ctx, ctx.path_params["id"])
        doc = _attachment(ctx, deal)
        _remove(ctx, deal["id"], [doc["id"]])
        _refresh_deal_value(ctx, deal["id"])
    return ok({"id": doc["id"]})


async def delete_many(ctx: RequestContext) -> Response:
    """DELETE /api/v2/deals/{id}/products[?ids=1,2]: ``{"ids": [...]}``."""
    raw = ctx.query.get("ids")
    wanted: list[int] | None = None
    if raw:
        try:
            wanted = [int(x) for x in raw.split(",") if x.strip() != ""]
        except ValueError:
            raise validation_error("ids", "Expected 'integer' as value, got 'string'") from None
        if len(wanted) > 100:
            raise validation_error("ids", "This collection should contain 100 elements or less.")
    with ctx.store.transaction():
        deal = _deal(ctx, ctx.path_params["id"])
        attached = _products_of(ctx, deal["id"])
        if wanted is None:
            chosen = attached[:100]
        else:
            chosen = [d for d in attached if d["id"] in set(wanted)]
        _remove(ctx, deal["id"], [doc["id"] for doc in chosen])
        _refresh_deal_value(ctx, deal["id"])
        more = wanted is None and len(attached) > len(chosen)
    return ok({"ids": [d["id"] for d in chosen]}, {"more_items_in_collection": more})


ROUTES: list[ApiRoute] = [
    ApiRoute("GET", "/api/v2/deals/products", list_many),
    ApiRoute("GET", "/api/v2/deals/{id:int}/products", list_products),
    ApiRoute("POST", "/api/v2/deals/{id:int}/products", add_product),
    ApiRoute("POST", "/api/v2/deals/{id:int}/products/bulk", add_products_bulk),
    ApiRoute(
        "PATCH", "/api/v2/deals/{id:int}/products/{product_attachment_id:int}", update_product
    ),
    ApiRoute(
        "DELETE", "/api/v2/deals/{id:int}/products/{product_attachment_id:int}", delete_product
    ),
    ApiRoute("DELETE", "/api/v2/deals/{id:int}/products", delete_many),
]
