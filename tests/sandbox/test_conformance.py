"""Conformance walk: every sandbox endpoint, checked against Pipedrive's official specs.

The walk calls every route the sandbox implements (v2 entities, fields and options,
searches, deal products; v1 notes, files, leads, users, activityTypes and
organizationRelationships) through the in-process transport, and asserts that no
request or response of it broke the spec (``sandbox.spec_problems`` stays empty). The
other tests assert the exact errors of the live rules the spec does not express.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from pdmigrate.sandbox.app import Sandbox
from pdmigrate.sandbox.faults import FaultSpec
from pdmigrate.sandbox.spec import SpecValidator

from .conftest import sandbox_client

pytestmark = pytest.mark.conformance

ERROR_INFO = "Please check developers.pipedrive.com"


def _error(message: str, code: str) -> dict[str, Any]:
    return {
        "success": False,
        "error": message,
        "code": code,
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }


class Walk:
    """Sends requests, asserts their status, and records which sandbox routes they hit."""

    def __init__(self, client: httpx.Client, sandbox: Sandbox) -> None:
        self.client = client
        self.sandbox = sandbox
        self.hit: set[tuple[str, str]] = set()

    def __call__(self, method: str, url: str, status: int = 200, **kwargs: Any) -> Any:
        """One request; returns ``data`` of the JSON envelope (or the raw response)."""
        response = self.client.request(method, url, **kwargs)
        assert response.status_code == status, f"{method} {url}: {response.text[:300]}"
        found = self.sandbox.find_route(method, httpx.URL(url).path)
        assert found is not None, f"{method} {url} hit no sandbox route"
        route = found[0]
        self.hit.add((route.method, route.path))
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            assert body["success"] is (status < 400)
            return body["data"]
        return response


def _walk_v2_entities(call: Walk) -> dict[str, int]:
    ids: dict[str, int] = {}
    org = call("POST", "/api/v2/organizations", json={"name": "Harbour Dental (synthetic)"})
    ids["org"] = org["id"]
    person = call(
        "POST",
        "/api/v2/persons",
        json={
            "name": "Ada Example",
            "org_id": org["id"],
            "emails": [{"value": "ada@example.test", "primary": True, "label": "work"}],
            "phones": [{"value": "+61 8 8000 0000", "primary": True, "label": "mobile"}],
            "add_time": "2019-02-03T04:05:06Z",
        },
    )
    ids["person"] = person["id"]
    pipeline = call("POST", "/api/v2/pipelines", json={"name": "Treatment plans"})
    stage = call(
        "POST",
        "/api/v2/stages",
        json={"name": "Consult booked", "pipeline_id": pipeline["id"], "deal_probability": 40},
    )
    deal = call(
        "POST",
        "/api/v2/deals",
        json={
            "title": "Implant plan",
            "person_id": person["id"],
            "org_id": org["id"],
            "pipeline_id": pipeline["id"],
            "stage_id": stage["id"],
            "value": 4200,
            "currency": "AUD",
            "expected_close_date": "2026-06-30",
        },
    )
    ids["deal"] = deal["id"]
    ids["pipeline"], ids["stage"] = pipeline["id"], stage["id"]
    product = call(
        "POST",
        "/api/v2/products",
        201,
        json={
            "name": "Implant crown",
            "code": "IMP-1",
            "prices": [{"currency": "AUD", "price": 900}],
        },
    )
    ids["product"] = product["id"]
    activity = call(
        "POST",
        "/api/v2/activities",
        json={
            "subject": "Implant consult",
            "type": "meeting",
            "due_date": "2026-03-04",
            "due_time": "09:30",
            "duration": "00:45",
            "location": {"value": "1 Harbour St, Darwin NT 0800"},
            "deal_id": deal["id"],
            "participants": [{"person_id": person["id"], "primary": True}],
        },
    )
    ids["activity"] = activity["id"]
    lists = {
        "persons": "?limit=1&sort_by=add_time&sort_direction=desc",
        "organizations": f"?ids={org['id']}",
        "deals": "?updated_since=2020-01-01T00:00:00Z&limit=500",
        "activities": "?sort_by=due_date",
        "products": "",
        "pipelines": "",
        "stages": f"?pipeline_id={pipeline['id']}",
    }
    created = {
        "persons": person["id"],
        "organizations": org["id"],
        "deals": deal["id"],
        "activities": activity["id"],
        "products": product["id"],
        "pipelines": pipeline["id"],
        "stages": stage["id"],
    }
    for entity, query in lists.items():
        call("GET", f"/api/v2/{entity}{query}")
        call("GET", f"/api/v2/{entity}/{created[entity]}")
    # cursor pagination: two persons, one per page
    call("POST", "/api/v2/persons", json={"name": "Bea Example"})
    page = call.client.get("/api/v2/persons", params={"limit": 1}).json()
    cursor = page["additional_data"]["next_cursor"]
    assert isinstance(cursor, str)
    call("GET", f"/api/v2/persons?limit=1&cursor={cursor}")
    old = call("POST", "/api/v2/deals", json={"title": "Old plan"})
    call("PATCH", f"/api/v2/deals/{old['id']}", json={"is_archived": True})
    archived = call("GET", "/api/v2/deals/archived")
    assert [d["id"] for d in archived] == [old["id"]]
    patches = {
        "persons": {"name": "Ada King"},
        "organizations": {"name": "Harbour Dental Group"},
        "deals": {"status": "won"},
        "activities": {"done": True},
        "products": {"unit": "each"},
        "pipelines": {"name": "Treatments"},
        "stages": {"deal_probability": 60},
    }
    if call.sandbox.config.contact_sync:
        patches["persons"] |= {
            "birthday": "1990-04-01",
            "job_title": "Hygienist",
            "notes": "Prefers mornings",
            "postal_address": {"value": "1 Harbour St, Darwin NT 0800", "postal_code": "0800"},
            "im": [{"value": "ada.im", "primary": True, "label": "work"}],
        }
    for entity, body in patches.items():
        call("PATCH", f"/api/v2/{entity}/{created[entity]}", json=body)
    return ids


def _walk_v2_fields(call: Walk) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for obj in ("person", "organization", "deal", "product"):
        fields = call("GET", f"/api/v2/{obj}Fields")
        call("GET", f"/api/v2/{obj}Fields/{fields[0]['field_code']}")
        text = call(
            "POST",
            f"/api/v2/{obj}Fields",
            json={"field_name": "Source ID", "field_type": "varchar"},
        )
        enum = call(
            "POST",
            f"/api/v2/{obj}Fields",
            json={"field_name": "Tier", "field_type": "enum", "options": [{"label": "Gold"}]},
        )
        code = enum["field_code"]
        added = call("POST", f"/api/v2/{obj}Fields/{code}/options", json=[{"label": "Silver"}])
        call(
            "PATCH",
            f"/api/v2/{obj}Fields/{code}/options",
            json=[{"id": added[0]["id"], "label": "Platinum"}],
        )
        call("DELETE", f"/api/v2/{obj}Fields/{code}/options", json=[{"id": added[0]["id"]}])
        call("PATCH", f"/api/v2/{obj}Fields/{text['field_code']}", json={"field_name": "Legacy ID"})
        keys[obj] = {"text": text["field_code"], "enum": code, "gold": enum["options"][0]["id"]}
    for obj in ("person", "organization", "deal", "product"):
        scratch = {"field_name": "Scratch", "field_type": "double"}
        made = call("POST", f"/api/v2/{obj}Fields", json=scratch)
        call("DELETE", f"/api/v2/{obj}Fields/{made['field_code']}")
    activity_fields = call("GET", "/api/v2/activityFields")
    call("GET", f"/api/v2/activityFields/{activity_fields[0]['field_code']}")
    return keys


def _walk_searches_and_deal_products(call: Walk, ids: dict[str, int], keys: dict[str, Any]) -> None:
    call(
        "PATCH",
        f"/api/v2/persons/{ids['person']}",
        json={"custom_fields": {keys["person"]["text"]: "PM-000042"}},
    )
    deal_enum = keys["deal"]["enum"]
    call(
        "PATCH",
        f"/api/v2/deals/{ids['deal']}",
        json={"custom_fields": {deal_enum: keys["deal"]["gold"]}},
    )
    labelled = call(
        "GET", f"/api/v2/deals?include_option_labels=true&custom_fields={deal_enum}&limit=5"
    )
    gold = {"id": keys["deal"]["gold"], "label": "Gold"}
    assert labelled[0]["custom_fields"] == {deal_enum: gold}
    call("GET", "/api/v2/persons/search?term=Ada&fields=name")
    call("GET", "/api/v2/organizations/search?term=Harbour")
    call("GET", "/api/v2/deals/search?term=Implant")
    call("GET", "/api/v2/itemSearch?term=Harbour&item_types=organization,person&limit=100")
    call("GET", "/api/v2/products/search?term=IMP-1&fields=code&exact_match=true")
    hits = call(
        "GET",
        "/api/v2/itemSearch/field?term=PM-000042&entity_type=person&match=exact"
        f"&field={keys['person']['text']}",
    )
    assert [h["id"] for h in hits] == [ids["person"]]
    deal = ids["deal"]
    one = call(
        "POST",
        f"/api/v2/deals/{deal}/products",
        201,
        json={"product_id": ids["product"], "item_price": 900, "quantity": 1},
    )
    call(
        "POST",
        f"/api/v2/deals/{deal}/products/bulk",
        201,
        json={
            "data": [
                {"product_id": ids["product"], "item_price": 450, "quantity": 2},
                {"product_id": ids["product"], "item_price": 100, "quantity": 3},
            ]
        },
    )
    call("GET", f"/api/v2/deals/{deal}/products")
    call("GET", f"/api/v2/deals/products?deal_ids={deal}")
    call("PATCH", f"/api/v2/deals/{deal}/products/{one['id']}", json={"quantity": 2})
    call("DELETE", f"/api/v2/deals/{deal}/products/{one['id']}")
    call("DELETE", f"/api/v2/deals/{deal}/products")


def _walk_v1(call: Walk, ids: dict[str, int]) -> None:
    note = call(
        "POST",
        "/v1/notes",
        json={
            "content": "<p>Consult</p>",
            "person_id": ids["person"],
            "add_time": "2019-05-06 07:08:09",
        },
    )
    call("GET", f"/v1/notes?person_id={ids['person']}&start=0&limit=50")
    call("GET", f"/api/v1/notes/{note['id']}")
    call("PUT", f"/v1/notes/{note['id']}", json={"content": "<p>Consult, revised</p>"})
    call("DELETE", f"/v1/notes/{note['id']}")

    upload = call(
        "POST",
        "/v1/files",
        files={"file": ("xray.pdf", b"%PDF-1.4 synthetic\n", "application/pdf")},
        data={"person_id": str(ids["person"])},
    )
    call("GET", "/v1/files?limit=100")
    call("GET", f"/v1/files/{upload['id']}")
    download = call("GET", f"/v1/files/{upload['id']}/download")
    assert download.content == b"%PDF-1.4 synthetic\n"
    call("PUT", f"/v1/files/{upload['id']}", data={"name": "xray-2019.pdf"})
    call("DELETE", f"/v1/files/{upload['id']}")

    lead = call(
        "POST",
        "/v1/leads",
        201,
        json={
            "title": "Whitening enquiry",
            "person_id": ids["person"],
            "value": {"amount": 300, "currency": "AUD"},
        },
    )
    call("GET", "/v1/leads?limit=10")
    call("GET", f"/v1/leads/{lead['id']}")
    call("PATCH", f"/v1/leads/{lead['id']}", json={"is_archived": True})
    call("GET", "/v1/leads/archived")
    call("DELETE", f"/v1/leads/{lead['id']}")

    users = call("GET", "/v1/users")
    me = call("GET", "/v1/users/me")
    call("GET", f"/v1/users/find?term={me['email']}&search_by_email=1")
    call("GET", f"/v1/users/{users[0]['id']}")
    new_user = call(
        "POST",
        "/v1/users",
        json={"email": "hygienist@practice.example", "access": [{"app": "sales"}]},
    )
    call("PUT", f"/v1/users/{new_user['id']}", json={"active_flag": False})

    call("GET", "/v1/activityTypes")
    kind = call("POST", "/v1/activityTypes", json={"name": "Recall", "icon_key": "call"})
    call("PUT", f"/v1/activityTypes/{kind['id']}", json={"color": "FFAA00"})
    call("DELETE", f"/v1/activityTypes/{kind['id']}")

    child = call("POST", "/api/v2/organizations", json={"name": "Harbour Dental North"})
    rel = call(
        "POST",
        "/v1/organizationRelationships",
        json={"type": "parent", "rel_owner_org_id": ids["org"], "rel_linked_org_id": child["id"]},
    )
    call("GET", f"/v1/organizationRelationships?org_id={ids['org']}")
    call("GET", f"/v1/organizationRelationships/{rel['id']}")
    call("PUT", f"/v1/organizationRelationships/{rel['id']}", json={"type": "related"})
    call("DELETE", f"/v1/organizationRelationships/{rel['id']}")


@pytest.fixture(params=[False, True], ids=["contact-sync-off", "contact-sync-on"])
def walk(make_sandbox: Callable[..., Sandbox], request: pytest.FixtureRequest) -> Iterator[Walk]:
    """A walker over a fresh sandbox without rate limits (the walk is ~150 quick calls)."""
    sandbox = make_sandbox(rate_limits=False, contact_sync=request.param)
    with sandbox_client(sandbox) as client:
        yield Walk(client, sandbox)


def _walk_errors(call: Walk) -> None:
    """Error answers are checked too: each must be Pipedrive's error envelope."""
    for entity in ("persons", "organizations", "deals", "activities", "products"):
        call("GET", f"/api/v2/{entity}/999999", 404)
        call("PATCH", f"/api/v2/{entity}/999999", 404, json={})
    call("GET", "/v1/notes/999999", 404)
    call("GET", "/v1/leads/00000000-0000-4000-8000-000000000000", 404)
    call("GET", "/api/v2/persons?limit=all", 400)
    call("POST", "/api/v2/deals", 400, json={"value": 1})
    call("POST", "/v1/notes", 400, json={"person_id": 1})


