"""Synthetic Practice by Numbers exports: US dental analytics over an Open Dental-like PMS.

Patient IDs are the PMS's PatNum and repeat across practices, so keys are
(Practice, Patient ID). Treatment plans come as a raw dump (ISO dates, ``0001-01-01`` for
unset dates); KPIs are long format. Documents ship as real PDF and JPEG files beside a
``documents.csv`` manifest.
"""

from __future__ import annotations

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
    fmt_time,
    html_note,
    rand_date,
    slot,
    table,
    us_phone,
    write_users,
)
from pdmigrate.synth.population import Population

CDT = [
    ("D0120", "Periodic oral evaluation", 65.0),
    ("D1110", "Prophylaxis - adult", 110.0),
    ("D0274", "Bitewings - four films", 75.0),
    ("D2391", "Resin composite - one surface", 190.0),
    ("D2740", "Crown - porcelain/ceramic", 1250.0),
    ("D4341", "Perio scaling and root planing", 260.0),
    ("D2962", "Labial veneer - porcelain", 1100.0),
    ("D3330", "Endodontic therapy, molar", 1150.0),
    ("D9972", "External bleaching - per arch", 350.0),
]
METRICS = ["Acceptance Rate", "Production Per Hour", "Flow Score", "Collections", "New Patients"]
RAW_STATUS = {"Active": "Patient", "Inactive": "Inactive", "Deceased": "Deceased"}

PATIENTS = [
    "Patient ID",
    "Practice",
    "First Name",
    "Last Name",
    "Preferred Name",
    "Birthdate",
    "Gender",
    "Email",
    "Mobile",
    "Home Phone",
    "Work Phone",
    "Address",
    "Address 2",
    "City",
    "State",
    "Zip",
    "Status",
    "Guarantor ID",
    "Primary Provider",
    "Hygienist",
    "First Visit",
    "Last Visit",
    "Next Appointment",
    "Recall Due",
    "Primary Insurance",
    "Patient Balance",
    "Family Balance",
    "Preferred Contact",
    "Text OK",
    "Source PMS",
]
APPTS = [
    "Appointment ID",
    "Practice",
    "Patient ID",
    "Date",
    "Time",
    "Duration",
    "Status",
    "Confirmation",
    "Provider",
    "Hygienist",
    "Operatory",
    "Appointment Type",
    "Procedures",
    "Scheduled Production",
    "New Patient",
]
PLANS = [
    "Patient ID",
    "Practice",
    "Procedure ID",
    "Code",
    "Description",
    "Tooth",
    "Surface",
    "Fee",
    "Ins Estimate",
    "Patient Portion",
    "Priority",
    "Status",
    "Date Planned",
    "Date Presented",
    "Accepted",
    "Provider",
]


def _d(value: date | None) -> str:
    return fmt_date(value, "MDY")


