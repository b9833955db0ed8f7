"""The endpoint table: matches Pipedrive's official specs, and routes paths correctly."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from pdmigrate.pipedrive import endpoints
from pdmigrate.pipedrive.endpoints import (
    ENDPOINTS,
    Endpoint,
    EndpointTableError,
    drift,
    match,
    match_params,
    parse_table,
    rebuild_costs,
)


@pytest.fixture(scope="session")
def specs(shared_dir: Path) -> dict[str, dict[str, Any]]:
    """Both official OpenAPI documents, parsed once per session."""
    out: dict[str, dict[str, Any]] = {}
    for version in ("v1", "v2"):
        text = (shared_dir / "pipedrive" / f"openapi-{version}.yaml").read_text("utf-8")
        out[version] = yaml.load(text, Loader=yaml.CSafeLoader)
    return out


def test_table_matches_spec_costs_methods_and_paths(specs: dict[str, dict[str, Any]]) -> None:
    """Every entry's method+path exists in its spec and its cost equals x-token-cost."""
    assert drift(ENDPOINTS, specs) == []


def test_rebuilt_costs_equal_the_table(specs: dict[str, dict[str, Any]]) -> None:
    """Costs rebuilt from the spec files are exactly the costs in the table."""
    assert rebuild_costs(ENDPOINTS, specs) == {ep.name: ep.cost for ep in ENDPOINTS}


def test_drift_reports_a_wrong_cost_and_a_missing_path(specs: dict[str, dict[str, Any]]) -> None:
    """The drift check fails on a changed cost and on a path the spec lacks."""
    wrong = Endpoint("persons.create", "v2", "POST", "/api/v2/persons", 4, False, True)
    ghost = Endpoint("ghosts.list", "v2", "GET", "/api/v2/ghosts", 10, False, False)
    wrong_method = Endpoint("notes.patch", "v1", "PATCH", "/api/v1/notes/{id}", 10, False, True)
    assert drift([wrong, ghost, wrong_method], specs) == [
        "persons.create: cost 4 but x-token-cost is 5 in the v2 spec",
        "ghosts.list: GET /ghosts is not in the v2 spec",
        "notes.patch: PATCH /notes/{id} is not in the v1 spec",
    ]


def test_table_covers_what_pdmigrate_uses() -> None:
    """The operations named in the sandbox contract are all in the table."""
    names = {ep.name for ep in ENDPOINTS}
    expected = {
        *(
            f"{e}.{a}"
            for e in ("persons", "organizations", "deals", "activities", "products")
            for a in ("list", "get", "create", "update", "delete")
        ),
        *(f"{e}.{a}" for e in ("pipelines", "stages") for a in ("list", "get", "create", "update")),
        "deals.archived",
        "persons.search",
        "organizations.search",
        "deals.search",
        "products.search",
        "itemSearch.search",
        "itemSearch.field",
        "dealFields.create",
        "personFields.options.create",
        "activityFields.list",
        "dealProducts.create",
        "dealProducts.bulkCreate",
        "dealProducts.list",
        "notes.create",
        "files.create",
        "files.download",
        "leads.create",
        "users.list",
        "users.find",
        "users.me",
        "users.get",
        "users.create",
        "activityTypes.list",
        "activityTypes.create",
        "organizationRelationships.create",
    }
    assert expected <= names


