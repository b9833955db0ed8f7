"""Workflow rules inferred from the data: recall intervals, reminder columns, follow-ups.

A :class:`Signal` says what to look for in one source object: either each distinct
value of a column (``distinct``: recall intervals, calendar reminder lead times,
recurring plans, services with their own reminder) or the records whose status
implies a follow-up (``status``: claims submitted over 30 days ago, overdue invoices,
no-shows), optionally counted per group (a claim's lines are one claim). The signals
of each system are data (:data:`SIGNALS`); :class:`Observer` counts rows against them
in one streaming pass and :func:`infer_rules` turns the counts into rules. Pure: the
rows come from the caller, the reference date ``as_of`` too.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pdmigrate.transforms import Ok, TransformContext, parse_chain
from pdmigrate.workflows_signals import SIGNALS, Signal, SignalKind

__all__ = ["SIGNALS", "Observation", "Observer", "Signal", "SignalKind", "infer_rules"]


@dataclass
class Observation:
    """What the data showed for one signal: rows matched, and per value (distinct) or group."""

    rows: int = 0
    values: Counter[tuple[str, str]] = field(default_factory=Counter)
    groups: set[tuple[str, ...]] = field(default_factory=set)

    @property
    def count(self) -> int:
        """Records matched: distinct groups when the signal groups, else rows."""
        return len(self.groups) if self.groups else self.rows


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()


class Observer:
    """Counts rows against a system's signals in one pass (feed :meth:`add`, read :attr:`seen`).

    ``date_order`` is the export's (``dmy``/``mdy``/``ymd`` or None to detect per value);
    ``as_of`` anchors the age conditions.
    """

    def __init__(self, signals: tuple[Signal, ...], *, as_of: date, date_order: str | None) -> None:
        self.signals = signals
        self.as_of = as_of
        self.objects = frozenset(s.object for s in signals)
        self.seen: dict[str, Observation] = {s.id: Observation() for s in signals}
        self._date = parse_chain("date")
        self._ctx = TransformContext(date_order=date_order)  # type: ignore[arg-type]

    def _age_days(self, text: str) -> int | None:
        result = self._date(text, self._ctx)
        if isinstance(result, Ok) and isinstance(result.value, date):
            return (self.as_of - result.value).days
        return None

    def _matches(self, signal: Signal, values: Mapping[str, str]) -> bool:
        for column, allowed in signal.where.items():
            if _norm(values.get(column, "")) not in allowed:
                return False
        for column, banned in signal.exclude.items():
            if _norm(values.get(column, "")) in banned:
                return False
        if any(values.get(column, "").strip() for column in signal.blank):
            return False
        if signal.age is not None:
            days = self._age_days(values.get(signal.age[0], ""))
            if days is None or days < signal.age[1]:
                return False
        return True

    def add(self, obj: str, values: Mapping[str, str]) -> None:
        """Count one row of source object ``obj``."""
        if obj not in self.objects:
            return
        for signal in self.signals:
            if signal.object != obj or not self._matches(signal, values):
                continue
            seen = self.seen[signal.id]
            if signal.kind == "distinct":
                value = " ".join(values.get(signal.column or "", "").split())
                if not value:
                    continue
                by = " ".join(values.get(signal.by, "").split()) if signal.by else ""
                seen.values[(by, value)] += 1
            elif signal.group_by:
                seen.groups.add(tuple(values.get(c, "").strip() for c in signal.group_by))
            seen.rows += 1


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.casefold()).strip("_") or "value"


def _fill(template: str, value: str, by: str) -> str:
    return template.replace("{value}", value).replace("{by}", by)


def infer_rules(
    signals: tuple[Signal, ...], seen: Mapping[str, Observation]
) -> list[dict[str, Any]]:
    """Rules (plain dicts, see :mod:`pdmigrate.workflows`) for every signal the data showed."""
    rules: list[dict[str, Any]] = []
    for signal in signals:
        obs = seen.get(signal.id)
        if obs is None or obs.rows == 0:
            continue
        base: dict[str, Any] = {
            "kind": signal.rule_kind,
            "origin": "inferred",
            "evidence": "DATA",
            "channel": list(signal.channel),
            "refines": signal.refines,
            "tool": signal.tool,
        }
        if signal.kind == "distinct":
            for (by, value), count in sorted(obs.values.items()):
                rules.append(
                    {
                        **base,
                        "id": _slug(f"{signal.id}_{by}_{value}"),
                        "name": _fill(signal.name, value, by),
                        "trigger": _fill(signal.trigger, value, by),
                        "conditions": [f"{signal.column} = {value}"]
                        + ([f"{signal.by} = {by}"] if signal.by else []),
                        "actions": [_fill(a, value, by) for a in signal.actions],
                        "timing": _fill(signal.timing, value, by),
                        "recipe": _fill(signal.recipe, value, by),
                        "observed": {"object": signal.object, "records": count, "value": value}
                        | ({"by": by} if signal.by else {}),
                    }
                )
        else:
            conditions = [f"{c} in {sorted(v)}" for c, v in signal.where.items()]
            conditions += [f"{c} not in {sorted(v)}" for c, v in signal.exclude.items()]
            conditions += [f"{c} is empty" for c in signal.blank]
            if signal.age is not None:
                conditions.append(f"{signal.age[0]} at least {signal.age[1]} days ago")
            rules.append(
                {
                    **base,
                    "id": signal.id,
                    "name": signal.name,
                    "trigger": signal.trigger,
                    "conditions": conditions,
                    "actions": list(signal.actions),
                    "timing": signal.timing,
                    "recipe": signal.recipe,
                    "observed": {"object": signal.object, "records": obs.count, "rows": obs.rows}
                    | ({"per": list(signal.group_by)} if signal.group_by else {}),
                }
            )
    return rules
