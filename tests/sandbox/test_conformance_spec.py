"""Unit tests of the spec validator (sandbox/spec.py) on hand-made requests and responses."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from pdmigrate.sandbox import spec
from pdmigrate.sandbox.spec import (
    KNOWN_SPEC_DEVIATIONS,
    SpecValidator,
    ValidationProblem,
    find_operation,
    spec_path,
)

pytestmark = pytest.mark.conformance

SPECS = Path(spec.__file__).parent / "specs"
HEX = "0123456789abcdef0123456789abcdef01234567"
SHA256 = {
    "openapi-v1.yaml": "302b0d7c2c1a6cb96a2d299717c6be0c2cf3eac6dfd884ea8352962ebf501c2b",
    "openapi-v2.yaml": "8900dc89d2734f8b864c6c8286c63d7ee6677f5c236e88dc89f87d8013f5671d",
}


@pytest.fixture(scope="module")
def validator() -> SpecValidator:
    """One validator with both specs parsed (they are cached per process)."""
    v = SpecValidator()
    v.warm()
    return v


def _person(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1,
        "name": "Ada Example",
        "first_name": "Ada",
        "last_name": "Example",
        "owner_id": 1,
        "org_id": None,
        "add_time": "2026-01-02T03:04:05Z",
        "update_time": "2026-01-02T03:04:05Z",
        "emails": [{"value": "ada@example.test", "primary": True, "label": "work"}],
        "phones": [],
        "is_deleted": False,
        "visible_to": 3,
        "label_ids": [],
        "picture_id": None,
        "custom_fields": {HEX: "x"},
    }
    base.update(over)
    return base


@pytest.mark.parametrize("name", sorted(SHA256))
def test_vendored_specs_are_byte_identical(name: str, shared_dir: Path) -> None:
    """The packaged spec has the documented sha256 and equals the ../shared copy."""
    vendored = hashlib.sha256((SPECS / name).read_bytes()).hexdigest()
    shared = hashlib.sha256((shared_dir / "pipedrive" / name).read_bytes()).hexdigest()
    assert vendored == SHA256[name]
    assert vendored == shared


def test_spec_readme_states_provenance() -> None:
    """The specs folder says where the files came from, with their digests."""
    text = (SPECS / "README.md").read_text(encoding="utf-8")
    assert "da6561088ba3f429ace46630f3ce0c52142dc2bd" in text
    for digest in SHA256.values():
        assert digest in text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v2/persons", ("v2", "/persons")),
        ("/api/v2/persons/7?x=1", ("v2", "/persons/7")),
        ("/api/v1/notes", ("v1", "/notes")),
        ("/v1/users/me", ("v1", "/users/me")),
        ("/v2/persons", None),
        ("/persons", None),
    ],
)
def test_spec_path_maps_sandbox_prefixes(path: str, expected: tuple[str, str] | None) -> None:
    """/api/v2 maps to the v2 spec, /api/v1 and /v1 to the v1 spec, anything else to none."""
    assert spec_path(path) == expected


def test_find_operation_prefers_literal_segments_and_reads_cost() -> None:
    """/persons/search is the search operation, not /persons/{id}; costs come from the spec."""
    search = find_operation("GET", "/api/v2/persons/search")
    get = find_operation("GET", "/api/v2/persons/42")
    assert search is not None
    assert (search.template, search.token_cost) == ("/persons/search", 20)
    assert get is not None
    assert (get.template, get.path_params, get.token_cost) == ("/persons/{id}", {"id": "42"}, 1)
    users = find_operation("get", "/v1/users/find")
    assert users is not None
    assert (users.spec, users.key) == ("v1", "GET /users/find")
    assert find_operation("PUT", "/api/v2/persons/1") is None  # v2 updates are PATCH


def test_valid_requests_pass(validator: SpecValidator) -> None:
    """Requests that follow the spec (incl. api_token and unknown query keys) get no problem."""
    assert (
        validator.validate_request("GET", "/api/v2/persons", {"limit": "500"}, None, None) is None
    )
    assert (
        validator.validate_request(
            "GET", "/api/v2/persons", {"api_token": "t", "cursor": "abc"}, None, None
        )
        is None
    )
    body = {"name": "Ada", "emails": [{"value": "a@b.test", "primary": True, "label": "work"}]}
    assert (
        validator.validate_request(
            "POST", "/api/v2/persons", {}, body, "application/json; charset=utf-8"
        )
        is None
    )
    assert validator.validate_request("GET", "/api/v2/nowhere", {}, None, None) is None
    search = {"term": "Ada", "item_types": "person,organization", "fields": "name,email"}
    assert validator.validate_request("GET", "/api/v2/itemSearch", search, None, None) is None


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "error"),
    [
        (
            "POST",
            "/api/v2/persons",
            {},
            {"name": "x", "emails": [{"value": "a@b.test", "primary": "yes"}]},
            "Validation failed: emails[0].primary: Expected 'boolean' as value, got 'string'",
        ),
        (
            "POST",
            "/api/v2/persons",
            {},
            {"name": "x", HEX: "v"},
            f"Validation failed: {HEX}: Parameter '{HEX}' is not allowed for this request",
        ),
        (
            "POST",
            "/api/v2/deals",
            {},
            {"value": 3},
            "Validation failed: title: Parameter 'title' is required",
        ),
        (
            "GET",
            "/api/v2/persons",
            {"limit": "many"},
            None,
            "Validation failed: limit: Expected 'integer' as value, got 'string'",
        ),
        (
            "GET",
            "/api/v2/persons",
            {"sort_by": "name"},
            None,
            "Validation failed: sort_by: The value you selected is not a valid choice. "
            "Allowed: id, update_time, add_time.",
        ),
        (
            "GET",
            "/api/v2/persons/abc",
            {},
            None,
            "Validation failed: id: Expected 'integer' as value, got 'string'",
        ),
        (
            "GET",
            "/api/v2/persons/search",
            {},
            None,
            "Validation failed: term: Parameter 'term' is required",
        ),
        (
            "GET",
            "/api/v2/itemSearch",
            {"term": "Ada", "item_types": "person,patient"},
            None,
            "Validation failed: item_types[1]: The value you selected is not a valid choice. "
            "Allowed: deal, person, organization, product, lead, file, mail_attachment, project.",
        ),
        (
            "POST",
            "/api/v2/personFields",
            {},
            {"field_name": "x" * 256, "field_type": "varchar"},
            "Validation failed: field_name: Must be at most 255 characters long",
        ),
        (
            "POST",
            "/api/v2/personFields",
            {},
            {"field_name": "Tier", "field_type": "dropdown"},
            "Validation failed: field_type: The value you selected is not a valid choice. "
            "Allowed: varchar, text, double, phone, date, daterange, time, timerange, set, "
            "enum, varchar_auto, address, monetary, org, people, user.",
        ),
        (
            "POST",
            "/api/v2/deals",
            {},
            {"title": "t", "expected_close_date": "31/12/2026"},
            "Validation failed: expected_close_date: This value is not a valid date.",
        ),
    ],
)
def test_invalid_requests_get_pipedrive_400(
    validator: SpecValidator,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    error: str,
) -> None:
    """A request that breaks the spec gets ERR_SCHEMA_VALIDATION_FAILED with field and reason."""
    problem = validator.validate_request(method, path, query, body, "application/json")
    assert problem is not None
    assert problem.error == error
    assert problem.envelope() == {
        "success": False,
        "error": error,
        "code": "ERR_SCHEMA_VALIDATION_FAILED",
        "error_info": "Please check developers.pipedrive.com",
        "data": None,
        "additional_data": None,
    }
    assert problem.status == 400


def test_v1_is_lenient_about_extra_keys(validator: SpecValidator) -> None:
    """v1 bodies may carry keys the spec does not list (v1 took custom fields at the root)."""
    body = {"content": "<p>hi</p>", "person_id": 3, HEX: "v"}
    assert validator.validate_request("POST", "/v1/notes", {}, body, "application/json") is None


def test_multipart_fields_are_coerced_from_strings(validator: SpecValidator) -> None:
    """Form fields arrive as strings: '7' is an integer id, 'seven' is not; a file is a file."""
    upload = object()
    ok = validator.validate_request(
        "POST", "/v1/files", {}, {"file": upload, "deal_id": "7"}, "multipart/form-data; b=x"
    )
    assert ok is None
    bad = validator.validate_request(
        "POST", "/v1/files", {}, {"file": upload, "deal_id": "seven"}, "multipart/form-data"
    )
    assert bad == ValidationProblem("deal_id", "Expected 'integer' as value, got 'string'")
    wrong_type = validator.validate_request(
        "POST", "/v1/files", {}, {"deal_id": 7}, "application/json"
    )
    assert wrong_type == ValidationProblem("Content-Type", "Expected one of: multipart/form-data")


def test_conforming_response_has_no_problems(validator: SpecValidator) -> None:
    """A spec-shaped list page, including the known null deviations, passes."""
    body = {
        "success": True,
        "data": [_person(id=i) for i in range(1, 101)],
        "additional_data": {"next_cursor": None},
    }
    assert validator.validate_response("GET", "/api/v2/persons", 200, body) == []
    one = {"success": True, "data": _person(), "additional_data": None}
    assert validator.validate_response("GET", "/api/v2/persons/1", 200, one) == []


def test_response_problems_are_reported_once_per_place(validator: SpecValidator) -> None:
    """Problems name the place; the same problem in many items is counted, not repeated."""
    data = [_person(id=i) for i in range(1, 6)]
    data[1]["owner_id"] = None  # no deviation covers owner_id: it must be flagged
    data[3]["owner_id"] = None
    data[4]["emails"] = [{"value": 5}]
    problems = validator.validate_response(
        "GET", "/api/v2/persons", 200, {"success": True, "data": data, "additional_data": {}}
    )
    assert problems == [
        "GET /api/v2/persons -> 200: data[].owner_id: Expected 'integer' as value, got 'null' (x2)",
        "GET /api/v2/persons -> 200: data[].emails[].value: "
        "Expected 'string' as value, got 'integer'",
    ]


def test_undocumented_statuses_and_routes_are_problems(validator: SpecValidator) -> None:
    """201 where the spec says 200, or a route it lacks, is a problem; errors are enveloped."""
    ok = {"success": True, "data": _person(), "additional_data": None}
    assert validator.validate_response("POST", "/api/v2/persons", 201, ok) == [
        "POST /api/v2/persons -> 201: status not in the spec (documented: 200)"
    ]
    assert validator.validate_response("GET", "/api/v2/nowhere", 200, ok) == [
        "GET /api/v2/nowhere -> 200: no operation in Pipedrive's specs for this request"
    ]
    error = ValidationProblem("name", "x").envelope()
    assert validator.validate_response("POST", "/api/v2/persons", 400, error) == []
    assert validator.validate_response("GET", "/api/v2/nowhere", 404, error) == []
    assert validator.validate_response("GET", "/api/v2/persons", 403, "<html>cf</html>") == []
    assert validator.validate_response("GET", "/api/v2/persons", 200, None) == [
        "GET /api/v2/persons -> 200: body is not JSON but the spec documents application/json"
    ]
    assert validator.validate_response("GET", "/api/v2/persons", 400, {"success": True}) == [
        "GET /api/v2/persons -> 400: error: Parameter 'error' is required",
        "GET /api/v2/persons -> 400: success: The value you selected is not a valid choice. "
        "Allowed: False.",
    ]


@pytest.mark.parametrize(
    "deviation", KNOWN_SPEC_DEVIATIONS, ids=[",".join(d.fields)[:60] for d in KNOWN_SPEC_DEVIATIONS]
)
def test_every_known_deviation_still_applies(deviation: spec.SpecDeviation) -> None:
    """Each pointer of each deviation reaches a schema node of a matched operation."""
    targets = spec.deviation_targets(deviation)
    assert [p for p, n in targets.items() if n == 0] == []
    assert len(deviation.why) > 40


def test_a_stale_deviation_would_be_caught() -> None:
    """A pointer that reaches nothing in the spec counts zero (so the test above fails)."""
    stale = spec.SpecDeviation(
        "v2", ("GET /persons",), "response", ("data.no_such_key",), "nullable", "x" * 50
    )
    assert spec.deviation_targets(stale) == {"data.no_such_key": 0}
    params = spec.SpecDeviation(
        "v2", ("GET /itemSearch",), "request", ("query.item_types",), "comma-list", "x" * 50
    )
    assert spec.deviation_targets(params) == {"query.item_types": 1}


def test_to_json_schema_translates_nullable() -> None:
    """OpenAPI 3.0 nullable becomes a JSON Schema null type (enum and compositions too)."""
    assert spec.to_json_schema({"type": "integer", "nullable": True, "description": "d"}) == {
        "type": ["integer", "null"]
    }
    assert spec.to_json_schema({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    assert spec.to_json_schema({"allOf": [{"type": "object"}], "nullable": True}) == {
        "anyOf": [{"type": "null"}, {"allOf": [{"type": "object"}]}]
    }
    assert spec.to_json_schema({"type": ["integer", "string"], "nullable": True}) == {
        "type": ["integer", "string", "null"]
    }
    # a property literally named "description" is a property, not a keyword
    assert spec.to_json_schema({"properties": {"description": {"type": "string"}}}) == {
        "properties": {"description": {"type": "string"}}
    }


def test_validation_is_fast_enough_for_every_request(validator: SpecValidator) -> None:
    """After warm-up, a request check and a 100-item list check take well under 5 ms."""
    body = {"name": "Ada", "emails": [{"value": "a@b.test", "primary": True}]}
    page = {
        "success": True,
        "data": [_person(id=i) for i in range(1, 101)],
        "additional_data": {"next_cursor": "c"},
    }
    validator.validate_request("POST", "/api/v2/persons", {}, body, "application/json")
    validator.validate_response("GET", "/api/v2/persons", 200, page)
    start = time.perf_counter()
    for _ in range(50):
        validator.validate_request("POST", "/api/v2/persons", {}, body, "application/json")
        validator.validate_response("GET", "/api/v2/persons", 200, page)
    per_pair_ms = (time.perf_counter() - start) * 1000 / 50
    assert per_pair_ms < 5.0


def test_every_schema_of_both_specs_compiles() -> None:
    """Each request and response schema of every operation translates and compiles."""
    compiled = 0
    for name in ("v1", "v2"):
        for template, item in spec.load_spec(name)["paths"].items():
            for method, raw in item.items():
                op = spec.Operation(name, method, template, {}, raw.get("x-token-cost"))
                bodies = [
                    ("request", c) for c in raw.get("requestBody", {}).get("content", {}).values()
                ]
                bodies += [
                    ("response", c)
                    for r in raw["responses"].values()
                    for c in (r.get("content") or {}).values()
                ]
                for direction, content in bodies:
                    schema = spec.operation_schema(op, direction, content.get("schema", {}))
                    spec.compile_schema(schema)
                    compiled += 1
    assert compiled == 555
