"""Landing-rule fixes: whole "Last, First" owners, plan won dates and deals, payment notes."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from tests.mapping.conftest import documented_tables, settings_for

from pdmigrate.mapping.apply import apply_object, apply_rows
from pdmigrate.mapping.gather import read_rows, sample_exports
from pdmigrate.mapping.model import Link
from pdmigrate.mapping.payload import Applied, ApplyContext, Ref
from pdmigrate.mapping.propose import propose
from pdmigrate.profiles import load_profile
from pdmigrate.records import Row
from pdmigrate.synth import synth


def _mapping(system: str) -> Any:
    profile = load_profile(system)
    return propose(profile, settings_for(profile), documented_tables(profile)).mapping


def _rows(file: str, *dicts: dict[str, str]) -> list[Row]:
    return [Row(d, file, n + 2) for n, d in enumerate(dicts)]


@pytest.fixture(scope="module")
def synth40(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Synth exports (40 patients, seed 1) of the systems these rules touch."""
    root = tmp_path_factory.mktemp("synth40")
    out: dict[str, Path] = {}
    for system in ("corepractice", "practicebynumbers", "practicemaster"):
        synth(system, root / system, patients=40, seed=1)
        out[system] = root / system
    return out


def _synth_applied(system: str, folder: Path) -> tuple[Any, dict[str, list[Row]], Applied]:
    profile = load_profile(system)
    mapping = propose(profile, settings_for(profile), sample_exports(profile, folder)).mapping
    rows = read_rows(mapping, folder, profile)
    return mapping, rows, apply_rows(mapping, rows, ApplyContext(practice_name="Synth"))


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(
        encoding="cp1252" if path.name.isupper() or "CM" in path.name else "utf-8-sig", newline=""
    ) as fh:
        return list(csv.DictReader(fh))


# --- 1. owners keep "Last, First" whole; declared multi-user cells still split ----------


def test_last_first_owner_stays_one_name() -> None:
    """A "Last, First" practitioner is one owner, never cut at its comma."""
    cp = _mapping("corepractice")
    obj = cp.object("appointment_activity")
    assert obj.links["owner_id"].separator is None
    row = {
        "Appointment ID": "9",
        "Patient ID": "P1",
        "Practitioner": "Saunders, Candice",
        "Date": "05/03/2024",
        "Start": "09:30",
        "Status": "Booked",
    }
    made = apply_object(cp, obj, _rows("appointments.csv", row))
    assert made.of(obj.id, "activity")[0].links["owner_id"] == Ref(
        "user", "Saunders, Candice", "name"
    )


def test_multi_user_cell_splits_on_its_declared_separator() -> None:
    """Practice Master Users "12, 7": the first user owns (the profile declares ","), and
    every listed user attends."""
    pm = _mapping("practicemaster")
    obj = pm.object("calendar_activity")
    assert obj.links["owner_id"] == Link(to="user", columns=["Users"], match="name", separator=",")
    row = {
        "Record #": "1",
        "Client ID": "100.001",
        "Type": "Event",
        "Date": "03/05/2024",
        "Start Time": "09:30",
        "Description": "Meeting",
        "Users": "12, 7",
        "Completed": "N",
    }
    made = apply_object(pm, obj, _rows("CMCALENDAR.csv", row))
    act = made.of(obj.id, "activity")[0]
    assert act.links["owner_id"] == Ref("user", "12", "name")
    assert act.links["attendees"] == (Ref("user", "12", "name"), Ref("user", "7", "name"))