def generate(out: Path, n: int, seed: int) -> tuple[Manifest, list[dict[str, object]]]:
    """Write Practice by Numbers exports for ``n`` patients; return the manifest and users."""
    rng = SynthRandom(seed)
    pools = Pools.build("en_US", seed)
    man = Manifest("practicebynumbers", seed, n)
    n_practices = 2 if n < 5000 else 3
    practices = [
        (f"PR{k + 1}", f"{rng.choice(pools.places)[0]} Dental Care") for k in range(n_practices)
    ]
    domain = "".join(ch for ch in practices[0][1].lower() if ch.isalpha())[:16] + ".com"
    per_practice = -(-n // n_practices)

    def key(i: int) -> str:
        return f"{practices[i // per_practice][0]}:{i % per_practice + 1}"

    pop = Population(
        n=n,
        rng=rng,
        pools=pools,
        manifest=man,
        key=key,
        home_phone=us_phone,
        mobile_phone=us_phone,
        practice_email=f"smile@{domain}",
        staff_domain=domain,
        staff_roles=["Dentist", "Hygienist", "Hygienist", "Specialist"],
        staff_code=lambda i, first, last: f"{['DOC', 'HYG', 'HYG', 'SPC'][i % 4]}{i + 1}",
        null_date_text="0001-01-01",
    )
    pop.describe(
        "patients",
        ["Practice", "Patient ID"],
        {"email": "Email", "phone": "Home Phone", "dob": "Birthdate"},
    )
    man.extra["practice"] = {"name": practices[0][1], "email": f"smile@{domain}", "country": "US"}
    man.extra["practices"] = [code for code, _ in practices]
    man.defect(
        "ids_repeat_across_practices", [key(0), key(per_practice)] if n > per_practice else [key(0)]
    )
    hyg = [s.code for s in pop.staff if s.role == "Hygienist"]

    def split(k: str) -> tuple[str, str]:
        practice, patnum = k.split(":")
        return practice, patnum

    with table(out, "patients.csv", "patients", PATIENTS, man) as w:
        for p in pop.people:
            practice, patnum = split(p.key)
            status = p.status if rng.random() < 0.7 else RAW_STATUS[p.status]
            if rng.random() < 0.01:
                status = "Deleted"
                man.defect("deleted_rows", p.key)
            guarantor = split(pop.people[p.head].key)[1] if p.head is not None else patnum
            w.row(
                [
                    patnum,
                    practice,
                    p.first,
                    p.last,
                    "",
                    p.dob_raw if p.dob is None else _d(p.dob),
                    {"F": "Female", "M": "Male"}.get(p.sex, "Unknown"),
                    p.email,
                    p.mobile,
                    p.home,
                    "",
                    p.street,
                    "",
                    p.city,
                    p.state,
                    p.postcode,
                    status,
                    guarantor,
                    pop.staff[p.provider].code,
                    rng.choice(hyg) if rng.random() < 0.7 else "",
                    _d(p.created),
                    _d(p.last_visit),
                    "",
                    _d(EXPORT_DATE + timedelta(days=rng.randint(-200, 180))),
                    rng.choice(["Delta Dental", "MetLife", "Cigna Dental", "Guardian", ""]),
                    f"{rng.choice([0, 0, 0, 45.5, 120, 310.25]):.2f}",
                    f"{rng.choice([0, 0, 80, 410.0]):.2f}",
                    rng.choice(["None", "Text", "Email", "Phone", "Mail"]),
                    rng.choice(["Y", "N", "Unknown"]),
                    "Open Dental",
                ]
            )
    with table(
        out,
        "practices.csv",
        "practices",
        [
            "Practice ID",
            "Name",
            "Address",
            "City",
            "State",
            "Zip",
            "Phone",
            "Timezone",
            "PMS",
            "Group",
        ],
        man,
    ) as w:
        for code, name in practices:
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
                    rng.choice(["America/New_York", "America/Chicago"]),
                    "Open Dental",
                    "Bright Smiles Group",
                ]
            )
    with table(
        out,
        "providers.csv",
        "providers",
        ["Provider ID", "First", "Last", "Type", "NPI", "Active"],
        man,
    ) as w:
        for s in pop.staff:
            w.row(
                [
                    s.code,
                    s.first,
                    s.last,
                    s.role,
                    str(rng.randint(10**9, 2 * 10**9 - 1)),
                    "Y" if s.active else "N",
                ]
            )

    appt = 0
    completed: list[tuple[str, date]] = []
    with table(out, "appointments.csv", "appointments", APPTS, man) as w:
        for p in pop.people:
            practice, patnum = split(p.key)
            for _ in range(rng.choice((0, 1, 2, 2, 3))):
                appt += 1
                day = rand_date(rng, p.created, EXPORT_DATE + timedelta(days=90))
                start = slot(rng, day)
                if day > EXPORT_DATE:
                    status = rng.choice(["Scheduled", "Scheduled", "Unscheduled", "Planned"])
                else:
                    status = rng.choice(["Completed"] * 8 + ["Cancelled", "Broken"])
                codes = rng.sample(CDT, k=rng.randint(1, 3))
                w.row(
                    [
                        str(appt),
                        practice,
                        patnum,
                        _d(day),
                        fmt_time(start, True),
                        str(rng.choice([30, 60, 90])),
                        status,
                        rng.choice(["Unconfirmed", "Confirmed", "Left Msg", "Arrived"]),
                        pop.staff[p.provider].code,
                        rng.choice(hyg),
                        f"OP{rng.randint(1, 6)}",
                        rng.choice(["Recall", "New Patient", "Restorative", "Emergency"]),
                        ", ".join(c for c, _, _ in codes),
                        f"{sum(f for _, _, f in codes):.2f}",
                        "Y" if rng.random() < 0.1 else "N",
                    ]
                )
                if status == "Completed":
                    completed.append((p.key, day))
        appt += 1
        w.row(
            [
                str(appt),
                practices[0][0],
                "999999",
                _d(EXPORT_DATE),
                "9:00 AM",
                "30",
                "Completed",
                "Confirmed",
                pop.staff[0].code,
                "",
                "OP1",
                "Recall",
                "D0120",
                "65.00",
                "N",
            ]
        )
        man.defect(
            "orphan",
            {
                "object": "appointments",
                "key": f"{practices[0][0]}:{appt}",
                "column": "Patient ID",
                "value": "999999",
            },
        )

    proc = 0
    plan_keys: list[str] = []
    with table(out, "treatment_plans.csv", "treatment_plans", PLANS, man) as w:
        for p in pop.people:
            if rng.random() > 0.3:
                continue
            practice, patnum = split(p.key)
            planned = rand_date(rng, p.created, EXPORT_DATE)
            presented = planned + timedelta(days=rng.randint(0, 20)) if rng.random() < 0.7 else None
            plan_keys.append(p.key)
            for _ in range(rng.randint(1, 4)):
                proc += 1
                code, desc, fee = rng.choice(CDT)
                status = rng.choice(["TP", "TP", "TP", "C", "TPi"])
                ins = round(fee * rng.choice([0.0, 0.5, 0.8]), 2)
                w.row(
                    [
                        patnum,
                        practice,
                        str(proc),
                        code,
                        desc,
                        str(rng.randint(1, 32)),
                        rng.choice(["", "O", "MO", "DOB"]),
                        f"{fee:.2f}",
                        f"{ins:.2f}",
                        f"{fee - ins:.2f}",
                        str(rng.randint(0, 3)),
                        status,
                        planned.isoformat(),
                        presented.isoformat() if presented else "0001-01-01",
                        "Y" if presented and rng.random() < 0.5 else "N",
                        pop.staff[p.provider].code,
                    ]
                )
                if presented is None and "null_date_plan" not in man.defects:
                    man.defect(
                        "null_date_plan",
                        {
                            "object": "treatment_plans",
                            "key": f"{practice}:{proc}",
                            "column": "Date Presented",
                            "value": "0001-01-01",
                        },
                    )

    with table(
        out,
        "recalls.csv",
        "recalls",
        [
            "Patient ID",
            "Practice",
            "Recall Type",
            "Due Date",
            "Scheduled Date",
            "Interval",
            "Status",
        ],
        man,
    ) as w:
        for p in pop.people:
            if rng.random() < 0.6:
                practice, patnum = split(p.key)
                due = rand_date(
                    rng, EXPORT_DATE - timedelta(days=200), EXPORT_DATE + timedelta(days=200)
                )
                sched = due + timedelta(days=rng.randint(-10, 10)) if rng.random() < 0.4 else None
                status = "Scheduled" if sched else ("Overdue" if due < EXPORT_DATE else "Due")
                if rng.random() < 0.05:
                    status = "Inactive"
                w.row(
                    [
                        patnum,
                        practice,
                        rng.choice(["Prophy", "Perio", "Child prophy"]),
                        _d(due),
                        _d(sched),
                        rng.choice(["6m", "6m", "3m", "1y"]),
                        status,
                    ]
                )
    with table(
        out,
        "reviews.csv",
        "reviews",
        ["Review ID", "Practice", "Patient ID", "Date", "Rating", "Source", "Comment", "Responded"],
        man,
    ) as w:
        for k in range(max(5, n // 10)):
            p = pop.people[rng.randrange(len(pop.people))]
            practice, patnum = split(p.key)
            comment = pools.sentence(rng, 10)
            if k == 2:
                comment = FORMULA
                man.defect(
                    "formula_cell", {"object": "reviews", "key": str(k + 1), "column": "Comment"}
                )
            w.row(
                [
                    str(k + 1),
                    practice,
                    patnum if rng.random() < 0.8 else "",
                    _d(rand_date(rng, date(2023, 1, 1), EXPORT_DATE)),
                    str(rng.choice([5, 5, 5, 4, 4, 3, 1])),
                    rng.choice(["Google", "Google", "Facebook", "Yelp", "Internal"]),
                    comment,
                    "Y" if rng.random() < 0.5 else "N",
                ]
            )
    with table(
        out, "kpis.csv", "kpis", ["Date", "Practice", "Provider", "Metric", "Value"], man
    ) as w:
        for code, _ in practices:
            month = date(2024, 1, 1)
            while month <= EXPORT_DATE:
                for metric in METRICS:
                    w.row([_d(month), code, "", metric, f"{rng.uniform(10, 900):.2f}"])
                    for s in pop.staff[:3]:
                        w.row([_d(month), code, s.code, metric, f"{rng.uniform(5, 400):.2f}"])
                month = (month + timedelta(days=32)).replace(day=1)

    note_id = 0
    with table(
        out,
        "notes.csv",
        "notes",
        ["Note ID", "Practice", "Patient ID", "Date", "Author", "Note"],
        man,
    ) as w:
        for p in pop.people:
            if rng.random() < 0.4:
                practice, patnum = split(p.key)
                note_id += 1
                when = slot(rng, rand_date(rng, p.created, EXPORT_DATE))
                w.row(
                    [
                        str(note_id),
                        practice,
                        patnum,
                        f"{_d(when.date())} {fmt_time(when, True)}",
                        pop.staff[p.provider].code,
                        html_note(rng, pools),
                    ]
                )
                man.defect("html_note", {"object": "notes", "key": f"{practice}:{note_id}"})

    budget = min(80, max(4, n // 25))
    with table(
        out,
        "documents.csv",
        "documents",
        [
            "Document ID",
            "Practice",
            "Patient ID",
            "File Name",
            "Relative Path",
            "Type",
            "Date",
            "Procedure ID",
        ],
        man,
    ) as w:
        for k in range(budget):
            p = pop.people[rng.randrange(len(pop.people))]
            practice, patnum = split(p.key)
            if k % 2:
                name, body = (
                    f"xray_{k + 1}.jpg",
                    make_jpeg([rng.randint(30, 220) for _ in range(4)], blocks_wide=2),
                )
            else:
                name, body = f"consent_{k + 1}.pdf", make_pdf(["Consent form", f"Patient {p.key}"])
            rel = f"attachments/{practice}/{patnum}/{name}"
            if k == budget - 1:
                man.defect("missing_attachment", rel)
            else:
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                (out / rel).write_bytes(body)
            w.row(
                [
                    str(k + 1),
                    practice,
                    patnum,
                    name,
                    rel,
                    "X-Ray" if k % 2 else "Consent",
                    _d(rand_date(rng, p.created, EXPORT_DATE)),
                    "",
                ]
            )

    users = pop.users(f"{rng.choice(pools.female)} {rng.choice(pools.last)}", f"office@{domain}")
    write_users(out, users)
    return man, users
