"""Pipedrive's response envelopes and the sandbox's request protocol for route handlers.

Responses: :func:`ok` builds ``{"success": true, "data", "additional_data"}``;
:class:`ApiError` (raise it from a handler) becomes ``{"success": false, "error",
"error_info", "data": null, "additional_data": null}`` plus ``code``/``errorCode``
when given, with the real HTTP status.

Route handlers (v2 here, v1 in ``routes_v1``) are ``async def handler(ctx:
RequestContext) -> Response`` registered as :class:`ApiRoute` values in a module-level
``ROUTES: list[ApiRoute]``. Paths are written as served, e.g. ``/api/v2/persons/{id:int}``
(Starlette path syntax); a request to ``/v1/...`` is served by the ``/api/v1/...`` route.
The context carries the authenticated account and the already-read body, so handlers
never touch auth, limits or faults.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route

from pdmigrate.sandbox.store import Account, Store

if TYPE_CHECKING:
    from pdmigrate.sandbox.app import Sandbox

ERROR_INFO = "Please check developers.pipedrive.com"


class ApiError(Exception):
    """An error response: raise from a handler, the app renders it."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        code: str | None = None,
        error_code: int | None = None,
        error_info: str = ERROR_INFO,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.code = code
        self.error_code = error_code
        self.error_info = error_info

    def body(self) -> dict[str, Any]:
        """The JSON body Pipedrive sends for this error."""
        out: dict[str, Any] = {"success": False, "error": self.error}
        if self.code is not None:
            out["code"] = self.code
        if self.error_code is not None:
            out["errorCode"] = self.error_code
        out.update({"error_info": self.error_info, "data": None, "additional_data": None})
        return out

    def response(self) -> JSONResponse:
        """The error as a Starlette response."""
        return JSONResponse(self.body(), status_code=self.status)


def validation_error(field_name: str, message: str) -> ApiError:
    """400 ``ERR_SCHEMA_VALIDATION_FAILED``: ``Validation failed: <field>: <message>``."""
    return ApiError(
        400, f"Validation failed: {field_name}: {message}", code="ERR_SCHEMA_VALIDATION_FAILED"
    )


def not_allowed(key: str) -> ApiError:
    """400 for a body key the endpoint does not take (Pipedrive's exact wording)."""
    return validation_error(key, f"Parameter '{key}' is not allowed for this request")


def bad_request(message: str) -> ApiError:
    """400 ``ERR_BAD_REQUEST`` with Pipedrive's live-rule wording."""
    return ApiError(400, message, code="ERR_BAD_REQUEST")


def not_found(what: str) -> ApiError:
    """404 ``<What> not found``."""
    return ApiError(404, f"{what} not found")


def unauthorized() -> ApiError:
    """401 for a missing or unknown API token."""
    return ApiError(401, "unauthorized access", error_code=401)


def unknown_route() -> ApiError:
    """404 for a path/method the sandbox (and Pipedrive) does not serve."""
    return ApiError(404, "Unknown method .")


OMIT: Any = object()


def ok(data: Any, additional_data: Any = OMIT, *, status: int = 200) -> JSONResponse:
    """A success envelope; ``additional_data`` is left out unless given (None -> null)."""
    body: dict[str, Any] = {"success": True, "data": data}
    if additional_data is not OMIT:
        body["additional_data"] = additional_data
    return JSONResponse(body, status_code=status)


@dataclass
class RequestContext:
    """What a route handler gets: the account, the parsed request, and the sandbox."""

    sandbox: Sandbox
    account: Account
    token: str
    request: Request
    path_params: dict[str, Any]
    query: QueryParams
    body: Any = None
    raw_body: bytes = b""
    content_type: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        """The sandbox's store."""
        return self.sandbox.store

    @property
    def cid(self) -> int:
        """The account's company id."""
        return self.account.company_id

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or a 400 if it is not one."""
        if self.body is None and not self.raw_body.strip():
            return {}
        if not isinstance(self.body, dict):
            raise validation_error("body", "Expected 'object' as request body")
        return self.body


Handler = Callable[[RequestContext], Awaitable[Response]]


@dataclass(frozen=True)
class ApiRoute:
    """One served method + path and its handler."""

    method: str
    path: str
    handler: Handler
    _route: Route = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        async def _unused(request: Request) -> Response:  # pragma: no cover - never called
            raise RuntimeError("ApiRoute handlers are called through the sandbox pipeline")

        object.__setattr__(self, "_route", Route(self.path, _unused, methods=[self.method]))

    def match(self, method: str, path: str) -> dict[str, Any] | None:
        """The path parameters if this route serves ``method path``, else None."""
        scope = {"type": "http", "method": method.upper(), "path": path, "root_path": ""}
        matched, child = self._route.matches(scope)
        if matched is not Match.FULL:
            return None
        params: dict[str, Any] = child.get("path_params", {})
        return params


def parse_json_body(raw: bytes) -> Any:
    """Decode a JSON body; a malformed body is a 400 like Pipedrive's."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise validation_error("body", "Invalid JSON body") from None


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value, as Pipedrive's validation messages word it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
