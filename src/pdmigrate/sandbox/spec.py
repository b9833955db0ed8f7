"""Check sandbox requests and responses against Pipedrive's official OpenAPI specs.

The sandbox calls :meth:`SpecValidator.validate_request` before a handler runs (a
violation becomes Pipedrive's 400 ``ERR_SCHEMA_VALIDATION_FAILED``) and
:meth:`SpecValidator.validate_response` after it (problems are recorded, never sent).

The specs are the vendored, byte-identical copies in ``sandbox/specs/``. They are
parsed once per process, lazily, and each operation's schemas are turned into JSON
Schema (draft 4, the dialect OpenAPI 3.0 is based on) and compiled with
``jsonschema-rs`` on first use, so a check costs microseconds, not milliseconds.

Where the official spec is wrong or stricter than Pipedrive's documented behaviour,
the correction is an entry of :data:`KNOWN_SPEC_DEVIATIONS`, with its justification.
Everything else is validated strictly.
"""

from __future__ import annotations

import copy
import fnmatch
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema_rs
import yaml

from pdmigrate.sandbox.envelope import json_type
from pdmigrate.sandbox.spec_deviations import (
    KNOWN_SPEC_DEVIATIONS,
    Direction,
    SpecDeviation,
    SpecName,
    apply_deviations,
    expand_schema,
    reach,
)

__all__ = [
    "ERROR_ENVELOPE_SCHEMA",
    "KNOWN_SPEC_DEVIATIONS",
    "Operation",
    "SpecDeviation",
    "SpecValidator",
    "ValidationProblem",
    "find_operation",
    "load_spec",
    "spec_path",
]

ERROR_INFO = "Please check developers.pipedrive.com"


@dataclass(frozen=True)
class ValidationProblem:
    """Why a request breaks the spec, in the shape Pipedrive reports it."""

    field: str
    message: str
    code: str = "ERR_SCHEMA_VALIDATION_FAILED"
    status: int = 400

    @property
    def error(self) -> str:
        """The ``error`` text of Pipedrive's 400 body."""
        return f"Validation failed: {self.field}: {self.message}"

    def envelope(self) -> dict[str, Any]:
        """Pipedrive's 400 body for this problem."""
        return {
            "success": False,
            "error": self.error,
            "code": self.code,
            "error_info": ERROR_INFO,
            "data": None,
            "additional_data": None,
        }


@dataclass(frozen=True)
class Operation:
    """A spec operation matched by a sandbox request."""

    spec: SpecName
    method: str  # lower case, as in the spec
    template: str  # spec path, e.g. "/persons/{id}"
    path_params: dict[str, str]
    token_cost: int | None

    @property
    def key(self) -> str:
        """``"GET /persons/{id}"``: what deviation patterns match against."""
        return f"{self.method.upper()} {self.template}"


# Error bodies: the v2 spec documents no 4xx/5xx response for the endpoints the sandbox
# serves, so undocumented error statuses are checked against the error envelope
# Pipedrive documents (reference section 2; the v2 spec's own error schema
# ``GetConvertResponse`` has the same keys) plus ``code``/``errorCode`` seen live.
ERROR_ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["success", "error"],
    "properties": {
        "success": {"enum": [False]},
        "error": {"type": "string"},
        "error_info": {"type": "string"},
        "code": {"type": "string"},
        "errorCode": {"type": "integer"},
        "data": {"type": "null"},
        "additional_data": {"type": ["object", "null"]},
    },
}

_PREFIXES: tuple[tuple[str, SpecName], ...] = (
    ("/api/v2/", "v2"),
    ("/api/v1/", "v1"),
    ("/v1/", "v1"),
)
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
# OpenAPI-only or annotation keywords; everything else is JSON Schema already.
_DROP_KEYS = frozenset({"example", "examples", "description", "title", "nullable", "default"}) | {
    *("readOnly", "writeOnly", "deprecated", "discriminator", "xml", "externalDocs")
}
_FORMAT_WORDS = {"date-time": "datetime", "date": "date", "uuid": "UUID"}


