"""Edit synth export CSVs the way a practice's cutover week does (helpers for the undo tests).

The synth files keep their report preamble (title lines before the header); these
helpers keep it, find the header by a column name, and write CRLF rows back.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

Table = tuple[list[str], list[list[str]]]


def _split(path: Path, column: str) -> tuple[str, list[str], list[list[str]], str]:
    raw = path.read_bytes().decode("utf-8-sig")
    lines = raw.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if column in line.split(",")[:40])
    preamble = "".join(lines[:at])
    rows = list(csv.reader(io.StringIO("".join(lines[at:]))))
    header, body = rows[0], [r for r in rows[1:] if r]
    return preamble, header, body, "\r\n" if "\r\n" in raw else "\n"


def edit_csv(path: Path, column: str, fn: Callable[[list[str], list[list[str]]], None]) -> None:
    """Apply ``fn(header, rows)`` (in place) to the table whose header has ``column``."""
    preamble, header, rows, nl = _split(path, column)
    fn(header, rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=nl)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(preamble + out.getvalue(), encoding="utf-8", newline="")


def read_csv(path: Path, column: str) -> Table:
    """``(header, rows)`` of the table whose header has ``column``."""
    _p, header, rows, _nl = _split(path, column)
    return header, rows


@dataclass
class CutoverEdits:
    """What :func:`cutover` changed: source keys per kind."""

    changed_patients: list[str] = field(default_factory=list)
    new_patients: list[str] = field(default_factory=list)
    paid_claims: list[str] = field(default_factory=list)


def cutover(
    exports: Path,
    seed: int,
    changed: float = 0.05,
    new: float = 0.02,
    exclude: Collection[str] = (),
) -> CutoverEdits:
    """advancedpm exports after a cutover week: patients' phones changed, new patients
    (copies of a patient with no links to referrers), Submitted claims now Paid.

    ``exclude``: chart numbers never to change (duplicates merged by the plan).
    """
    rng = random.Random(seed)
    edits = CutoverEdits()
    header, rows = read_csv(exports / "patients.csv", "Chart Number")
    col = {name: i for i, name in enumerate(header)}
    patients = sorted(
        {r[col["Chart Number"]] for r in rows if len(r) == len(header) and r[col["Chart Number"]]}
    )
    n_changed = max(1, round(len(patients) * changed))
    n_new = max(1, round(len(patients) * new))
    chosen = set(rng.sample([p for p in patients if p not in exclude], n_changed))

    def patients_fn(h: list[str], body: list[list[str]]) -> None:
        done: set[str] = set()
        for r in body:
            if len(r) != len(h):
                continue
            key = r[col["Chart Number"]]
            if key in chosen and key not in done:
                done.add(key)
                r[col["Cell Phone"]] = f"(555) 01{rng.randrange(10)}-{rng.randrange(10000):04d}"
                r[col["Preferred Phone"]] = "Cell"
        template = next(r for r in body if r[col["Chart Number"]] in patients)
        for n in range(n_new):
            row = list(template)
            key = f"N{900000 + n}"
            row[col["Chart Number"]] = key
            row[col["Patient ID"]] = str(990000 + n)
            row[col["Last Name"]] = f"Newcomer{n}"
            row[col["Patient Name"]] = f"Newcomer{n}, {row[col['First Name']]}"
            row[col["Email"]] = f"newcomer{n}@example.org"
            row[col["Responsible Party Chart #"]] = key
            row[col["Referring Provider"]] = ""
            body.append(row)
            edits.new_patients.append(key)
        edits.changed_patients.extend(sorted(done))

    edit_csv(exports / "patients.csv", "Chart Number", patients_fn)

    def claims_fn(h: list[str], body: list[list[str]]) -> None:
        c = {name: i for i, name in enumerate(h)}
        full = [r for r in body if len(r) == len(h)]
        submitted = sorted(
            {r[c["Claim Number"]] for r in full if r[c["Claim Status"]] == "Submitted"}
        )
        paid = set(submitted[: max(1, len(submitted) // 2)])
        for r in full:
            if r[c["Claim Number"]] in paid:
                r[c["Claim Status"]] = "Paid"
                r[c["Paid"]] = r[c["Charge"]]
                r[c["Balance"]] = "$0.00"
                r[c["Paid Date"]] = "07/02/2025"
        edits.paid_claims.extend(sorted(paid))

    edit_csv(exports / "claims.csv", "Claim Number", claims_fn)
    return edits
