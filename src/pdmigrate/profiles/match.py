"""Recognise an export file by its name and header, even when the headers drift.

Exports rarely match the documented header letter for letter: columns are renamed
(``DOB`` for ``Date of Birth``), re-cased, reordered, extended with practice-specific
columns, or written Salesforce-style (``Insurance_Provider__c``). :func:`match_file`
scores every object of a profile against a header with rapidfuzz and returns the best
object, which header maps to which column, and a confidence in [0, 1].
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from rapidfuzz import fuzz

if TYPE_CHECKING:
    from pdmigrate.profiles.model import Profile, SourceObject

#: A header must score at least this (0-100) against a column name or alias to match it.
COLUMN_THRESHOLD = 85.0
#: Below this overall confidence no object is claimed.
OBJECT_THRESHOLD = 0.45

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^0-9a-z%#]+")
_WORD_SUBS = {
    "pct": "%",
    "percent": "%",
    "no": "#",
    "num": "#",
    "number": "#",
    "nbr": "#",
    "dob": "date of birth",
}


class FileMatch(NamedTuple):
    """The object a file holds, ``{header: column name}`` for matched headers, confidence."""

    object: str | None
    columns: dict[str, str]
    confidence: float


def normalise_header(header: str) -> str:
    """Fold a header for comparison: BOM, case, ``__c``, ``_``, camelCase, punctuation, ``Pct``.

    >>> normalise_header("Insurance_Provider__c")
    'insurance provider'
    >>> normalise_header("Coverage_Pct__c") == normalise_header("Coverage %")
    True
    """
    text = header.replace("\ufeff", "").strip()
    text = re.sub(r"__c$", "", text, flags=re.IGNORECASE)
    text = _CAMEL.sub(" ", text)
    text = text.casefold().replace("_", " ")
    words = [_WORD_SUBS.get(w, w) for w in _NON_WORD.sub(" ", text).split()]
    return " ".join(words)


def _score(header: str, candidates: Sequence[str]) -> float:
    """Best similarity (0-100) of a folded header to a column's folded name and aliases.

    The documented name (first candidate) counts in full; an alias counts 95%, so a
    header that is one object's column name beats another object's alias of it.
    """
    best = 0.0
    for index, cand in enumerate(candidates):
        weight = 1.0 if index == 0 else 0.95
        if header == cand:
            score = 100.0
        else:
            score = max(fuzz.token_sort_ratio(header, cand), _set_score(header, cand))
        best = max(best, score * weight)
    return best


def _set_score(a: str, b: str) -> float:
    """Same word set ignoring order (landing-rules §6 alias rule) scores as exact."""
    return 100.0 if a and set(a.split()) == set(b.split()) else 0.0


def _object_candidates(obj: SourceObject) -> list[tuple[str, list[str]]]:
    return [
        (col.name, [normalise_header(col.name), *(normalise_header(a) for a in col.aliases)])
        for col in obj.columns
    ]


def map_columns(obj: SourceObject, headers: Sequence[str]) -> tuple[dict[str, str], float]:
    """Match headers to ``obj``'s columns one-to-one; return the map and mean match score."""
    cands = _object_candidates(obj)
    scored: list[tuple[float, int, int]] = []
    for hi, header in enumerate(headers):
        norm = normalise_header(header)
        if not norm:
            continue
        for ci, (_, names) in enumerate(cands):
            score = _score(norm, names)
            if score >= COLUMN_THRESHOLD:
                scored.append((score, hi, ci))
    scored.sort(key=lambda t: (-t[0], t[1], t[2]))
    used_h: set[int] = set()
    used_c: set[int] = set()
    mapping: dict[str, str] = {}
    total = 0.0
    for score, hi, ci in scored:
        if hi in used_h or ci in used_c:
            continue
        used_h.add(hi)
        used_c.add(ci)
        mapping[headers[hi]] = cands[ci][0]
        total += score
    return mapping, (total / len(mapping) / 100.0) if mapping else 0.0


def _name_matches(obj: SourceObject, file_name: str) -> bool:
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1].casefold()
    return any(fnmatch.fnmatch(base, pattern.casefold()) for pattern in obj.file.patterns)


def score_object(obj: SourceObject, file_name: str, headers: Sequence[str]) -> FileMatch:
    """How well a file with this name and header fits one source object."""
    mapping, quality = map_columns(obj, headers)
    real_headers = [h for h in headers if normalise_header(h)]
    if not real_headers:
        return FileMatch(obj.name, {}, 0.0)
    precision = len(mapping) * quality / len(real_headers)
    coverage = len(mapping) / len(obj.columns)
    mapped = set(mapping.values())
    keys_ok = sum(1 for k in obj.key if k in mapped) / len(obj.key) if obj.key else 0.0
    required = [c.name for c in obj.columns if c.required]
    req_ok = sum(1 for r in required if r in mapped) / len(required) if required else 1.0
    confidence = 0.55 * precision + 0.2 * min(1.0, coverage * 2) + 0.1 * keys_ok + 0.05 * req_ok
    if _name_matches(obj, file_name):
        confidence += 0.1
    return FileMatch(obj.name, mapping, round(min(confidence, 1.0), 3))


def match_file(profile: Profile, file_name: str, headers: Sequence[str]) -> FileMatch:
    """The profile object a file holds, judged by its name and header row.

    Returns ``FileMatch(object, {header: column}, confidence)``; ``object`` is None and
    confidence 0 when nothing reaches :data:`OBJECT_THRESHOLD`. Unknown headers are left
    out of the column map (the caller reports them as warnings, never as errors).
    """
    best = FileMatch(None, {}, 0.0)
    for obj in profile.objects:
        candidate = score_object(obj, file_name, headers)
        if candidate.confidence > best.confidence:
            best = candidate
    if best.confidence < OBJECT_THRESHOLD:
        return FileMatch(None, {}, 0.0)
    return best


def detect_header(
    profile: Profile, file_name: str, rows: Sequence[Sequence[str]], *, max_rows: int = 15
) -> tuple[int, FileMatch]:
    """Find the header among the first rows (title and banner rows above it are skipped).

    Returns the 0-based index of the header row and its match; ``(0, no match)`` when no
    row looks like a header of any object.
    """
    best_index, best = 0, FileMatch(None, {}, 0.0)
    for index, row in enumerate(rows[:max_rows]):
        cells = [c for c in row if c is not None]
        if sum(1 for c in cells if str(c).strip()) < 2:
            continue
        found = match_file(profile, file_name, [str(c) for c in cells])
        if found.confidence > best.confidence:
            best_index, best = index, found
    return best_index, best
