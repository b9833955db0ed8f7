"""Pick a representative slice of the run's payloads: a deterministic greedy cover. Pure.

Strata (issue 7): people of every organization (or location), deals in every
pipeline stage and status, activities of every type and done state, notes, files,
leads, every custom field with a value, and every kind of row the audit flagged
(``quarantine.csv`` codes matched by ``file:line``) or that the audit warns about and
the payload shows (HTML content, values over 255 characters, people without email or
with several phones). Each record payload covers the
strata it belongs to; the greedy picks the record that covers most uncovered
strata (ties broken by a hash of ``seed`` and the source key, so the same seed gives
the same slice), adds it with everything it needs (:func:`closure`: the records its
links point at, field updates and merged duplicates of it), and stops at ``size``
records. Then the slice is topped up in seeded order. Strata left uncovered, and
the entities with no record at all, are listed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pdmigrate.load_body import LINK_ENTITY, NATIVE, STEERING
from pdmigrate.load_items import RefIndex
from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.plan.model import SOURCE_ID_FIELD

__all__ = ["EXPECTED_ENTITIES", "Selection", "closure", "select", "strata_of"]

#: Entities a representative sample should show when the exports have them.
EXPECTED_ENTITIES = ("person", "deal", "activity", "note", "file")
_HTML = re.compile(r"<(p|br|div|b|i|ul|li|table|span)\b", re.I)
_NOT_CUSTOM = frozenset({SOURCE_ID_FIELD, "first_name", "last_name", "type", "done"})


@dataclass
class Selection:
    """The slice: payloads to load (records and their dependencies) and the cover."""

    payloads: list[Payload]
    records: int
    strata: int
    covered: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)


def _links(p: Payload) -> Iterable[tuple[str, Ref]]:
    for name, refs in p.links.items():
        for ref in refs if isinstance(refs, tuple) else (refs,):
            yield name, ref
    for value in p.fields.values():  # an organization field (Employer) points at its org
        if isinstance(value, Ref):
            yield "org_id", value


def strata_of(p: Payload, flagged: Mapping[str, Sequence[str]]) -> set[str]:
    """The strata a record payload covers (``flagged``: ``file:line`` -> audit codes)."""
    out: set[str] = {f"{p.entity}"}
    if p.entity == "person":
        orgs = [r.key for n, r in _links(p) if n == "org_id" and p.links.get(n) == r]
        for key in orgs or ["(none)"]:
            out.add(f"person of organization {key}")
        location = p.fields.get("location") or p.fields.get("Location")
        if location:
            out.add(f"person at location {location}")
    elif p.entity == "deal":
        out.add(f"deal in stage {p.fields.get('pipeline')}/{p.fields.get('stage')}")
        out.add(f"deal status {p.fields.get('status') or 'open'}")
    elif p.entity == "activity":
        out.add(f"activity of type {p.fields.get('type')}")
        out.add(f"activity done={bool(p.fields.get('done') in (True, 'true', '1', 1))}")
    native = NATIVE.get(p.entity, frozenset())
    for name, value in p.fields.items():
        if value in (None, "", [], {}) or name in native or name in STEERING:
            continue
        if name in _NOT_CUSTOM or p.entity in ("note", "activity", "deal_product"):
            continue
        out.add(f"{p.entity} with custom field {name}")
    for code in flagged.get(p.where, ()):
        out.add(f"audit flagged {code}")
    out |= _awkward(p)
    return out


def _awkward(p: Payload) -> set[str]:
    """Awkward values the audit warns about, recognised in the payload itself."""
    out: set[str] = set()
    for name, value in p.fields.items():
        if isinstance(value, str) and len(value) > 255:
            out.add(f"awkward: {p.entity} value over 255 characters")
        if isinstance(value, str) and name in ("content", "note") and _HTML.search(value):
            out.add(f"awkward: {p.entity} with HTML content")
    if p.entity == "person" and not p.fields.get("emails"):
        out.add("awkward: person without email")
    if p.entity == "person" and len(p.fields.get("phones") or []) > 1:
        out.add("awkward: person with several phones")
    return out


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\x1f{key}".encode()).hexdigest()


def closure(
    start: Payload,
    index: RefIndex,
    by_key: Mapping[tuple[str, str], Payload],
    children: Mapping[str, list[Payload]],
    have: set[tuple[str, str]],
) -> list[Payload]:
    """``start`` and every payload it needs that is not in ``have`` (dependencies first)."""
    out: list[Payload] = []
    seen: set[tuple[str, str]] = set()

    def visit(p: Payload) -> None:
        slot = (p.entity, p.source_key)
        if slot in seen or slot in have:
            return
        seen.add(slot)
        for name, ref in _links(p):
            entity = LINK_ENTITY.get(name)
            if entity is None:
                continue
            key = index.source_key(ref, entity)
            target = by_key.get((entity, key)) if key else None
            if target is not None:
                visit(target)
        out.append(p)
        for extra in children.get(p.source_key, ()):
            visit(extra)

    visit(start)
    return out


def select(
    payloads: Sequence[Payload],
    *,
    size: int,
    seed: int,
    merges: Mapping[str, str],
    flagged: Mapping[str, Sequence[str]] | None = None,
) -> Selection:
    """The slice for ``sample`` (see the module docstring)."""
    flagged = flagged or {}
    index = RefIndex(merges=merges)
    records: list[Payload] = []
    by_key: dict[tuple[str, str], Payload] = {}
    children: dict[str, list[Payload]] = {}
    for p in payloads:
        if p.update_of is None and (p.entity, p.source_key) not in by_key:
            by_key[(p.entity, p.source_key)] = p
            records.append(p)
            index.add(p)
    for p in payloads:
        if p.update_of is not None:
            target = index.source_key(p.update_of, p.entity)
            if target is not None:
                children.setdefault(target, []).append(p)
    for dup, kept in merges.items():
        for entity in ("organization", "person"):
            if (entity, dup) in by_key:
                children.setdefault(kept, []).append(by_key[(entity, dup)])
    strata = {(p.entity, p.source_key): strata_of(p, flagged) for p in records}
    every = set().union(*strata.values()) if strata else set()
    order = sorted(records, key=lambda p: _rank(seed, p.source_key))
    chosen: list[Payload] = []
    have: set[tuple[str, str]] = set()
    covered: set[str] = set()
    blocked: set[tuple[str, str]] = set()
    while len(have) < size:
        best: Payload | None = None
        best_gain = 0
        for p in order:
            slot = (p.entity, p.source_key)
            if slot in have or slot in blocked:
                continue
            gain = len(strata[slot] - covered)
            if gain > best_gain:
                best, best_gain = p, gain
        if best is None:
            break
        add = closure(best, index, by_key, children, have)
        if len(have) + len(add) > size and have:
            blocked.add((best.entity, best.source_key))
            continue
        _take(add, chosen, have, strata, covered)
    for p in order:  # top up in seeded order
        if len(have) >= size:
            break
        if (p.entity, p.source_key) in have:
            continue
        add = closure(p, index, by_key, children, have)
        if len(have) + len(add) <= size:
            _take(add, chosen, have, strata, covered)
    uncovered = sorted(every - covered)
    present = {p.entity for p in records}
    uncovered += [f"{e}: none in the exports" for e in EXPECTED_ENTITIES if e not in present]
    picked = {id(p) for p in chosen}
    out = [p for p in payloads if id(p) in picked]
    return Selection(
        payloads=out,
        records=len(have),
        strata=len(every),
        covered=sorted(covered),
        uncovered=uncovered,
    )


def _take(
    add: Sequence[Payload],
    chosen: list[Payload],
    have: set[tuple[str, str]],
    strata: Mapping[tuple[str, str], set[str]],
    covered: set[str],
) -> None:
    for p in add:
        slot = (p.entity, p.source_key)
        chosen.append(p)
        if p.update_of is None:
            have.add(slot)
            covered |= strata.get(slot, set())
