"""Grouping and rollups: many source rows into one record.

``group_by`` collects rows that share the group columns' values (with the
``before_dot`` split: ``1234.001`` and ``1234.002`` are one client ``1234``).
Field rollups combine the group's already-transformed values: ``first``, ``last``,
``sum`` (optionally weighted by another column), ``count``, ``min``, ``max``,
``mean``, ``join``, ``most_frequent``, ``worst`` (the earliest of the value map's
options) and ``ratio`` (sum of one column over the sum of another). ``pivot``
turns long-format rows into one field per distinct key, and ``note_table`` writes
the rows as a text table. Everything here is pure and never raises on data.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from pdmigrate.records import Row
from pdmigrate.transforms import Money, Value


def split_before_dot(value: str) -> str:
    """The part before the first ``.`` (``1234.010`` -> ``1234``); the whole value without one."""
    return value.split(".", 1)[0] if "." in value else value


def group_key(row: Row, columns: Sequence[str], *, before_dot: bool = False) -> tuple[str, ...]:
    """The group a row belongs to: its values of ``columns`` (trimmed)."""
    values = [row.get(c).strip() for c in columns]
    if before_dot and values:
        values[0] = split_before_dot(values[0])
    return tuple(values)


def group_rows(
    rows: Iterable[Row], columns: Sequence[str], *, before_dot: bool = False
) -> dict[tuple[str, ...], list[Row]]:
    """Rows grouped by ``columns`` in first-seen order; rows with all-blank keys are left out."""
    groups: dict[tuple[str, ...], list[Row]] = {}
    for row in rows:
        key = group_key(row, columns, before_dot=before_dot)
        if not any(key):
            continue
        groups.setdefault(key, []).append(row)
    return groups


def as_decimal(value: Value) -> Decimal | None:
    """A number from a transformed value (Money amount, int, float, Decimal, numeric text)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Money):
        return value.amount
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value.replace(",", "").strip())
        except InvalidOperation:
            return None
    return None


def _comparable(value: Value) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    number = as_decimal(value)
    if number is not None:
        return number
    return str(value)


def _money_like(values: Sequence[Value], amount: Decimal) -> Value:
    first = next((v for v in values if isinstance(v, Money)), None)
    return Money(amount, first.currency) if first is not None else amount


def rollup(
    op: str,
    values: Sequence[Value],
    *,
    weights: Sequence[Decimal | None] | None = None,
    denominators: Sequence[Value] | None = None,
    order: Sequence[str] = (),
) -> Value:
    """Combine a group's values with ``op``; blanks (None) are ignored, never an error."""
    present = [v for v in values if v is not None and v != ""]
    if op == "count":
        return len(present)
    if not present and op != "sum":
        return None
    if op == "first":
        return present[0]
    if op == "last":
        return present[-1]
    if op in ("sum", "ratio"):
        total = Decimal(0)
        for index, value in enumerate(values):
            number = as_decimal(value)
            if number is None:
                continue
            weight = weights[index] if weights is not None and index < len(weights) else None
            total += number * (weight if weight is not None else Decimal(1))
        if op == "ratio":
            below = sum((as_decimal(v) or Decimal(0) for v in denominators or ()), Decimal(0))
            if below == 0:
                return None
            return _money_like(present, (total / below).quantize(Decimal("0.01")))
        return _money_like(present, total) if present else Decimal(0)
    if op in ("min", "max"):
        try:
            pick = min if op == "min" else max
            return pick(present, key=_comparable)
        except TypeError:
            return present[0]
    if op == "mean":
        numbers = [n for n in (as_decimal(v) for v in present) if n is not None]
        if not numbers:
            return None
        return (sum(numbers, Decimal(0)) / len(numbers)).quantize(Decimal("0.01"))
    if op == "join":
        texts: list[str] = []
        for value in present:
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                text = str(item).strip()
                if text and text not in texts:
                    texts.append(text)
        return ", ".join(texts)
    if op == "most_frequent":
        counts = Counter(str(v) for v in present)
        best = max(counts.values())
        return next(v for v in present if counts[str(v)] == best)
    if op == "worst":
        rank = {o.casefold(): i for i, o in enumerate(order)}
        return min(present, key=lambda v: rank.get(str(v).casefold(), len(rank)))
    return present[0]


def pivot(
    rows: Sequence[Row],
    column: str,
    value: str,
    *,
    order_by: str | None = None,
    where_blank: Sequence[str] = (),
    sort_key: Any = None,
) -> dict[str, str]:
    """Long rows -> ``{key: latest value text}`` per distinct ``column`` value."""
    kept = [r for r in rows if all(not r.get(c).strip() for c in where_blank)]
    if order_by is not None and sort_key is not None:
        kept = sorted(kept, key=lambda r: sort_key(r.get(order_by)))
    out: dict[str, str] = {}
    for row in kept:
        key = row.get(column).strip()
        text = row.get(value).strip()
        if key and text:
            out[key] = text
    return out


def note_table(rows: Sequence[Row], columns: Sequence[str], title: str = "") -> str:
    """The rows as a plain-text table (one line per row, cells separated by `` | ``)."""
    present = [c for c in columns if any(r.get(c).strip() for r in rows)]
    lines = [title] if title else []
    lines.append(" | ".join(present))
    for row in rows:
        lines.append(" | ".join(" ".join(row.get(c).split()) for c in present))
    return "\n".join(lines)