def test_synth_owners_land_whole(synth40: dict[str, Path]) -> None:
    """On synth data every corepractice owner is a whole practitioner name; PM's first user."""
    _, _, applied = _synth_applied("corepractice", synth40["corepractice"])
    appts = {r["Appointment ID"]: r for r in _csv(synth40["corepractice"] / "appointments.csv")}
    acts = applied.of("appointment_activity", "activity")
    assert acts
    for act in acts:
        key = act.source_key.rsplit("/", 1)[-1]
        owner = act.links["owner_id"]
        assert isinstance(owner, Ref)
        assert owner.key == appts[key]["Practitioner"].strip()
    assert any("," in a.links["owner_id"].key for a in acts)  # type: ignore[union-attr]
    _, _, pm = _synth_applied("practicemaster", synth40["practicemaster"])
    cal = {r["Record #"]: r for r in _csv(synth40["practicemaster"] / "CMCALENDAR.csv")}
    assert any("," in r["Users"] for r in cal.values())
    for act in pm.of("calendar_activity", "activity"):
        users = cal[act.source_key.rsplit("/", 1)[-1]]["Users"]
        owner = act.links.get("owner_id")
        if users.strip():
            assert owner == Ref("user", users.split(",")[0].strip(), "name")
            listed = tuple(Ref("user", u.strip(), "name") for u in users.split(",") if u.strip())
            assert act.links["attendees"] == listed


# --- 2. practicebynumbers: all C won at the last completed appointment; appointment deals


def _item(
    patient: str, code: str, status: str, planned: str, presented: str = ""
) -> dict[str, str]:
    return {
        "Practice": "PR1",
        "Patient ID": patient,
        "Code": code,
        "Fee": "100.00",
        "Status": status,
        "Date Planned": planned,
        "Date Presented": presented,
    }


def _appt(
    no: str, patient: str, date: str, status: str, procedures: str, time: str = "9:00 AM"
) -> dict[str, str]:
    return {
        "Appointment ID": no,
        "Practice": "PR1",
        "Patient ID": patient,
        "Date": date,
        "Time": time,
        "Duration": "30",
        "Status": status,
        "Appointment Type": "Restorative",
        "Procedures": procedures,
    }


PBN_PLANS = _rows(
    "treatment_plans.csv",
    _item("1", "D2391", "C", "2024-01-10", "2024-01-12"),
    _item("1", "D0274", "C", "2024-01-10", "2024-01-12"),
    _item("1", "D2740", "TP", "2024-03-01"),
    _item("1", "D2740", "TP", "2024-05-01"),
    _item("2", "D1110", "C", "2024-02-01"),
    _item("3", "D2740", "C", "2024-02-01"),
    _item("3", "D2740", "TP", "2024-02-01"),
    _item("5", "D2391", "C", "2024-03-01"),
)
PBN_APPTS = _rows(
    "appointments.csv",
    _appt("10", "1", "02/20/2024", "Completed", "D2391, D0120"),
    _appt("11", "1", "06/30/2024", "Completed", "D0120"),
    _appt("12", "1", "04/15/2024", "Scheduled", "D0120, D2740"),
    _appt("13", "1", "02/10/2024", "Scheduled", "D2740"),
    _appt("14", "2", "03/03/2024", "Completed", "D0150", "4:30 PM"),
    _appt("15", "2", "05/05/2024", "Cancelled", "D1110"),
    _appt("16", "3", "05/05/2024", "Scheduled", "D2740"),
    _appt("17", "5", "03/10/2024", "Completed", "D2391", "2:30 AM"),
    _appt("18", "5", "03/10/2024", "Completed", "D2391", "1:00 AM"),
)


def test_pbn_all_completed_plan_is_won_at_its_last_completed_appointment() -> None:
    """All-C plans are won at the start of the last completed appointment sharing a code,
    else the patient's last; local time (America/New_York) -> UTC, DST gap moved forward."""
    pbn = _mapping("practicebynumbers")
    made = apply_rows(pbn, {"treatment_plans": PBN_PLANS, "appointments": PBN_APPTS})
    deals = {p.source_key.rsplit("/", 1)[-1]: p.fields for p in made.of("treatment_plan_deal")}
    # Shares D2391 with appointment 10 (02/20); appointment 11 is later but shares nothing.
    assert deals["PR1|1|2024-01-12"]["status"] == "won"
    assert deals["PR1|1|2024-01-12"]["won_time"] == "2024-02-20T14:00:00Z"  # 9:00 EST
    # No completed appointment shares D1110 (15 is cancelled): the patient's last completed.
    assert deals["PR1|2|2024-02-01"]["won_time"] == "2024-03-03T21:30:00Z"  # 4:30 PM EST
    # Two visits on the DST day: the later (2:30 AM, in the gap -> 3:30 EDT) wins.
    assert deals["PR1|5|2024-03-01"]["won_time"] == "2024-03-10T07:30:00Z"
    assert deals["PR1|1|2024-03-01"]["status"] == "open"
    assert "won_time" not in deals["PR1|1|2024-03-01"]


