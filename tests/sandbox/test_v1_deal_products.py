"""v2 deal products: attach (201), bulk (atomic, 1-100), list per deal and for many, delete."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox

ERROR_INFO = "Please check developers.pipedrive.com"


@pytest.fixture(autouse=True)
def _responses_follow_the_spec(sandbox: Sandbox) -> Iterator[None]:
    yield
    assert sandbox.spec_problems == []


def _deal(client: httpx.Client, title: str = "Implant plan") -> int:
    deal_id: int = client.post("/api/v2/deals", json={"title": title}).json()["data"]["id"]
    return deal_id


def _product(client: httpx.Client, name: str = "Crown") -> int:
    response = client.post("/api/v2/products", json={"name": name})
    assert response.status_code == 201, response.text
    product_id: int = response.json()["data"]["id"]
    return product_id


def _attach(client: httpx.Client, deal_id: int, **item: Any) -> httpx.Response:
    return client.post(f"/api/v2/deals/{deal_id}/products", json=item)


def test_attach_returns_201_and_the_line(client: httpx.Client) -> None:
    """POST /v2/deals/{id}/products answers 201 with the line, its sum and the deal currency."""
    deal_id, product_id = _deal(client), _product(client)
    response = _attach(client, deal_id, product_id=product_id, item_price=1200.5, quantity=2)
    assert response.status_code == 201
    assert response.json() == {
        "success": True,
        "data": {
            "id": 1,
            "deal_id": deal_id,
            "product_id": product_id,
            "name": "Crown",
            "item_price": 1200.5,
            "quantity": 2,
            "sum": 2401,
            "tax": 0,
            "comments": "",
            "currency": "USD",
            "discount": 0,
            "discount_type": "percentage",
            "tax_method": "inclusive",
            "is_enabled": True,
            "product_variation_id": None,
            "order_nr": 1,
            "billing_frequency": "one-time",
            "billing_frequency_cycles": None,
            "billing_start_date": None,
            "add_time": "2026-01-15T09:00:00Z",
            "update_time": "2026-01-15T09:00:00Z",
        },
    }


def test_sum_applies_discount_and_exclusive_tax(client: httpx.Client) -> None:
    """10% off 2 x 100 with 10% exclusive tax is 198; an amount discount subtracts."""
    deal_id, product_id = _deal(client), _product(client)
    pct = _attach(client, deal_id, product_id=product_id, item_price=100, quantity=2,
                  discount=10, tax=10, tax_method="exclusive")  # fmt: skip
    assert pct.json()["data"]["sum"] == 198
    amount = _attach(client, deal_id, product_id=product_id, item_price=50, quantity=1,
                     discount=5, discount_type="amount")  # fmt: skip
    assert amount.json()["data"]["sum"] == 45


def test_deal_value_follows_its_products(client: httpx.Client) -> None:
    """Attaching and removing products sets the deal's value to the sum of enabled lines."""
    deal_id, product_id = _deal(client), _product(client)
    first = _attach(client, deal_id, product_id=product_id, item_price=300, quantity=1)
    _attach(client, deal_id, product_id=product_id, item_price=20, quantity=3)
    _attach(client, deal_id, product_id=product_id, item_price=999, quantity=1, is_enabled=False)
    assert client.get(f"/api/v2/deals/{deal_id}").json()["data"]["value"] == 360
    client.delete(f"/api/v2/deals/{deal_id}/products/{first.json()['data']['id']}")
    assert client.get(f"/api/v2/deals/{deal_id}").json()["data"]["value"] == 60


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ({"item_price": 10, "quantity": 1}, "Validation failed: product_id: Parameter "
                                            "'product_id' is required"),
        ({"product_id": 1, "item_price": "10", "quantity": 1},
         "Validation failed: item_price: Expected 'number' as value, got 'string'"),
        ({"product_id": 1, "item_price": 10, "quantity": 1, "tax_method": "vat"},
         "Validation failed: tax_method: The value you selected is not a valid choice. "
         "Allowed: exclusive, inclusive, none."),
    ],
)  # fmt: skip
def test_attach_checks_types(client: httpx.Client, item: dict[str, Any], error: str) -> None:
    """v2 is strict: required keys, numbers as numbers, enums as listed."""
    deal_id = _deal(client)
    _product(client)
    response = _attach(client, deal_id, **item)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": error,
        "code": "ERR_SCHEMA_VALIDATION_FAILED",
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


def test_attach_to_missing_deal_or_product_is_404(client: httpx.Client) -> None:
    """Unknown deal or product ids are 404s naming which."""
    deal_id, product_id = _deal(client), _product(client)
    no_deal = _attach(client, 99, product_id=product_id, item_price=1, quantity=1)
    assert (no_deal.status_code, no_deal.json()["error"]) == (404, "Deal not found")
    no_product = _attach(client, deal_id, product_id=99, item_price=1, quantity=1)
    assert (no_product.status_code, no_product.json()["error"]) == (404, "Product not found")