def spec_path(path: str) -> tuple[SpecName, str] | None:
    """Map a sandbox URL path to (spec, spec path): ``/api/v2/persons`` -> ``v2, /persons``."""
    path = path.split("?", 1)[0]
    for prefix, name in _PREFIXES:
        if path.startswith(prefix):
            rest = "/" + path[len(prefix) :]
            return name, (rest.rstrip("/") or "/")
    return None


# --- loading and routing (once per process) -------------------------------------------

_LOCK = threading.RLock()
_SPECS: dict[str, dict[str, Any]] = {}
_ROUTES: dict[str, list[tuple[re.Pattern[str], str, list[str]]]] = {}
_COMPILED: dict[tuple[Any, ...], jsonschema_rs.Validator | None] = {}
_PARAMS: dict[tuple[Any, ...], dict[str, Any] | None] = {}


def load_spec(name: SpecName) -> dict[str, Any]:
    """The parsed spec (cached; parsed with the C YAML loader on first use)."""
    with _LOCK:
        spec = _SPECS.get(name)
        if spec is None:
            text = (
                resources.files("pdmigrate.sandbox") / "specs" / f"openapi-{name}.yaml"
            ).read_text(encoding="utf-8")
            # libyaml's loader is ~10x faster; PyYAML builds without it fall back safely
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            spec = yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader either way
            _SPECS[name] = spec
        return spec


