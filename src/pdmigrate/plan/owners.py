"""Owner resolution: source staff -> Pipedrive users, from one user listing + owners.csv.

Staff are the values the payloads name as owners (``owner_id`` refs and fields, a
note's ``user_id``), looked up among the export's staff records (entity ``user``: key,
name, email, active) by key or name. Active Pipedrive users are matched by email
(case-insensitive); a deactivated user counts as unmatched, and so do inactive source
staff (their records go to the fallback owner, as the profile's ``inactive_staff`` rule
says). ``owners.csv`` lists every staff value with its status; a user fills in
``pipedrive_email`` (or a ``user_id``) where the export has no staff email (Practice
Master timekeeper numbers, "Last, First" names) and the next plan reads it back. The
``*fallback*`` row holds the fallback owner unless ``--fallback-owner`` gives one.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pdmigrate.errors import ConfigError, UsageError
from pdmigrate.mapping.payload import Payload, Ref
from pdmigrate.plan.account import AccountUser
from pdmigrate.plan.model import Owners

OWNERS_CSV = "owners.csv"
FALLBACK_ROW = "*fallback*"
COLUMNS = ("staff", "name", "source_email", "records", "status", "pipedrive_email", "user_id")
#: Statuses that need the fallback owner.
UNMATCHED = frozenset({"no_email", "not_found", "inactive_user", "inactive_staff"})
_FORMULA = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Staff:
    """One staff value as the payloads use it, with what the export says about it."""

    staff: str
    name: str = ""
    email: str = ""
    active: bool = True
    records: int = 0


@dataclass(frozen=True)
class OwnerRow:
    """One line of owners.csv after resolution."""

    staff: str
    name: str
    source_email: str
    records: int
    status: str  # matched | edited | no_email | not_found | inactive_user | inactive_staff
    pipedrive_email: str = ""
    user_id: int | None = None


def _owner_values(payload: Payload) -> list[str]:
    out: list[str] = []
    link = payload.links.get("owner_id")
    refs = (link,) if isinstance(link, Ref) else (link or ())
    out.extend(r.key for r in refs if r.key.strip())
    for name in ("owner_id", "user_id"):
        value = payload.fields.get(name)
        if isinstance(value, str) and value.strip():
            out.append(value)
    return [v.strip() for v in out]


def collect_staff(payloads: Iterable[Payload]) -> list[Staff]:
    """Every staff value the records name as owner, with the export's staff details (pure)."""
    users: list[Payload] = []
    counts: Counter[str] = Counter()
    for p in payloads:
        if p.entity == "user":
            users.append(p)
            continue
        for value in set(_owner_values(p)):
            counts[value] += 1
    index: dict[str, Payload] = {}
    for u in users:
        key = u.source_key.rsplit("/", 1)[-1]
        index.setdefault(key.casefold(), u)
        name = str(u.fields.get("name") or "").strip()
        if name:
            index.setdefault(" ".join(name.split()).casefold(), u)
            if "," in name:  # "Last, First" also answers to "First Last" and "Last"
                last, _, first = name.partition(",")
                index.setdefault(f"{first.strip()} {last.strip()}".casefold(), u)
                index.setdefault(last.strip().casefold(), u)
    out: list[Staff] = []
    for value, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        found = index.get(" ".join(value.split()).casefold())
        email = ""
        name = ""
        active = True
        if found is not None:
            raw = found.fields.get("email")
            email = raw.strip() if isinstance(raw, str) and "@" in raw else ""
            name = str(found.fields.get("name") or "")
            active_raw = found.fields.get("active", found.fields.get("active_flag", True))
            active = str(active_raw).strip().casefold() not in {"false", "no", "n", "0"}
        if not email and "@" in value:
            email = value
        out.append(Staff(value, name, email, active, n))
    return out


def _user_by_email(users: Sequence[AccountUser]) -> dict[str, AccountUser]:
    out: dict[str, AccountUser] = {}
    for u in users:
        if u.email:
            key = u.email.strip().casefold()
            # an active user with the address wins over a deactivated one
            if key not in out or (u.active and not out[key].active):
                out[key] = u
    return out


