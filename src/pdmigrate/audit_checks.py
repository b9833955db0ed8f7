"""What the audit checks on each row of a source object, worked out once from the profile.

Column types choose the transform that validates a value (the same transforms the
mapping applies); landings say which columns land in 255-character fields, which
objects become people (for duplicate detection) and which carry attachments;
relationships say which links to look up.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from pdmigrate.profiles import Profile, SourceObject
from pdmigrate.records import Finding, Severity
from pdmigrate.transforms import Chain, Problem, parse_chain
from pdmigrate.transforms.contact import placeholder_reason

#: Pipedrive's varchar limit: longer values are cut.
VARCHAR_LIMIT = 255

_TYPE_CHAINS = {
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "email": "email",
    "phone": "phone",
    "int": "int",
    "decimal": "decimal",
    "money": "money",
    "bool": "bool",
}
HTML_MARKUP = re.compile(
    r"<(?:p|br|div|span|b|i|u|strong|em|ul|ol|li|table|tr|td|font|a|h[1-6])\b[^>]*>"
    r"|&(?:[a-z]{2,8}|#\d{2,5});",
    re.IGNORECASE,
)
_VARCHAR_NATIVE = frozenset({"name", "title", "first_name", "last_name", "subject", "code"})


@dataclass
class Checks:
    """What to check on each row of one object, worked out once."""

    obj: SourceObject
    key: list[str]
    required: list[str]
    #: (column, transform chain, kind, the kind's fast check or None)
    typed: list[tuple[str, Chain, str, FastCheck | None]]
    text: list[str]
    truncate: set[str]
    enums: dict[str, set[str]]
    refs: list[tuple[str, str, list[str], bool, bool]]
    provides: list[tuple[str, list[str]]]
    person: tuple[str | None, str | None, list[str]] | None
    contact: str | None
    attachment: str | None
    email_column: str | None
    group: tuple[list[str], bool] | None


def norm(value: str) -> str:
    return " ".join(value.split()).casefold()


def namespace(target: str, ref_columns: list[str], key: list[str]) -> str:
    """Where a link's values are looked up: the target's keys, or other columns of it."""
    if list(ref_columns) == list(key):
        return target
    return f"{target}#{'|'.join(ref_columns)}"


def plan_checks(profile: Profile, name: str) -> Checks:
    """Work out once what to check on each row of source object ``name``."""
    obj = profile.object(name)
    landings = profile.landings_for(name)
    typed: list[tuple[str, Chain, str, FastCheck | None]] = []
    text: list[str] = []
    enums: dict[str, set[str]] = {}
    for col in obj.columns:
        spec = _TYPE_CHAINS.get(col.type)
        if spec is not None:
            typed.append((col.name, parse_chain(spec), col.type, FAST_BY_KIND.get(col.type)))
        elif col.type in {"text", "html"}:
            text.append(col.name)
        if col.type == "enum" and col.values:
            enums[col.name] = {norm(v) for v in col.values}
    truncate: set[str] = set()
    for landing in landings:
        for column, target in landing.fields.items():
            if target.type == "varchar" or (not target.custom and target.field in _VARCHAR_NATIVE):
                truncate.add(column)
    refs = []
    for rel in obj.relationships:
        referenced = profile.object(rel.references)
        ref_cols = rel.ref_columns or referenced.key
        refs.append(
            (
                namespace(rel.references, ref_cols, referenced.key),
                rel.name,
                list(rel.columns),
                rel.optional,
                rel.split == "before_dot" and len(ref_cols) == 1,
            )
        )
    provides: dict[str, list[str]] = {}
    for other in profile.objects:
        for rel in other.relationships:
            ref_cols = rel.ref_columns or obj.key
            if rel.references == name and list(ref_cols) != list(obj.key):
                provides[namespace(name, ref_cols, obj.key)] = list(ref_cols)
    person_landings = [
        landing
        for landing in landings
        if landing.targets[0] == "person" and landing.cardinality in {"one_to_one", "grouped"}
    ]
    person_landing = bool(person_landings)
    group = next(
        (
            (list(landing.group_by), landing.split_key == "before_dot")
            for landing in person_landings
            if landing.cardinality == "grouped" and landing.group_by
        ),
        None,
    )
    email_col = next((c.name for c in obj.columns if c.type == "email"), None)
    person = None
    contact: str | None = None
    if person_landing and email_col is not None:
        dob = next(
            (
                c.name
                for c in obj.columns
                if c.type == "date"
                and any(w in norm(c.name) for w in ("birth", "dob", "birthdate"))
            ),
            None,
        )
        names = [c.name for c in obj.columns if norm(c.name) in {"first name", "last name"}]
        if not names:
            names = [
                c.name
                for c in obj.columns
                if norm(c.name) in {"name", "patient name", "client name", "full name"}
            ][:1]
        person = (email_col, dob, names)
        if profile.system.firm_name_patterns:
            contact = next((c.name for c in obj.columns if norm(c.name) == "contact"), None)
    attachment = None
    if any(
        "file" in landing.targets and landing.cardinality != "fields_only" for landing in landings
    ):
        by_norm = {norm(c.name): c.name for c in obj.columns}
        for wanted in ("relative path", "file path", "path", "file name", "filename"):
            if wanted in by_norm:
                attachment = by_norm[wanted]
                break
    return Checks(
        obj=obj,
        key=list(obj.key),
        required=[c.name for c in obj.columns if c.required and c.name not in obj.key],
        typed=typed,
        text=text,
        truncate=truncate,
        enums=enums,
        refs=refs,
        provides=sorted(provides.items()),
        person=person,
        attachment=attachment,
        email_column=email_col,
        group=group,
        contact=contact,
    )


# -- the row checks --------------------------------------------------------------


# --- fast paths -----------------------------------------------------------------------
# The audit checks every phone and email of a large practice. Most are plainly fine;
# those are recognised here in a microsecond. Anything else goes through the full
# transform (phonenumbers, email-validator), which decides.

_PHONE_CHARS = frozenset("0123456789 ()+-.")
_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))"
)
_SPECIAL_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})


def plain_phone(value: str) -> bool:
    """True for a phone written with digits and ``()+-.`` only, 8 to 15 digits."""
    if not _PHONE_CHARS.issuperset(value):
        return False
    digits = sum(ch.isdigit() for ch in value)
    return 8 <= digits <= 15


def plain_email(value: str) -> str | None:
    """The normalised address when ``value`` is a plain ASCII address email-validator
    accepts as is (domain lower-cased); None when the full check must decide."""
    text = value.strip()
    match = _EMAIL.fullmatch(text)
    if match is None or len(text) > 254 or text.index("@") > 64:
        return None
    if match.group(2).lower() in _SPECIAL_TLDS or "--" in match.group(1):
        return None
    local, _, domain = text.partition("@")
    return f"{local}@{domain.lower()}"


_NUMERIC_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}\b")


class DateOrderTally:
    """Per date column: how many values read only day-first, only month-first, or either.

    Used when the workspace leaves the date order open; one finding per column
    replaces a warning per ambiguous value.
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str], list[int]] = {}

    def add(self, obj: str, file: str, column: str, value: str) -> None:
        """Count one cell."""
        match = _NUMERIC_DATE.match(value.strip())
        if match is None:
            return
        a, b = int(match.group(1)), int(match.group(2))
        counts = self._counts.setdefault((obj, file, column), [0, 0, 0])
        if a > 12 >= b >= 1:
            counts[0] += 1
        elif b > 12 >= a >= 1:
            counts[1] += 1
        elif 1 <= a <= 12 and 1 <= b <= 12:
            counts[2] += 1

    def findings(self) -> list[Finding]:
        """detected (info), mixed or ambiguous (warning), one per date column."""
        out: list[Finding] = []
        for (obj, file, column), (dayfirst, monthfirst, either) in sorted(self._counts.items()):
            severity: Severity = "warning"
            if dayfirst and monthfirst:
                code = "date_order.mixed"
                message = (
                    f"{column}: {dayfirst} dates read only day-first and {monthfirst} "
                    "only month-first"
                )
            elif dayfirst or monthfirst:
                code, severity = "date_order.detected", "info"
                order = "day-first" if dayfirst else "month-first"
                message = f"{column}: dates are {order} ({dayfirst or monthfirst} decide it)"
            elif either:
                code = "date_order.ambiguous"
                message = f"{column}: all {either} dates fit both day-first and month-first"
            else:
                continue
            out.append(
                Finding(
                    severity,
                    code,
                    file,
                    None,
                    column,
                    message,
                    fix="set date_order (DMY or MDY) in pdmigrate.toml",
                    object=obj,
                )
            )
        return out