def _routes(name: SpecName) -> list[tuple[re.Pattern[str], str, list[str]]]:
    with _LOCK:
        routes = _ROUTES.get(name)
        if routes is None:
            built = []
            for template in load_spec(name)["paths"]:
                parts = template.strip("/").split("/")
                names = [p[1:-1] for p in parts if p.startswith("{")]
                rx = "/".join("([^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
                # literal segments beat parameters: /persons/search before /persons/{id}
                rank = tuple(1 if p.startswith("{") else 0 for p in parts)
                built.append((rank, re.compile(f"/{rx}"), template, names))
            built.sort(key=lambda r: r[0])
            routes = [(rx, t, n) for _, rx, t, n in built]
            _ROUTES[name] = routes
        return routes


def find_operation(method: str, path: str) -> Operation | None:
    """The spec operation a sandbox request maps to, or None when the spec has none."""
    mapped = spec_path(path)
    if mapped is None:
        return None
    name, sub = mapped
    m = method.lower()
    for rx, template, names in _routes(name):
        hit = rx.fullmatch(sub)
        if hit is None:
            continue
        op = load_spec(name)["paths"][template].get(m)
        if op is None:
            continue
        cost = op.get("x-token-cost")
        return Operation(name, m, template, dict(zip(names, hit.groups(), strict=True)), cost)
    return None


def _op(op: Operation) -> dict[str, Any]:
    result: dict[str, Any] = load_spec(op.spec)["paths"][op.template][op.method]
    return result


# --- OpenAPI 3.0 schema -> JSON Schema draft 4, with deviations applied ----------------


def deviations_for(op: Operation, direction: Direction) -> list[SpecDeviation]:
    """The entries of :data:`KNOWN_SPEC_DEVIATIONS` that apply to one operation."""
    return [
        d
        for d in KNOWN_SPEC_DEVIATIONS
        if d.spec == op.spec
        and d.direction == direction
        and any(fnmatch.fnmatchcase(op.key, pat) for pat in d.operations)
    ]


def deviation_targets(dev: SpecDeviation) -> dict[str, int]:
    """How many schema nodes each pointer of a deviation reaches across its spec."""
    counts = dict.fromkeys(dev.fields, 0)
    for template, item in load_spec(dev.spec)["paths"].items():
        for method, raw in item.items():
            op = Operation(dev.spec, method, template, {}, raw.get("x-token-cost"))
            if not any(fnmatch.fnmatchcase(op.key, pat) for pat in dev.operations):
                continue
            if dev.direction == "request":
                params: dict[str, Any] = {}
                for p in raw.get("parameters", []):
                    params.setdefault(p.get("in"), {"properties": {}})
                    params[p.get("in")]["properties"][p["name"]] = p.get("schema", {})
                schemas = [{"properties": params}]
                schemas += [c.get("schema", {}) for c in _contents(raw.get("requestBody"))]
            else:
                schemas = [
                    c.get("schema", {}) for r in raw["responses"].values() for c in _contents(r)
                ]
            for schema in schemas:
                for pointer in dev.fields:
                    counts[pointer] += sum(1 for _ in reach(schema, pointer.split(".")))
    return counts


def _contents(holder: Any) -> list[dict[str, Any]]:
    return list(((holder or {}).get("content") or {}).values())


def to_json_schema(node: Any) -> Any:
    """Translate an OpenAPI 3.0 schema object into JSON Schema draft 4."""
    if isinstance(node, list):
        return [to_json_schema(x) for x in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP_KEYS or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "oneOf", "anyOf"):
            out[key] = to_json_schema(value)
        else:
            out[key] = value
    if node.get("nullable") is True:
        if any(k in out for k in ("allOf", "oneOf", "anyOf")) or "type" not in out:
            return {"anyOf": [{"type": "null"}, out]}
        kind = out["type"]
        out["type"] = [*kind, "null"] if isinstance(kind, list) else [kind, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def compile_schema(schema: Any) -> jsonschema_rs.Validator:
    """A compiled draft-4 validator (formats checked; ``uuid`` added)."""
    return jsonschema_rs.Draft4Validator(schema, formats={"uuid": _is_uuid}, validate_formats=True)


def _compiled(key: tuple[Any, ...], build: Any) -> jsonschema_rs.Validator | None:
    with _LOCK:
        if key not in _COMPILED:
            raw = build()
            _COMPILED[key] = None if raw is None else compile_schema(raw)
        return _COMPILED[key]


def operation_schema(op: Operation, direction: Direction, raw: Any) -> Any:
    """One of an operation's schemas with its deviations applied, as JSON Schema."""
    schema = copy.deepcopy(raw)
    apply_deviations(schema, deviations_for(op, direction))
    return to_json_schema(schema)


def params_schema(op: Operation, where: str) -> dict[str, Any] | None:
    """The ``path`` or ``query`` parameters of an operation as one object schema.

    Deviations address a parameter as ``"query.<name>"`` (or ``"path.<name>"``).
    """
    params = [p for p in _op(op).get("parameters", []) if p.get("in") == where]
    if not params:
        return None
    raw = {"properties": {where: {"properties": {p["name"]: p.get("schema", {}) for p in params}}}}
    raw = copy.deepcopy(raw)
    apply_deviations(raw, deviations_for(op, "request"))
    props = raw["properties"][where]["properties"]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: to_json_schema(sub) for name, sub in props.items()},
    }
    required = [p["name"] for p in params if p.get("required")]
    if required:
        schema["required"] = required
    return schema


def _media(content_type: str | None) -> str:
    return (content_type or _JSON).split(";", 1)[0].strip().lower()


# --- messages ------------------------------------------------------------------------


def _field(path: list[str | int]) -> str:
    """``["emails", 0, "value"]`` -> ``emails[0].value`` (``"[]"`` stands for any index)."""
    out = ""
    for seg in path:
        if isinstance(seg, int) or seg == "[]":
            out += "[]" if seg == "[]" else f"[{seg}]"
        else:
            out += f".{seg}" if out else seg
    return out


