"""Guess what a column holds from its values: email, phone, date, money, boolean, pick-list.

Used for columns no profile knows (the generic profile, extra practice columns): the
proposal picks a custom field type and a transform from the sniffed kind. Sniffing
looks at a sample of non-blank values and needs a clear majority (80%) to call a kind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from pdmigrate.profiles.model import ColumnType

#: Distinct values at or below this count (and repeated) make a pick-list.
PICKLIST_MAX = 12
MAJORITY = 0.8

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^[+(]?[\d][\d\s().-]{6,}\d(\s*(x|ext\.?)\s*\d+)?$", re.IGNORECASE)
_DATE = re.compile(r"^(\d{1,2}|\d{4})[/.-](0?[1-9]|[12]\d|3[01])[/.-](\d{2}|\d{4})$")
_DATETIME = re.compile(
    r"^(\d{1,2}|\d{4})[/.-](\d{1,2})[/.-](\d{2}|\d{4})[ T]\d{1,2}:\d{2}(:\d{2})?(\s?[AaPp][Mm])?$"
)
_TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?(\s?[AaPp][Mm])?$")
_MONEY = re.compile(r"^-?[$€£]\s?-?[\d,]+(\.\d{1,2})?$|^-?[\d,]+\.\d{2}$")
_INT = re.compile(r"^-?\d{1,9}$")
_DECIMAL = re.compile(r"^-?\d+([.,]\d+)?%?$")
_BOOL = frozenset({"y", "n", "yes", "no", "true", "false", "t", "f", "0", "1", "x", "-1"})
_HTML = re.compile(r"<\s*(p|br|div|b|i|ul|li|span|strong|em)\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What a column's values look like: a kind, the share that fits it, distinct values."""

    kind: ColumnType
    share: float
    distinct: tuple[str, ...]
    blank_share: float

    @property
    def picklist(self) -> bool:
        """True when the values look like a short pick-list."""
        return self.kind == "enum"


def _share(values: list[str], test: re.Pattern[str]) -> float:
    return sum(1 for v in values if test.match(v)) / len(values)


def sniff(values: Iterable[str], *, sample: int = 500) -> Sniffed:
    """Classify a column from its values (blank cells ignored)."""
    seen: list[str] = []
    blanks = 0
    total = 0
    for value in values:
        total += 1
        text = (value or "").strip()
        if not text:
            blanks += 1
            continue
        seen.append(text)
        if len(seen) >= sample:
            break
    blank_share = blanks / total if total else 1.0
    if not seen:
        return Sniffed("text", 0.0, (), blank_share)
    counts = Counter(seen)
    distinct = tuple(sorted(counts))
    lowered = {v.lower() for v in seen}
    checks: list[tuple[ColumnType, float]] = [
        ("email", _share(seen, _EMAIL)),
        ("datetime", _share(seen, _DATETIME)),
        ("date", _share(seen, _DATE)),
        ("time", _share(seen, _TIME)),
        ("html", _share(seen, _HTML)),
        ("money", _share(seen, _MONEY)),
    ]
    for kind, share in checks:
        if share >= MAJORITY:
            return Sniffed(kind, share, distinct[:PICKLIST_MAX], blank_share)
    if lowered <= _BOOL and len(lowered) <= 3:
        return Sniffed("bool", 1.0, distinct, blank_share)
    int_share = _share(seen, _INT)
    phone_share = _share(seen, _PHONE)
    if phone_share >= MAJORITY and int_share < MAJORITY:
        return Sniffed("phone", phone_share, distinct[:PICKLIST_MAX], blank_share)
    repeated = len(counts) < len(seen)
    if len(counts) <= PICKLIST_MAX and repeated and int_share < MAJORITY:
        return Sniffed("enum", 1.0, distinct, blank_share)
    if int_share >= MAJORITY:
        unique = len(counts) == len(seen)
        guess: ColumnType = "id" if unique or any(v.startswith("0") for v in seen) else "int"
        return Sniffed(guess, int_share, (), blank_share)
    dec_share = _share(seen, _DECIMAL)
    if dec_share >= MAJORITY:
        return Sniffed("decimal", dec_share, (), blank_share)
    return Sniffed("text", 1.0, (), blank_share)