def test_pbn_appointment_deal_is_the_open_plan_sharing_a_code() -> None:
    """deal_id: the open plan of the patient sharing a procedure code, dated by the visit."""
    pbn = _mapping("practicebynumbers")
    made = apply_rows(pbn, {"treatment_plans": PBN_PLANS, "appointments": PBN_APPTS})
    links = {
        p.source_key.rsplit("/", 1)[-1]: p.links.get("deal_id")
        for p in made.of("appointment_activity", "activity")
    }
    plan = "treatment_plan_deal"
    assert links["PR1|12"] == Ref(plan, "PR1|1|2024-03-01")  # latest open plan on or before
    assert links["PR1|13"] == Ref(plan, "PR1|1|2024-03-01")  # none before: earliest later
    assert links["PR1|10"] is None  # shares D2391 only with the won plan
    assert links["PR1|11"] is None  # shares no code
    assert links["PR1|15"] is None  # D1110's plan is won, not open
    assert links["PR1|16"] == Ref(plan, "PR1|3|2024-02-01")  # C + TP: still open


def test_pbn_placeholder_presented_date_groups_by_date_planned() -> None:
    """Date Presented 0001-01-01 (never presented) falls back to Date Planned for the key."""
    pbn = _mapping("practicebynumbers")
    items = _rows(
        "treatment_plans.csv",
        _item("4", "D2740", "TP", "2024-03-01", "0001-01-01"),
        _item("4", "D0120", "TP", "2024-03-01", ""),
    )
    made = apply_rows(pbn, {"treatment_plans": items})
    deals = made.of("treatment_plan_deal", "deal")
    assert [d.source_key for d in deals] == [
        "practicebynumbers/treatment_plan_deal/PR1|4|2024-03-01"
    ]
    assert deals[0].fields["value"] == 200.0


def test_pbn_synth_won_times_and_appointment_deals(synth40: dict[str, Path]) -> None:
    """On synth data: won plans carry their last completed appointment; deals share a code."""
    _, rows, applied = _synth_applied("practicebynumbers", synth40["practicebynumbers"])
    appts = rows["appointments"]
    plans = {p.source_key.rsplit("/", 1)[-1]: p for p in applied.of("treatment_plan_deal")}
    items: dict[str, set[str]] = {}
    for r in rows["treatment_plans"]:
        presented = r.get("Date Presented")
        day = presented if presented.strip() not in ("", "0001-01-01") else r.get("Date Planned")
        items.setdefault(f"{r.get('Practice')}|{r.get('Patient ID')}|{day}", set()).add(
            r.get("Code")
        )
    won = [k for k, p in plans.items() if p.fields.get("status") == "won"]
    assert won
    for key in won:
        practice, patient, _ = key.split("|")
        done = [
            (
                f"{a.get('Date')} {a.get('Time')}",
                {c.strip() for c in a.get("Procedures").split(",")},
            )
            for a in appts
            if (a.get("Practice"), a.get("Patient ID"), a.get("Status"))
            == (practice, patient, "Completed")
        ]
        zone = ZoneInfo("America/New_York")
        starts = [
            (dt.datetime.strptime(d, "%m/%d/%Y %I:%M %p").replace(tzinfo=zone), codes)
            for d, codes in done
        ]
        sharing = [d for d, codes in starts if codes & items[key]]
        if starts:
            want = max(sharing or [d for d, _ in starts]).astimezone(dt.UTC)
            assert plans[key].fields["won_time"] == want.strftime("%Y-%m-%dT%H:%M:%SZ")
    linked = [a for a in applied.of("appointment_activity", "activity") if "deal_id" in a.links]
    assert linked
    by_key = {f"{a.get('Practice')}|{a.get('Appointment ID')}": a for a in appts}
    for act in linked:
        ref = act.links["deal_id"]
        assert isinstance(ref, Ref)
        row = by_key[act.source_key.rsplit("/", 1)[-1]]
        assert plans[ref.key].fields["status"] == "open"
        assert ref.key.startswith(f"{row.get('Practice')}|{row.get('Patient ID')}|")
        assert {c.strip() for c in row.get("Procedures").split(",")} & items[ref.key]