def _describe(err: jsonschema_rs.ValidationError) -> tuple[list[str | int], str]:
    """(instance path, message) in Pipedrive's words; never echoes the value itself."""
    path: list[str | int] = list(err.instance_path)
    kind = err.kind.name
    info = err.kind.as_dict()
    if kind == "required":
        prop = str(info.get("property"))
        return [*path, prop], f"Parameter '{prop}' is required"
    if kind == "additionalProperties":
        extra = [str(x) for x in info.get("unexpected", [])] or ["?"]
        return [*path, extra[0]], f"Parameter '{extra[0]}' is not allowed for this request"
    if kind == "type":
        types = [t for t in info.get("types", []) if t != "null"] or ["null"]
        expected = " or ".join(types)
        return path, f"Expected '{expected}' as value, got '{json_type(err.instance)}'"
    if kind == "format":
        word = _FORMAT_WORDS.get(str(info.get("format")), str(info.get("format")))
        return path, f"This value is not a valid {word}."
    if kind == "enum":
        opts = ", ".join(str(o) for o in info.get("options", []) if o is not None)
        return path, f"The value you selected is not a valid choice. Allowed: {opts}."
    limit = info.get("limit")
    messages = {
        "maxLength": f"Must be at most {limit} characters long",
        "minLength": f"Must be at least {limit} characters long",
        "maximum": f"This value should be less than or equal to {limit}.",
        "minimum": f"This value should be greater than or equal to {limit}.",
        "exclusiveMaximum": f"This value should be less than {limit}.",
        "exclusiveMinimum": f"This value should be greater than {limit}.",
        "maxItems": f"This collection should contain {limit} elements or less.",
        "minItems": f"This collection should contain {limit} elements or more.",
        "uniqueItems": "This collection should contain only unique elements.",
        "minProperties": "This value should not be empty.",
        "oneOf": "This value does not match exactly one of the allowed shapes.",
        "anyOf": "This value does not match any of the allowed shapes.",
    }
    return path, messages.get(kind, f"This value breaks the '{kind}' rule.")


# --- coercion of string inputs (path, query, form fields) ----------------------------


def _coerce(raw: Any, schema: Mapping[str, Any]) -> Any:
    if isinstance(raw, list):
        if schema.get("type") == "array":
            return [_coerce(x, schema.get("items", {})) for x in raw]
        raw = raw[-1] if raw else ""
    if not isinstance(raw, str):
        if schema.get("format") == "binary":
            return ""  # an uploaded file: presence is what the schema can check
        return raw
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw) if any(c in raw for c in ".eE") else int(raw)
    except ValueError:
        return raw
    if kind == "boolean":
        return {"true": True, "1": True, "false": False, "0": False}.get(raw.lower(), raw)
    if kind == "array":
        return [_coerce(x, schema.get("items", {})) for x in raw.split(",") if x != ""]
    return raw


