"""Dedup: within the source (decisions.csv) and against people already in the account.

Source (landing rules §6): two people merge only when they share a normalised email
AND have the same date of birth or names at least 90 alike (token-sort ratio); when
both dates of birth are known and differ they are different people. Email alone never
merges (families share addresses). Name + date of birth without a shared email is
proposed as ``keep apart``, for the user to decide. Every proposal goes into the
editable ``decisions.csv`` (``merge``, ``keep apart``, ``skip``) which the next plan
reads back: ``merge`` fills the kept person's empty fields from the duplicate,
``skip`` drops the duplicate's data; both send the duplicate's links to the kept one.

Account: a person whose email is already in the account (from the paged listing,
:func:`pdmigrate.plan.account.existing_emails`) is linked to that person
(``matched_existing``): only its empty fields are filled, and rollback never deletes it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, utils

from pdmigrate.errors import ConfigError
from pdmigrate.mapping.payload import Payload
from pdmigrate.plan.account import person_emails

DECISIONS_CSV = "decisions.csv"
DECISIONS = ("merge", "keep apart", "skip")
NAME_RATIO = 90.0
COLUMNS = ("source_key", "keep_key", "decision", "reason", "name", "keep_name", "where")


@dataclass(frozen=True)
class Candidate:
    """A person payload reduced to what dedup compares."""

    key: str
    name: str
    emails: tuple[str, ...]
    birthday: str
    where: str = ""


@dataclass(frozen=True)
class Proposal:
    """One proposed pair: ``source_key`` is the duplicate of ``keep_key``."""

    source_key: str
    keep_key: str
    decision: str
    reason: str
    name: str = ""
    keep_name: str = ""
    where: str = ""


def _name(fields: Mapping[str, Any]) -> str:
    name = fields.get("name")
    if isinstance(name, str) and name.strip():
        return " ".join(name.split())
    parts = [fields.get("first_name"), fields.get("last_name")]
    return " ".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())


def candidates(payloads: Iterable[Payload]) -> list[Candidate]:
    """The people a migration creates (person payloads that are not field updates)."""
    out: list[Candidate] = []
    for p in payloads:
        if p.entity != "person" or p.update_of is not None:
            continue
        birthday = p.fields.get("birthday")
        out.append(
            Candidate(
                p.source_key,
                _name(p.fields),
                tuple(dict.fromkeys(person_emails(p.fields))),
                str(birthday).strip() if birthday else "",
                p.where,
            )
        )
    return out


def name_ratio(a: str, b: str) -> float:
    """Token-sort ratio (0-100) of two names, case and punctuation ignored."""
    return float(fuzz.token_sort_ratio(a, b, processor=utils.default_process))


def same_person(a: Candidate, b: Candidate) -> str | None:
    """Why ``a`` and ``b`` merge (they share an email), or None (§6 rule)."""
    if not set(a.emails) & set(b.emails):
        return None
    if a.birthday and a.birthday == b.birthday:
        return "same email and date of birth"
    if a.birthday and b.birthday:
        return None  # both known and different: two people
    ratio = name_ratio(a.name, b.name)
    if a.name and b.name and ratio >= NAME_RATIO:
        return f"same email, names {ratio:.0f}% alike"
    return None


def propose_pairs(people: Sequence[Candidate]) -> list[Proposal]:
    """Merge proposals (shared email) and keep-apart ones (name + birth date only).

    Each duplicate is paired with the earliest matching person; pure and deterministic.
    """
    order = {c.key: i for i, c in enumerate(people)}
    by_email: dict[str, list[Candidate]] = {}
    by_birthday: dict[str, list[Candidate]] = {}
    for c in people:
        for e in c.emails:
            by_email.setdefault(e, []).append(c)
        if c.birthday:
            by_birthday.setdefault(c.birthday, []).append(c)
    out: dict[str, Proposal] = {}
    for c in people:
        earlier = {o.key: o for e in c.emails for o in by_email[e] if order[o.key] < order[c.key]}
        for o in sorted(earlier.values(), key=lambda x: order[x.key]):
            root = o
            while root.key in out:
                root = people[order[out[root.key].keep_key]]
            if c.birthday and root.birthday and c.birthday != root.birthday:
                continue  # would join a person with another date of birth
            why = same_person(c, o)
            if why:
                out[c.key] = Proposal(c.key, o.key, "merge", why, c.name, o.name, c.where)
                break
    for group in by_birthday.values():
        for i, c in enumerate(group):
            if c.key in out:
                continue
            for o in group[:i]:
                if set(c.emails) & set(o.emails) or not (c.name and o.name):
                    continue
                ratio = name_ratio(c.name, o.name)
                if ratio >= NAME_RATIO:
                    why = f"same date of birth, names {ratio:.0f}% alike, no shared email"
                    out[c.key] = Proposal(c.key, o.key, "keep apart", why, c.name, o.name, c.where)
                    break
    return sorted(out.values(), key=lambda p: order[p.source_key])


def apply_decisions(
    proposals: Sequence[Proposal], edits: Mapping[tuple[str, str], str]
) -> list[Proposal]:
    """Proposals with the user's decisions from decisions.csv (by source and kept key)."""
    out: list[Proposal] = []
    for p in proposals:
        decision = edits.get((p.source_key, p.keep_key), p.decision)
        out.append(
            Proposal(p.source_key, p.keep_key, decision, p.reason, p.name, p.keep_name, p.where)
        )
    return out