# --- 3. corepractice: payments note and invoice PDFs on the invoice fields' record ----


def _cp_plan(plan: str, patient: str, created: str, code: str) -> dict[str, str]:
    return {
        "Plan ID": plan,
        "Patient ID": patient,
        "Created": created,
        "Item Code": code,
        "Plan Status": "Accepted",
        "Fee": "100",
        "Qty": "1",
    }


def _cp_invoice(no: str, patient: str, date: str, code: str) -> dict[str, str]:
    return {
        "Invoice No": no,
        "Patient ID": patient,
        "Invoice Date": date,
        "Item Code": code,
        "Total": "100",
        "Balance": "40",
        "Status": "Part Paid",
    }


def _payment(pid: str, invoice: str, date: str, amount: str) -> dict[str, str]:
    return {
        "Payment ID": pid,
        "Date": date,
        "Patient ID": "P1",
        "Method": "EFTPOS",
        "Amount": amount,
        "Invoice": invoice,
    }


def test_invoice_payments_and_pdfs_land_on_the_joined_plan() -> None:
    """Payments and allocations -> a "Payment history" note, invoice PDF -> File, on the deal."""
    cp = _mapping("corepractice")
    rows = {
        "treatment_plans": _rows("treatment_plans.csv", _cp_plan("7", "P1", "01/02/2024", "011")),
        "invoices": _rows(
            "invoices.csv",
            _cp_invoice("300014", "P1", "05/03/2024", "011"),
            _cp_invoice("300020", "P2", "05/03/2024", "011"),
        ),
        "payments": _rows(
            "payments.csv",
            _payment("R1", "300014", "2024-03-05", "50"),
            _payment("R2", "300014", "2024-03-20", "10"),
            _payment("R3", "", "2024-03-21", "99"),
        ),
        "payment_allocations": _rows(
            "allocations.csv",
            {"Alloc. date": "2024-03-22", "PP number": "PP9", "Invoice": "300014", "Applied": "5"},
        ),
    }
    files = ("invoices/Invoice_300014.pdf", "invoices/Invoice_3000145.pdf", "xrays/300014.jpg")
    made = apply_rows(cp, rows, ApplyContext(attachments=files))
    fields = [p for p in made.of("invoice_fields", "deal") if p.update_of is not None]
    assert fields[0].update_of == Ref("treatment_plan_deal", "7")
    skey = "corepractice/invoice_fields/300014"
    note = next(p for p in made.of("invoice_fields", "note") if p.source_key == f"{skey}#payments")
    assert note.links == {"deal_id": Ref("treatment_plan_deal", "7")}
    assert note.fields["content"] == (
        f"[pdmigrate src={skey}#payments]\nPayment history\n"
        "Date | Payment ID | Method | Amount\n"
        "2024-03-05 | R1 | EFTPOS | 50\n2024-03-20 | R2 | EFTPOS | 10\n"
        "2024-03-22 | PP9 | Prepayment | 5"
    )
    got = [(p.fields, p.links) for p in made.of("invoice_fields", "file")]
    assert got == [
        ({"file_name": "invoices/Invoice_300014.pdf"}, {"deal_id": Ref("treatment_plan_deal", "7")})
    ]
    # No plan for P2 and no payments: its fields go to the person, and nothing else lands.
    other = [(p.entity, p.source_key) for p in made.payloads if "300020" in p.source_key]
    assert other == [
        ("person", "corepractice/invoice_fields/300020"),
        ("note", "corepractice/invoice_fields/300020#table"),
    ]


