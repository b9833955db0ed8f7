"""Core Practice side lists: health funds, clinical notes (+ x-ray JPEGs), products,
practitioners and enquiries. Split from :mod:`pdmigrate.synth.corepractice` for size."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from pdmigrate.synth.binary import make_jpeg
from pdmigrate.synth.common import (
    EXPORT_DATE,
    FORMULA,
    Manifest,
    Pools,
    au_mobile,
    fmt_date,
    fmt_time,
    html_note,
    multiline_note,
    rand_date,
    slot,
    table,
)
from pdmigrate.synth.population import Population

FUNDS = ["Bupa", "Medibank", "HCF", "NIB", "HBF", "AHM", "GMHBA"]


def _d(value: date | None) -> str:
    return fmt_date(value, "DMY")


def write_lists(
    out: Path,
    man: Manifest,
    rng: random.Random,
    pools: Pools,
    pop: Population,
    staff_names: list[str],
    pdf_budget: int,
) -> None:
    """Write health_funds, clinical_notes, products, practitioners and enquiries."""
    # --- health funds, clinical notes, products, practitioners, enquiries -------------------
    with table(
        out,
        "health_funds.csv",
        "health_funds",
        [
            "Patient ID",
            "Fund",
            "Member No",
            "Card Ref/IRN",
            "Level/Extras",
            "Coverage %",
            "Primary",
        ],
        man,
        encoding="utf-8-sig",
    ) as w:
        for p in pop.people:
            if rng.random() < 0.6:
                w.row(
                    [
                        p.key,
                        rng.choice(FUNDS),
                        f"{rng.randint(10000000, 99999999)}",
                        str(rng.randint(1, 6)),
                        rng.choice(["Top Extras", "Basic Extras", "Gold"]),
                        rng.choice(["60", "75", "", "N/A"]),
                        "Y",
                    ]
                )
                if rng.random() < 0.1:
                    w.row(
                        [
                            p.key,
                            rng.choice(FUNDS),
                            f"{rng.randint(10000000, 99999999)}",
                            "1",
                            "Basic Extras",
                            "",
                            "N",
                        ]
                    )
    note_id = 0
    xrays: list[str] = []
    with table(
        out,
        "clinical_notes.csv",
        "clinical_notes",
        ["Note ID", "Patient ID", "Date", "Practitioner", "Type", "Note", "Signed"],
        man,
        encoding="utf-8-sig",
    ) as w:
        for p in pop.people:
            for _ in range(rng.choice((0, 1, 1, 2))):
                note_id += 1
                when = slot(rng, rand_date(rng, p.created, EXPORT_DATE))
                if rng.random() < 0.35:
                    text = html_note(rng, pools)
                    man.defect("html_note", {"object": "clinical_notes", "key": str(note_id)})
                else:
                    text = multiline_note(rng, pools)
                if note_id == 4:
                    text = FORMULA
                    man.defect(
                        "formula_cell",
                        {"object": "clinical_notes", "key": str(note_id), "column": "Note"},
                    )
                w.row(
                    [
                        str(note_id),
                        p.key,
                        f"{_d(when.date())} {fmt_time(when, False)}",
                        staff_names[p.provider],
                        rng.choice(["Examination", "Treatment", "Phone Call", "General"]),
                        text,
                        "Y" if rng.random() < 0.9 else "N",
                    ]
                )
            if len(xrays) < pdf_budget // 2 and rng.random() < 0.1:
                rel = f"attachments/xrays/{p.key}_bitewing.jpg"
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                shades = [rng.randint(20, 235) for _ in range(16)]
                (out / rel).write_bytes(make_jpeg(shades, blocks_wide=4))
                xrays.append(rel)
    man.extra["attachments"]["xrays"] = xrays
    with table(
        out,
        "products.csv",
        "products",
        ["SKU", "Name", "Price", "GST Applies", "Stock on Hand", "Active"],
        man,
        encoding="utf-8-sig",
    ) as w:
        for k, name in enumerate(
            [
                "Electric toothbrush",
                "Interdental brushes",
                "Mouthguard",
                "Whitening kit",
                "Fluoride toothpaste",
                "Floss picks",
                "Night guard",
                "Sensitive toothpaste",
            ]
        ):
            w.row(
                [
                    f"{k + 1:04d}",
                    name,
                    f"{rng.choice([9.95, 14.5, 39.0, 120.0, 349.0]):.2f}",
                    "Y" if k % 3 else "N",
                    str(rng.randint(0, 80)),
                    "Y" if k != 6 else "N",
                ]
            )
    with table(
        out,
        "practitioners.csv",
        "practitioners",
        ["ID", "Name", "Role", "Medicare Provider No", "AHPRA No", "Email", "Active"],
        man,
        encoding="utf-8-sig",
    ) as w:
        for s, name in zip(pop.staff, staff_names, strict=True):
            w.row(
                [
                    s.code,
                    name,
                    s.role,
                    f"{rng.randint(2000000, 4999999)}{rng.choice('ABJKLTWX')}",
                    f"DEN{rng.randint(1, 9999999999):010d}",
                    s.email,
                    "Y" if s.active else "N",
                ]
            )
    with table(
        out,
        "enquiries.csv",
        "enquiries",
        ["Enquiry ID", "Date", "Name", "Email", "Phone", "Interest", "Source"],
        man,
        encoding="utf-8-sig",
    ) as w:
        for k in range(max(2, len(pop.people) // 50)):
            first, last = rng.choice(pools.female), rng.choice(pools.last)
            w.row(
                [
                    f"E{k + 1:05d}",
                    _d(rand_date(rng, date(2025, 1, 1), EXPORT_DATE)),
                    f"{first} {last}",
                    f"{first}.{last}@example.com".lower().replace("'", ""),
                    au_mobile(rng),
                    rng.choice(["Invisalign", "Whitening", "Implants", "Check-up"]),
                    rng.choice(["Website", "Facebook", "Google Ads"]),
                ]
            )