def merges_of(decided: Sequence[Proposal]) -> tuple[dict[str, str], frozenset[str]]:
    """(duplicate -> kept root, skipped duplicates) from decided proposals.

    Chains resolve to their root (A->B, B->C gives A->C); ``keep apart`` is left out.
    """
    parent = {p.source_key: p.keep_key for p in decided if p.decision in ("merge", "skip")}
    skips = frozenset(p.source_key for p in decided if p.decision == "skip")

    def root(key: str) -> str:
        seen: set[str] = set()
        while key in parent and key not in seen:
            seen.add(key)
            key = parent[key]
        return key

    return {k: root(k) for k in parent}, skips


def match_existing(
    people: Sequence[Candidate], merges: Mapping[str, str], emails: Mapping[str, int]
) -> dict[str, int]:
    """Person source key -> existing Pipedrive id, by email (kept people only)."""
    out: dict[str, int] = {}
    for c in people:
        if c.key in merges:
            continue
        for e in c.emails:
            if e in emails:
                out[c.key] = emails[e]
                break
    return out


def render_decisions_csv(decided: Sequence[Proposal]) -> str:
    """decisions.csv text."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for p in decided:
        cells = (p.source_key, p.keep_key, p.decision, p.reason, p.name, p.keep_name, p.where)
        writer.writerow(["'" + c if c.startswith(("=", "+", "-", "@")) else c for c in cells])
    return buf.getvalue()


def parse_decisions_csv(text: str, where: str = DECISIONS_CSV) -> dict[tuple[str, str], str]:
    """(source_key, keep_key) -> decision; ConfigError naming ``decisions.csv:LINE``."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in next(reader, [])]
    if not header:
        return {}
    missing = {"source_key", "keep_key", "decision"} - set(header)
    if missing:
        raise ConfigError(
            f"{where}:1: missing column(s) {', '.join(sorted(missing))}",
            hint="delete the file and run `pdmigrate plan` again to get a fresh one",
        )
    i_src, i_keep, i_dec = (header.index(c) for c in ("source_key", "keep_key", "decision"))
    out: dict[tuple[str, str], str] = {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(i_src, i_keep, i_dec):
            raise ConfigError(f"{where}:{line}: too few columns")
        decision = " ".join(row[i_dec].split()).casefold().replace("_", " ")
        if decision not in DECISIONS:
            raise ConfigError(
                f"{where}:{line}: decision must be one of {', '.join(DECISIONS)}",
            )
        out[(row[i_src].strip(), row[i_keep].strip())] = decision
    return out


def read_decisions_csv(path: Path) -> dict[tuple[str, str], str]:
    """The user's decisions ({} when the file does not exist yet)."""
    if not path.is_file():
        return {}
    return parse_decisions_csv(path.read_text(encoding="utf-8"), str(path))
