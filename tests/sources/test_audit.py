"""audit: exact findings on nasty exports, duplicates by the landing rules, reports, no network."""

from __future__ import annotations

import csv
import json
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pdmigrate.audit import audit_exports
from pdmigrate.audit_model import AuditOptions
from pdmigrate.audit_report import load_expected, neutralise
from pdmigrate.cli import cli
from pdmigrate.profiles import load_profile
from pdmigrate.state import State
from pdmigrate.workspace import create_workspace


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail any attempt to resolve a name or open a connection, and record it."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[:2]))
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))


def _findings(result: Any) -> list[tuple[str, str, str, int | None, str | None]]:
    return sorted(
        (f.severity, f.code, f.file, f.line, f.column)
        for f in result.findings
        if f.code not in {"encoding_detected", "unknown_columns"}
    )


@pytest.fixture
def practicemaster_exports(tmp_path: Path) -> Path:
    """A small, nasty Practice Master export set (cp1252, CRLF, text IDs, orphans)."""
    folder = tmp_path / "pm"
    _write(
        folder / "CMCLIENT.csv",
        "Client ID,Name,Email,Phone,Open Date,Status,Prim_Tkpr\n"
        "1234.010,Müller & Söhne LLC,info@acme.example,(212) 555-0100,03/05/2024,Active,12\n"
        "1234.100,Müller & Söhne LLC,bad@,12,13/45/2024,Weird,12\n"
        ",No Key Inc,,,,Active,\n"
        "1234.010,Again LLC,,,00/00/0000,Active,\n",
        encoding="cp1252",
    )
    _write(
        folder / "CMJRNL.csv",
        "Record #,Client ID,Date,Text,Private\n"
        '1,1234.010,03/05/2024,"<p>Call &amp; letter</p>\nsecond line",N\n'
        "2,9999.001,01/01/1900,=HYPERLINK(1),Q\n"
        f"3,1234.100,02/29/2023,{'x' * 10},Y\n",
    )
    _write(
        folder / "CMRELATE.csv",
        "Related Party Key,First Name,Last Name,Email,Cell Phone,Client ID\n"
        "RP1,Jane,Smith,jane@family.example,555-201-3344,1234.010\n"
        "RP2,Jane,Smyth,JANE@family.example,,1234.010\n"
        "RP3,Tom,Smith,jane@family.example,,5555.000\n",
    )
    return folder


def test_practicemaster_audit_exact_findings(
    practicemaster_exports: Path, no_network: list[str]
) -> None:
    """Every problem in the hand-made export is reported at its file:line and column."""
    profile = load_profile("practicemaster")
    options = AuditOptions(country="US", date_order="MDY", attachments=practicemaster_exports)
    result = audit_exports(profile, practicemaster_exports, options)
    assert no_network == []
    assert _findings(result) == sorted(
        [
            ("warning", "phone.invalid", "CMCLIENT.csv", 3, "Phone"),
            ("warning", "email.invalid", "CMCLIENT.csv", 3, "Email"),
            ("warning", "date.invalid", "CMCLIENT.csv", 3, "Open Date"),
            ("error", "missing_key", "CMCLIENT.csv", 4, "Client ID"),
            ("info", "date.null_sentinel", "CMCLIENT.csv", 5, "Open Date"),
            ("warning", "duplicate_key", "CMCLIENT.csv", 5, "Client ID"),
            ("info", "unknown_value", "cmclient", None, "Status"),
            ("info", "html_content", "CMJRNL.csv", 2, "Text"),
            ("info", "date.null_sentinel", "CMJRNL.csv", 4, "Date"),
            ("warning", "bool.unrecognised", "CMJRNL.csv", 4, "Private"),
            ("error", "orphan_reference", "CMJRNL.csv", 4, "Client ID"),
            ("warning", "date.invalid", "CMJRNL.csv", 5, "Date"),
            ("warning", "orphan_reference", "CMRELATE.csv", 4, "Client ID"),
            ("warning", "duplicate_candidate", "CMRELATE.csv", 3, None),
        ]
    )
    objects = {n: (s.rows, s.errors, s.quarantined) for n, s in result.objects.items() if s.files}
    assert objects == {"cmclient": (4, 1, 1), "cmjrnl": (3, 1, 1), "cmrelate": (3, 0, 0)}
    assert [(q.file, q.line, q.code, q.values.get("Record #")) for q in result.quarantine] == [
        ("CMCLIENT.csv", 4, "missing_key", None),
        ("CMJRNL.csv", 4, "orphan_reference", "2"),
    ]
    assert [d.to_dict() for d in result.duplicates] == [
        {
            "object": "cmrelate",
            "reason": "email+name",
            "records": [
                {"key": "RP1", "file": "CMRELATE.csv", "line": 2},
                {"key": "RP2", "file": "CMRELATE.csv", "line": 3},
            ],
        }
    ]
    info = {f["file"]: (f["encoding"], f["object"]) for f in result.files}
    assert info["CMCLIENT.csv"] == ("cp1252", "cmclient")


