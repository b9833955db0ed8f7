"""Match an export's actual headers to a profile object's columns, beyond its aliases.

The profile's own matcher (:func:`pdmigrate.profiles.match.map_columns`) knows each
column's documented name and aliases. Real exports drift further: ``Pt Last``,
``Birth Dt``, ``Zip/Postal``, ``Mobile #``. Here every header and every candidate is
first rewritten word by word through a synonym table (``dt`` -> ``date``, ``pt`` ->
``patient``, ``cell`` -> ``mobile``, ``booking`` -> ``appointment``...) and plurals
folded (``codes`` -> ``code``; not ``status``), then compared with rapidfuzz. A header the
profile already matched keeps its match; the rest are matched one-to-one, best
score first. Scores are in [0, 1] and become the confidence of the proposed line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from rapidfuzz import fuzz

from pdmigrate.profiles.match import map_columns, normalise_header
from pdmigrate.profiles.model import SourceObject

#: A header must score at least this (0-1) after synonym rewriting to match a column.
SYNONYM_THRESHOLD = 0.86
#: Word-set overlap (Jaccard) a header needs with one free column in the last-resort pass.
OVERLAP_THRESHOLD = 0.5

#: Word (or short phrase) -> canonical words. Applied to headers and candidates alike.
SYNONYMS: dict[str, str] = {
    "dt": "date",
    "dte": "date",
    "d o b": "date of birth",
    "birth date": "date of birth",
    "birthdate": "date of birth",
    "birthday": "date of birth",
    "bday": "date of birth",
    "born": "date of birth",
    "pt": "patient",
    "pat": "patient",
    "patient": "patient",
    "cl": "client",
    "cust": "client",
    "customer": "client",
    "fname": "first name",
    "firstname": "first name",
    "forename": "first name",
    "given": "first",
    "lname": "last name",
    "lastname": "last name",
    "surname": "last name",
    "family name": "last name",
    "mi": "middle",
    "cell": "mobile",
    "cellphone": "mobile",
    "mob": "mobile",
    "tel": "phone",
    "telephone": "phone",
    "ph": "phone",
    "phone #": "phone",
    "e mail": "email",
    "mail": "email",
    "emailaddress": "email",
    "addr": "address",
    "street": "address",
    "line1": "1",
    "line2": "2",
    "zip": "postcode",
    "zipcode": "postcode",
    "zip code": "postcode",
    "postal code": "postcode",
    "post code": "postcode",
    "postal": "postcode",
    "suburb": "city",
    "town": "city",
    "st": "state",
    "province": "state",
    "county": "state",
    "appt": "appointment",
    "appt.": "appointment",
    "apt": "appointment",
    "dos": "date of service",
    "svc": "service",
    "amt": "amount",
    "tot": "total",
    "bal": "balance",
    "qty": "quantity",
    "desc": "description",
    "descr": "description",
    "dr": "provider",
    "doctor": "provider",
    "clinician": "provider",
    "dentist": "provider",
    "practitioner": "provider",
    "tkpr": "timekeeper",
    "ref": "number",
    "reference": "number",
    "ref source": "referring source",
    "ref by": "referring source",
    "referred by": "referring source",
    "referred from": "referring source",
    "referrer": "referring source",
    "referral type": "referring source",
    "referral": "referring",
    "ins": "insurance",
    "insurer": "insurance",
    "carrier": "insurance",
    "stat": "status",
    "sts": "status",
    "id #": "number",
    "id": "number",
    "#": "number",
    "no": "number",
    "num": "number",
    "nbr": "number",
    "created on": "created",
    "date created": "created",
    "created date": "created",
    "entered": "created",
    "opened": "open date",
    "closed": "close date",
    "hrs": "hours",
    "length": "duration",
    "len": "duration",
    "chart": "chart number",
    "how heard": "referring source",
    "heard about": "referring source",
    "prov": "provider",
    "atty": "attorney",
    "resp": "responsible",
    "yn": "",
    # general abbreviations of practice-management and accounting exports
    "dob": "date of birth",
    "e-mail": "email",
    "mobile phone": "mobile",
    "cell phone": "mobile",
    "sms": "mobile",
    "postcode zip": "postcode",
    "inv": "invoice",
    "invc": "invoice",
    "pmt": "payment",
    "pymt": "payment",
    "paymt": "payment",
    "acct": "account",
    "co": "company",
    "org": "company",
    "organisation": "company",
    "organization": "company",
    "firm": "company",
    "employer name": "employer",
    "loc": "location",
    "clinic": "location",
    "office": "location",
    "rm": "room",
    "cat": "category",
    "typ": "type",
    "src": "source",
    "nm": "name",
    "sex": "gender",
    "proc": "procedure",
    "tx": "treatment",
    "trt": "treatment",
    "serv": "service",
    "srv": "service",
    "mins": "minutes",
    "min": "minutes",
    "minute": "minutes",
    "hr": "hours",
    "hour": "hours",
    "yr": "year",
    "pct": "%",
    "percent": "%",
    "percentage": "%",
    "est": "estimate",
    "estd": "estimate",
    "pd": "paid",
    "dept": "department",
    "grp": "group",
    "prac": "practice",
    "pract": "practice",
    "memo": "notes",
    "comment": "notes",
    "comments": "notes",
    "remarks": "notes",
    "upd": "updated",
    "mod": "modified",
    "lawyer": "timekeeper",
    "solicitor": "timekeeper",
    "attorney": "timekeeper",
    "prim": "primary",
    "orig": "originating",
    "sec": "secondary",
    "opening": "open",
    "closing": "close",
    "summary": "description",
    "charge": "fee",
    "kind": "type",
    "indicator": "metric",
    "kpi": "metric",
    "result": "value",
    "tp": "planned",
    "treatment plan": "planned",
    "booking": "appointment",
    "booked": "appointment",
    "begins": "start",
    "starts": "start",
    "from": "start",
    "ends": "end",
    "start time": "start",
    "end time": "end",
}

_SPLIT = re.compile(r"[\s/]+")


class HeaderMatch(NamedTuple):
    """A header matched to a profile column with a confidence and how it was found."""

    column: str
    confidence: float
    how: str


def canonical(text: str) -> str:
    """A header folded (profile normaliser) and rewritten through :data:`SYNONYMS`."""
    norm = normalise_header(text)
    norm = norm.replace("#", " number ").replace("/", " ")
    once = _rewrite([w for w in _SPLIT.split(norm) if w])
    return _rewrite(once.split())


#: Word endings that are not plurals (``status``, ``address``, ``diagnosis``).
_NOT_PLURAL = ("ss", "us", "is", "'s")


def _singular(word: str) -> str:
    """``codes`` -> ``code``, ``notes`` -> ``note``; short words and non-plurals unchanged."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(_NOT_PLURAL):
        return word[:-1]
    return word


