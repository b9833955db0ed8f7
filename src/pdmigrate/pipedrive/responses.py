"""Reading Pipedrive's answers: envelopes, error bodies and the kinds of 429.

Pure functions over a status, headers and body bytes. The client decides *when* to
retry; this module says *what* an answer means, and builds the error the caller
gets, from the tree in :mod:`pdmigrate.errors`. Messages name the endpoint
(method and path, no query string) and Pipedrive's own error text; never the token,
never a payload value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pdmigrate.errors import (
    APIRetriableError,
    AuthError,
    FatalAPIError,
    OutcomeUnknown,
    RecordRejected,
)

__all__ = [
    "CLOUDFLARE_CODE",
    "NON_JSON_CODE",
    "NotFound",
    "RateLimitKind",
    "WriteOutcomeUnknown",
    "error_for_status",
    "looks_like_cloudflare",
    "parse_json",
    "pipedrive_message",
    "rate_limit_kind",
    "rejected_field",
    "retry_after_seconds",
]

CLOUDFLARE_CODE = "cloudflare_block"
NON_JSON_CODE = "non_json_body"

RateLimitKind = Literal["burst", "daily_budget", "fair_use"]


class NotFound(FatalAPIError):
    """The record or route does not exist (404), e.g. it was deleted."""


class WriteOutcomeUnknown(OutcomeUnknown):
    """A write whose response was lost: it may or may not be committed.

    Carries what the caller needs to reconcile: the method, the path (no query), the
    endpoint name and the body that was sent. ``str()`` shows only the endpoint.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        endpoint: str,
        payload: Any = None,
        status: int | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        super().__init__(
            message,
            hint="reconcile by source id before retrying, or a duplicate may be created",
        )
        self.method = method
        self.path = path
        self.endpoint = endpoint
        self.payload = payload
        self.status = status
        self.sent_at = sent_at

    def __repr__(self) -> str:
        return f"WriteOutcomeUnknown({self.method} {self.path}, status={self.status})"


def parse_json(body: bytes) -> Any:
    """The decoded JSON body, or ``None`` when the body is empty or not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def looks_like_cloudflare(content_type: str, body: bytes) -> bool:
    """True for Cloudflare's HTML block page (sent as a 403 after ignoring 429s)."""
    if "html" not in content_type.lower() and body.lstrip()[:1] != b"<":
        return False
    return b"cloudflare" in body.lower()


def pipedrive_message(body: Any) -> str:
    """Pipedrive's error text from an error envelope (``error`` plus ``error_info`` detail)."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    text = error if isinstance(error, str) else ""
    if not text:
        message = body.get("message")
        text = message if isinstance(message, str) else ""
    info = body.get("error_info")
    if isinstance(info, str) and info and "developers.pipedrive.com" not in info:
        text = f"{text}: {info}" if text else info
    return text


_VALIDATION_FIELD = re.compile(r"Validation failed: ([A-Za-z0-9_.\[\]]+):")
_QUOTED_FIELD = re.compile(r"""^["'](\w[\w.]*)["'] """)
_READ_ONLY_FIELD = re.compile(r"""^'(\w+)' is a read-only field""")


def rejected_field(body: Any) -> str | None:
    """The field a 400 names, from ``Validation failed: <field>:`` and similar shapes."""
    if not isinstance(body, dict):
        return None
    for key in ("error", "error_info"):
        text = body.get(key)
        if not isinstance(text, str):
            continue
        for pattern in (_VALIDATION_FIELD, _READ_ONLY_FIELD, _QUOTED_FIELD):
            found = pattern.search(text) if pattern is _VALIDATION_FIELD else pattern.match(text)
            if found:
                return found.group(1)
    return None


def _body_code(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    code = body.get("code") or body.get("errorCode")
    return None if code is None else str(code)


def rate_limit_kind(headers: Mapping[str, str], body: Any) -> RateLimitKind:
    """Which limit a 429 is about: the burst window, the daily budget, or fair use."""
    code = _body_code(body)
    if code == "DAILY_BUDGET_EXHAUSTED":
        return "daily_budget"
    if code == "DAILY_REQUEST_LIMIT":
        return "fair_use"
    if code == "RATE_LIMIT_BURST":
        return "burst"
    # Real 429 bodies are undocumented: the daily headers decide before Retry-After does,
    # because a budget 429 that also carries Retry-After must still never be retried.
    if headers.get("x-daily-ratelimit-token-remaining", "").strip() == "0":
        return "daily_budget"
    if headers.get("x-daily-requests-left", "").strip() == "0":
        return "fair_use"
    return "burst"


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait after a burst 429: ``Retry-After``, else ``x-ratelimit-reset``."""
    for name in ("retry-after", "x-ratelimit-reset"):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw)
        except ValueError:
            continue
        if value >= 0:
            return value
    return None


def error_for_status(
    *,
    status: int,
    headers: Mapping[str, str],
    body_bytes: bytes,
    where: str,
) -> FatalAPIError | RecordRejected | APIRetriableError:
    """The error for a non-2xx answer that is not a 429 (``where`` = "METHOD /path")."""
    content_type = headers.get("content-type", "")
    body = parse_json(body_bytes)
    if status == 403 and looks_like_cloudflare(content_type, body_bytes):
        return FatalAPIError(
            f"{where}: blocked by Cloudflare (HTTP 403 HTML page) after requests kept "
            "coming during a rate limit",
            status=403,
            code=CLOUDFLARE_CODE,
            hint="wait at least one 2-second window before sending again",
        )
    message = pipedrive_message(body)
    code = _body_code(body)
    if body is None and status < 500:
        kind = content_type.split(";")[0] or "no content type"
        return FatalAPIError(
            f"{where}: HTTP {status} with a non-JSON body ({kind}, {len(body_bytes)} bytes)",
            status=status,
            code=NON_JSON_CODE,
        )
    if status in (401, 402):
        what = "the API token was refused" if status == 401 else "the company account is not open"
        return AuthError(
            f"{where}: HTTP {status}, {what}: {message or 'no detail'}",
            status=status,
            code=code,
            hint="check PIPEDRIVE_API_TOKEN and the company's subscription",
        )
    if status in (400, 422):
        return RecordRejected(
            f"{where}: HTTP {status}: {message or 'rejected'}",
            status=status,
            field=rejected_field(body),
            code=code,
        )
    if status == 404:
        return NotFound(f"{where}: HTTP 404: {message or 'not found'}", status=404, code=code)
    if status >= 500:
        return APIRetriableError(
            f"{where}: HTTP {status}: {message or 'server error'}", status=status
        )
    return FatalAPIError(
        f"{where}: HTTP {status}: {message or 'refused'}", status=status, code=code
    )