def test_messages_never_quote_row_values(practicemaster_exports: Path) -> None:
    """No finding message carries a cell's value (names, emails, phones, notes)."""
    profile = load_profile("practicemaster")
    result = audit_exports(profile, practicemaster_exports, AuditOptions(date_order="MDY"))
    text = json.dumps([f.message + f.fix for f in result.findings])
    for value in ("Müller", "bad@", "jane@family", "Smyth", "555-201", "HYPERLINK", "1234.010"):
        assert value not in text


@pytest.fixture
def corepractice_exports(tmp_path: Path) -> Path:
    """Australian patients: families sharing an email, duplicates, AU phones, day-first dates."""
    folder = tmp_path / "cp"
    _write(
        folder / "patients.csv",
        "Patient ID,First Name,Last Name,Date of Birth,Email,Mobile,Postcode\n"
        "P1,Ann,Lee,01/02/1980,ann@lee.example,0412 345 678,0800\n"
        "P2,Anne,Lee,05/06/1990,ann@lee.example,,0800\n"
        "P3,Tom,Lee,03/03/2010,ann@lee.example,,0800\n"
        "P4,Bob,Ray,31/01/1970,bob@ray.example,12,2000\n"
        "P5,Robert,Ray,31/01/1970,BOB@ray.example,,2000\n"
        "P6,Cy,Doe,,none@none.com,,2000\n"
        "P7,Cy,Doe,,none@none.com,,2000\n"
        "P8,,Vu,1/13/1990,vu@example.org,,2000\n",
    )
    return folder


def test_duplicates_need_email_plus_birth_date_or_close_name(
    corepractice_exports: Path, no_network: list[str]
) -> None:
    """Email alone never merges: families stay apart, placeholders never match."""
    profile = load_profile("corepractice")
    options = AuditOptions(country="AU", date_order="DMY", timezone="Australia/Darwin")
    result = audit_exports(profile, corepractice_exports, options)
    assert no_network == []
    assert [(d.reason, [r[0] for r in d.records]) for d in result.duplicates] == [
        ("email+name", ["P1", "P2"]),
        ("email+dob", ["P4", "P5"]),
    ]
    assert result.objects["patients"].duplicates == 2
    assert _findings(result) == sorted(
        [
            ("warning", "duplicate_candidate", "patients.csv", 3, None),
            ("warning", "duplicate_candidate", "patients.csv", 6, None),
            ("warning", "phone.invalid", "patients.csv", 5, "Mobile"),
            ("info", "email.placeholder", "patients.csv", 7, "Email"),
            ("info", "email.placeholder", "patients.csv", 8, "Email"),
            ("warning", "missing_required", "patients.csv", 9, "First Name"),
            ("warning", "date.wrong_order", "patients.csv", 9, "Date of Birth"),
        ]
    )


