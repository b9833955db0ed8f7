"""Synthetic generic exports: contacts, organizations, deals, activities, notes, products.

What a practice hands over from an unknown system: a semicolon-separated contacts file
(regional list separator), ISO dates, an XLSX activities sheet, and plain CSV for the rest.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from pdmigrate.synth.common import (
    EXPORT_DATE,
    FORMULA,
    Manifest,
    Pools,
    SynthRandom,
    html_note,
    rand_date,
    slot,
    table,
    us_phone,
    write_users,
)
from pdmigrate.synth.population import Population


def _d(value: date | None) -> str:
    return value.isoformat() if value else ""


def generate(out: Path, n: int, seed: int) -> tuple[Manifest, list[dict[str, object]]]:
    """Write generic exports for ``n`` contacts; return the manifest and users."""
    rng = SynthRandom(seed)
    pools = Pools.build("en_US", seed)
    man = Manifest("generic", seed, n)
    domain = "examplepractice.com"
    pop = Population(
        n=n,
        rng=rng,
        pools=pools,
        manifest=man,
        key=lambda i: str(i + 1),
        home_phone=us_phone,
        mobile_phone=us_phone,
        practice_email=f"office@{domain}",
        staff_domain=domain,
        staff_roles=["Owner", "Consultant", "Assistant"],
        staff_code=lambda i, first, last: f"U{i + 1}",
        null_date_text="0001-01-01",
    )
    pop.describe("contacts", ["ID"], {"email": "Email", "phone": "Phone", "dob": "Date of Birth"})
    man.extra["practice"] = {
        "name": "Example Practice",
        "email": f"office@{domain}",
        "country": "US",
        "date_order": "YMD",
    }
    orgs = [(f"O{k + 1}", company) for k, company in enumerate(pools.companies[: max(3, n // 20)])]

    with table(
        out,
        "organizations.csv",
        "organizations",
        [
            "Organization ID",
            "Organization Name",
            "Address",
            "City",
            "State",
            "Postcode",
            "Phone",
            "Parent ID",
            "Created",
        ],
        man,
    ) as w:
        for k, (code, name) in enumerate(orgs):
            city, state, zipc = rng.choice(pools.places)
            w.row(
                [
                    code,
                    name,
                    rng.choice(pools.streets),
                    city,
                    state,
                    zipc,
                    us_phone(rng),
                    orgs[0][0] if k and rng.random() < 0.2 else "",
                    _d(rand_date(rng, date(2015, 1, 1), EXPORT_DATE)),
                ]
            )
    with table(
        out,
        "contacts.csv",
        "contacts",
        [
            "ID",
            "First Name",
            "Last Name",
            "Email",
            "Phone",
            "Mobile",
            "Company",
            "Address",
            "City",
            "State",
            "Postcode",
            "Date of Birth",
            "Owner",
            "Status",
            "Created",
            "Notes",
        ],
        man,
        delimiter=";",
    ) as w:
        for p in pop.people:
            w.row(
                [
                    p.key,
                    p.first,
                    p.last,
                    p.email,
                    p.home,
                    p.mobile,
                    rng.choice(orgs)[1] if rng.random() < 0.3 else "",
                    p.street,
                    p.city,
                    p.state,
                    p.postcode,
                    p.dob_raw if p.dob is None else _d(p.dob),
                    pop.staff[p.provider].email,
                    p.status,
                    _d(p.created),
                    pools.sentence(rng, 6) if rng.random() < 0.1 else "",
                ]
            )
    deal = 0
    with table(
        out,
        "deals.csv",
        "deals",
        [
            "Deal ID",
            "Title",
            "Contact ID",
            "Organization ID",
            "Value",
            "Status",
            "Owner",
            "Created",
            "Closed",
        ],
        man,
    ) as w:
        for p in pop.people:
            if rng.random() < 0.3:
                deal += 1
                status = rng.choice(["Open", "Open", "Won", "Lost"])
                created = rand_date(rng, p.created, EXPORT_DATE)
                w.row(
                    [
                        f"D{deal}",
                        f"{rng.choice(pools.words).title()} engagement",
                        p.key,
                        "",
                        f"{rng.randint(100, 20000)}.00",
                        status,
                        pop.staff[p.provider].email,
                        _d(created),
                        _d(created + timedelta(days=30)) if status != "Open" else "",
                    ]
                )
    act = 0
    with table(
        out,
        "activities.xlsx",
        "activities",
        [
            "Activity ID",
            "Contact ID",
            "Deal ID",
            "Type",
            "Subject",
            "Date",
            "Time",
            "Duration",
            "Status",
            "Done",
            "Owner",
            "Location",
            "Notes",
        ],
        man,
    ) as w:
        for p in pop.people:
            for _ in range(rng.choice((0, 1, 2))):
                act += 1
                day = rand_date(rng, p.created, EXPORT_DATE + timedelta(days=30))
                start = slot(rng, day)
                subject = f"Follow up {p.first.strip()}"
                if act == 2:
                    subject = FORMULA
                    man.defect(
                        "formula_cell",
                        {"object": "activities", "key": str(act), "column": "Subject"},
                    )
                w.row(
                    [
                        str(act),
                        p.key,
                        "",
                        rng.choice(["Call", "Meeting", "Task", "Email"]),
                        subject,
                        day,
                        f"{start:%H:%M}",
                        30,
                        "",
                        "Yes" if day < EXPORT_DATE else "No",
                        pop.staff[p.provider].email,
                        "",
                        "",
                    ]
                )
        act += 1
        w.row(
            [
                str(act),
                "999999",
                "",
                "Call",
                "Orphan call",
                EXPORT_DATE,
                "09:00",
                15,
                "",
                "No",
                "",
                "",
                "",
            ]
        )
        man.defect(
            "orphan",
            {"object": "activities", "key": str(act), "column": "Contact ID", "value": "999999"},
        )
    with table(
        out,
        "notes.csv",
        "notes",
        ["Note ID", "Contact ID", "Deal ID", "Date", "Author", "Text"],
        man,
    ) as w:
        for k, p in enumerate(pop.people):
            if rng.random() < 0.3:
                when = slot(rng, rand_date(rng, p.created, EXPORT_DATE))
                w.row(
                    [
                        f"N{k + 1}",
                        p.key,
                        "",
                        f"{when:%Y-%m-%d %H:%M}",
                        pop.staff[p.provider].email,
                        html_note(rng, pools),
                    ]
                )
                man.defect("html_note", {"object": "notes", "key": f"N{k + 1}"})
    with table(
        out,
        "products.csv",
        "products",
        ["Code", "Product Name", "Price", "Tax Rate", "Active"],
        man,
    ) as w:
        for k, word in enumerate(pools.words[:8]):
            w.row(
                [
                    f"{k + 1:03d}",
                    f"{word.title()} package",
                    f"{rng.randint(20, 900)}.00",
                    "0",
                    "Yes",
                ]
            )

    users = pop.users("Practice Admin", f"admin@{domain}")
    write_users(out, users)
    return man, users
