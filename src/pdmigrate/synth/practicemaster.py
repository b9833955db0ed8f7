"""Synthetic Tabs3 PracticeMaster exports: CM* files, cp1252 ("DOS" CSV), CRLF, month-first.

``n`` is the number of clients; each has one to four matters (rows of CMCLIENT), whose
Client ID ``client.matter`` must stay text (``1234.010`` is not ``1234.01``).
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
    fmt_date,
    fmt_money,
    fmt_time,
    html_note,
    multiline_note,
    rand_date,
    slot,
    table,
    us_phone,
    write_users,
)
from pdmigrate.synth.population import Population

ENC = "cp1252"
FIRM_SUFFIXES = ["LLC", "Inc.", "Corp.", "LLP", "Group", "Bank", "Trust", "Co."]
AOP = ["Estate Planning", "Family Law", "Litigation", "Real Estate", "Corporate", "Probate"]
RP_CATEGORIES = ["Opposing Party", "Opposing Counsel", "Court", "Judge", "Witness", "Expert"]
JOURNAL_TYPES = ["Note", "Phone", "Email", "Research", "Document"]
CAL_TYPES = ["Event", "Task", "Deadline", "Court date"]
TCODES = ["1", "2", "5", "10", "12", "20"]

CMCLIENT = [
    "Client ID",
    "Name",
    "Name Search",
    "Work Description",
    "Contact",
    "Address 1",
    "Address 2",
    "City",
    "State",
    "ZIP",
    "Country",
    "Phone",
    "Fax",
    "Email",
    "Prim_Tkpr",
    "Orig_Tkpr",
    "Sec_Tkpr",
    "Category",
    "Status",
    "Open Date",
    "Close Date",
    "Area of Practice",
    "Billing Status",
    "Referral Source",
]
CMRELATE = [
    "Related Party Key",
    "Name",
    "First Name",
    "Last Name",
    "Company",
    "Title",
    "Category",
    "Address 1",
    "City",
    "State",
    "ZIP",
    "Work Phone",
    "Home Phone",
    "Cell Phone",
    "Fax",
    "Email",
    "Notes",
]
CMXREF = ["Related Party Key", "Client ID", "Role"]
CMJRNL = [
    "Record #",
    "Client ID",
    "Date",
    "Time",
    "User ID",
    "Timekeeper",
    "Journal Type",
    "Subject",
    "Text",
    "Related Party Key",
    "Private",
]
CMCALENDAR = [
    "Record #",
    "Client ID",
    "Type",
    "Date",
    "Start Time",
    "End Time",
    "All Day",
    "Description",
    "Comments",
    "Users",
    "Completed",
    "Priority",
    "Private",
    "Reminder",
    "Plan/Recurring",
]
CMCOST = [
    "Record #",
    "Client ID",
    "Date",
    "Timekeeper",
    "Tcode",
    "Description",
    "Units",
    "Rate",
    "Amount",
    "Billing Status",
    "Billed",
    "Invoice #",
    "Reference",
]
CMFEES = [
    "Record #",
    "Client ID",
    "Date",
    "Timekeeper",
    "Tcode",
    "Description",
    "Hours Worked",
    "Hours Billed",
    "Rate",
    "Amount",
    "Billing Status",
    "Billed",
    "Invoice #",
]


def _d(value: date | None) -> str:
    return fmt_date(value, "MDY")


def generate(out: Path, n: int, seed: int) -> tuple[Manifest, list[dict[str, object]]]:
    """Write the CM* files for ``n`` clients; return the manifest and the seeded users."""
    rng = SynthRandom(seed)
    pools = Pools.build("en_US", seed)
    man = Manifest("practicemaster", seed, n)
    firm_name = f"{rng.choice(pools.last)} & {rng.choice(pools.last)} LLP"
    domain = "".join(ch for ch in firm_name.lower() if ch.isalpha())[:18] + ".com"
    pop = Population(
        n=n,
        rng=rng,
        pools=pools,
        manifest=man,
        key=lambda i: str(1000 + i),
        home_phone=us_phone,
        mobile_phone=us_phone,
        practice_email=f"info@{domain}",
        staff_domain=domain,
        staff_roles=["Attorney", "Paralegal", "Attorney", "Legal Assistant"],
        staff_code=lambda i, first, last: str(i + 1),
        null_date_text=None,
    )
    pop.describe("cmclient", ["Client ID"], {"email": "Email", "phone": "Phone"}, split_key=True)
    user_ids = [
        (s.first[:1] + s.last).upper().replace("'", "").replace(" ", "")[:8] for s in pop.staff
    ]
    man.extra["practice"] = {"name": firm_name, "email": f"info@{domain}", "country": "US"}
    man.extra["timekeepers"] = {
        s.code: {"user_id": uid, "email": s.email}
        for s, uid in zip(pop.staff, user_ids, strict=True)
    }
    n_staff = len(pop.staff)

    # --- CMCLIENT: one row per matter --------------------------------------------------
    matters: list[tuple[str, date]] = []
    with table(out, "CMCLIENT.csv", "cmclient", CMCLIENT, man, encoding=ENC) as w:
        for p in pop.people:
            firm = rng.random() < 0.2
            name = f"{p.first.strip()} {p.last}"
            contact = ""
            category = "Individual"
            if firm:
                name = f"{rng.choice(pools.last)} {rng.choice(FIRM_SUFFIXES)}"
                if rng.random() < 0.3:
                    name = f"{rng.choice(pools.last)} & {rng.choice(pools.last)}"
                contact = f"{p.first.strip()} {p.last}"
                category = "Business" if rng.random() < 0.7 else "Individual"
            count = 1 + (rng.random() < 0.35) + (rng.random() < 0.15) + (rng.random() < 0.05)
            numbers = [f"{k + 1:03d}" for k in range(count)]
            if p.idx == 7:
                numbers = ["001", "010", "100"]
                man.defect("text_ids", [f"{p.key}.010", f"{p.key}.100", f"{p.key}.001"])
            base_open = p.created
            for num in numbers:
                cid = f"{p.key}.{num}"
                opened = min(EXPORT_DATE, base_open + timedelta(days=rng.randint(0, 700)))
                status = rng.choices(["Active", "Inactive", "Closed", "Billed"], [55, 10, 30, 5])[0]
                closed = rand_date(rng, opened, EXPORT_DATE) if status == "Closed" else None
                open_text = _d(opened)
                if rng.random() < 0.002 or (p.idx == 11 and num == "001"):
                    open_text = "01/01/1900"
                    man.defect("null_date", {"key": cid, "column": "Open Date", "value": open_text})
                tk = p.provider
                w.row(
                    [
                        cid,
                        name,
                        f"{p.last.upper()}, {p.first.strip().upper()}",
                        f"{rng.choice(AOP)} - {rng.choice(pools.words).title()} matter",
                        contact,
                        p.street,
                        "Suite 200" if firm and rng.random() < 0.3 else "",
                        p.city,
                        p.state,
                        p.postcode,
                        "USA" if rng.random() < 0.9 else "",
                        p.home,
                        us_phone(rng) if firm else "",
                        p.email,
                        str(tk + 1),
                        str(rng.randrange(n_staff) + 1),
                        "" if rng.random() < 0.6 else "3",
                        category,
                        status,
                        open_text,
                        _d(closed),
                        rng.choice(AOP),
                        rng.choice(["Hourly", "Flat Fee", "Contingency"]),
                        rng.choice(["Website", "Referral", "Bar Association", ""]),
                    ]
                )
                matters.append((cid, opened))
    orphan_matter = "9999.001"

    # --- CMRELATE + CMXREF -----------------------------------------------------------
    parties: list[str] = []
    with (
        table(out, "CMRELATE.csv", "cmrelate", CMRELATE, man, encoding=ENC) as w,
        table(out, "CMXREF.csv", "cmxref", CMXREF, man, encoding=ENC) as x,
    ):
        seen: set[str] = set()
        for i in range(max(3, int(n * 0.8))):
            first = rng.choice(pools.female if i % 2 else pools.male)
            last = rng.choice(pools.last)
            key = f"{first} {last}"
            if key in seen:
                key = f"{first} {last} {i}"
            seen.add(key)
            parties.append(key)
            cat = rng.choice(RP_CATEGORIES)
            company = ""
            if cat in {"Opposing Counsel", "Expert"}:
                company = f"{rng.choice(pools.last)} {rng.choice(FIRM_SUFFIXES)}"
            elif cat == "Court":
                company = f"{rng.choice(pools.places)[0]} County Court"
            city, state, zipc = rng.choice(pools.places)
            email = f"{first}.{last}@example.com".lower().replace("'", "").replace(" ", "")
            note = multiline_note(rng, pools) if rng.random() < 0.1 else ""
            w.row(
                [
                    key,
                    key,
                    first,
                    last,
                    company,
                    "Esq." if cat == "Opposing Counsel" else "",
                    cat,
                    rng.choice(pools.streets),
                    city,
                    state,
                    zipc,
                    us_phone(rng),
                    "",
                    us_phone(rng) if rng.random() < 0.4 else "",
                    us_phone(rng) if rng.random() < 0.1 else "",
                    email if rng.random() < 0.75 else "",
                    note,
                ]
            )
            links = 1 + (rng.random() < 0.25)
            for _ in range(links):
                x.row([key, matters[rng.randrange(len(matters))][0], cat])
        x.row([parties[0], orphan_matter, "Witness"])
        man.defect("orphan", {"object": "cmxref", "column": "Client ID", "value": orphan_matter})
        x.row(["Nobody Known", matters[0][0], "Witness"])
        man.defect(
            "orphan", {"object": "cmxref", "column": "Related Party Key", "value": "Nobody Known"}
        )

    # --- CMJRNL ------------------------------------------------------------------------
    rec = 0
    with table(out, "CMJRNL.csv", "cmjrnl", CMJRNL, man, encoding=ENC) as w:
        for m, (cid, opened) in enumerate(matters):
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                rec += 1
                when = slot(rng, rand_date(rng, opened, EXPORT_DATE))
                s = rng.randrange(n_staff)
                jtype = rng.choice(JOURNAL_TYPES)
                roll = rng.random()
                if roll < 0.03:
                    text = html_note(rng, pools)
                    man.defect("html_note", {"object": "cmjrnl", "key": str(rec)})
                elif roll < 0.25:
                    text = multiline_note(rng, pools)
                else:
                    text = pools.sentence(rng, 12) + " Client’s instructions noted – see file."
                subject = pools.sentence(rng, 4)
                if m == 5 and "formula_cell" not in man.defects:
                    subject = FORMULA
                    man.defect(
                        "formula_cell", {"object": "cmjrnl", "key": str(rec), "column": "Subject"}
                    )
                w.row(
                    [
                        str(rec),
                        cid,
                        _d(when.date()),
                        fmt_time(when, True),
                        user_ids[s],
                        str(s + 1),
                        jtype,
                        subject,
                        text,
                        rng.choice(parties) if rng.random() < 0.1 else "",
                        "Y" if rng.random() < 0.05 else "N",
                    ]
                )
        rec += 1
        w.row(
            [
                str(rec),
                orphan_matter,
                _d(EXPORT_DATE),
                "9:00 AM",
                user_ids[0],
                "1",
                "Note",
                "Orphan",
                "Entry for a matter missing from CMCLIENT",
                "",
                "N",
            ]
        )
        man.defect(
            "orphan",
            {"object": "cmjrnl", "key": str(rec), "column": "Client ID", "value": orphan_matter},
        )
        long_text = ("Long memo. " * 60).strip()
        rec += 1
        w.row(
            [
                str(rec),
                matters[0][0],
                _d(EXPORT_DATE),
                "9:15 AM",
                user_ids[0],
                "1",
                "Research",
                "Long memo",
                long_text,
                "",
                "N",
            ]
        )
        man.defect(
            "long_value",
            {"object": "cmjrnl", "key": str(rec), "column": "Text", "length": len(long_text)},
        )

    # --- CMCALENDAR --------------------------------------------------------------------
    rec = 0
    with table(out, "CMCALENDAR.csv", "cmcalendar", CMCALENDAR, man, encoding=ENC) as w:
        for cid, opened in matters:
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                rec += 1
                day = rand_date(rng, opened, EXPORT_DATE + timedelta(days=120))
                start = slot(rng, day)
                ctype = rng.choices(CAL_TYPES, [45, 30, 15, 10])[0]
                all_day = ctype in {"Deadline", "Task"} and rng.random() < 0.6
                users = rng.sample(user_ids, k=min(len(user_ids), 1 + (rng.random() < 0.3)))
                w.row(
                    [
                        str(rec),
                        cid,
                        ctype,
                        _d(day),
                        "" if all_day else fmt_time(start, True),
                        "" if all_day else fmt_time(start + timedelta(minutes=60), True),
                        "Y" if all_day else "N",
                        pools.sentence(rng, 5),
                        rng.choice(
                            ["Conference Room A", "Courtroom 3", "Client office", "Zoom", ""]
                        ),
                        ",".join(users),
                        "Y" if day < EXPORT_DATE and rng.random() < 0.8 else "N",
                        rng.choice(["Low", "Normal", "High"]),
                        "Y" if rng.random() < 0.03 else "N",
                        rng.choice(["", "", "1 day", "3 days", "1 week"]),
                        "Monthly" if rng.random() < 0.02 else "",
                    ]
                )

    # --- CMCOST / CMFEES ---------------------------------------------------------------
    with (
        table(out, "CMCOST.csv", "cmcost", CMCOST, man, encoding=ENC) as w,
        table(out, "CMFEES.csv", "cmfees", CMFEES, man, encoding=ENC) as f,
    ):
        crec = frec = 0
        for cid, opened in matters:
            for _ in range(rng.choice((0, 1, 1, 2))):
                crec += 1
                units = rng.randint(1, 20)
                rate = rng.choice([0.15, 0.25, 1.0, 35.0, 120.0])
                billed = rng.random() < 0.6
                w.row(
                    [
                        str(crec),
                        cid,
                        _d(rand_date(rng, opened, EXPORT_DATE)),
                        str(rng.randrange(n_staff) + 1),
                        rng.choice(TCODES),
                        rng.choice(["Photocopies", "Filing fee", "Courier", "Postage", "Travel"]),
                        str(units),
                        fmt_money(rate),
                        fmt_money(units * rate),
                        rng.choice(["Billable", "Billable", "Non-billable", "No charge"]),
                        "Y" if billed else "N",
                        str(50000 + crec // 7) if billed else "",
                        f"CHK {rng.randint(1000, 9999)}" if rng.random() < 0.2 else "",
                    ]
                )
            for _ in range(rng.choice((1, 2, 2, 3))):
                frec += 1
                worked = round(rng.choice([0.1, 0.2, 0.5, 1.0, 1.5, 2.5, 4.0]), 1)
                billed_h = worked if rng.random() < 0.85 else round(worked * 0.5, 2)
                rate = rng.choice([150.0, 225.0, 275.0, 350.0, 95.0])
                billed = rng.random() < 0.6
                f.row(
                    [
                        str(frec),
                        cid,
                        _d(rand_date(rng, opened, EXPORT_DATE)),
                        str(rng.randrange(n_staff) + 1),
                        rng.choice(TCODES),
                        pools.sentence(rng, 6),
                        f"{worked:.2f}",
                        f"{billed_h:.2f}",
                        fmt_money(rate),
                        fmt_money(billed_h * rate),
                        rng.choice(["Billable", "Billable", "Billable", "Non-billable"]),
                        "Y" if billed else "N",
                        str(50000 + frec // 9) if billed else "",
                    ]
                )

    seeded = pop.users(f"{rng.choice(pools.female)} {rng.choice(pools.last)}", f"admin@{domain}")
    write_users(out, seeded)
    return man, seeded