def test_walk_every_endpoint_without_spec_problems(walk: Walk) -> None:
    """Every sandbox route is called once or more, and nothing of it breaks the spec."""
    call, sandbox = walk, walk.sandbox
    ids = _walk_v2_entities(call)
    keys = _walk_v2_fields(call)
    _walk_searches_and_deal_products(call, ids, keys)
    _walk_v1(call, ids)
    _walk_errors(call)
    deletes = {
        "activities": ids["activity"],
        "deals": ids["deal"],
        "persons": ids["person"],
        "products": ids["product"],
        "stages": ids["stage"],
        "pipelines": ids["pipeline"],
        "organizations": ids["org"],
    }
    for entity, entity_id in deletes.items():
        assert call("DELETE", f"/api/v2/{entity}/{entity_id}") == {"id": entity_id}
        call("GET", f"/api/v2/{entity}/{entity_id}", 404)  # soft-deleted: gone from reads
    assert sandbox.spec_problems == []
    missing = {(r.method, r.path) for r in sandbox.routes} - call.hit
    assert missing == set()


def test_deal_products_listing_is_routed(walk: Walk) -> None:
    """GET /v2/deals/products?deal_ids= lists deal products across deals."""
    deal = walk("POST", "/api/v2/deals", json={"title": "Plan"})
    product = walk("POST", "/api/v2/products", 201, json={"name": "Crown"})
    line = {"product_id": product["id"], "item_price": 900, "quantity": 1}
    walk("POST", f"/api/v2/deals/{deal['id']}/products", 201, json=line)
    listed = walk("GET", f"/api/v2/deals/products?deal_ids={deal['id']}")
    assert [(p["deal_id"], p["product_id"]) for p in listed] == [(deal["id"], product["id"])]
    assert walk.sandbox.spec_problems == []


