"""Every per-entity helper of the client, round-tripped through the in-process sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest

from pdmigrate.pipedrive.client import PipedriveClient
from pdmigrate.pipedrive.responses import NotFound
from pdmigrate.pipedrive.testing import FakeSleep
from pdmigrate.sandbox.app import Sandbox, app_for
from pdmigrate.sandbox.clock import FakeClock
from pdmigrate.sandbox.config import SandboxConfig
from pdmigrate.sandbox.inprocess import AsyncSandboxTransport

T = TypeVar("T")


@pytest.fixture
def env() -> tuple[Sandbox, PipedriveClient]:
    """A premium sandbox and a client sharing a fake clock."""
    clock = FakeClock(datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    sandbox = Sandbox(SandboxConfig(plan="premium", clock=clock))
    client = PipedriveClient(
        "http://sandbox",
        "resources-token",
        transport=AsyncSandboxTransport(app_for(sandbox)),
        plan="premium",
        clock=clock,
        sleep=FakeSleep(clock),
    )
    return sandbox, client


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine to completion."""
    return asyncio.run(coro)


async def collect(items: Any) -> list[dict[str, Any]]:
    """Drain an async iterator."""
    return [item async for item in items]


def test_v2_entities_crud_cursor_pages_and_ids_batches(
    env: tuple[Sandbox, PipedriveClient],
) -> None:
    """Create, get, update, list (cursor pages), get_many and delete for the v2 entities."""
    sandbox, c = env

    async def go() -> None:
        org = await c.organizations.create({"name": "Harbour Dental"})
        people = [await c.persons.create({"name": f"P{i}", "org_id": org["id"]}) for i in range(7)]
        ids = [p["id"] for p in people]
        listed = await collect(c.persons.list(page_size=3))
        assert [p["id"] for p in listed] == ids
        assert c.stats.by_endpoint["persons.list"] == 3  # 3 + 3 + 1
        assert [p["id"] for p in await c.persons.get_many(reversed(ids[:5]))] == ids[:5]
        updated = await c.persons.update(ids[0], {"name": "P0 renamed"})
        assert updated["name"] == "P0 renamed"
        assert (await c.persons.get(ids[0]))["name"] == "P0 renamed"
        await c.persons.delete(ids[6])
        with pytest.raises(NotFound):
            await c.persons.get(ids[6])

        pipeline = await c.pipelines.create({"name": "Treatment plans"})
        stage = await c.stages.create({"name": "Proposed", "pipeline_id": pipeline["id"]})
        deal = await c.deals.create(
            {"title": "Implant", "person_id": ids[0], "stage_id": stage["id"], "value": 1200}
        )
        assert (await c.deals.get(deal["id"]))["stage_id"] == stage["id"]
        assert [s["id"] for s in await collect(c.stages.list(pipeline_id=pipeline["id"]))] == [
            stage["id"]
        ]
        product = await c.products.create({"name": "Crown", "code": "011"})
        assert (await c.products.get(product["id"]))["code"] == "011"
        act = await c.activities.create(
            {
                "subject": "Check-up",
                "type": "meeting",
                "participants": [{"person_id": ids[1], "primary": True}],
            }
        )
        mine = await collect(c.activities.list(person_id=ids[1]))
        assert [a["id"] for a in mine] == [act["id"]]
        assert (await c.activities.update(act["id"], {"done": True}))["done"] is True

    run(go())
    assert sandbox.spec_problems == []