def _rewrite(words: list[str]) -> str:
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in (3, 2, 1):
            phrase = " ".join(words[i : i + size])
            if len(words[i : i + size]) == size and phrase in SYNONYMS:
                out.extend(SYNONYMS[phrase].split())
                i += size
                break
        else:
            out.append(words[i])
            i += 1
    deduped: list[str] = []
    for word in (_singular(w) for w in out):
        if not deduped or deduped[-1] != word:
            deduped.append(word)
    return " ".join(deduped)


#: Words that qualify a header without changing its meaning (``Pt Surname`` = ``Surname``).
NOISE = frozenset({"patient", "client", "customer", "contact", "the"})


def _strip_noise(text: str) -> str:
    words = [w for w in text.split() if w not in NOISE]
    return " ".join(words) if words else text


def _score(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    if a == b or set(a.split()) == set(b.split()):
        return 1.0
    a2, b2 = _strip_noise(a), _strip_noise(b)
    if a2 == b2 or set(a2.split()) == set(b2.split()):
        return 0.97
    return max(fuzz.token_sort_ratio(a, b), fuzz.ratio(a, b), fuzz.ratio(a2, b2)) / 100.0


def _object_terms(obj: SourceObject, column: str) -> list[str]:
    col = obj.column(column)
    terms = [canonical(col.name), *(canonical(a) for a in col.aliases)]
    return [t for t in dict.fromkeys(terms) if t]


def match_headers(obj: SourceObject, headers: Sequence[str]) -> dict[str, HeaderMatch]:
    """``{header: HeaderMatch}`` for every header that matches one of ``obj``'s columns."""
    found: dict[str, HeaderMatch] = {}
    direct, _ = map_columns(obj, headers)
    for header, column in direct.items():
        exact = normalise_header(header) in {
            normalise_header(n) for n in (column, *obj.column(column).aliases)
        }
        found[header] = HeaderMatch(column, 1.0 if exact else 0.92, "alias" if exact else "fuzzy")
    taken = {m.column for m in found.values()}
    scored: list[tuple[float, str, str]] = []
    for header in headers:
        if header in found or not normalise_header(header):
            continue
        want = canonical(header)
        for col in obj.columns:
            if col.name in taken:
                continue
            best = max((_score(want, term) for term in _object_terms(obj, col.name)), default=0.0)
            if best >= SYNONYM_THRESHOLD:
                scored.append((best, header, col.name))
    scored.sort(key=lambda t: (-t[0], headers.index(t[1])))
    for score, header, column in scored:
        if header in found or column in taken:
            continue
        found[header] = HeaderMatch(column, round(0.9 * score * score, 3), "synonym")
        taken.add(column)
    _word_overlap(obj, headers, found, taken)
    return found


def _word_overlap(
    obj: SourceObject, headers: Sequence[str], found: dict[str, HeaderMatch], taken: set[str]
) -> None:
    """Last resort: a header sharing most of its words with exactly one free column.

    Confidence stays under the review threshold: these lines are always listed.
    """
    for header in headers:
        if header in found or not normalise_header(header):
            continue
        want = set(_strip_noise(canonical(header)).split())
        if not want:
            continue
        best: list[tuple[float, str]] = []
        for col in obj.columns:
            if col.name in taken:
                continue
            score = 0.0
            for term in _object_terms(obj, col.name):
                words = set(_strip_noise(term).split())
                if words:
                    score = max(score, len(want & words) / len(want | words))
            best.append((score, col.name))
        best.sort(reverse=True)
        if not best or best[0][0] < OVERLAP_THRESHOLD:
            continue
        if len(best) > 1 and best[1][0] == best[0][0]:
            continue
        score, column = best[0]
        found[header] = HeaderMatch(column, round(0.4 + 0.3 * score, 3), "overlap")
        taken.add(column)