@pytest.mark.parametrize(
    ("method", "path", "name", "params"),
    [
        ("GET", "/api/v2/persons", "persons.list", {}),
        ("POST", "/api/v2/persons", "persons.create", {}),
        ("GET", "/api/v2/persons/42", "persons.get", {"id": "42"}),
        ("patch", "/api/v2/persons/42/", "persons.update", {"id": "42"}),
        ("GET", "/api/v2/persons/search", "persons.search", {}),
        ("GET", "/api/v2/persons/search?term=ab&fields=email", "persons.search", {}),
        ("GET", "/api/v2/deals/archived", "deals.archived", {}),
        ("GET", "/api/v2/deals/products", "dealProducts.listMany", {}),
        ("GET", "/api/v2/deals/9/products", "dealProducts.list", {"id": "9"}),
        ("POST", "/api/v2/deals/9/products/bulk", "dealProducts.bulkCreate", {"id": "9"}),
        (
            "PATCH",
            "/api/v2/deals/9/products/3",
            "dealProducts.update",
            {"id": "9", "product_attachment_id": "3"},
        ),
        ("GET", "/api/v2/itemSearch/field", "itemSearch.field", {}),
        (
            "POST",
            "/api/v2/personFields/" + "a" * 40 + "/options",
            "personFields.options.create",
            {"field_code": "a" * 40},
        ),
        ("GET", "/api/v1/users/me", "users.me", {}),
        ("GET", "/api/v1/users/find", "users.find", {}),
        ("GET", "/api/v1/users/7", "users.get", {"id": "7"}),
        ("GET", "/v1/notes", "notes.list", {}),
        ("PUT", "/v1/notes/5", "notes.update", {"id": "5"}),
        ("GET", "/api/v1/files/5/download", "files.download", {"id": "5"}),
        (
            "PATCH",
            "/api/v1/leads/adf21080-0e10-11eb-879b-05d71fb426ec",
            "leads.update",
            {"id": "adf21080-0e10-11eb-879b-05d71fb426ec"},
        ),
    ],
)
def test_match_routes_concrete_paths(
    method: str, path: str, name: str, params: dict[str, str]
) -> None:
    """A concrete request path maps to its entry and path parameters."""
    found = match_params(method, path)
    assert found is not None
    assert (found[0].name, found[1]) == (name, params)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v2/ghosts"),
        ("PUT", "/api/v2/persons/1"),  # v2 updates are PATCH
        ("GET", "/api/v2/persons/1/extra/deep"),
        ("GET", "/v2/persons"),  # v2 is only served under /api/v2
        ("GET", "/persons"),
        ("GET", "/api/v2/notes"),  # notes are v1 only
        ("DELETE", "/api/v1/users/3"),
    ],
)
def test_match_returns_none_for_unknown_routes(method: str, path: str) -> None:
    """Unknown paths, wrong methods and wrong versions match nothing."""
    assert match(method, path) is None


def test_entry_fields_and_format() -> None:
    """An entry exposes cost/search/write flags and formats its concrete path."""
    create = endpoints.get("persons.create")
    assert (create.version, create.method, create.cost, create.is_write) == ("v2", "POST", 5, True)
    search = endpoints.get("persons.search")
    assert (search.cost, search.is_search, search.is_write) == (20, True, False)
    assert endpoints.get("deals.delete").is_write is False  # DELETE: not a fair-use write
    assert endpoints.get("notes.create").cost == 10
    assert endpoints.get("users.find").cost == 40
    assert endpoints.get("dealProducts.bulkCreate").cost == 25
    update = endpoints.get("dealProducts.update")
    assert update.format(id=9, product_attachment_id=3) == "/api/v2/deals/9/products/3"
    assert update.spec_path == "/deals/{id}/products/{product_attachment_id}"
    with pytest.raises(KeyError, match="product_attachment_id"):
        update.format(id=9)
    with pytest.raises(KeyError, match="no endpoint named 'nope'"):
        endpoints.get("nope")


def test_every_entry_matches_its_own_template() -> None:
    """Formatting each template with sample values routes back to the same entry."""
    for ep in ENDPOINTS:
        concrete = ep.format(**dict.fromkeys(ep.params, "123"))
        assert match(ep.method, concrete) == ep, ep.name


def test_search_flag_is_set_on_search_routes_only() -> None:
    """Exactly the search API routes are in the search lane."""
    flagged = {ep.name for ep in ENDPOINTS if ep.is_search}
    assert flagged == {
        "persons.search",
        "organizations.search",
        "deals.search",
        "products.search",
        "itemSearch.search",
        "itemSearch.field",
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"version": "v2"}, "missing key 'name'"),
        (
            {"name": "x", "version": "v3", "method": "GET", "path": "/api/v3/x"},
            "version must be v1 or v2",
        ),
        (
            {"name": "x", "version": "v2", "method": "GET", "path": "/api/v1/x"},
            "path must start with /api/v2/",
        ),
        (
            {"name": "x", "version": "v2", "method": "POST", "path": "/api/v2/x"},
            "write must be true exactly for POST/PUT/PATCH",
        ),
    ],
)
def test_parse_table_names_the_bad_entry(entry: dict[str, Any], message: str) -> None:
    """A malformed table entry is refused with a message naming it."""
    full = {"cost": 1, "search": False, "write": False, **entry}
    with pytest.raises(EndpointTableError, match=message):
        parse_table({"endpoints": [full]})


def test_match_is_fast() -> None:
    """Matching a templated path takes well under 50 microseconds on average."""
    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        match("PATCH", "/api/v2/deals/9/products/3")
    per_call = (time.perf_counter() - start) / n
    assert per_call < 50e-6
