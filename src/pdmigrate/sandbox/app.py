"""The sandbox app: :class:`Sandbox` (state + collaborators) and :func:`create_app`.

Every request goes through one pipeline, in the contract's order:

1. auth (``x-api-token`` header, else ``api_token`` query) -> 401;
2. endpoint match (``pipedrive.endpoints.match``) and route match -> 404;
3. ``limits.admit`` -> its headers go on every response; refused -> its 429/403;
4. faults: ``before_request`` (500/502/503, fail-Nth-write) and injected latency;
5. spec request validation -> 400 ``ERR_SCHEMA_VALIDATION_FAILED``;
6. the route handler (live rules; :class:`~pdmigrate.sandbox.envelope.ApiError` -> error);
7. spec response validation -> problems appended to ``sandbox.spec_problems`` (never sent);
8. ``faults.after_commit`` for successful writes (POST/PUT/PATCH) -> the response is lost:
   in process (``inprocess.py``) the client gets ``httpx.ReadTimeout``; over HTTP it is held back
   ``lost_delay_s`` so the client's own timeout fires. The write is committed either way.

Routes: search and field routes, the v2 CRUD routes, then ``routes_v1.ROUTES`` (v1 and the
v2 deal products), all :class:`~pdmigrate.sandbox.envelope.ApiRoute` values.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from pdmigrate.pipedrive import endpoints
from pdmigrate.pipedrive.endpoints import Endpoint
from pdmigrate.sandbox import routes_v1, routes_v2, routes_v2_fields, search, seed
from pdmigrate.sandbox.config import SandboxConfig
from pdmigrate.sandbox.dump import compact
from pdmigrate.sandbox.envelope import (
    ApiError,
    ApiRoute,
    RequestContext,
    parse_json_body,
    unauthorized,
    unknown_route,
)
from pdmigrate.sandbox.faults import FaultAction, FaultInjector
from pdmigrate.sandbox.limits import RateLimits
from pdmigrate.sandbox.spec import SpecValidator
from pdmigrate.sandbox.store import Account, Store

_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

#: ASGI scope extension the in-process transports set to learn that a response was lost.
LOST_EXTENSION = "pdmigrate.sandbox"

_DEFAULT_PIPELINE = ("Pipeline", [("Qualified", 10), ("Contact Made", 20),
                     ("Demo Scheduled", 40), ("Proposal Made", 60),
                     ("Negotiations Started", 80)])  # fmt: skip


def _all_routes() -> list[ApiRoute]:
    # Literal v2 paths (search, fields) before /{id:int} ones; v1 (and v2 deal products) last.
    return [*search.ROUTES, *routes_v2_fields.ROUTES, *routes_v2.ROUTES, *routes_v1.ROUTES]


def _route_key(path: str) -> str:
    """``/api/v2/persons/7`` -> ``/api/v2/persons``: routes are grouped by this prefix."""
    return "/".join(path.split("/")[:4])


class Sandbox:
    """One sandbox: config, store, rate limits, faults, spec validator and routes."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.clock = self.config.clock
        self.store = Store(self.config.db_path, self.clock)
        self.spec_problems: list[str] = []
        self.routes = _all_routes()
        self._route_index: dict[tuple[str, str], list[ApiRoute]] = {}
        for route in self.routes:
            key = (route.method.upper(), _route_key(route.path))
            self._route_index.setdefault(key, []).append(route)
        self.limits = RateLimits(
            self.config.plan,
            self.config.seats,
            self.clock,
            fair_use=self.config.fair_use,
            enabled=self.config.rate_limits,
        )
        self.faults: FaultInjector | None = None
        if self.config.faults is not None:
            spec = self.config.faults
            if self.config.latency_ms:
                spec = spec.with_base_latency(self.config.latency_ms)
            self.faults = FaultInjector(spec, self.clock)
        self.spec: SpecValidator | None = SpecValidator() if self.config.validate else None
        if self.config.tokens:
            for token, cid in self.config.tokens.items():
                self.store.bind_token(token, cid)

    # accounts ----------------------------------------------------------------------

    def account_for_token(self, token: str) -> Account | None:
        """The token's account; opens one for an unknown token unless ``tokens`` is set.

        The server's plan, seats and Contact Sync apply to every account it serves, so
        an account stored in a db file follows the options the sandbox was started with.
        """
        store = self.store
        if self.config.tokens is not None:
            cid = self.config.tokens.get(token)
            if cid is None:
                return None
            account = store.get_account(cid)
            if account is None:
                with store.transaction():
                    account = store.get_account(cid) or self.open_account(cid)
            return self._current(account)
        found = store.company_for_token(token)
        account = store.get_account(found) if found is not None else None
        if account is None:
            with store.transaction():
                found = store.company_for_token(token)
                account = store.get_account(found) if found is not None else None
                if account is None:
                    account = self.open_account(found)
                    store.bind_token(token, account.company_id)
        return self._current(account)

    def _current(self, account: Account) -> Account:
        config = self.config
        wanted = (config.plan, config.seats, config.contact_sync)
        if (account.plan, account.seats, account.contact_sync) != wanted:
            account.plan, account.seats, account.contact_sync = wanted
            self.store.save_account(account)
        return account

    def open_account(self, company_id: int | None = None) -> Account:
        """Create and seed a new account (users, activity types, default pipeline)."""
        with self.store.transaction():
            account = self.store.create_account(
                plan=self.config.plan,
                seats=self.config.seats,
                contact_sync=self.config.contact_sync,
                company_id=company_id,
            )
            cid = account.company_id
            seed.seed_account(self.store, cid, self.config.users)
            name, stages = _DEFAULT_PIPELINE
            pipeline = self.store.insert(
                cid,
                "pipelines",
                {"name": name, "order_nr": 1, "is_deleted": False,
                 "is_deal_probability_enabled": False},
            )  # fmt: skip
            for order, (stage, probability) in enumerate(stages, start=1):
                self.store.insert(
                    cid,
                    "stages",
                    {"order_nr": order, "name": stage, "is_deleted": False,
                     "deal_probability": probability, "pipeline_id": pipeline["id"],
                     "is_deal_rot_enabled": False, "days_to_rotten": None},
                )  # fmt: skip
            return account

    def close(self) -> None:
        """Close the store (the SQLite file is complete on disk afterwards)."""
        self.store.close()

    def dump(self) -> dict[str, Any]:
        """Every account's full state as a JSON-able dict (see ``Store.dump``).

        Uploaded file contents appear as ``size`` and ``sha256``, as in `sandbox dump`.
        """
        return compact(self.store.dump())

    # routing -----------------------------------------------------------------------

    def find_route(self, method: str, path: str) -> tuple[ApiRoute, dict[str, Any]] | None:
        """The route serving ``method path`` and its path parameters."""
        if path.startswith("/v1/"):
            path = "/api" + path
        if len(path) > 1:
            path = path.rstrip("/")
        candidates = self._route_index.get((method.upper(), _route_key(path)), ())
        for route in candidates:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None

    def endpoint(self, method: str, path: str) -> Endpoint | None:
        """The endpoint-table entry (cost, search/write flags), or None."""
        return endpoints.match(method, path)