def test_duplicate_keys_live_in_sqlite_not_memory(
    corepractice_exports: Path, tmp_path: Path
) -> None:
    """The audit's keys go to the scratch SQLite file (inspected while kept)."""
    profile = load_profile("corepractice")
    scratch = tmp_path / "keys.db"
    audit_exports(profile, corepractice_exports, AuditOptions(country="AU"), scratch=scratch)
    conn = sqlite3.connect(scratch)
    try:
        keys = conn.execute("SELECT object, key, line FROM keys ORDER BY line").fetchall()
        people = conn.execute("SELECT COUNT(*) FROM people").fetchone()[0]
    finally:
        conn.close()
    assert keys[:2] == [("patients", "P1", 2), ("patients", "P2", 3)]
    assert len(keys) == 8
    assert people == 6


def test_attachments_missing_or_too_large_are_quarantined(tmp_path: Path) -> None:
    """Documents whose file is absent, too big or outside the folder cannot be migrated."""
    exports = tmp_path / "vp"
    files = tmp_path / "files"
    (files / "c1").mkdir(parents=True)
    (files / "c1" / "ok.pdf").write_bytes(b"%PDF-1.4\n")
    with (files / "c1" / "big.pdf").open("wb") as fh:
        fh.truncate(3 * 1024 * 1024)
    _write(exports / "clients.csv", "Client ID,First Name,Last Name\nC1,Ann,Lee\n")
    _write(
        exports / "documents.csv",
        "Document ID,Client ID,File Name,Relative Path\n"
        "D1,C1,ok.pdf,c1/ok.pdf\n"
        "D2,C1,gone.pdf,c1/gone.pdf\n"
        "D3,C1,big.pdf,c1/big.pdf\n"
        "D4,C1,x,../vp/clients.csv\n",
    )
    profile = load_profile("visualpractice")
    options = AuditOptions(country="GB", attachments=files, max_file_mb=2)
    result = audit_exports(profile, exports, options)
    assert [(q.line, q.code) for q in result.quarantine] == [
        (3, "attachment.missing"),
        (4, "attachment.too_large"),
        (5, "attachment.outside_folder"),
    ]
    assert result.objects["documents"].quarantined == 3


def test_expected_counts_report_differences(corepractice_exports: Path, tmp_path: Path) -> None:
    """--expected compares the practice's own counts per object with the export's rows."""
    expected = tmp_path / "counts.csv"
    expected.write_text("object,count\npatients,10\nappointments,0\n", encoding="utf-8")
    counts = load_expected(expected)
    assert counts == {"patients": 10, "appointments": 0}
    profile = load_profile("corepractice")
    result = audit_exports(
        profile, corepractice_exports, AuditOptions(country="AU", expected=counts)
    )
    mismatches = [f for f in result.findings if f.code == "count_mismatch"]
    assert [(f.object, f.message) for f in mismatches] == [
        ("patients", "the export has 8 patients rows; the practice expects 10 (missing: 2)")
    ]
    assert result.objects["patients"].expected == 10


def test_finding_cap_keeps_the_first_and_counts_the_rest(tmp_path: Path) -> None:
    """Past the cap a file/column/code gets one summary line; counts stay exact."""
    exports = tmp_path / "cp"
    rows = "".join(f"P{i},A,B,,bad{i}@,\n" for i in range(7))
    _write(
        exports / "patients.csv",
        "Patient ID,First Name,Last Name,Date of Birth,Email,Mobile\n" + rows,
    )
    profile = load_profile("corepractice")
    result = audit_exports(profile, exports, AuditOptions(country="AU", finding_cap=3))
    emails = [f for f in result.findings if f.code == "email.invalid"]
    assert [f.line for f in emails] == [2, 3, 4, None]
    assert emails[-1].message == "... and 4 more like this in this file and column (first 3 listed)"
    assert result.codes["email.invalid"] == 7
    assert result.objects["patients"].warnings == 7