def resolve_owners(
    staff: Sequence[Staff],
    users: Sequence[AccountUser],
    *,
    edits: Mapping[str, str] | None = None,
    fallback_email: str | None = None,
    fallback_from_option: bool = False,
    inactive_rule: str = "fallback",
) -> tuple[Owners, list[OwnerRow], list[str]]:
    """Match staff to active users; owners.csv edits win over the export's email (pure).

    ``edits`` maps a staff value to the Pipedrive email a user wrote in owners.csv.
    Raises UsageError when ``--fallback-owner`` names no active user.
    """
    by_email = _user_by_email(users)
    by_id = {str(u.id): u for u in users}
    edits = edits or {}
    warnings: list[str] = []
    rows: list[OwnerRow] = []
    by_staff: dict[str, int] = {}
    unmatched: list[str] = []
    for s in staff:
        edited = edits.get(s.staff, "").strip()
        if edited and edited.casefold() == s.email.strip().casefold():
            edited = ""  # the export's own email, written back by an earlier plan
        if not s.active:
            status, user = "inactive_staff", None
        elif edited:
            user = by_id.get(edited[1:]) if edited.startswith("#") else None
            user = user or by_email.get(edited.casefold())
            status = "edited" if user is not None and user.active else "not_found"
            if user is not None and not user.active:
                status = "inactive_user"
            if status != "edited":
                warnings.append(
                    f"{OWNERS_CSV}: staff {s.staff!r}: the email written for it is "
                    + ("a deactivated user" if status == "inactive_user" else "no Pipedrive user")
                )
        elif not s.email:
            status, user = "no_email", None
        else:
            user = by_email.get(s.email.casefold())
            status = (
                "not_found" if user is None else ("matched" if user.active else "inactive_user")
            )
        if status in ("matched", "edited") and user is not None:
            by_staff[s.staff] = user.id
        else:
            unmatched.append(s.staff)
        rows.append(
            OwnerRow(
                s.staff,
                s.name,
                s.email,
                s.records,
                status,
                (user.email if user is not None and status in ("matched", "edited") else edited),
                user.id if user is not None and status in ("matched", "edited") else None,
            )
        )
    fallback_id: int | None = None
    if fallback_email:
        wanted = fallback_email.strip()
        user = by_id.get(wanted[1:]) if wanted.startswith("#") else None
        user = user or by_email.get(wanted.casefold())
        if user is None or not user.active:
            what = "no Pipedrive user" if user is None else "a deactivated user"
            if fallback_from_option:
                raise UsageError(
                    f"--fallback-owner: that email is {what} of this account",
                    hint="give the email of an active user (see owners.csv)",
                )
            warnings.append(f"{OWNERS_CSV}: the {FALLBACK_ROW} email is {what}; no fallback set")
        else:
            fallback_id = user.id
    rows.append(
        OwnerRow(
            FALLBACK_ROW,
            "records of unmatched staff",
            "",
            sum(s.records for s in staff if s.staff in unmatched),
            "fallback" if fallback_id is not None else "unset",
            by_id[str(fallback_id)].email if fallback_id is not None else fallback_email or "",
            fallback_id,
        )
    )
    owners = Owners(
        by_staff=by_staff,
        fallback_user_id=fallback_id,
        unmatched=tuple(unmatched),
        fallback_email=by_id[str(fallback_id)].email if fallback_id is not None else None,
        inactive_rule=inactive_rule,
    )
    return owners, rows, warnings


def _safe(value: str) -> str:
    """Keep a spreadsheet from reading a cell as a formula."""
    return "'" + value if value.startswith(_FORMULA) else value


def _unsafe(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:2] in _FORMULA else value


def render_owners_csv(rows: Sequence[OwnerRow]) -> str:
    """owners.csv text (header + one line per staff value + the fallback line)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                _safe(r.staff),
                _safe(r.name),
                _safe(r.source_email),
                r.records,
                r.status,
                _safe(r.pipedrive_email),
                "" if r.user_id is None else r.user_id,
            ]
        )
    return buf.getvalue()


def parse_owners_csv(text: str, where: str = OWNERS_CSV) -> tuple[dict[str, str], str | None]:
    """The user's edits: staff -> pipedrive_email, and the fallback email (or None).

    ConfigError naming ``owners.csv:LINE`` when the header is wrong.
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        return {}, None
    columns = [h.strip() for h in header]
    missing = {"staff", "pipedrive_email"} - set(columns)
    if missing:
        raise ConfigError(
            f"{where}:1: missing column(s) {', '.join(sorted(missing))}",
            hint="delete the file and run `pdmigrate plan` again to get a fresh one",
        )
    i_staff = columns.index("staff")
    i_email = columns.index("pipedrive_email")
    i_id = columns.index("user_id") if "user_id" in columns else None
    edits: dict[str, str] = {}
    fallback: str | None = None
    for row in reader:
        if len(row) <= max(i_staff, i_email):
            continue
        staff = _unsafe(row[i_staff].strip())
        email = _unsafe(row[i_email].strip())
        if not email and i_id is not None and len(row) > i_id and row[i_id].strip().isdigit():
            email = "#" + row[i_id].strip()  # a user id written instead of an email
        if staff == FALLBACK_ROW:
            fallback = email or None
        elif staff and email:
            edits[staff] = email
    return edits, fallback


def read_owners_csv(path: Path) -> tuple[dict[str, str], str | None]:
    """Edits and fallback from an existing owners.csv ({}, None when there is none)."""
    if not path.is_file():
        return {}, None
    return parse_owners_csv(path.read_text(encoding="utf-8"), str(path))
