"""Every v2 endpoint the sandbox serves, once, with spec response validation on."""

from __future__ import annotations

from typing import Any

import httpx

from pdmigrate.sandbox.app import Sandbox


def _data(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), f"{response.request.url}: {response.text}"
    return response.json()["data"]


def test_every_v2_endpoint_answers_spec_shaped(make_sandbox: Any) -> None:
    """CRUD, fields, options and search on every entity leave no spec problems."""
    from .conftest import sandbox_client

    sandbox: Sandbox = make_sandbox(rate_limits=False)
    with sandbox_client(sandbox) as c:
        keys: dict[str, str] = {}
        for obj in ("person", "organization", "deal", "product"):
            field = _data(
                c.post(
                    f"/api/v2/{obj}Fields",
                    json={"field_name": "Kind", "field_type": "set",
                          "options": [{"label": "a"}, {"label": "b"}]},
                )
            )  # fmt: skip
            keys[obj] = field["field_code"]
            url = f"/api/v2/{obj}Fields/{field['field_code']}"
            _data(c.get(f"/api/v2/{obj}Fields"))
            _data(c.get(url))
            _data(c.patch(url, json={"field_name": "Kinds"}))
            added = _data(c.post(url + "/options", json=[{"label": "c"}]))
            _data(c.patch(url + "/options", json=[{"id": added[0]["id"], "label": "C"}]))
            _data(c.request("DELETE", url + "/options", json=[{"id": added[0]["id"]}]))
            text = _data(
                c.post(f"/api/v2/{obj}Fields", json={"field_name": "T", "field_type": "text"})
            )
            _data(c.delete(f"/api/v2/{obj}Fields/{text['field_code']}"))
        _data(c.get("/api/v2/activityFields"))
        _data(c.get("/api/v2/activityFields/subject"))
        opt = lambda obj: [_data(c.get(f"/api/v2/{obj}Fields/{keys[obj]}"))["options"][0]["id"]]  # noqa: E731
        org = _data(
            c.post(
                "/api/v2/organizations",
                json={
                    "name": "O",
                    "address": {"value": "1 Main St"},
                    "custom_fields": {keys["organization"]: opt("organization")},
                },
            )
        )
        person = _data(
            c.post(
                "/api/v2/persons",
                json={
                    "name": "P",
                    "org_id": org["id"],
                    "phones": [{"value": "+1 555 0100", "primary": True, "label": "mobile"}],
                    "custom_fields": {keys["person"]: opt("person")},
                },
            )
        )
        pipeline = _data(
            c.post("/api/v2/pipelines", json={"name": "Pl", "is_deal_probability_enabled": True})
        )
        stage = _data(
            c.post(
                "/api/v2/stages",
                json={"name": "St", "pipeline_id": pipeline["id"], "deal_probability": 50},
            )
        )
        deal = _data(
            c.post(
                "/api/v2/deals",
                json={
                    "title": "D",
                    "person_id": person["id"],
                    "org_id": org["id"],
                    "stage_id": stage["id"],
                    "value": 10,
                    "custom_fields": {keys["deal"]: opt("deal")},
                },
            )
        )
        product = _data(
            c.post(
                "/api/v2/products",
                json={
                    "name": "Pr",
                    "code": "X1",
                    "prices": [{"currency": "USD", "price": 5}],
                    "custom_fields": {keys["product"]: opt("product")},
                },
            )
        )
        activity = _data(
            c.post(
                "/api/v2/activities",
                json={
                    "subject": "A",
                    "deal_id": deal["id"],
                    "participants": [{"person_id": person["id"], "primary": True}],
                    "due_date": "2026-02-02",
                    "due_time": "10:00",
                    "duration": "00:30",
                },
            )
        )
        records = {"organizations": org, "persons": person, "pipelines": pipeline, "stages": stage,
                   "deals": deal, "products": product, "activities": activity}  # fmt: skip
        for entity, rec in records.items():
            _data(c.get(f"/api/v2/{entity}"))
            _data(c.get(f"/api/v2/{entity}/{rec['id']}"))
            patch = {"subject": "A2"} if entity == "activities" else {"name": "N2"}
            if entity == "deals":
                patch = {"title": "D2", "status": "won"}
            _data(c.patch(f"/api/v2/{entity}/{rec['id']}", json=patch))
        _data(c.get("/api/v2/deals/archived"))
        _data(c.get("/api/v2/persons/search", params={"term": "N2"}))
        _data(c.get("/api/v2/organizations/search", params={"term": "N2"}))
        _data(c.get("/api/v2/deals/search", params={"term": "D2"}))
        _data(
            c.get(
                "/api/v2/itemSearch/field",
                params={"entity_type": "person", "field": "name", "term": "N2"},
            )
        )
        for entity in (
            "activities",
            "deals",
            "products",
            "persons",
            "organizations",
            "stages",
            "pipelines",
        ):
            _data(c.delete(f"/api/v2/{entity}/{records[entity]['id']}"))
    assert sandbox.spec_problems == []