#: Values that need no transform to be known good: plain decimals and common booleans.
PLAIN_NUMBER = re.compile(r"-?\d{1,15}(?:\.\d{1,6})?")
PLAIN_NUMBER_KINDS = frozenset({"decimal", "money"})
PLAIN_BOOLS = frozenset({"Y", "N", "y", "n", "Yes", "No", "YES", "NO", "TRUE", "FALSE", "1", "0"})
_PLAIN_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})|(\d{4})-(\d{2})-(\d{2})")


def plain_date(value: str, order: str | None, max_year: int) -> str | None:
    """ISO text for a plain ``D/M/YYYY`` (in ``order``: ``dmy`` or ``mdy``) or
    ``YYYY-MM-DD`` that is a real date after 1900 and up to ``max_year``; None when the
    full date transform must decide (placeholders, odd forms, open order)."""
    match = _PLAIN_DATE.fullmatch(value)
    if match is None:
        return None
    if match.group(4) is not None:
        year, month, day = int(match.group(4)), int(match.group(5)), int(match.group(6))
    elif order == "dmy":
        year, month, day = int(match.group(3)), int(match.group(2)), int(match.group(1))
    elif order == "mdy":
        year, month, day = int(match.group(3)), int(match.group(1)), int(match.group(2))
    else:
        return None
    if not 1900 < year <= max_year or (year, month, day) == (9999, 12, 31):
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