def test_synth_invoice_pdfs_and_payment_notes(synth40: dict[str, Path]) -> None:
    """Synth corepractice: every manifest invoice PDF and payment lands on its invoice's record."""
    import json

    from pdmigrate.mapping.gather import attachment_names

    folder = synth40["corepractice"]
    profile = load_profile("corepractice")
    mapping = propose(profile, settings_for(profile), sample_exports(profile, folder)).mapping
    rows = read_rows(mapping, folder, profile)
    names = attachment_names(folder / "attachments")
    made = apply_rows(mapping, rows, ApplyContext(attachments=names))
    records = {
        p.source_key: p.update_of
        for p in made.of("invoice_fields")
        if p.update_of is not None and p.entity in ("deal", "person")
    }
    manifest = json.loads((folder / "synth_manifest.json").read_text(encoding="utf-8"))
    pdfs = [str(x).removeprefix("attachments/") for x in manifest["attachments"]["invoice_pdfs"]]
    assert pdfs
    files = {p.fields["file_name"]: p for p in made.of("invoice_fields", "file")}
    assert sorted(files) == sorted(pdfs)
    for name, payload in files.items():
        number = name.rsplit("_", 1)[-1].removesuffix(".pdf")
        record = records[f"corepractice/invoice_fields/{number}"]
        assert list(payload.links.values()) == [record]
    invoiced = {r.get("Invoice No") for r in rows["invoices"] if r.get("Status") != "Voided"}
    paid: dict[str, list[str]] = {}
    for r in rows["payments"]:
        if r.get("Invoice") in invoiced:
            paid.setdefault(r.get("Invoice"), []).append(r.get("Payment ID"))
    for r in rows["payment_allocations"]:
        if r.get("Invoice") in invoiced:
            paid.setdefault(r.get("Invoice"), []).append(r.get("PP number"))
    notes = {
        p.source_key.removesuffix("#payments").rsplit("/", 1)[-1]: p
        for p in made.of("invoice_fields", "note")
        if p.source_key.endswith("#payments")
    }
    assert paid
    assert sorted(notes) == sorted(paid)
    for number, ids in paid.items():
        note = notes[number]
        assert list(note.links.values()) == [records[f"corepractice/invoice_fields/{number}"]]
        lines = note.fields["content"].splitlines()
        assert lines[1] == "Payment history"
        assert sorted(line.split(" | ")[1] for line in lines[3:]) == sorted(ids)


# --- 4. corepractice: Employer -> its own organization, linked by the Employer field ----


def _patient(pid: str, last: str, head: str, employer: str) -> dict[str, str]:
    return {
        "Patient ID": pid,
        "First Name": "Sam",
        "Last Name": last,
        "Family Head ID": head,
        "Employer": employer,
    }


def test_employer_becomes_one_organization_linked_from_each_person() -> None:
    """Employers (case-insensitive) are one org each; every employed patient, in a family or
    not, gets the Employer organization field pointing at it; the blank one gets none."""
    cp = _mapping("corepractice")
    rows = _rows(
        "patients.csv",
        _patient("1", "Lara", "1", "Acme Pty"),
        _patient("2", "Lara", "1", "ACME PTY"),
        _patient("3", "Ng", "3", "Harbour Dental"),
        _patient("4", "Oz", "4", ""),
    )
    made = apply_rows(cp, {"patients": rows})
    orgs = {
        p.source_key.rsplit("/", 1)[-1]: p
        for p in made.of("family_organization", "organization")
        if "employer:" in p.source_key
    }
    assert sorted(orgs) == ["employer:Acme Pty", "employer:Harbour Dental"]
    assert orgs["employer:Acme Pty"].fields["name"] == "Acme Pty"
    assert orgs["employer:Acme Pty"].rows == ("patients.csv:2", "patients.csv:3")
    links = {
        p.update_of.key: p.fields["Employer"]
        for p in made.of("family_organization", "person")
        if p.update_of is not None and "Employer" in p.fields
    }
    assert links == {
        "1": Ref("family_organization", "employer:Acme Pty"),
        "2": Ref("family_organization", "employer:Acme Pty"),
        "3": Ref("family_organization", "employer:Harbour Dental"),
    }
    family = [p for p in made.of("family_organization", "organization") if p not in orgs.values()]
    assert [p.fields["name"] for p in family] == ["Lara family"]
