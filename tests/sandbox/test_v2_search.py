"""v2 search: persons/organizations/deals search and itemSearch/field exact matches."""

from __future__ import annotations

from typing import Any

import httpx

from pdmigrate.sandbox.app import Sandbox


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_person_search_shape_and_scores(client: httpx.Client, sandbox: Sandbox) -> None:
    """persons/search returns data.items[{result_score, item}] with plain email strings."""
    org = _post(client, "/api/v2/organizations", {"name": "Bright Smiles"})
    _post(
        client,
        "/api/v2/persons",
        {"name": "Anna Berg", "org_id": org["id"],
         "emails": [{"value": "anna@x.example", "primary": True, "label": "work"}]},
    )  # fmt: skip
    _post(client, "/api/v2/persons", {"name": "Annabel Lee"})
    _post(client, "/api/v2/persons", {"name": "Bob Stone"})
    body = client.get("/api/v2/persons/search", params={"term": "anna"}).json()
    assert body["success"] is True
    items = body["data"]["items"]
    assert [i["item"]["name"] for i in items] == ["Anna Berg", "Annabel Lee"]
    first = items[0]
    assert first["result_score"] == 0.5
    assert first["item"]["type"] == "person"
    assert first["item"]["emails"] == ["anna@x.example"]
    assert first["item"]["organization"] == {"id": org["id"], "name": "Bright Smiles"}
    assert first["item"]["owner"] == {"id": 1}
    assert body["additional_data"] == {"next_cursor": None}
    assert sandbox.spec_problems == []


def test_exact_match_and_fields(client: httpx.Client) -> None:
    """exact_match needs the whole value; fields=email searches only emails."""
    _post(
        client,
        "/api/v2/persons",
        {"name": "Anna Berg", "emails": [{"value": "ab@x.example", "primary": True}]},
    )
    exact = client.get("/api/v2/persons/search", params={"term": "anna", "exact_match": "true"})
    assert exact.json()["data"]["items"] == []
    whole = client.get(
        "/api/v2/persons/search", params={"term": "anna berg", "exact_match": "true"}
    ).json()["data"]["items"]
    assert [(i["item"]["name"], i["result_score"]) for i in whole] == [("Anna Berg", 1.0)]
    by_email = client.get("/api/v2/persons/search", params={"term": "ab@x", "fields": "email"})
    assert len(by_email.json()["data"]["items"]) == 1
    by_name_only = client.get("/api/v2/persons/search", params={"term": "ab@x", "fields": "name"})
    assert by_name_only.json()["data"]["items"] == []
    short = client.get("/api/v2/persons/search", params={"term": "a"})
    assert short.status_code == 400


def test_org_and_deal_search(client: httpx.Client) -> None:
    """organizations/search and deals/search find by name/title with their item shapes."""
    org = _post(client, "/api/v2/organizations", {"name": "Lakeside Ortho"})
    _post(client, "/api/v2/deals", {"title": "Lakeside aligners", "org_id": org["id"]})
    orgs = client.get("/api/v2/organizations/search", params={"term": "lakeside"}).json()
    assert [i["item"]["name"] for i in orgs["data"]["items"]] == ["Lakeside Ortho"]
    deals = client.get("/api/v2/deals/search", params={"term": "aligners"}).json()
    item = deals["data"]["items"][0]["item"]
    assert item["title"] == "Lakeside aligners"
    assert item["organization"] == {"id": org["id"], "name": "Lakeside Ortho"}
    assert item["stage"] == {"id": 1, "name": "Qualified"}
    assert item["status"] == "open"
    won = client.get("/api/v2/deals/search", params={"term": "aligners", "status": "won"})
    assert won.json()["data"]["items"] == []


def test_custom_field_search_through_entity_search(client: httpx.Client) -> None:
    """fields=custom_fields matches varchar custom values and lists them in the item."""
    key = _post(client, "/api/v2/personFields", {"field_name": "Chart", "field_type": "varchar"})[
        "field_code"
    ]
    _post(client, "/api/v2/persons", {"name": "Pat", "custom_fields": {key: "CH-7781"}})
    items = client.get(
        "/api/v2/persons/search", params={"term": "CH-7781", "fields": "custom_fields"}
    ).json()["data"]["items"]
    assert [i["item"]["custom_fields"] for i in items] == [["CH-7781"]]


