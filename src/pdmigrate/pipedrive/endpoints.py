"""The Pipedrive endpoint table: every operation pdmigrate uses, with its token cost.

The table is data (``endpoints.yaml`` beside this module, loaded once). Each entry
records the operation's name, API version, method, path template, token cost
(``x-token-cost`` in Pipedrive's official OpenAPI specs), whether it is a search
(the 10-per-2-s search lane) and whether it is a write (POST/PUT/PATCH: what the
fair-use cap counts). ``tests/pipedrive/test_endpoints.py`` fails if the table
drifts from the specs.

:func:`match` maps a request's method and path to its entry. The sandbox calls it
on every request, so it is a dict look-up for literal paths and a short list of
compiled regexes for templated ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import yaml

Version = Literal["v1", "v2"]

#: The path prefix of each version as pdmigrate writes it; ``/v1`` is accepted on input too.
PREFIXES: dict[str, str] = {"v1": "/api/v1", "v2": "/api/v2"}
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One Pipedrive operation.

    ``path`` is the template with the real prefix, e.g. ``/api/v2/persons/{id}``;
    ``spec_path`` is the same without it, as the OpenAPI spec writes it (``/persons/{id}``).
    """

    name: str
    version: Version
    method: str
    path: str
    cost: int
    is_search: bool
    is_write: bool

    @property
    def spec_path(self) -> str:
        """The path as it appears under ``paths:`` in the official spec."""
        return self.path[len(PREFIXES[self.version]) :]

    @property
    def params(self) -> tuple[str, ...]:
        """The names of the path parameters, in order."""
        return tuple(_PARAM.findall(self.path))

    def format(self, **params: object) -> str:
        """The concrete path, e.g. ``format(id=7)`` -> ``/api/v2/persons/7``.

        Raises KeyError naming a missing parameter; extra parameters are an error too.
        """
        extra = set(params) - set(self.params)
        if extra:
            raise KeyError(f"{self.name}: unknown path parameter(s) {sorted(extra)}")

        def sub(m: re.Match[str]) -> str:
            key = m.group(1)
            if key not in params:
                raise KeyError(f"{self.name}: missing path parameter {key!r}")
            return str(params[key])

        return _PARAM.sub(sub, self.path)


class EndpointTableError(ValueError):
    """The endpoint table (YAML) is malformed; the message names the entry."""


def parse_table(data: Mapping[str, Any]) -> tuple[Endpoint, ...]:
    """Build and check the endpoints from the parsed YAML document (pure)."""
    raw = data.get("endpoints")
    if not isinstance(raw, list):
        raise EndpointTableError("endpoint table: top-level 'endpoints' list is missing")
    out: list[Endpoint] = []
    names: set[str] = set()
    routes: set[tuple[str, str]] = set()
    for i, item in enumerate(raw):
        where = f"endpoint table entry {i}"
        if not isinstance(item, Mapping):
            raise EndpointTableError(f"{where}: not a mapping")
        try:
            name = str(item["name"])
            version = str(item["version"])
            method = str(item["method"]).upper()
            path = str(item["path"])
            cost = item["cost"]
            search = item["search"]
            write = item["write"]
        except KeyError as exc:
            raise EndpointTableError(f"{where}: missing key {exc.args[0]!r}") from None
        where = f"endpoint {name!r}"
        if version not in PREFIXES:
            raise EndpointTableError(f"{where}: version must be v1 or v2, not {version!r}")
        if method not in _METHODS:
            raise EndpointTableError(f"{where}: unknown method {method!r}")
        if not path.startswith(PREFIXES[version] + "/"):
            raise EndpointTableError(f"{where}: path must start with {PREFIXES[version]}/")
        if not isinstance(cost, int) or isinstance(cost, bool) or cost < 0:
            raise EndpointTableError(f"{where}: cost must be a non-negative integer")
        if not isinstance(search, bool) or not isinstance(write, bool):
            raise EndpointTableError(f"{where}: search and write must be true or false")
        if write != (method in _WRITE_METHODS):
            raise EndpointTableError(f"{where}: write must be true exactly for POST/PUT/PATCH")
        if name in names:
            raise EndpointTableError(f"{where}: duplicate name")
        route = (method, _PARAM.sub("{}", path))
        if route in routes:
            raise EndpointTableError(f"{where}: duplicate route {method} {path}")
        names.add(name)
        routes.add(route)
        out.append(
            Endpoint(
                name=name,
                version=version,  # type: ignore[arg-type]  # checked against PREFIXES above
                method=method,
                path=path,
                cost=cost,
                is_search=search,
                is_write=write,
            )
        )
    return tuple(out)


def load_table() -> tuple[Endpoint, ...]:
    """Read ``endpoints.yaml`` from the package data."""
    text = resources.files("pdmigrate.pipedrive").joinpath("endpoints.yaml").read_text("utf-8")
    return parse_table(yaml.load(text, Loader=yaml.CSafeLoader))