async def _form_fields(request: Request) -> dict[str, Any] | None:
    """A form body's fields for the spec check (a file part stands in as its name).

    Starlette parses the cached body once and keeps the form for the handler (with the
    files handler's own limits), which closes it as before. An unparsable form is left
    to the handler's own 400.
    """
    try:
        form = await request.form(max_files=1, max_fields=50)
    except Exception:  # malformed multipart: the handler answers 400 itself
        return None
    return {
        key: value if isinstance(value, str) else (value.filename or "file")
        for key, value in form.multi_items()
    }


def _with_headers(response: Response, headers: dict[str, str]) -> Response:
    for key, value in headers.items():
        response.headers[key] = value
    return response


def _json_of(response: Response) -> Any:
    try:
        return json.loads(bytes(response.body))
    except ValueError:
        return None


async def _pipeline(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    method = request.method.upper()
    path = request.url.path
    # 1. auth
    token = request.headers.get("x-api-token") or request.query_params.get("api_token")
    account = sandbox.account_for_token(token) if token else None
    if account is None or token is None:
        return unauthorized().response()
    # 2. endpoint and route
    found = sandbox.find_route(method, path)
    endpoint = sandbox.endpoint(method, path)
    if found is None or endpoint is None:
        return unknown_route().response()
    route, params = found
    # Writes as the limiter and the fault injector count them: POST/PUT/PATCH.
    is_write = endpoint.is_write
    # 3. limits
    decision = sandbox.limits.admit(
        token=token,
        company_id=account.company_id,
        cost=endpoint.cost,
        is_search=endpoint.is_search,
        is_write=is_write,
    )
    headers: dict[str, str] = dict(decision.headers)
    if not decision.allowed:
        if decision.html is not None:
            refused: Response = HTMLResponse(decision.html, status_code=decision.status or 403)
        else:
            refused = JSONResponse(decision.body, status_code=decision.status or 429)
        return _with_headers(refused, headers)
    # 4. faults and latency
    if sandbox.faults is not None:
        action = sandbox.faults.before_request(method, path, is_write)
        if action is not None:
            return _with_headers(_fault_response(action), headers)
        delay = sandbox.faults.latency_s()
    else:
        delay = sandbox.config.latency_ms / 1000.0
    if delay > 0:
        await asyncio.sleep(delay)
    # 5. body and spec request validation
    try:
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        body: Any = None
        is_form = any(form in content_type for form in _FORM_TYPES)
        if not is_form:
            body = parse_json_body(raw)
        if sandbox.spec is not None:
            checked = await _form_fields(request) if is_form and raw else body
            problem = sandbox.spec.validate_request(
                method, path, dict(request.query_params), checked, content_type
            )
            if problem is not None:
                if is_form:
                    await request.close()  # the parsed form's upload parts
                return _with_headers(JSONResponse(problem.envelope(), status_code=400), headers)
        # 6. handler
        ctx = RequestContext(
            sandbox=sandbox,
            account=account,
            token=token,
            request=request,
            path_params=params,
            query=request.query_params,
            body=body,
            raw_body=raw,
            content_type=content_type,
        )
        response = await route.handler(ctx)
    except ApiError as exc:
        response = exc.response()
    # 7. response validation
    if sandbox.spec is not None and response.media_type == "application/json":
        problems = sandbox.spec.validate_response(
            method, path, response.status_code, _json_of(response)
        )
        sandbox.spec_problems.extend(problems)
    _with_headers(response, headers)
    # 8. committed but lost
    if (
        sandbox.faults is not None
        and is_write
        and 200 <= response.status_code < 300
        and sandbox.faults.after_commit(method, is_write)
    ):
        marker = request.scope.get("extensions", {}).get(LOST_EXTENSION)
        if isinstance(marker, dict):
            marker["lost"] = True
        else:
            await asyncio.sleep(sandbox.faults.lost_delay_s)
    return response


def _fault_response(action: FaultAction) -> Response:
    return _with_headers(JSONResponse(action.body, status_code=action.status), action.headers)


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """The sandbox as a Starlette app; ``app.state.sandbox`` is its :class:`Sandbox`."""
    return app_for(Sandbox(config))


def app_for(sandbox: Sandbox) -> Starlette:
    """A Starlette app serving an existing :class:`Sandbox`."""
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    app = Starlette(routes=[Route("/{path:path}", _pipeline, methods=methods)])
    app.state.sandbox = sandbox
    return app