def test_every_sandbox_route_is_a_spec_operation(sandbox: Sandbox) -> None:
    """The sandbox implements no route that Pipedrive's specs lack."""
    validator = sandbox.spec
    assert validator is not None
    strays = []
    for route in sandbox.routes:
        sample = route.path.replace("{id:int}", "1").replace("{id}", "1")
        sample = sample.replace("{product_attachment_id:int}", "2").replace("{field_code}", "abc")
        if validator.operation(route.method, sample) is None:
            strays.append(f"{route.method} {route.path}")
    assert strays == []


# --- live rules the spec does not express ---------------------------------------------

HEX = "3b71ad2f6e0c94b1c5f0d8e2a7b64c19e0f3d582"


def test_activity_person_id_is_read_only(client: httpx.Client) -> None:
    """POST/PATCH /v2/activities with person_id -> 400 ERR_BAD_REQUEST, Pipedrive's words."""
    person = client.post("/api/v2/persons", json={"name": "Ada Example"}).json()["data"]
    body = {"subject": "Call", "type": "call", "person_id": person["id"]}
    expected = _error(
        "'person_id' is a read-only field. Add a primary participant to set 'person_id' instead.",
        "ERR_BAD_REQUEST",
    )
    response = client.post("/api/v2/activities", json=body)
    assert (response.status_code, response.json()) == (400, expected)
    made = client.post("/api/v2/activities", json={"subject": "Call", "type": "call"}).json()
    patched = client.patch(f"/api/v2/activities/{made['data']['id']}", json={"person_id": 1})
    assert (patched.status_code, patched.json()) == (400, expected)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v2/persons", {"name": "Ada"}),
        ("POST", "/api/v2/organizations", {"name": "Harbour"}),
        ("POST", "/api/v2/deals", {"title": "Plan"}),
        ("POST", "/api/v2/products", {"name": "Crown"}),
    ],
)
def test_custom_field_key_at_top_level_is_rejected(
    client: httpx.Client, method: str, path: str, body: dict[str, Any]
) -> None:
    """A 40-hex custom-field key outside custom_fields -> ERR_SCHEMA_VALIDATION_FAILED."""
    response = client.request(method, path, json={**body, HEX: "value"})
    expected = _error(
        f"Validation failed: {HEX}: Parameter '{HEX}' is not allowed for this request",
        "ERR_SCHEMA_VALIDATION_FAILED",
    )
    assert (response.status_code, response.json()) == (400, expected)