class Router:
    """Maps (method, concrete path) to an :class:`Endpoint`, fast.

    Literal paths are one dict look-up. Templated paths are tried per method with
    literal segments winning over parameters (``/persons/search`` is never read as
    ``/persons/{id}``). A parameter matches one non-empty path segment.
    """

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self._literal: dict[tuple[str, str], Endpoint] = {}
        templated: dict[str, list[tuple[tuple[int, ...], re.Pattern[str], Endpoint]]] = {}
        for ep in endpoints:
            body = ep.spec_path
            if "{" not in body:
                self._literal[(ep.method, ep.version + body)] = ep
                continue
            segments = body.strip("/").split("/")
            # Sort key: at each position a literal (0) sorts before a parameter (1).
            rank = tuple(1 if s.startswith("{") else 0 for s in segments)
            regex = "/".join(
                "(?P<" + s[1:-1] + ">[^/]+)" if s.startswith("{") else re.escape(s)
                for s in segments
            )
            pattern = re.compile(f"{ep.version}/{regex}")
            templated.setdefault(ep.method, []).append((rank, pattern, ep))
        self._templated = {
            m: [(p, ep) for _, p, ep in sorted(items, key=lambda t: t[0])]
            for m, items in templated.items()
        }

    @staticmethod
    def _normalise(path: str) -> str | None:
        """``/api/v2/persons/7/`` -> ``v2/persons/7``; None if the prefix is not v1/v2."""
        path = path.split("?", 1)[0].rstrip("/")
        if path.startswith("/api/v2/"):
            return "v2/" + path[8:]
        if path.startswith("/api/v1/"):
            return "v1/" + path[8:]
        if path.startswith("/v1/"):
            return "v1/" + path[4:]
        return None

    def match_params(self, method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
        """The endpoint and its path parameters, or None if no entry matches."""
        method = method.upper()
        key = self._normalise(path)
        if key is None:
            return None
        ep = self._literal.get((method, key))
        if ep is not None:
            return ep, {}
        for pattern, cand in self._templated.get(method, ()):
            m = pattern.fullmatch(key)
            if m is not None:
                return cand, m.groupdict()
        return None

    def match(self, method: str, path: str) -> Endpoint | None:
        """The endpoint for a request, or None (the sandbox answers 404)."""
        found = self.match_params(method, path)
        return None if found is None else found[0]


ENDPOINTS: tuple[Endpoint, ...] = load_table()
BY_NAME: dict[str, Endpoint] = {ep.name: ep for ep in ENDPOINTS}
_ROUTER = Router(ENDPOINTS)


def match(method: str, path: str) -> Endpoint | None:
    """The endpoint for ``method`` and a concrete URL path (query string ignored), or None.

    Accepts ``/api/v2/...``, ``/api/v1/...`` and ``/v1/...``; a trailing slash is ignored.
    """
    return _ROUTER.match(method, path)


def match_params(method: str, path: str) -> tuple[Endpoint, dict[str, str]] | None:
    """Like :func:`match`, plus the path parameters as strings (``{"id": "7"}``)."""
    return _ROUTER.match_params(method, path)


def get(name: str) -> Endpoint:
    """The endpoint called ``name`` (e.g. ``persons.create``); KeyError if there is none."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no endpoint named {name!r}") from None


# --- checking the table against the official specs (pure) -----------------------------


def costs_from_spec(spec: Mapping[str, Any]) -> dict[tuple[str, str], int | None]:
    """Every operation in an OpenAPI document: (METHOD, spec path) -> ``x-token-cost``.

    The cost is None where the spec gives none.
    """
    out: dict[tuple[str, str], int | None] = {}
    paths = spec.get("paths") or {}
    for path, ops in paths.items():
        if not isinstance(ops, Mapping):
            continue
        for method, op in ops.items():
            if method.upper() not in _METHODS or not isinstance(op, Mapping):
                continue
            cost = op.get("x-token-cost")
            out[(method.upper(), str(path))] = cost if isinstance(cost, int) else None
    return out


def drift(endpoints: Iterable[Endpoint], specs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every way the table disagrees with the specs (``specs`` maps "v1"/"v2" to a document).

    Empty when each entry's method and path exist in its version's spec and its cost
    equals ``x-token-cost`` there.
    """
    costs = {version: costs_from_spec(doc) for version, doc in specs.items()}
    problems: list[str] = []
    for ep in endpoints:
        table = costs.get(ep.version)
        if table is None:
            problems.append(f"{ep.name}: no {ep.version} spec given")
            continue
        key = (ep.method, ep.spec_path)
        if key not in table:
            problems.append(
                f"{ep.name}: {ep.method} {ep.spec_path} is not in the {ep.version} spec"
            )
            continue
        if table[key] != ep.cost:
            problems.append(
                f"{ep.name}: cost {ep.cost} but x-token-cost is {table[key]}"
                f" in the {ep.version} spec"
            )
    return problems


def rebuild_costs(
    endpoints: Iterable[Endpoint], specs: Mapping[str, Mapping[str, Any]]
) -> dict[str, int]:
    """The cost each entry should have according to the specs, by name (pure).

    Entries whose route is missing from the spec are left out; :func:`drift` reports them.
    """
    costs = {version: costs_from_spec(doc) for version, doc in specs.items()}
    out: dict[str, int] = {}
    for ep in endpoints:
        cost = costs.get(ep.version, {}).get((ep.method, ep.spec_path))
        if cost is not None:
            out[ep.name] = cost
    return out