Outcome = tuple[str | None, tuple[Problem, ...]]
FastCheck = Callable[[str], "Outcome | None"]


def _fast_number(value: str) -> Outcome | None:
    return (value, ()) if PLAIN_NUMBER.fullmatch(value) else None


def _fast_bool(value: str) -> Outcome | None:
    return (value, ()) if value in PLAIN_BOOLS else None


def _fast_phone(value: str) -> Outcome | None:
    return (value, ()) if plain_phone(value) else None


def _fast_email(value: str) -> Outcome | None:
    address = plain_email(value)
    if address is None:
        return None
    reason = placeholder_reason(address, None)
    if reason is None:
        return address, ()
    return None, (Problem("email.placeholder", reason),)


#: Per kind, the check that answers plainly good values without the transform
#: (None: the transform must decide); ``fast_check`` by kind, looked up once per column.
FAST_BY_KIND: dict[str, FastCheck] = {
    "phone": _fast_phone,
    "email": _fast_email,
    "bool": _fast_bool,
    **dict.fromkeys(PLAIN_NUMBER_KINDS, _fast_number),
}
#: The kinds ``fast_check`` can answer; for any other it returns None.
FAST_KINDS = frozenset(FAST_BY_KIND)


def fast_check(kind: str, value: str) -> Outcome | None:
    """The audit's answer for a plainly good phone, amount, yes/no or email without
    running its transform; None when the transform must decide."""
    check = FAST_BY_KIND.get(kind)
    return None if check is None else check(value)
