"""Synthetic Core Practice exports: AU dental, day-first dates, AUD, report-style XLSX.

Patients and most lists are CSV (UTF-8 with a BOM, CRLF); invoices, payments and
allocations are report XLSX files with a title row above the header, one per month (and
per dentist for invoices), with dates as Excel serials. Postcodes such as ``0800`` and item
codes such as ``011`` stay text. Invoice PDFs and x-ray JPEGs go in ``attachments/``.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path

from pdmigrate.synth.binary import Cell, make_pdf
from pdmigrate.synth.common import (
    EXPORT_DATE,
    Manifest,
    Pools,
    SynthRandom,
    TableWriter,
    au_landline,
    au_mobile,
    fmt_date,
    fmt_time,
    html_note,
    rand_date,
    slot,
    table,
    write_users,
)
from pdmigrate.synth.corepractice_lists import FUNDS, write_lists
from pdmigrate.synth.population import Population

ITEMS = [
    ("011", "Comprehensive oral examination", 65.0),
    ("012", "Periodic oral examination", 55.0),
    ("022", "Intraoral periapical radiograph", 40.0),
    ("114", "Removal of calculus", 120.0),
    ("121", "Topical application of fluoride", 35.0),
    ("311", "Removal of a tooth", 210.0),
    ("521", "Adhesive restoration - one surface", 160.0),
    ("613", "Full crown - ceramic", 1650.0),
    ("415", "Complete root canal filling", 450.0),
]
STATUSES = ["Completed"] * 60 + ["Cancelled"] * 8 + ["Did Not Attend"] * 4 + ["FTA"] * 2
FUTURE = ["Booked"] * 6 + ["Confirmed"] * 4
APPT_TYPES = ["Check-up & Clean", "Emergency", "Consultation", "Filling", "Crown Prep", "Review"]
NT_POSTCODES = [
    ("Darwin", "NT", "0800"),
    ("Palmerston", "NT", "0830"),
    ("Alice Springs", "NT", "0870"),
]

PATIENTS = [
    "Patient ID",
    "Title",
    "First Name",
    "Preferred Name",
    "Middle Name",
    "Last Name",
    "Gender",
    "Date of Birth",
    "Email",
    "Mobile",
    "Home Phone",
    "Work Phone",
    "Address Line 1",
    "Address Line 2",
    "Suburb",
    "State",
    "Postcode",
    "Country",
    "Medicare Number",
    "Medicare IRN",
    "Medicare Expiry",
    "DVA Number",
    "Health Fund",
    "Health Fund Member No",
    "Referral Source",
    "Primary Practitioner",
    "Family Head ID",
    "Employer",
    "Status",
    "SMS Opt-in",
    "Email Opt-in",
    "Medical Alerts",
    "Created",
    "Last Visit",
    "Next Appointment",
]
APPTS = [
    "Appointment ID",
    "Patient ID",
    "Patient Name",
    "Practitioner",
    "Location",
    "Chair/Room",
    "Date",
    "Start",
    "End",
    "Duration",
    "Appointment Type",
    "Status",
    "Booked Online",
    "Notes",
]
PLANS = [
    "Plan ID",
    "Patient ID",
    "Plan Name",
    "Created",
    "Plan Status",
    "Item Code",
    "Description",
    "Tooth",
    "Surfaces",
    "Qty",
    "Fee",
    "Fund Estimate",
    "Gap",
    "Practitioner",
]
INVOICES = [
    "Invoice No",
    "Invoice Date",
    "Patient",
    "Patient ID",
    "Dentist",
    "Item Code",
    "Description",
    "Tooth",
    "Qty",
    "Fee",
    "GST",
    "Total",
    "Paid",
    "Balance",
    "Status",
]
PAYMENTS = ["Payment ID", "Date", "Patient", "Patient ID", "Method", "Amount", "Invoice"]
ALLOCS = [
    "Alloc. date",
    "Dentist",
    "Patient",
    "PP number",
    "PP amount",
    "Invoice",
    "Invoice date",
    "Applied",
]


def _d(value: date | None, rng: random.Random | None = None) -> str:
    """Day-first, sometimes without the leading zero on the day (D/MM/YYYY)."""
    pad = rng is None or rng.random() > 0.2
    return fmt_date(value, "DMY", pad=pad)


def _tooth(rng: random.Random) -> str:
    return str(rng.choice([11, 12, 16, 21, 26, 36, 37, 46, 47, 55, 85]))


def generate(out: Path, n: int, seed: int) -> tuple[Manifest, list[dict[str, object]]]:
    """Write Core Practice exports for ``n`` patients; return the manifest and users."""
    rng = SynthRandom(seed)
    pools = Pools.build("en_AU", seed)
    pools.places.extend(NT_POSTCODES)
    man = Manifest("corepractice", seed, n)
    suburb = rng.choice(pools.places)[0]
    practice = f"{suburb} Family Dental"
    domain = "".join(ch for ch in suburb.lower() if ch.isalpha())[:14] + "dental.com.au"
    pop = Population(
        n=n,
        rng=rng,
        pools=pools,
        manifest=man,
        key=lambda i: str(10000 + i),
        home_phone=au_landline,
        mobile_phone=au_mobile,
        practice_email=f"reception@{domain}",
        staff_domain=domain,
        staff_roles=["Dentist", "Hygienist", "Dentist", "OHT", "Therapist"],
        staff_code=lambda i, first, last: f"P{i + 1:02d}",
        null_date_text="01/01/1900",
    )
    pop.describe(
        "patients",
        ["Patient ID"],
        {"email": "Email", "phone": "Home Phone", "dob": "Date of Birth"},
    )
    man.extra["practice"] = {"name": practice, "email": f"reception@{domain}", "country": "AU"}
    staff_names = [f"{s.last}, {s.first}" for s in pop.staff]
    dentists = [i for i, s in enumerate(pop.staff) if s.role == "Dentist"]
    # One practitioner is printed differently in appointments than in practitioners.csv.
    odd = dentists[-1]
    odd_name = f"Dr {pop.staff[odd].first[0]}. {pop.staff[odd].last}"
    man.defect("practitioner_name_unmatched", {"name": odd_name, "code": pop.staff[odd].code})
    locations = [f"{practice}", f"{rng.choice(pools.places)[0]} Dental Studio"]

    # --- patients ------------------------------------------------------------------------
    with table(out, "patients.csv", "patients", PATIENTS, man, encoding="utf-8-sig") as w:
        for p in pop.people:
            if p.idx == 2:
                p.city, p.state, p.postcode = NT_POSTCODES[0]
            if p.postcode.startswith("0"):
                man.defect("text_ids", {"key": p.key, "column": "Postcode", "value": p.postcode})
            alerts = ""
            if rng.random() < 0.05:
                alerts = rng.choice(["Penicillin allergy", "Latex allergy", "Warfarin", "Asthma"])
            if p.idx == 9:
                alerts = ("Anxious patient; prefers morning appointments. " * 8).strip()
                man.defect(
                    "long_value",
                    {
                        "object": "patients",
                        "key": p.key,
                        "column": "Medical Alerts",
                        "length": len(alerts),
                    },
                )
            fund = rng.choice(FUNDS) if rng.random() < 0.55 else ""
            w.row(
                [
                    p.key,
                    rng.choice(["Mr", "Ms", "Mrs", "Miss", "Dr", ""]),
                    p.first.rstrip(),
                    p.first[:3] if rng.random() < 0.05 else "",
                    p.middle,
                    p.last,
                    p.sex if rng.random() > 0.02 else "X",
                    p.dob_raw if p.dob is None else _d(p.dob, rng),
                    p.email,
                    p.mobile,
                    p.home,
                    au_landline(rng) if rng.random() < 0.1 else "",
                    p.street,
                    "",
                    p.city,
                    p.state,
                    p.postcode,
                    "Australia",
                    f"{rng.randint(2, 6)}{rng.randint(0, 999999999):09d}",
                    str(rng.randint(1, 5)),
                    f"{rng.randint(1, 12):02d}/{rng.randint(2025, 2029)}",
                    f"NX{rng.randint(100000, 999999)}" if rng.random() < 0.02 else "",
                    fund,
                    f"{rng.randint(10000000, 99999999)}" if fund else "",
                    rng.choice(["Google", "Friend", "Walk-in", "Health fund", ""]),
                    staff_names[p.provider],
                    pop.people[p.head].key if p.head is not None else "",
                    rng.choice(pools.companies) if rng.random() < 0.08 else "",
                    p.status,
                    "Y" if rng.random() < 0.8 else "N",
                    "Y" if rng.random() < 0.6 else "N",
                    alerts,
                    _d(p.created),
                    _d(p.last_visit),
                    "",
                ]
            )

    # --- appointments ----------------------------------------------------------------------
    appt_id = 500000
    with table(out, "appointments.csv", "appointments", APPTS, man, encoding="utf-8-sig") as w:
        for p in pop.people:
            for _ in range(rng.choice((0, 1, 2, 3, 3, 4))):
                appt_id += 1
                day = rand_date(rng, p.created, EXPORT_DATE + timedelta(days=90))
                start = slot(rng, day)
                minutes = rng.choice([15, 30, 30, 45, 60, 90])
                status = rng.choice(FUTURE if day > EXPORT_DATE else STATUSES)
                prov = p.provider if rng.random() < 0.8 else rng.randrange(len(pop.staff))
                notes = ""
                if rng.random() < 0.05:
                    notes = html_note(rng, pools)
                    man.defect("html_note", {"object": "appointments", "key": str(appt_id)})
                w.row(
                    [
                        str(appt_id),
                        p.key,
                        f"{p.first.strip()} {p.last}",
                        odd_name if prov == odd else staff_names[prov],
                        rng.choice(locations),
                        f"Chair {rng.randint(1, 4)}",
                        _d(day, rng),
                        fmt_time(start, False),
                        fmt_time(start + timedelta(minutes=minutes), False),
                        str(minutes),
                        rng.choice(APPT_TYPES),
                        status,
                        "Y" if rng.random() < 0.15 else "N",
                        notes,
                    ]
                )
        appt_id += 1
        w.row(
            [
                str(appt_id),
                "99999999",
                "Unknown Patient",
                staff_names[0],
                locations[0],
                "Chair 1",
                _d(EXPORT_DATE),
                "09:00",
                "09:30",
                "30",
                "Review",
                "Completed",
                "N",
                "",
            ]
        )
        man.defect(
            "orphan",
            {
                "object": "appointments",
                "key": str(appt_id),
                "column": "Patient ID",
                "value": "99999999",
            },
        )

    # --- treatment plans (xlsx, title row) ---------------------------------------------------
    title: list[list[Cell]] = [["Treatment Plan Report"], [f"Generated {_d(EXPORT_DATE)}"], []]
    with table(out, "treatment_plans.xlsx", "treatment_plans", PLANS, man, title=title) as w:
        plan_no = 7000
        for p in pop.people:
            if rng.random() > 0.25:
                continue
            plan_no += 1
            created = rand_date(rng, p.created, EXPORT_DATE)
            status = rng.choice(["Proposed", "Accepted", "In Progress", "Completed", "Declined"])
            for _ in range(rng.randint(1, 4)):
                code, desc, fee = rng.choice(ITEMS)
                qty = 1 if rng.random() < 0.9 else 2
                w.row(
                    [
                        str(plan_no),
                        p.key,
                        rng.choice(["Restorative", "Hygiene", "Crown plan"]),
                        datetime(created.year, created.month, created.day),
                        status,
                        code,
                        desc,
                        _tooth(rng),
                        rng.choice(["", "MO", "DO", "MOD", "B"]),
                        qty,
                        fee,
                        round(fee * qty * 0.55, 2),
                        round(fee * qty * 0.45, 2),
                        staff_names[p.provider],
                    ]
                )

    # --- invoices (per month per dentist), payments, allocations --------------------------
    inv_writers: dict[tuple[str, int], TableWriter] = {}
    pay_writers: dict[str, TableWriter] = {}
    invoice_no = 300000
    pdf_budget = min(60, max(3, n // 20))
    pdfs: list[str] = []
    mangled = False
    allocated = False
    start_month = date(2023, 7, 1)
    try:
        for p in pop.people:
            for _ in range(rng.choice((0, 1, 1, 2))):
                invoice_no += 1
                day = rand_date(rng, max(start_month, p.created), EXPORT_DATE)
                month = f"{day.year}-{day.month:02d}"
                dentist = rng.choice(dentists)
                wkey = (month, dentist)
                if wkey not in inv_writers:
                    member = pop.staff[dentist]
                    name = f"InvoiceCreatedReport_{month}_{member.code}_{member.last}.xlsx"
                    name = name.replace("'", "").replace(" ", "")
                    inv_writers[wkey] = TableWriter(
                        out,
                        name,
                        "invoices",
                        INVOICES,
                        man,
                        title=[
                            ["Invoice Created Report"],
                            [f"Dentist: {staff_names[dentist]}", None, f"Month: {month}"],
                            [],
                        ],
                    )
                status = rng.choices(
                    ["Paid", "Part Paid", "Unpaid", "Written Off", "Voided"], [70, 8, 15, 2, 5]
                )[0]
                total_paid = 0.0
                for _ in range(rng.choice((1, 1, 2))):
                    code, desc, fee = rng.choice(ITEMS)
                    paid = fee if status == "Paid" else (fee / 2 if status == "Part Paid" else 0.0)
                    total_paid += paid
                    cell_code: Cell = code
                    if not mangled and code.startswith("0"):
                        cell_code = int(code)
                        mangled = True
                        man.defect(
                            "excel_mangled_code",
                            {
                                "object": "invoices",
                                "key": str(invoice_no),
                                "column": "Item Code",
                                "value": int(code),
                                "expected": code,
                            },
                        )
                    inv_writers[wkey].row(
                        [
                            str(invoice_no),
                            day,
                            f"{p.last}, {p.first.strip()}",
                            p.key,
                            staff_names[dentist],
                            cell_code,
                            desc,
                            _tooth(rng),
                            1,
                            fee,
                            0.0,
                            fee,
                            paid,
                            round(fee - paid, 2),
                            status,
                        ]
                    )
                if len(pdfs) < pdf_budget and status != "Voided":
                    rel = f"attachments/invoices/Invoice_{invoice_no}.pdf"
                    path = out / rel
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(
                        make_pdf(
                            [
                                f"{practice}",
                                f"Tax invoice {invoice_no}",
                                f"Patient {p.key}",
                                f"Date {_d(day)}",
                            ]
                        )
                    )
                    pdfs.append(rel)
                if total_paid > 0:
                    method = rng.choice(["EFTPOS", "HICAPS", "Cash", "Credit Card", "Direct"])
                    pay_day = min(EXPORT_DATE, day + timedelta(days=rng.randint(0, 20)))
                    pmonth = f"{pay_day.year}-{pay_day.month:02d}"
                    patient = f"{p.last}, {p.first.strip()}"
                    _monthly(out, man, pay_writers, pmonth, "payments").row(
                        [
                            f"R{invoice_no}",
                            pay_day,
                            patient,
                            p.key,
                            method,
                            round(total_paid, 2),
                            str(invoice_no),
                        ]
                    )
                    if rng.random() < 0.03 or not allocated:
                        allocated = True
                        _monthly(out, man, pay_writers, pmonth, "payment_allocations").row(
                            [
                                pay_day,
                                staff_names[dentist],
                                patient,
                                f"PP{invoice_no}",
                                round(total_paid, 2),
                                str(invoice_no),
                                day,
                                round(total_paid, 2),
                            ]
                        )
    finally:
        for writer in [*inv_writers.values(), *pay_writers.values()]:
            writer.close()
    man.extra["attachments"] = {"invoice_pdfs": pdfs}

    write_lists(out, man, rng, pools, pop, staff_names, pdf_budget)

    users = pop.users(f"{rng.choice(pools.female)} {rng.choice(pools.last)}", f"manager@{domain}")
    write_users(out, users)
    return man, users


def _monthly(
    out: Path, man: Manifest, writers: dict[str, TableWriter], month: str, obj: str
) -> TableWriter:
    """The monthly payments (or allocations) report for ``month``, opened on first use."""
    key = f"{obj}:{month}"
    if key not in writers:
        if obj == "payments":
            name, header, title = (
                f"PaymentReceivedReport_{month}.xlsx",
                PAYMENTS,
                "Payment Received Report",
            )
        else:
            name, header = f"PaymentAllocationReport_{month}.xlsx", ALLOCS
            title = "Payment Allocation Report"
        writers[key] = TableWriter(
            out, name, obj, header, man, title=[[title], [f"Month: {month}"], []]
        )
    return writers[key]