def test_enum_value_as_string_is_rejected(client: httpx.Client) -> None:
    """An enum custom field takes the option id as a number; its label or "12" is rejected."""
    field = client.post(
        "/api/v2/dealFields",
        json={"field_name": "Tier", "field_type": "enum", "options": [{"label": "Gold"}]},
    ).json()["data"]
    code, gold = field["field_code"], field["options"][0]["id"]
    expected = _error(
        "Validation failed: custom_fields: Expected 'number' as value for single option "
        "custom field",
        "ERR_SCHEMA_VALIDATION_FAILED",
    )
    for wrong in ("Gold", str(gold)):
        response = client.post(
            "/api/v2/deals", json={"title": "Plan", "custom_fields": {code: wrong}}
        )
        assert (response.status_code, response.json()) == (400, expected)
    ok = client.post("/api/v2/deals", json={"title": "Plan", "custom_fields": {code: gold}})
    assert ok.status_code == 200
    assert ok.json()["data"]["custom_fields"][code] == gold


def test_varchar_over_255_is_rejected(client: httpx.Client) -> None:
    """255 characters fit a varchar (standard or custom); 256 are a 400."""
    field = client.post(
        "/api/v2/personFields", json={"field_name": "Source ID", "field_type": "varchar"}
    ).json()["data"]
    code = field["field_code"]
    fits = client.post(
        "/api/v2/persons", json={"name": "n" * 255, "custom_fields": {code: "v" * 255}}
    )
    assert fits.status_code == 200
    too_long_name = client.post("/api/v2/persons", json={"name": "n" * 256})
    assert (too_long_name.status_code, too_long_name.json()) == (
        400,
        _error(
            "Validation failed: name: Must be at most 255 characters long",
            "ERR_SCHEMA_VALIDATION_FAILED",
        ),
    )
    too_long_custom = client.post(
        "/api/v2/persons", json={"name": "Ada", "custom_fields": {code: "v" * 256}}
    )
    assert too_long_custom.status_code == 400
    assert too_long_custom.json()["code"] == "ERR_SCHEMA_VALIDATION_FAILED"
    assert too_long_custom.json()["error"].startswith("Validation failed: custom_fields")
    assert "255" in too_long_custom.json()["error"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("birthday", "1990-04-01"),
        ("postal_address", {"value": "1 Harbour St, Darwin NT 0800"}),
        ("job_title", "Hygienist"),
        ("notes", "Prefers mornings"),
        ("im", [{"value": "ada.im", "primary": True}]),
    ],
)
def test_contact_sync_fields_follow_the_account_setting(
    client: httpx.Client, make_sandbox: Callable[..., Sandbox], key: str, value: Any
) -> None:
    """Without Contact Sync a person's Contact Sync keys are rejected; with it they stick."""
    response = client.post("/api/v2/persons", json={"name": "Ada", key: value})
    expected = _error(
        f"Validation failed: {key}: Parameter '{key}' is not allowed for this request",
        "ERR_SCHEMA_VALIDATION_FAILED",
    )
    assert (response.status_code, response.json()) == (400, expected)
    synced = make_sandbox(contact_sync=True)
    with sandbox_client(synced) as other:
        made = other.post("/api/v2/persons", json={"name": "Ada", key: value})
        assert made.status_code == 200, made.text
        got = other.get(f"/api/v2/persons/{made.json()['data']['id']}").json()["data"]
    stored = got[key]
    if key == "postal_address":
        assert stored["value"] == value["value"]
    elif key == "im":
        assert [(i["value"], i["primary"]) for i in stored] == [("ada.im", True)]
    else:
        assert stored == value
    assert synced.spec_problems == []