def test_bulk_attaches_all_in_order(client: httpx.Client) -> None:
    """POST .../products/bulk answers 201 with every line, numbered in order."""
    deal_id = _deal(client)
    crown, bridge = _product(client, "Crown"), _product(client, "Bridge")
    response = client.post(
        f"/api/v2/deals/{deal_id}/products/bulk",
        json={"data": [
            {"product_id": crown, "item_price": 900, "quantity": 1},
            {"product_id": bridge, "item_price": 1500, "quantity": 1, "comments": "upper"},
        ]},
    )  # fmt: skip
    assert response.status_code == 201
    lines = response.json()["data"]
    assert [(x["id"], x["name"], x["order_nr"], x["sum"]) for x in lines] == [
        (1, "Crown", 1, 900),
        (2, "Bridge", 2, 1500),
    ]
    assert lines[1]["comments"] == "upper"


def test_bulk_is_atomic(client: httpx.Client) -> None:
    """One bad item refuses the whole batch: nothing is attached."""
    deal_id, product_id = _deal(client), _product(client)
    response = client.post(
        f"/api/v2/deals/{deal_id}/products/bulk",
        json={"data": [
            {"product_id": product_id, "item_price": 1, "quantity": 1},
            {"product_id": 404, "item_price": 1, "quantity": 1},
        ]},
    )  # fmt: skip
    assert response.status_code == 404
    assert response.json()["error"] == "Product not found"
    assert client.get(f"/api/v2/deals/{deal_id}/products").json()["data"] == []


def test_bulk_takes_at_most_100(client: httpx.Client) -> None:
    """101 items is a 400 from the spec's maxItems."""
    deal_id, product_id = _deal(client), _product(client)
    item = {"product_id": product_id, "item_price": 1, "quantity": 1}
    response = client.post(f"/api/v2/deals/{deal_id}/products/bulk", json={"data": [item] * 101})
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Validation failed: data: This collection should contain 100 elements or less."
    )


def test_list_one_deal_with_cursor(client: httpx.Client) -> None:
    """GET /v2/deals/{id}/products pages with a cursor; the last page's cursor is null."""
    deal_id, product_id = _deal(client), _product(client)
    for price in (1, 2, 3):
        _attach(client, deal_id, product_id=product_id, item_price=price, quantity=1)
    first = client.get(f"/api/v2/deals/{deal_id}/products", params={"limit": 2}).json()
    assert [x["item_price"] for x in first["data"]] == [1, 2]
    cursor = first["additional_data"]["next_cursor"]
    assert isinstance(cursor, str)
    rest = client.get(
        f"/api/v2/deals/{deal_id}/products", params={"limit": 2, "cursor": cursor}
    ).json()
    assert [x["item_price"] for x in rest["data"]] == [3]
    assert rest["additional_data"] == {"next_cursor": None}


def test_list_many_deals(client: httpx.Client) -> None:
    """GET /v2/deals/products?deal_ids= returns the lines of exactly those deals."""
    a, b, c = _deal(client, "A"), _deal(client, "B"), _deal(client, "C")
    product_id = _product(client)
    for deal_id in (a, b, c):
        _attach(client, deal_id, product_id=product_id, item_price=deal_id, quantity=1)
    response = client.get("/api/v2/deals/products", params={"deal_ids": f"{a},{c}"})
    assert response.status_code == 200
    assert [x["deal_id"] for x in response.json()["data"]] == [a, c]
    by_deal = client.get(
        "/api/v2/deals/products",
        params={"deal_ids": f"{a},{b},{c}", "sort_by": "deal_id", "sort_direction": "desc"},
    ).json()["data"]
    assert [x["deal_id"] for x in by_deal] == [c, b, a]


def test_delete_many(client: httpx.Client) -> None:
    """DELETE /v2/deals/{id}/products?ids= removes those lines; without ids, all of them."""
    deal_id, product_id = _deal(client), _product(client)
    ids = [
        _attach(client, deal_id, product_id=product_id, item_price=1, quantity=1).json()["data"][
            "id"
        ]
        for _ in range(3)
    ]
    some = client.delete(f"/api/v2/deals/{deal_id}/products", params={"ids": f"{ids[0]},{ids[2]}"})
    assert some.json() == {
        "success": True,
        "data": {"ids": [ids[0], ids[2]]},
        "additional_data": {"more_items_in_collection": False},
    }
    rest = client.delete(f"/api/v2/deals/{deal_id}/products")
    assert rest.json()["data"] == {"ids": [ids[1]]}
    assert client.get(f"/api/v2/deals/{deal_id}/products").json()["data"] == []


def test_delete_one_and_missing_line(client: httpx.Client) -> None:
    """DELETE one answers {id}; a line of another deal is not found through this deal."""
    deal_id, other = _deal(client), _deal(client, "Other")
    product_id = _product(client)
    line = _attach(client, deal_id, product_id=product_id, item_price=1, quantity=1).json()["data"]
    wrong = client.delete(f"/api/v2/deals/{other}/products/{line['id']}")
    assert (wrong.status_code, wrong.json()["error"]) == (404, "Deal product not found")
    deleted = client.delete(f"/api/v2/deals/{deal_id}/products/{line['id']}")
    assert deleted.json() == {"success": True, "data": {"id": line["id"]}}