def test_neutralise_formula_cells() -> None:
    """Cells a spreadsheet would execute get a leading quote; others are untouched."""
    assert [neutralise(c) for c in ["=1+1", "+61 4", "-x", "@SUM", "\tx", "ok", ""]] == [
        "'=1+1",
        "'+61 4",
        "'-x",
        "'@SUM",
        "'\tx",
        "ok",
        "",
    ]


def test_cli_audit_json_reports_and_run(
    practicemaster_exports: Path, tmp_path: Path, no_network: list[str]
) -> None:
    """`audit --json` has the contract keys, writes escaped HTML and a safe quarantine CSV."""
    _write(
        practicemaster_exports / "extra" / "CMCALENDAR.csv",
        "Record #,Client ID,Date,<script>alert(1)</script>\n7,1234.010,03/05/2024,x\n",
    )
    root = tmp_path / "ws"
    create_workspace(root, source="practicemaster", exports=practicemaster_exports)
    result = CliRunner().invoke(cli, ["audit", "-w", str(root), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["objects"]["cmclient"]["rows"] == 4
    assert summary["objects"]["cmcalendar"]["rows"] == 1
    assert len(summary["duplicates"]) == 1
    keys = {"severity", "code", "file", "line", "column", "message"}
    assert all(keys <= set(f) for f in summary["findings"])
    html = (root / "reports" / "audit.html").read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "http" not in html.lower().replace("http-equiv", "")
    with (root / "reports" / "quarantine.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["file"], r["line"], r["code"]) for r in rows] == [
        ("CMCLIENT.csv", "4", "missing_key"),
        ("CMJRNL.csv", "4", "orphan_reference"),
    ]
    assert json.loads(rows[1]["record"])["Text"] == "=HYPERLINK(1)"
    with State(root / "state.db") as state:
        runs = state.runs("audit")
    assert [(r.id, r.status, r.summary["rows"] if r.summary else None) for r in runs] == [
        (2, "done", 11)
    ]
    assert sorted(runs[0].inputs) == [
        "CMCLIENT.csv",
        "CMJRNL.csv",
        "CMRELATE.csv",
        "extra/CMCALENDAR.csv",
    ]
    assert summary["run_id"] == 2


def test_links_by_other_columns_than_the_key(tmp_path: Path) -> None:
    """A link to practitioners by "Last, First" name resolves on Name, ignoring case and spaces."""
    exports = tmp_path / "cp"
    _write(
        exports / "practitioners.csv",
        'ID,Name,Role\nP01,"Hardin, Larry",Dentist\nP02,"Chambers, Emily",Hygienist\n',
    )
    _write(
        exports / "appointments.csv",
        "Appointment ID,Patient ID,Practitioner,Date\n"
        'A1,10,"hardin,  Larry",09/08/2022\n'
        "A2,10,Dr A. Reed,09/08/2022\n",
    )
    profile = load_profile("corepractice")
    result = audit_exports(profile, exports, AuditOptions(country="AU", date_order="DMY"))
    orphans = [
        (f.file, f.line, f.column, f.severity)
        for f in result.findings
        if f.code == "orphan_reference"
    ]
    assert orphans == [("appointments.csv", 3, "Practitioner", "warning")]


@pytest.mark.parametrize(
    "address",
    [
        "ann@lee.example",
        "Ann.Lee+x@Mail.Example.COM",
        "a_b%c-d@sub-1.example.org",
        "ann@localhost.test",
        "ann..lee@example.org",
        ".ann@example.org",
        "ann@-example.org",
        "ann@example",
        "ann@ex--ample.org",
        "x" * 65 + "@example.org",
        "ann@example.o",
        "ann@exa_mple.org",
        "ann@xn--bcher-kva.example",
    ],
)
def test_email_fast_path_agrees_with_email_validator(address: str) -> None:
    """The audit's fast path accepts only what email-validator accepts, normalised the same."""
    from email_validator import EmailNotValidError, validate_email

    from pdmigrate.audit_checks import plain_email

    try:
        expected: str | None = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    fast = plain_email(address)
    assert fast is None or fast == expected


def test_phone_fast_path_only_takes_plain_numbers() -> None:
    """Plain 8-15 digit numbers skip phonenumbers; free text and short numbers do not."""
    from pdmigrate.audit_checks import plain_phone

    assert [plain_phone(v) for v in ["(212) 555-0100", "+61 412 345 678", "0412345678"]] == [
        True,
        True,
        True,
    ]
    assert [plain_phone(v) for v in ["12", "555-1234", "H: (02) 9999 1234", "1" * 16]] == [
        False,
        False,
        False,
        False,
    ]


SYNTH_SYSTEMS = [
    "advancedpm",
    "corepractice",
    "generic",
    "practicebynumbers",
    "practicemaster",
    "visualpractice",
]


@pytest.mark.parametrize("system", SYNTH_SYSTEMS)
def test_synth_exports_read_with_the_manifest_counts(system: str, tmp_path: Path) -> None:
    """Every synthetic export is recognised and read; rows per object equal synth_manifest.json."""
    synth_module = pytest.importorskip("pdmigrate.synth")
    folder = tmp_path / system
    synth_module.synth(system, folder, patients=60, seed=5)
    manifest = json.loads((folder / "synth_manifest.json").read_text(encoding="utf-8"))
    profile = load_profile(system)
    meta = profile.system
    options = AuditOptions(
        country=meta.country,
        timezone=meta.timezone,
        currency=meta.currency,
        date_order=meta.date_order,
        attachments=folder,
    )
    result = audit_exports(profile, folder, options)
    rows = {name: s.rows for name, s in result.objects.items() if s.files}
    assert rows == {name: n for name, n in manifest["objects"].items() if n}
    assert [f.file for f in result.findings if f.code in {"unknown_file", "missing_column"}] == []
    pairs = manifest["defects"].get("duplicate_patients", [])

    def plain(key: str) -> str:
        """The patient part of a key: no practice prefix, no matter suffix."""
        return re.split("[\x1f:]", key)[-1].split(".")[0]

    found = {frozenset(plain(r[0]) for r in d.records) for d in result.duplicates}
    assert pairs
    for pair in pairs:
        assert frozenset(plain(str(k)) for k in pair) in found, pair


def test_firm_clients_match_on_their_contact_and_name_dob_pairs_are_noted(tmp_path: Path) -> None:
    """Firms sharing a contact and email are duplicates; name + birth date alone is a note."""
    exports = tmp_path / "pm"
    _write(
        exports / "CMCLIENT.csv",
        "Client ID,Name,Contact,Email\n"
        "2311.001,Kaiser Group,Selena Pittman,selena@mail.example\n"
        "2980.001,Gibson & Mccoy,Selena Pittman,SELENA@mail.example\n"
        "3000.001,Ann Lee,,shared@mail.example\n"
        "3001.001,Tom Lee,,shared@mail.example\n",
    )
    result = audit_exports(load_profile("practicemaster"), exports, AuditOptions())
    assert [(d.reason, [r[0] for r in d.records]) for d in result.duplicates] == [
        ("email+name", ["2311.001", "2980.001"])
    ]
    exports = tmp_path / "cp"
    _write(
        exports / "patients.csv",
        "Patient ID,First Name,Last Name,Date of Birth,Email\n"
        "P1,Ann,Lee,01/02/1980,ann@one.example\n"
        "P2,Ann,Lee,01/02/1980,ann@two.example\n",
    )
    options = AuditOptions(country="AU", date_order="DMY")
    result = audit_exports(load_profile("corepractice"), exports, options)
    assert result.duplicates == []
    assert [(f.code, f.line, f.message) for f in result.findings if f.object] == [
        (
            "possible_duplicate",
            3,
            "same name and date of birth as patients.csv:2, but a different email",
        )
    ]


def test_plain_addresses_take_the_fast_path() -> None:
    """Ordinary addresses are accepted without email-validator, domain lower-cased."""
    from pdmigrate.audit_checks import plain_email

    assert plain_email(" Ann.Lee@Mail.Example.COM ") == "Ann.Lee@mail.example.com"
    assert plain_email("ann@lee.example") == "ann@lee.example"


def test_open_date_order_is_judged_once_per_column(tmp_path: Path) -> None:
    """With date_order left open, a column gets one finding: detected, mixed or ambiguous."""
    exports = tmp_path / "vp"
    _write(
        exports / "clients.csv",
        "Client ID,First Name,Last Name,DOB,Created\n"
        "C1,Ann,Lee,25/12/1980,01/02/2020\n"
        "C2,Bo,Ng,03/04/1990,05/06/2021\n"
        "C3,Cy,Vu,13/01/2001,07/08/2022\n",
    )
    result = audit_exports(load_profile("visualpractice"), exports, AuditOptions(country="GB"))
    assert [(f.code, f.severity, f.column, f.message) for f in result.findings if f.object] == [
        (
            "date_order.ambiguous",
            "warning",
            "Created",
            "Created: all 3 dates fit both day-first and month-first",
        ),
        ("date_order.detected", "info", "DOB", "DOB: dates are day-first (2 decide it)"),
    ]


def test_number_and_bool_fast_paths_agree_with_the_transforms() -> None:
    """Every value the audit accepts without a transform is one the transform accepts too."""
    from pdmigrate.audit_checks import PLAIN_BOOLS, PLAIN_NUMBER
    from pdmigrate.transforms import Ok, TransformContext, parse_chain

    ctx = TransformContext()
    for value in sorted(PLAIN_BOOLS):
        assert isinstance(parse_chain("bool")(value, ctx), Ok), value
    for value in ["0", "-7", "40.0", "12.123456", "123456789012345"]:
        assert PLAIN_NUMBER.fullmatch(value)
        for spec in ("money", "decimal"):
            assert isinstance(parse_chain(spec)(value, ctx), Ok), (spec, value)
    assert PLAIN_NUMBER.fullmatch("$1,234.50") is None


def test_cli_audit_names_a_missing_exports_folder(tmp_path: Path) -> None:
    """An exports folder that moved away is a configuration error naming pdmigrate.toml."""
    exports = tmp_path / "gone"
    exports.mkdir()
    root = tmp_path / "ws"
    create_workspace(root, source="corepractice", exports=exports)
    exports.rmdir()
    proc = subprocess.run(
        [sys.executable, "-m", "pdmigrate", "audit", "-w", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "pdmigrate.toml: source.exports" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("order", ["dmy", "mdy"])
def test_date_fast_path_agrees_with_the_date_transform(order: str) -> None:
    """Every date the audit reads without the transform, the transform reads the same."""
    from datetime import date

    from pdmigrate.audit_checks import plain_date
    from pdmigrate.transforms import Ok, TransformContext, parse_chain

    ctx = TransformContext(date_order=order)  # type: ignore[arg-type]
    chain = parse_chain("date")
    taken = 0
    for year in (1899, 1900, 1901, 1980, 2024, 2076):
        for a in (0, 1, 2, 12, 13, 29, 30, 31, 32):
            for b in (0, 1, 2, 12, 13, 29, 31):
                for text in (
                    f"{a}/{b}/{year}",
                    f"{a:02d}/{b:02d}/{year}",
                    f"{year}-{a:02d}-{b:02d}",
                ):
                    fast = plain_date(text, order, 2075)
                    if fast is None:
                        continue
                    taken += 1
                    result = chain(text, ctx)
                    assert isinstance(result, Ok), text
                    assert result.warnings == (), text
                    assert isinstance(result.value, date)
                    assert result.value.isoformat() == fast
    assert taken > 100
    assert plain_date("01/01/1900", order, 2075) is None
    assert plain_date("05/03/2024", None, 2075) is None