def _coerce_object(values: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for node in expand_schema(dict(schema)):
        props.update(node.get("properties", {}))
    return {k: _coerce(v, props.get(k, {})) for k, v in values.items()}


def _top_level_keys(schema: Any) -> set[str] | None:
    keys: set[str] = set()
    for node in [schema, *[b for k in ("allOf", "oneOf", "anyOf") for b in schema.get(k, ())]]:
        if isinstance(node, dict):
            keys.update(node.get("properties", {}))
    return keys or None


class SpecValidator:
    """Validates sandbox traffic against the vendored specs. Cheap to create; shares caches."""

    def operation(self, method: str, path: str) -> Operation | None:
        """The spec operation for a sandbox request (see :func:`find_operation`)."""
        return find_operation(method, path)

    def warm(self) -> None:
        """Parse both specs now instead of on the first request."""
        load_spec("v1")
        load_spec("v2")

    def validate_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any] | None,
        body: Any,
        content_type: str | None,
    ) -> ValidationProblem | None:
        """The first way a request breaks the spec, or None. Unknown routes pass (404 later)."""
        op = find_operation(method, path)
        if op is None:
            return None
        for where, values in (("path", op.path_params), ("query", dict(query or {}))):
            problem = self._check_params(op, where, values)
            if problem is not None:
                return problem
        return self._check_body(op, body, content_type)

    def _check_params(
        self, op: Operation, where: str, values: Mapping[str, Any]
    ) -> ValidationProblem | None:
        key = (op.spec, op.key, "params", where)
        with _LOCK:
            if key not in _PARAMS:
                _PARAMS[key] = params_schema(op, where)
            schema = _PARAMS[key]
        if schema is None:
            return None
        validator = _compiled(key, lambda: schema)
        if validator is None:
            return None
        props: dict[str, Any] = schema["properties"]
        instance = {k: _coerce(v, props[k]) for k, v in values.items() if k in props}
        for err in validator.iter_errors(instance):
            path, message = _describe(err)
            return ValidationProblem(_field(path) or where, message)
        return None

    def _check_body(
        self, op: Operation, body: Any, content_type: str | None
    ) -> ValidationProblem | None:
        request_body = _op(op).get("requestBody")
        if request_body is None:
            return None
        if body is None or body == b"":
            if request_body.get("required"):
                return ValidationProblem("body", "Request body is required")
            return None
        content: dict[str, Any] = request_body.get("content", {})
        media = _media(content_type)
        chosen = media if media in content else None
        if chosen is None and media in (_JSON, _FORM):
            chosen = next((m for m in (_JSON, _FORM) if m in content), None)
        if chosen is None:
            allowed = ", ".join(content)
            return ValidationProblem("Content-Type", f"Expected one of: {allowed}")
        raw_schema = content[chosen].get("schema", {})
        instance = body
        if media in (_FORM, _MULTIPART) and isinstance(body, Mapping):
            instance = _coerce_object(body, raw_schema)
        if op.spec == "v2" and media == _JSON and isinstance(body, Mapping):
            # Live v2 rejects any top-level key the operation does not define (the
            # spec leaves additionalProperties open); this is also how a custom-field
            # hash sent at the top level fails (client-nodejs#651).
            allowed_keys = _top_level_keys(raw_schema)
            if allowed_keys is not None:
                for k in body:
                    if k not in allowed_keys:
                        return ValidationProblem(
                            str(k), f"Parameter '{k}' is not allowed for this request"
                        )
        key = (op.spec, op.key, "request", chosen)
        validator = _compiled(key, lambda: operation_schema(op, "request", raw_schema))
        if validator is None:
            return None
        for err in validator.iter_errors(instance):
            path, message = _describe(err)
            return ValidationProblem(_field(path) or "body", message)
        return None

    def validate_response(self, method: str, path: str, status: int, body: Any) -> list[str]:
        """Every way a response breaks the spec (empty when it conforms)."""
        op = find_operation(method, path)
        where = f"{method.upper()} {path.split('?', 1)[0]} -> {status}"
        if op is None:
            if status >= 400:
                return self._check_error(where, body)
            return [f"{where}: no operation in Pipedrive's specs for this request"]
        responses: dict[str, Any] = _op(op).get("responses", {})
        documented = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
        if documented is None:
            if status >= 400:
                return self._check_error(where, body)
            return [f"{where}: status not in the spec (documented: {', '.join(responses)})"]
        content: dict[str, Any] = documented.get("content") or {}
        if not isinstance(body, dict | list):
            # None is how the pipeline hands over a body that did not parse as JSON.
            if _JSON in content:
                return [f"{where}: body is not JSON but the spec documents {_JSON}"]
            return []
        if _JSON not in content:
            return [f"{where}: JSON body where the spec documents {', '.join(content) or 'none'}"]
        key = (op.spec, op.key, "response", status)
        validator = _compiled(
            key, lambda: operation_schema(op, "response", content[_JSON].get("schema", {}))
        )
        return self._collect(where, validator, body)

    def _check_error(self, where: str, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return []  # e.g. the Cloudflare HTML 403; not JSON by design
        validator = _compiled(("error-envelope",), lambda: ERROR_ENVELOPE_SCHEMA)
        return self._collect(where, validator, body)

    @staticmethod
    def _collect(where: str, validator: jsonschema_rs.Validator | None, body: Any) -> list[str]:
        if validator is None:
            return []
        seen: dict[str, int] = {}
        for err in validator.iter_errors(body):
            path, message = _describe(err)
            generic: list[str | int] = [("[]" if isinstance(s, int) else s) for s in path]
            text = f"{where}: {_field(generic) or 'body'}: {message}"
            seen[text] = seen.get(text, 0) + 1
        return [t if n == 1 else f"{t} (x{n})" for t, n in seen.items()]