def test_item_search_field_is_exact_and_case_sensitive(client: httpx.Client) -> None:
    """itemSearch/field finds a record by exact custom value; case matters."""
    key = _post(
        client, "/api/v2/personFields", {"field_name": "Source ID", "field_type": "varchar"}
    )["field_code"]
    _post(client, "/api/v2/persons", {"name": "Pat", "custom_fields": {key: "PM-001"}})
    _post(client, "/api/v2/persons", {"name": "Sam", "custom_fields": {key: "PM-0012"}})
    params = {"entity_type": "person", "field": key, "term": "PM-001"}
    body = client.get("/api/v2/itemSearch/field", params=params).json()
    assert body == {
        "success": True,
        "data": [{"id": 1, "name": "Pat"}],
        "additional_data": {"next_cursor": None},
    }
    lower = client.get("/api/v2/itemSearch/field", params={**params, "term": "pm-001"}).json()
    assert lower["data"] == []
    prefix = client.get("/api/v2/itemSearch/field", params={**params, "match": "beginning"}).json()[
        "data"
    ]
    assert [h["id"] for h in prefix] == [1, 2]


def test_item_search_field_rejects_unsearchable_fields(client: httpx.Client) -> None:
    """An enum custom field cannot be searched through itemSearch/field."""
    key = _post(
        client,
        "/api/v2/dealFields",
        {"field_name": "Kind", "field_type": "enum", "options": [{"label": "a"}]},
    )["field_code"]
    response = client.get(
        "/api/v2/itemSearch/field", params={"entity_type": "deal", "field": key, "term": "a"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == f"Field '{key}' is not searchable"


def test_item_search_across_types(client: httpx.Client, sandbox: Sandbox) -> None:
    """itemSearch returns persons, organizations and deals in one list, best score first."""
    org = _post(client, "/api/v2/organizations", {"name": "Harbor"})
    _post(client, "/api/v2/persons", {"name": "Harbor Jones"})
    _post(client, "/api/v2/deals", {"title": "Harbor", "org_id": org["id"]})
    body = client.get("/api/v2/itemSearch", params={"term": "harbor"}).json()
    found = [(i["item"]["type"], i["result_score"]) for i in body["data"]["items"]]
    assert found == [("deal", 1.0), ("organization", 1.0), ("person", 0.5)]
    only = client.get("/api/v2/itemSearch", params={"term": "harbor", "item_types": "person"})
    assert [i["item"]["type"] for i in only.json()["data"]["items"]] == ["person"]
    assert body["data"]["related_items"] == []
    assert sandbox.spec_problems == []


def test_person_search_finds_note_content(client: httpx.Client) -> None:
    """fields=notes finds a person through a v1 note attached to them."""
    person = _post(client, "/api/v2/persons", {"name": "Quinn"})
    _post(client, "/api/v2/persons", {"name": "Other"})
    note = client.post(
        "/api/v1/notes", json={"content": "Allergic to latex", "person_id": person["id"]}
    )
    assert note.status_code in (200, 201), note.text
    items = client.get(
        "/api/v2/persons/search", params={"term": "latex", "fields": "notes"}
    ).json()["data"]["items"]
    assert [(i["item"]["id"], i["item"]["notes"]) for i in items] == [
        (person["id"], ["Allergic to latex"])
    ]


def test_product_search_by_code(client: httpx.Client) -> None:
    """products/search finds a product by its code with exact_match."""
    _post(client, "/api/v2/products", {"name": "Night guard", "code": "NG-1"})
    _post(client, "/api/v2/products", {"name": "Night guard XL", "code": "NG-10"})
    items = client.get(
        "/api/v2/products/search", params={"term": "NG-1", "fields": "code", "exact_match": "true"}
    ).json()["data"]["items"]
    assert [(i["item"]["name"], i["item"]["code"], i["item"]["type"]) for i in items] == [
        ("Night guard", "NG-1", "product")
    ]
