"""Leads' custom fields in v2 clothes: the client's one translation for v1 ``/leads``.

Leads have no custom fields of their own; they inherit the deals' (40-hex keys), sent
and answered as **top-level keys** in the v1 deals' value shapes: a monetary amount
with ``<key>_currency`` beside it, an address as text [V1 ``POST /leads``]. The rest of
pdmigrate speaks v2 (``custom_fields: {key: value}``, monetary ``{value, currency}``).
:func:`to_wire` flattens a v2-shaped lead body for the request; :func:`from_wire`
gathers an answered lead's 40-hex keys back into ``custom_fields``. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["from_wire", "to_wire"]

_KEY = re.compile(r"[0-9a-f]{40}")


def to_wire(endpoint: str, body: Any) -> Any:
    """A lead create/update body with ``custom_fields`` as v1 top-level keys."""
    if not endpoint.startswith("leads.") or not isinstance(body, Mapping):
        return body
    custom = body.get("custom_fields")
    if not isinstance(custom, Mapping):
        return body
    out = {k: v for k, v in body.items() if k != "custom_fields"}
    for key, value in custom.items():
        if isinstance(value, Mapping) and "currency" in value:
            out[key], out[f"{key}_currency"] = value.get("value"), value["currency"]
        elif isinstance(value, Mapping) and "value" in value:
            out[key] = value["value"]
        else:
            out[key] = value
    return out


def _record(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for key, value in data.items():
        if _KEY.fullmatch(key):
            currency = data.get(f"{key}_currency")
            custom[key] = value if currency is None else {"value": value, "currency": currency}
        elif not (key.endswith("_currency") and _KEY.fullmatch(key[: -len("_currency")])):
            out[key] = value
    out["custom_fields"] = custom
    return out


def from_wire(endpoint: str, data: Any) -> Any:
    """An answered lead (or list of leads) with its 40-hex keys under ``custom_fields``."""
    if not endpoint.startswith("leads."):
        return data
    if isinstance(data, Mapping) and "title" in data:
        return _record(data)
    if isinstance(data, list):
        return [_record(d) if isinstance(d, Mapping) and "title" in d else d for d in data]
    return data