def test_spec_violation_reaches_the_client_as_pipedrive_400(client: httpx.Client) -> None:
    """The pipeline turns a spec violation into Pipedrive's 400 before any handler runs."""
    response = client.get("/api/v2/persons", params={"limit": "all"})
    assert (response.status_code, response.json()) == (
        400,
        _error(
            "Validation failed: limit: Expected 'integer' as value, got 'string'",
            "ERR_SCHEMA_VALIDATION_FAILED",
        ),
    )
    response = client.post("/api/v2/deals", json={"value": 10})
    assert response.json()["error"] == "Validation failed: title: Parameter 'title' is required"


class TimedValidator(SpecValidator):
    """The real validator, recording how long each check takes."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def validate_request(self, *args: Any, **kwargs: Any) -> Any:
        """Time the real request check."""
        start = time.perf_counter()
        try:
            return super().validate_request(*args, **kwargs)
        finally:
            self.seconds.append(time.perf_counter() - start)

    def validate_response(self, *args: Any, **kwargs: Any) -> list[str]:
        """Time the real response check."""
        start = time.perf_counter()
        try:
            return super().validate_response(*args, **kwargs)
        finally:
            self.seconds.append(time.perf_counter() - start)


def test_validation_costs_well_under_a_millisecond(make_sandbox: Callable[..., Sandbox]) -> None:
    """Over a warm walk of every endpoint, a spec check's median is < 0.5 ms, p95 < 2 ms."""
    timed = TimedValidator()
    for _ in range(2):  # the first round compiles each operation's schemas once
        timed.seconds.clear()
        sandbox = make_sandbox(rate_limits=False)
        sandbox.spec = timed
        with sandbox_client(sandbox) as client:
            call = Walk(client, sandbox)
            ids = _walk_v2_entities(call)
            _walk_searches_and_deal_products(call, ids, _walk_v2_fields(call))
            _walk_v1(call, ids)
        assert sandbox.spec_problems == []
    seconds = sorted(timed.seconds)
    median_ms = statistics.median(seconds) * 1000
    p95_ms = seconds[int(len(seconds) * 0.95)] * 1000
    print(f"spec checks: {len(seconds)}, median {median_ms:.3f} ms, p95 {p95_ms:.3f} ms")
    assert len(seconds) > 200
    assert median_ms < 0.5
    assert p95_ms < 2.0


def test_refusals_and_faults_are_pipedrive_error_envelopes(
    make_sandbox: Callable[..., Sandbox],
) -> None:
    """Answers sent before validation (burst 429, injected 5xx) still have the error shape."""
    validator = SpecValidator()
    limited = make_sandbox(plan="lite")  # 20 requests per 2 s per token
    with sandbox_client(limited) as client:
        statuses = [client.get("/api/v2/persons").status_code for _ in range(21)]
        refused = client.get("/api/v2/persons")
    assert statuses == [200] * 20 + [429]
    assert refused.json()["code"] == "RATE_LIMIT_BURST"
    assert validator.validate_response("GET", "/api/v2/persons", 429, refused.json()) == []

    faulty = make_sandbox(rate_limits=False, faults=FaultSpec(fail_nth_write=(1,)))
    with sandbox_client(faulty) as client:
        failed = client.post("/api/v2/persons", json={"name": "Ada"})
    assert failed.status_code == 500
    assert validator.validate_response("POST", "/api/v2/persons", 500, failed.json()) == []
    assert limited.spec_problems == faulty.spec_problems == []
