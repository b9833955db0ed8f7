"""Synthetic Visual Practice exports: a UK-style clinic, day-first dates, GBP.

Clients can span several rows under one Client ID (a couple or a company's contacts);
invoices come with separate invoice lines; documents ship as real PDF and JPEG files
beside ``documents.csv``. The workspace sets the date order (DMY here).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from pdmigrate.synth.binary import make_jpeg, make_pdf
from pdmigrate.synth.common import (
    EXPORT_DATE,
    FORMULA,
    Manifest,
    Pools,
    SynthRandom,
    fmt_date,
    gb_mobile,
    html_note,
    rand_date,
    slot,
    table,
    write_users,
)
from pdmigrate.synth.population import Population

SERVICES = [
    ("PHY30", "Physiotherapy 30 min", 30, 55.0, "Physio"),
    ("PHY60", "Physiotherapy 60 min", 60, 95.0, "Physio"),
    ("MAS45", "Sports massage 45 min", 45, 60.0, "Massage"),
    ("TEL15", "Telehealth review", 15, 30.0, "Review"),
    ("ACU30", "Acupuncture", 30, 50.0, "Acupuncture"),
    ("PHN10", "Phone consultation", 10, 0.0, "Review"),
]
STATUS_PAST = ["Attended"] * 10 + ["Cancelled", "No-show", "Rescheduled"]

CLIENTS = [
    "Client ID",
    "Title",
    "First Name",
    "Last Name",
    "Company",
    "Parent Company",
    "DOB",
    "Gender",
    "Email",
    "Mobile",
    "Phone",
    "Address",
    "City",
    "State/County",
    "Postcode",
    "Country",
    "Referral Source",
    "Practitioner",
    "Status",
    "Status Changed",
    "Tags",
    "Created",
    "Private",
]


def _d(value: date | None) -> str:
    return fmt_date(value, "DMY")


def _landline(rng: random.Random) -> str:
    return f"0{rng.randint(113, 199)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def generate(out: Path, n: int, seed: int) -> tuple[Manifest, list[dict[str, object]]]:
    """Write Visual Practice exports for ``n`` clients; return the manifest and users."""
    rng = SynthRandom(seed)
    pools = Pools.build("en_GB", seed)
    man = Manifest("visualpractice", seed, n)
    town = rng.choice(pools.places)[0]
    practice = f"{town} Physio & Wellbeing"
    domain = "".join(ch for ch in town.lower() if ch.isalpha())[:14] + "physio.co.uk"
    pop = Population(
        n=n,
        rng=rng,
        pools=pools,
        manifest=man,
        key=lambda i: f"C{i + 1:05d}",
        home_phone=_landline,
        mobile_phone=gb_mobile,
        practice_email=f"hello@{domain}",
        staff_domain=domain,
        staff_roles=["Physiotherapist", "Massage Therapist", "Acupuncturist"],
        staff_code=lambda i, first, last: f"PR{i + 1:03d}",
        null_date_text="1/1/0001",
    )
    pop.describe("clients", ["Client ID"], {"email": "Email", "phone": "Phone", "dob": "DOB"})
    man.extra["practice"] = {
        "name": practice,
        "email": f"hello@{domain}",
        "country": "GB",
        "date_order": "DMY",
    }
    names = [f"{s.first} {s.last}" for s in pop.staff]

    extra_rows = 0
    with table(out, "clients.csv", "clients", CLIENTS, man) as w:
        for p in pop.people:
            company = rng.choice(pools.companies) if rng.random() < 0.08 else ""
            row = [
                p.key,
                rng.choice(["Mr", "Mrs", "Ms", "Dr", ""]),
                p.first,
                p.last,
                company,
                "Northwind Holdings" if company and rng.random() < 0.3 else "",
                p.dob_raw if p.dob is None else _d(p.dob),
                {"F": "Female", "M": "Male"}.get(p.sex, "Unknown"),
                p.email,
                p.mobile,
                p.home,
                p.street,
                p.city,
                p.state,
                p.postcode,
                "United Kingdom",
                rng.choice(["GP referral", "Google", "Friend", "Insurer", ""]),
                names[p.provider],
                p.status,
                f"{_d(p.created)} 10:15" if p.status != "Active" else "",
                ";".join(
                    rng.sample(
                        ["sports", "back pain", "vip", "insured", "post-op"], k=rng.randint(0, 2)
                    )
                ),
                _d(p.created),
                "Y" if rng.random() < 0.02 else "N",
            ]
            w.row(row)
            if rng.random() < 0.05:
                second = rng.choice(pools.female if p.sex == "M" else pools.male)
                email = f"{second}.{p.last}@{rng.choice(pools.domains)}".lower().replace("'", "")
                w.row(
                    [
                        p.key,
                        "",
                        second,
                        p.last,
                        company,
                        row[5],
                        "",
                        "",
                        email,
                        gb_mobile(rng),
                        p.home,
                        *row[11:17],
                        names[p.provider],
                        p.status,
                        "",
                        "",
                        _d(p.created),
                        "N",
                    ]
                )
                extra_rows += 1
                man.defect("multi_row_client", p.key)
    man.extra["client_rows"] = n + extra_rows

    with table(
        out,
        "services.csv",
        "services",
        ["Service Code", "Name", "Duration", "Price", "Tax Rate", "Category", "Active"],
        man,
    ) as w:
        for code, name, minutes, price, cat in SERVICES:
            w.row([code, name, str(minutes), f"{price:.2f}", "0", cat, "Y"])

    appt = 0
    invoice = 0
    with (
        table(
            out,
            "appointments.csv",
            "appointments",
            [
                "Appointment ID",
                "Client ID",
                "Practitioner",
                "Service",
                "Start",
                "End",
                "Location/Room",
                "Status",
                "Notes",
                "Invoice No",
            ],
            man,
        ) as w,
        table(
            out,
            "invoices.csv",
            "invoices",
            [
                "Invoice No",
                "Client ID",
                "Date",
                "Due Date",
                "Status",
                "Subtotal",
                "Tax",
                "Total",
                "Paid",
                "Balance",
                "Last Payment Date",
            ],
            man,
        ) as inv,
        table(
            out,
            "invoice_lines.csv",
            "invoice_lines",
            [
                "Invoice No",
                "Line No",
                "Service Code",
                "Description",
                "Qty",
                "Unit Price",
                "Tax",
                "Line Total",
            ],
            man,
        ) as lines,
    ):
        for p in pop.people:
            for _ in range(rng.choice((0, 1, 2, 3, 4))):
                appt += 1
                day = rand_date(rng, p.created, EXPORT_DATE + timedelta(days=60))
                start = slot(rng, day)
                code, name, minutes, price, _cat = rng.choice(SERVICES)
                status = (
                    rng.choice(["Booked", "Confirmed"])
                    if day > EXPORT_DATE
                    else rng.choice(STATUS_PAST)
                )
                note = ""
                if status == "Attended" and rng.random() < 0.3:
                    note = html_note(rng, pools)
                    man.defect("html_note", {"object": "appointments", "key": str(appt)})
                if appt == 3:
                    note = FORMULA
                    man.defect(
                        "formula_cell",
                        {"object": "appointments", "key": str(appt), "column": "Notes"},
                    )
                inv_no = ""
                if status == "Attended" and price > 0:
                    invoice += 1
                    inv_no = f"INV-{invoice:06d}"
                    istatus = rng.choice(
                        ["Paid"] * 6 + ["Issued", "Overdue", "Part-paid", "Void", "Draft"]
                    )
                    paid = (
                        price
                        if istatus == "Paid"
                        else (price / 2 if istatus == "Part-paid" else 0.0)
                    )
                    inv.row(
                        [
                            inv_no,
                            p.key,
                            _d(day),
                            _d(day + timedelta(days=14)),
                            istatus,
                            f"{price:.2f}",
                            "0.00",
                            f"{price:.2f}",
                            f"{paid:.2f}",
                            f"{price - paid:.2f}",
                            _d(day + timedelta(days=3)) if paid else "",
                        ]
                    )
                    lines.row(
                        [inv_no, "1", code, name, "1", f"{price:.2f}", "0.00", f"{price:.2f}"]
                    )
                w.row(
                    [
                        str(appt),
                        p.key,
                        names[p.provider],
                        name,
                        f"{_d(day)} {start:%H:%M}",
                        f"{_d(day)} {start + timedelta(minutes=minutes):%H:%M}",
                        rng.choice(["Room 1", "Room 2", "Gym", "Online"]),
                        status,
                        note,
                        inv_no,
                    ]
                )
        appt += 1
        w.row(
            [
                str(appt),
                "C99999",
                names[0],
                SERVICES[0][1],
                f"{_d(EXPORT_DATE)} 09:00",
                f"{_d(EXPORT_DATE)} 09:30",
                "Room 1",
                "Attended",
                "",
                "",
            ]
        )
        man.defect(
            "orphan",
            {"object": "appointments", "key": str(appt), "column": "Client ID", "value": "C99999"},
        )

    budget = min(80, max(4, n // 25))
    with table(
        out,
        "documents.csv",
        "documents",
        [
            "Document ID",
            "Client ID",
            "File Name",
            "Relative Path",
            "Type",
            "Uploaded",
            "Uploaded By",
        ],
        man,
    ) as w:
        for k in range(budget):
            p = pop.people[rng.randrange(len(pop.people))]
            if k % 3 == 1:
                name, body = (
                    f"posture_{k + 1}.jpg",
                    make_jpeg([rng.randint(40, 220) for _ in range(6)], blocks_wide=3),
                )
            else:
                name, body = (
                    f"letter_{k + 1}.pdf",
                    make_pdf([practice, f"Client {p.key}", "Referral letter"]),
                )
            rel = f"attachments/{p.key}/{name}"
            if k == budget - 1:
                man.defect("missing_attachment", rel)
            else:
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                (out / rel).write_bytes(body)
            w.row(
                [
                    f"D{k + 1:05d}",
                    p.key,
                    name,
                    rel,
                    "Image" if name.endswith(".jpg") else "Letter",
                    f"{_d(rand_date(rng, p.created, EXPORT_DATE))} 12:00",
                    rng.choice(names),
                ]
            )

    with table(
        out,
        "practitioners.csv",
        "practitioners",
        ["Practitioner ID", "Name", "Email", "Role", "Registration No", "Active"],
        man,
    ) as w:
        for s, name in zip(pop.staff, names, strict=True):
            w.row(
                [
                    s.code,
                    name,
                    s.email,
                    s.role,
                    f"PH{rng.randint(10000, 99999)}",
                    "Y" if s.active else "N",
                ]
            )

    users = pop.users(f"{rng.choice(pools.female)} {rng.choice(pools.last)}", f"owner@{domain}")
    write_users(out, users)
    return man, users