def test_fields_options_search_and_deal_products(env: tuple[Sandbox, PipedriveClient]) -> None:
    """Custom fields with options, itemSearch/field exact, persons search, deal products bulk."""
    sandbox, c = env

    async def go() -> None:
        src = await c.person_fields.create({"field_name": "Source ID", "field_type": "varchar"})
        kind = await c.person_fields.create(
            {"field_name": "Kind", "field_type": "enum", "options": [{"label": "New"}]}
        )
        added = await c.person_fields.add_options(kind["field_code"], ["Recall", "Lapsed"])
        assert [o["label"] for o in added] == ["Recall", "Lapsed"]
        codes = {f["field_code"] for f in await c.person_fields.list()}
        assert {src["field_code"], kind["field_code"]} <= codes
        assert (await c.person_fields.get(src["field_code"]))["field_name"] == "Source ID"
        assert any(f["field_code"] == "subject" for f in await c.activity_fields.list())

        person = await c.persons.create(
            {
                "name": "Dee Exact",
                "emails": [{"value": "dee@example.test", "primary": True, "label": "work"}],
                "custom_fields": {src["field_code"]: "PM-0042", kind["field_code"]: added[0]["id"]},
            }
        )
        hits = await c.item_search.field(
            entity_type="person", field=src["field_code"], term="PM-0042"
        )
        assert [h["id"] for h in hits] == [person["id"]]
        assert (
            await c.item_search.field(entity_type="person", field=src["field_code"], term="pm-0042")
            == []
        )
        found = await collect(
            c.persons.search("dee@example.test", fields="email", exact_match=True)
        )
        assert [f["item"]["id"] for f in found] == [person["id"]]

        deal = await c.deals.create({"title": "Ortho plan", "person_id": person["id"]})
        products = [await c.products.create({"name": f"Item {i}"}) for i in range(3)]
        one = await c.deal_products.add(
            deal["id"], {"product_id": products[0]["id"], "item_price": 10, "quantity": 1}
        )
        bulk = await c.deal_products.add_bulk(
            deal["id"],
            [{"product_id": p["id"], "item_price": 20, "quantity": 2} for p in products[1:]],
        )
        assert len(bulk) == 2
        attached = await collect(c.deal_products.list(deal["id"]))
        assert sorted(a["product_id"] for a in attached) == sorted(p["id"] for p in products)
        many = await collect(c.deal_products.list_many([deal["id"]]))
        assert len(many) == 3
        await c.deal_products.delete(deal["id"], one["id"])
        assert len(await collect(c.deal_products.list(deal["id"]))) == 2

    run(go())
    assert sandbox.spec_problems == []


@pytest.mark.slow
def test_v1_notes_files_leads_users_types_and_relationships(
    env: tuple[Sandbox, PipedriveClient],
) -> None:
    """The v1 helpers: offset pages, multipart upload and download, leads, users, types, links."""
    sandbox, c = env

    async def go() -> None:
        person = await c.persons.create({"name": "Eve Notes"})
        for i in range(5):
            await c.notes.create(
                {
                    "content": f"<p>note {i}</p>",
                    "person_id": person["id"],
                    "add_time": "2019-05-01 10:00:00",
                }
            )
        notes = await collect(c.notes.list(person_id=person["id"], page_size=2))
        assert len(notes) == 5
        assert c.stats.by_endpoint["notes.list"] == 3
        assert {n["add_time"] for n in notes} == {"2019-05-01 10:00:00"}

        uploaded = await c.files.upload(
            b"%PDF-1.4 synthetic",
            filename="xray.pdf",
            content_type="application/pdf",
            person_id=person["id"],
        )
        assert await c.files.download(uploaded["id"]) == b"%PDF-1.4 synthetic"

        lead = await c.leads.create({"title": "Whitening enquiry", "person_id": person["id"]})
        assert (await c.leads.get(lead["id"]))["title"] == "Whitening enquiry"
        assert [x["id"] for x in await collect(c.leads.list())] == [lead["id"]]

        users = await c.users.list()
        me = await c.users.me()
        assert me["id"] in {u["id"] for u in users}
        assert [u["id"] for u in await c.users.find(me["email"])] == [me["id"]]

        new_type = await c.activity_types.create({"name": "Recall visit", "icon_key": "calendar"})
        assert new_type["key_string"] in {t["key_string"] for t in await c.activity_types.list()}

        parent = await c.organizations.create({"name": "Group Practice"})
        child = await c.organizations.create({"name": "Branch"})
        link = await c.organization_relationships.link_parent(parent["id"], child["id"])
        rels = await c.organization_relationships.for_org(child["id"])
        assert [r["id"] for r in rels] == [link["id"]]

    run(go())
    assert sandbox.spec_problems == []
