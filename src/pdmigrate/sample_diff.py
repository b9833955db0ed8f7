"""Field-level comparison of what was meant to be written with what Pipedrive holds. Pure.

Shared by ``sample`` (the diff report) and ``verify`` (accuracy). For one record:

* :func:`expected_fields` turns the request body the engine builds from a payload
  into ``{field name: (path, expected value)}``: native keys by name, custom fields
  (``custom_fields.<40-char key>``) back to the mapping's field name, links by name;
  names the body could not carry (``Body.dropped``) get the path ``None``;
* :func:`same` compares an expected value with the value read back, tolerant of the
  shapes Pipedrive answers with (``14:30`` vs ``14:30:00``, RFC 3339 vs ``Y-m-d H:M:S``,
  ``5`` vs ``5.0``, ``{"value": 5, "name": ...}`` for a link, extra keys in objects);
* :func:`status` gives one diff line's status: ``match`` (read back as expected, and
  the same as the source value), ``transformed`` (read back as expected, the
  transforms changed the source value), ``mismatch`` (read back differently),
  ``missing`` (expected a value, nothing came back or the field could not be written).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pdmigrate.load_body import STEERING
from pdmigrate.state_ops import FieldKey

__all__ = [
    "DiffLine",
    "diff_record",
    "empty",
    "expected_fields",
    "read_path",
    "same",
    "status",
    "text",
]

STATUSES = ("match", "transformed", "mismatch", "missing")
_DT = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(?:Z|[+-]00:?00)?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
#: Body keys that are not fields of the mapping (steering of the write itself).
_NOT_FIELDS = frozenset({"visible_to"})


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One source record x mapped field: the values on the way and how they compare."""

    entity: str
    source_key: str
    field: str
    source_value: str
    expected: str
    actual: str
    status: str


def empty(value: Any) -> bool:
    """None, blank text, an empty list or object."""
    if isinstance(value, str):
        return not value.strip()
    return value is None or value == [] or value == {}


def text(value: Any) -> str:
    """A value as one line of report text (objects as compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def _canon_text(value: str) -> str:
    s = value.strip()
    m = _DT.match(s)
    if m:
        t = m.group(2)
        return f"{m.group(1)} {t if len(t) == 8 else t + ':00'}"
    m = _TIME.match(s)
    if m:
        return f"{int(m.group(1)):02d}:{m.group(2)}"
    return s


def same(expected: Any, actual: Any) -> bool:
    """Whether ``actual`` (read back) holds ``expected`` (sent); see the module docstring."""
    if empty(expected):
        return empty(actual)
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return False
        return all(same(v, actual.get(k)) for k, v in expected.items())
    if isinstance(expected, list | tuple):
        if not isinstance(actual, list | tuple):
            return len(expected) == 1 and same(expected[0], actual)
        pool = list(actual)
        for item in expected:
            hit = next((i for i, a in enumerate(pool) if same(item, a)), None)
            if hit is None:
                return False
            pool.pop(hit)
        return True
    if isinstance(actual, Mapping):  # a link read back as an object
        inner = actual.get("value", actual.get("id"))
        return inner is not None and same(expected, inner)
    if isinstance(expected, bool) or isinstance(actual, bool):
        truthy = {True, "1", "true", "True"}
        return (expected in truthy) == (actual in truthy)
    ne, na = _number(expected), _number(actual)
    if ne is not None and na is not None:
        return abs(ne - na) <= 1e-6 * max(1.0, abs(ne))
    if actual is None:
        return False
    return _canon_text(str(expected)) == _canon_text(str(actual))


def read_path(record: Mapping[str, Any] | None, path: Sequence[str] | None) -> Any:
    """The value at ``path`` in a record read back (None when absent)."""
    if record is None or path is None:
        return None
    value: Any = record
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def expected_fields(
    body: Mapping[str, Any],
    dropped: Sequence[str],
    keys: Mapping[tuple[str, str], FieldKey],
    field_entity: str,
) -> dict[str, tuple[tuple[str, ...] | None, Any]]:
    """``{field name: (path in the record, expected value)}`` of one request body."""
    by_key = {fk.key: name for (ent, name), fk in keys.items() if ent == field_entity}
    out: dict[str, tuple[tuple[str, ...] | None, Any]] = {}
    for key, value in body.items():
        if key in _NOT_FIELDS:
            continue
        if key == "custom_fields" and isinstance(value, Mapping):
            for ckey, cvalue in value.items():
                out[by_key.get(str(ckey)) or str(ckey)] = (("custom_fields", str(ckey)), cvalue)
            continue
        name = {"pipeline_id": "pipeline", "stage_id": "stage"}.get(key, key)
        out[name] = ((key,), value)
    for name in dropped:
        if name not in STEERING:
            out.setdefault(name, (None, None))
    return out


def status(source: Any, expected: Any, actual: Any, *, path_known: bool = True) -> str:
    """The diff status of one field (see the module docstring)."""
    if not path_known or (not empty(expected) and empty(actual)):
        return "missing"
    if not same(expected, actual):
        return "mismatch"
    if (
        empty(source)
        or same(expected, source)
        or _canon_text(text(source)) == _canon_text(text(expected))
    ):
        return "match"
    return "transformed"


def diff_record(
    entity: str,
    source_key: str,
    expected: Mapping[str, tuple[tuple[str, ...] | None, Any]],
    record: Mapping[str, Any] | None,
    sources: Mapping[str, Any],
) -> list[DiffLine]:
    """One line per field of ``expected``; a record not read back makes every line missing."""
    lines: list[DiffLine] = []
    for name in sorted(expected):
        path, want = expected[name]
        got = read_path(record, path)
        src = sources.get(name)
        st = status(src, want, got, path_known=path is not None and record is not None)
        lines.append(DiffLine(entity, source_key, name, text(src), text(want), text(got), st))
    return lines
