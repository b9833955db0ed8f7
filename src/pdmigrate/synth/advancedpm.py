"""Synthetic AdvancedMD "Advanced PM" report exports: US medical, month-first, 12 h times.

Report files (patients, appointments, claims) open with title and date-range rows above
the header, and the claims report ends with a "Grand Total" row. Money prints as
``$1,234.56``; ZIP codes such as ``02116`` must stay text.
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
    multiline_note,
    rand_date,
    slot,
    table,
    us_phone,
    write_users,
)
from pdmigrate.synth.population import Population

CPT = [
    ("99213", 125.0),
    ("99214", 185.0),
    ("99203", 160.0),
    ("36415", 12.0),
    ("81002", 9.5),
    ("G0439", 175.0),
    ("93000", 55.0),
    ("90686", 38.0),
]
DX = ["E11.9", "I10", "J06.9", "M54.5", "Z00.00", "E78.5", "F41.1", "K21.9"]
CARRIERS = [
    ("Aetna", "60054"),
    ("Blue Cross Blue Shield", "00590"),
    ("Cigna", "62308"),
    ("UnitedHealthcare", "87726"),
    ("Medicare", "00882"),
    ("Humana", "61101"),
]
PAST = ["Completed"] * 12 + ["Checked Out"] * 6 + ["Cancelled", "No Show", "Rescheduled"]
FUTURE = ["Scheduled", "Scheduled", "Confirmed"]
CLAIM_STATUS = ["Paid"] * 10 + [
    "Submitted",
    "Accepted",
    "Pending",
    "Denied",
    "Rejected",
    "Partially Paid",
    "Closed",
    "Appealed",
    "Ready",
    "New/Unbilled",
]

PATIENTS = [
    "Chart Number",
    "Patient ID",
    "Last Name",
    "First Name",
    "Middle Initial",
    "Patient Name",
    "Title",
    "Sex",
    "Date of Birth",
    "SSN",
    "Address 1",
    "Address 2",
    "City",
    "State",
    "Zip",
    "Home Phone",
    "Work Phone",
    "Cell Phone",
    "Preferred Phone",
    "Email",
    "Marital Status",
    "Language",
    "Race",
    "Ethnicity",
    "Responsible Party",
    "Responsible Party Chart #",
    "Relationship to Resp. Party",
    "Financial Class",
    "Provider",
    "Referring Provider",
    "Primary Insurance",
    "Primary Subscriber ID",
    "Secondary Insurance",
    "Secondary Subscriber ID",
    "Status",
    "Created Date",
    "Last Visit Date",
]
APPTS = [
    "Appointment ID",
    "Chart Number",
    "Patient Name",
    "Appt Date",
    "Start Time",
    "Duration (min)",
    "Provider",
    "Column/Resource",
    "Facility",
    "Appointment Type",
    "Status",
    "Confirmation",
    "Reason/Memo",
    "Created By",
    "Created Date",
]
CLAIMS = [
    "Visit ID",
    "Claim Number",
    "Chart Number",
    "Date of Service",
    "Rendering Provider",
    "Referring Provider",
    "Facility",
    "POS",
    "Carrier",
    "Payer ID",
    "CPT/HCPCS",
    "Modifiers",
    "Dx Codes",
    "Units",
    "Charge",
    "Paid",
    "Adjustment",
    "Balance",
    "Claim Status",
    "Submitted Date",
    "Paid Date",
]


def _d(value: date | None) -> str:
    return fmt_date(value, "MDY")


def _banner(title: str) -> list[list[str | None]]:
    start = EXPORT_DATE.replace(year=EXPORT_DATE.year - 3)
    return [
        [title],
        [f"Date Range: {_d(start)} - {_d(EXPORT_DATE)}"],
        [f"Printed: {_d(EXPORT_DATE)}"],
        [],
    ]


def generate(out: Path, n: int, seed: int) -> tuple[Manifest, list[dict[str, object]]]:
    """Write Advanced PM exports for ``n`` patients; return the manifest and users."""
    rng = SynthRandom(seed)
    pools = Pools.build("en_US", seed)
    man = Manifest("advancedpm", seed, n)
    city, state, zipc = rng.choice(pools.places)
    practice = f"{city} Family Medicine"
    domain = "".join(ch for ch in city.lower() if ch.isalpha())[:14] + "fm.com"

    def chart(i: int) -> str:
        return f"A{i + 1:06d}"

    pop = Population(
        n=n,
        rng=rng,
        pools=pools,
        manifest=man,
        key=chart,
        home_phone=us_phone,
        mobile_phone=us_phone,
        practice_email=f"frontdesk@{domain}",
        staff_domain=domain,
        staff_roles=["Physician", "Nurse Practitioner", "Physician", "Front Desk", "Biller"],
        staff_code=lambda i, first, last: (
            f"{first[:1]}{last[:3]}".upper().replace("'", "") + str(i)
        ),
        null_date_text="00/00/0000",
    )
    pop.describe(
        "patients",
        ["Chart Number"],
        {"email": "Email", "phone": "Home Phone", "dob": "Date of Birth"},
    )
    man.extra["practice"] = {"name": practice, "email": f"frontdesk@{domain}", "country": "US"}
    providers = [s for s in pop.staff if s.role in {"Physician", "Nurse Practitioner"}]
    facilities = [("MAIN", practice), ("NORTH", f"{practice} North"), ("LAB", "Outpatient Lab")]
    refs = [
        (
            f"R{k:04d}",
            rng.choice(pools.female + pools.male),
            rng.choice(pools.last),
            rng.choice(pools.companies),
        )
        for k in range(max(3, n // 150))
    ]

    with table(
        out, "patients.csv", "patients", PATIENTS, man, title=_banner("Patient Demographics Report")
    ) as w:
        for p in pop.people:
            if p.idx == 5:
                p.postcode = "02116"
            if p.postcode.startswith("0"):
                man.defect("text_ids", {"key": p.key, "column": "Zip", "value": p.postcode})
            head = pop.people[p.head] if p.head is not None else p
            rel = "Self" if head is p else rng.choice(["Spouse", "Child", "19", "01"])
            carrier = rng.choice(CARRIERS)[0] if rng.random() < 0.85 else "Self Pay"
            ref = rng.choice(refs)
            w.row(
                [
                    p.key,
                    str(30000 + p.idx),
                    p.last,
                    p.first,
                    p.middle,
                    f"{p.last}, {p.first.strip()} {p.middle}".strip(),
                    "",
                    p.sex,
                    p.dob_raw if p.dob is None else _d(p.dob),
                    f"***-**-{rng.randint(0, 9999):04d}",
                    p.street,
                    "",
                    p.city,
                    p.state,
                    p.postcode
                    if rng.random() > 0.1
                    else f"{p.postcode}-{rng.randint(0, 9999):04d}",
                    p.home,
                    us_phone(rng) if rng.random() < 0.2 else "",
                    p.mobile,
                    rng.choice(["Cell", "Home"]),
                    p.email,
                    rng.choice(["Single", "Married", "Divorced", "Widowed", "Unknown"]),
                    rng.choice(["English", "English", "Spanish"]),
                    "White;Asian"
                    if rng.random() < 0.05
                    else rng.choice(["White", "Black", "Asian", ""]),
                    rng.choice(["Not Hispanic or Latino", "Hispanic or Latino", ""]),
                    f"{head.last}, {head.first.strip()}",
                    head.key,
                    rel,
                    "SP" if carrier == "Self Pay" else rng.choice(["CM", "MC", "BC"]),
                    providers[p.provider % len(providers)].code,
                    ref[0] if rng.random() < 0.3 else "",
                    carrier,
                    "" if carrier == "Self Pay" else f"W{rng.randint(100000000, 999999999)}",
                    rng.choice(CARRIERS)[0] if rng.random() < 0.1 else "",
                    "",
                    p.status,
                    _d(p.created),
                    _d(p.last_visit),
                ]
            )

    appt_id = 800000
    visits: list[tuple[str, str, date, str, str]] = []
    with table(
        out, "appointments.csv", "appointments", APPTS, man, title=_banner("Appointment List")
    ) as w:
        for p in pop.people:
            for _ in range(rng.choice((0, 1, 2, 2, 3, 4))):
                appt_id += 1
                day = rand_date(rng, p.created, EXPORT_DATE + timedelta(days=60))
                start = slot(rng, day)
                status = rng.choice(FUTURE if day > EXPORT_DATE else PAST)
                prov = providers[p.provider % len(providers)]
                fac = rng.choice(facilities)
                memo = pools.sentence(rng, 5) if rng.random() < 0.3 else ""
                if rng.random() < 0.02:
                    memo = multiline_note(rng, pools)
                if appt_id == 800004:
                    memo = FORMULA
                    man.defect(
                        "formula_cell",
                        {"object": "appointments", "key": str(appt_id), "column": "Reason/Memo"},
                    )
                w.row(
                    [
                        str(appt_id),
                        p.key,
                        f"{p.last}, {p.first.strip()}",
                        _d(day),
                        fmt_time(start, True),
                        str(rng.choice([15, 20, 30, 40, 60])),
                        prov.code,
                        f"Room {rng.randint(1, 6)}",
                        fac[0],
                        rng.choice(["Follow Up", "New Patient", "Annual Physical", "Sick Visit"]),
                        status,
                        rng.choice(["Confirmed", "Left Message", "No Answer", ""]),
                        memo,
                        rng.choice(pop.staff).code,
                        _d(max(p.created, day - timedelta(days=14))),
                    ]
                )
                if status in {"Completed", "Checked Out"} and rng.random() < 0.6:
                    visits.append((str(appt_id), p.key, day, prov.code, fac[0]))
        appt_id += 1
        w.row(
            [
                str(appt_id),
                "Z999999",
                "Unknown, Patient",
                _d(EXPORT_DATE),
                "9:00 AM",
                "15",
                providers[0].code,
                "Room 1",
                "MAIN",
                "Follow Up",
                "Completed",
                "",
                "",
                "",
                "",
            ]
        )
        man.defect(
            "orphan",
            {
                "object": "appointments",
                "key": str(appt_id),
                "column": "Chart Number",
                "value": "Z999999",
            },
        )

    with table(
        out, "claims.csv", "claims", CLAIMS, man, title=_banner("Charge Detail Report")
    ) as w:
        claim_no = 4100000
        grand = [0.0, 0.0, 0.0, 0.0]
        for visit_id, key, day, rendering, facility in visits:
            claim_no += 1
            status = rng.choice(CLAIM_STATUS)
            carrier, payer = rng.choice(CARRIERS)
            submitted = day + timedelta(days=rng.randint(1, 10))
            paid_day = submitted + timedelta(days=rng.randint(10, 45))
            for _ in range(rng.randint(1, 3)):
                code, fee = rng.choice(CPT)
                units = 1
                charge = fee * units
                paid = (
                    charge * 0.8
                    if status in {"Paid", "Closed"}
                    else (charge * 0.4 if status == "Partially Paid" else 0.0)
                )
                adj = charge - paid if status == "Paid" else 0.0
                balance = round(charge - paid - adj, 2)
                for k, v in enumerate((charge, paid, adj, balance)):
                    grand[k] += v
                w.row(
                    [
                        visit_id,
                        str(claim_no),
                        key,
                        _d(day),
                        rendering,
                        "",
                        facility,
                        "11",
                        carrier,
                        payer,
                        code,
                        "25;59" if rng.random() < 0.05 else "",
                        ";".join(rng.sample(DX, k=rng.randint(1, 3))),
                        str(units),
                        fmt_money(charge, "$"),
                        fmt_money(paid, "$"),
                        fmt_money(adj, "$"),
                        fmt_money(balance, "$"),
                        status,
                        "" if status in {"Ready", "New/Unbilled"} else _d(submitted),
                        _d(paid_day) if status in {"Paid", "Partially Paid", "Closed"} else "",
                    ]
                )
        w.row(
            [
                "V0",
                "4099999",
                "Z999998",
                _d(EXPORT_DATE),
                providers[0].code,
                "",
                "MAIN",
                "11",
                "Aetna",
                "60054",
                "99213",
                "",
                "I10",
                "1",
                "$125.00",
                "$0.00",
                "$0.00",
                "$125.00",
                "Submitted",
                _d(EXPORT_DATE),
                "",
            ]
        )
        man.defect(
            "orphan",
            {"object": "claims", "key": "4099999", "column": "Chart Number", "value": "Z999998"},
        )
        w.trailer(
            [
                "Grand Total",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                *(fmt_money(v, "$") for v in grand),
            ]
        )

    with table(
        out,
        "referring_providers.csv",
        "referring_providers",
        [
            "Ref Provider Code",
            "Last Name",
            "First Name",
            "Credentials",
            "NPI",
            "Taxonomy",
            "Practice Name",
            "Address 1",
            "City",
            "State",
            "Zip",
            "Phone",
            "Fax",
            "Email",
        ],
        man,
    ) as w:
        for code, first, last, company in refs:
            rcity, rstate, rzip = rng.choice(pools.places)
            w.row(
                [
                    code,
                    last,
                    first,
                    rng.choice(["MD", "DO", "NP"]),
                    str(rng.randint(10**9, 2 * 10**9 - 1)),
                    "207Q00000X",
                    company,
                    rng.choice(pools.streets),
                    rcity,
                    rstate,
                    rzip,
                    us_phone(rng),
                    us_phone(rng),
                    "",
                ]
            )
    with table(
        out,
        "locations.csv",
        "locations",
        [
            "Facility Code",
            "Facility Name",
            "Address 1",
            "City",
            "State",
            "Zip",
            "Phone",
            "NPI",
            "POS",
        ],
        man,
    ) as w:
        for code, name in facilities:
            w.row(
                [
                    code,
                    name,
                    rng.choice(pools.streets),
                    city,
                    state,
                    zipc,
                    us_phone(rng),
                    str(rng.randint(10**9, 2 * 10**9 - 1)),
                    "11" if code != "LAB" else "81",
                ]
            )
    with table(
        out,
        "staff.csv",
        "staff",
        [
            "Provider/User Code",
            "Last Name",
            "First Name",
            "Credentials",
            "NPI",
            "Email",
            "Role",
            "Active",
        ],
        man,
    ) as w:
        for s in pop.staff:
            clinical = s.role in {"Physician", "Nurse Practitioner"}
            w.row(
                [
                    s.code,
                    s.last,
                    s.first,
                    "MD" if s.role == "Physician" else "",
                    str(rng.randint(10**9, 2 * 10**9 - 1)) if clinical else "",
                    s.email,
                    s.role,
                    "Y" if s.active else "N",
                ]
            )
    with table(
        out,
        "call_log.csv",
        "call_log",
        ["Log ID", "Chart Number", "Date", "Kind", "User", "Text"],
        man,
    ) as w:
        log = 0
        for p in pop.people:
            if rng.random() < 0.3:
                log += 1
                when = slot(rng, rand_date(rng, p.created, EXPORT_DATE))
                w.row(
                    [
                        str(log),
                        p.key,
                        f"{_d(when.date())} {fmt_time(when, True)}",
                        rng.choice(["Call", "Call", "Note"]),
                        rng.choice(pop.staff).code,
                        pools.sentence(rng, 9),
                    ]
                )

    users = pop.users(f"{rng.choice(pools.female)} {rng.choice(pools.last)}", f"admin@{domain}")
    write_users(out, users)
    return man, users
