"""The people behind every synthetic export: patients (or clients) and staff.

A :class:`Population` is built once per run and then printed in each system's own
columns. It carries the deliberate mess every export has (families sharing an email,
duplicate records, missing and placeholder emails, free-text phones, null dates) and
records each defect, by source key, in the manifest.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pdmigrate.synth.common import (
    EXPORT_DATE,
    NICKNAMES,
    PLACEHOLDER_EMAILS,
    Manifest,
    Pools,
    email_for,
    rand_date,
)


@dataclass(slots=True)
class Person:
    """One patient or client as the practice recorded them."""

    idx: int
    key: str
    sex: str
    first: str
    last: str
    middle: str
    dob: date | None
    dob_raw: str | None
    email: str
    street: str
    city: str
    state: str
    postcode: str
    home: str
    mobile: str
    created: date
    last_visit: date | None
    status: str
    head: int | None
    provider: int


@dataclass(slots=True)
class Staff:
    """A practitioner, provider or timekeeper."""

    idx: int
    code: str
    first: str
    last: str
    email: str
    role: str
    active: bool


PhoneFn = Callable[[random.Random], str]


class Population:
    """Patients and staff for one synthetic export, with their defects recorded."""

    def __init__(
        self,
        *,
        n: int,
        rng: random.Random,
        pools: Pools,
        manifest: Manifest,
        key: Callable[[int], str],
        home_phone: PhoneFn,
        mobile_phone: PhoneFn,
        practice_email: str,
        staff_domain: str,
        staff_roles: list[str],
        staff_code: Callable[[int, str, str], str],
        null_date_text: str | None,
    ) -> None:
        self.rng = rng
        self.pools = pools
        self.manifest = manifest
        self.staff = self._make_staff(n, staff_domain, staff_roles, staff_code)
        self.people: list[Person] = []
        self._build(n, key, home_phone, mobile_phone, practice_email, null_date_text)

    # --- staff ---------------------------------------------------------------------

    def _make_staff(
        self,
        n: int,
        domain: str,
        roles: list[str],
        code: Callable[[int, str, str], str],
    ) -> list[Staff]:
        rng, pools = self.rng, self.pools
        count = max(6, min(40, n // 500 + 6))
        staff: list[Staff] = []
        for i in range(count):
            first = rng.choice(pools.female if i % 2 else pools.male)
            last = rng.choice(pools.last)
            local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isalnum() or ch == ".")
            staff.append(
                Staff(
                    idx=i,
                    code=code(i, first, last),
                    first=first,
                    last=last,
                    email=f"{local}@{domain}",
                    role=roles[i % len(roles)],
                    active=i != count - 1,
                )
            )
        return staff

    def describe(
        self,
        obj: str,
        key_columns: list[str],
        columns: dict[str, str],
        *,
        split_key: bool = False,
    ) -> None:
        """Tell manifest readers where person defects live: object, key columns, columns.

        ``columns`` maps ``email``, ``phone`` and ``dob`` to the export's column names.
        Person keys in the defects are the key columns' values joined by ":" (only the
        part before the first "." when ``split_key``).
        """
        self.manifest.extra["people"] = {
            "object": obj,
            "key_columns": key_columns,
            "split_key": split_key,
            "columns": columns,
        }

    def users(self, admin_name: str, admin_email: str) -> list[dict[str, Any]]:
        """The seeded Pipedrive users: an admin plus about 80% of staff by email.

        One matched user's email differs only in case; one unmatched staff member has a
        deactivated user (which counts as unmatched). Recorded in the manifest.
        """
        users: list[dict[str, Any]] = [
            {"name": admin_name, "email": admin_email, "active_flag": True, "is_admin": True}
        ]
        matched: list[str] = []
        unmatched: list[str] = []
        inactive_done = False
        for member in self.staff:
            name = f"{member.first} {member.last}"
            if member.idx % 5 != 4:
                email = member.email
                if member.idx == 1:
                    email = email[:1].upper() + email[1:]
                    self.manifest.defect("user_email_case_differs", member.email)
                users.append({"name": name, "email": email, "active_flag": True, "is_admin": False})
                matched.append(member.email)
            else:
                unmatched.append(member.email)
                if not inactive_done:
                    users.append(
                        {
                            "name": name,
                            "email": member.email,
                            "active_flag": False,
                            "is_admin": False,
                        }
                    )
                    self.manifest.defect("staff_with_inactive_user", member.email)
                    inactive_done = True
        for email in unmatched:
            self.manifest.defect("staff_without_user", email)
        self.manifest.extra["staff"] = [
            {
                "code": s.code,
                "name": f"{s.first} {s.last}",
                "email": s.email,
                "role": s.role,
                "active": s.active,
                "has_user": s.email in matched,
            }
            for s in self.staff
        ]
        self.manifest.extra["users"] = {"count": len(users), "staff_matched": len(matched)}
        return users

    # --- patients ------------------------------------------------------------------

    def _build(
        self,
        n: int,
        key: Callable[[int], str],
        home_phone: PhoneFn,
        mobile_phone: PhoneFn,
        practice_email: str,
        null_text: str | None,
    ) -> None:
        rng, pools, man = self.rng, self.pools, self.manifest
        n_dup = max(1, n // 100) if n >= 10 else 0
        base = n - n_dup
        i = 0
        while i < base:
            size = rng.randint(2, 4) if rng.random() < 0.08 and i + 4 < base else 1
            head = self._new_person(i, key(i), home_phone, mobile_phone)
            self.people.append(head)
            if size > 1:
                group = [head.key]
                for j in range(1, size):
                    member = self._new_person(i + j, key(i + j), home_phone, mobile_phone)
                    member.last, member.street, member.city = head.last, head.street, head.city
                    member.state, member.postcode, member.home = (
                        head.state,
                        head.postcode,
                        head.home,
                    )
                    member.email, member.head = head.email, head.idx
                    member.dob = rand_date(rng, date(2005, 1, 1), date(2022, 12, 31))
                    member.first = rng.choice(pools.female if j % 2 else pools.male)
                    head.head = head.idx
                    self.people.append(member)
                    group.append(member.key)
                man.defect("family_shared_email", group)
            i += size
        # Email problems on singles (never on families or future duplicate sources).
        singles = [p for p in self.people if p.head is None]
        for p in singles:
            roll = rng.random()
            if roll < 0.07:
                p.email = ""
                man.defect("missing_email", p.key)
            elif roll < 0.085:
                p.email = rng.choice([*PLACEHOLDER_EMAILS, practice_email])
                man.defect("placeholder_email", {"key": p.key, "email": p.email})
            elif roll < 0.09:
                p.email = p.email.replace("@", " at ", 1) if rng.random() < 0.5 else p.email[:-4]
                man.defect("malformed_email", {"key": p.key, "email": p.email})
        # Free-text phones and null birth dates.
        for p in self.people:
            roll = rng.random()
            if roll < 0.03:
                p.home = f"H: {p.home} W: {home_phone(rng)}"
                man.defect("free_text_phone", {"key": p.key, "value": p.home})
            elif null_text and (roll < 0.035 or (p.idx == 3 and "null_date" not in man.defects)):
                p.dob, p.dob_raw = None, null_text
                man.defect("null_date", {"key": p.key, "column": "dob", "value": null_text})
        # Duplicates: a second record of an existing person, same email and birth date.
        candidates = [p for p in singles if "@" in p.email and p.dob is not None]
        for d in range(n_dup):
            src = candidates[rng.randrange(len(candidates))] if candidates else self.people[0]
            idx = base + d
            first = NICKNAMES.get(src.first, src.first.upper() if d % 2 else src.first + " ")
            email = src.email.upper() if d % 3 == 0 else src.email
            dup = Person(
                idx=idx,
                key=key(idx),
                sex=src.sex,
                first=first,
                last=src.last,
                middle="",
                dob=src.dob,
                dob_raw=src.dob_raw,
                email=email,
                street=src.street,
                city=src.city,
                state=src.state,
                postcode=src.postcode,
                home=src.home,
                mobile=src.mobile,
                created=min(EXPORT_DATE, src.created + timedelta(days=rng.randint(30, 900))),
                last_visit=src.last_visit,
                status="Active",
                head=None,
                provider=src.provider,
            )
            self.people.append(dup)
            man.defect("duplicate_patients", [src.key, dup.key])

    def _new_person(self, i: int, key: str, home_phone: PhoneFn, mobile_phone: PhoneFn) -> Person:
        rng, pools = self.rng, self.pools
        sex = "F" if rng.random() < 0.52 else "M"
        first = rng.choice(pools.female if sex == "F" else pools.male)
        last = rng.choice(pools.last)
        city, state, postcode = rng.choice(pools.places)
        created = rand_date(rng, date(2012, 1, 1), date(2025, 5, 31))
        status = (
            "Active" if rng.random() < 0.85 else rng.choice(["Inactive", "Inactive", "Deceased"])
        )
        return Person(
            idx=i,
            key=key,
            sex=sex if rng.random() > 0.01 else "U",
            first=first,
            last=last,
            middle=chr(65 + rng.randrange(26)) if rng.random() < 0.4 else "",
            dob=rand_date(rng, date(1935, 1, 1), date(2021, 12, 31)),
            dob_raw=None,
            email=email_for(first, last, i, rng.choice(pools.domains)),
            street=rng.choice(pools.streets),
            city=city,
            state=state,
            postcode=postcode,
            home=home_phone(rng),
            mobile=mobile_phone(rng),
            created=created,
            last_visit=rand_date(rng, created, EXPORT_DATE) if rng.random() < 0.9 else None,
            status=status,
            head=None,
            provider=rng.randrange(len(self.staff)),
        )
