"""synth: deterministic, complete, recognisable exports whose manifest tells the truth."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner

from pdmigrate.cli import cli
from pdmigrate.errors import UsageError
from pdmigrate.profiles import load_profile, match_file
from pdmigrate.synth import GENERATORS, synth
from pdmigrate.synth.binary import make_jpeg, make_pdf

SYSTEMS = sorted(GENERATORS)
N = 80
SEED = 5

EXPECTED_FILES = {
    "advancedpm": ["patients.csv", "appointments.csv", "claims.csv", "referring_providers.csv",
                   "locations.csv", "staff.csv", "call_log.csv"],
    "corepractice": ["patients.csv", "appointments.csv", "treatment_plans.xlsx",
                     "health_funds.csv", "clinical_notes.csv", "products.csv",
                     "practitioners.csv", "enquiries.csv"],
    "generic": ["contacts.csv", "organizations.csv", "deals.csv", "activities.xlsx",
                "notes.csv", "products.csv"],
    "practicebynumbers": ["patients.csv", "practices.csv", "providers.csv", "appointments.csv",
                          "treatment_plans.csv", "recalls.csv", "reviews.csv", "kpis.csv",
                          "notes.csv", "documents.csv"],
    "practicemaster": ["CMCLIENT.csv", "CMRELATE.csv", "CMXREF.csv", "CMJRNL.csv",
                       "CMCALENDAR.csv", "CMCOST.csv", "CMFEES.csv"],
    "visualpractice": ["clients.csv", "appointments.csv", "services.csv", "invoices.csv",
                       "invoice_lines.csv", "documents.csv", "practitioners.csv"],
}  # fmt: skip


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each system's synthetic exports, generated once for the module."""
    root = tmp_path_factory.mktemp("synth")
    out = {}
    for system in SYSTEMS:
        synth(system, root / system, patients=N, seed=SEED)
        out[system] = root / system
    return out


def _manifest(folder: Path) -> dict[str, Any]:
    data = json.loads((folder / "synth_manifest.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _read(
    folder: Path, name: str, info: dict[str, Any], *, header_only: bool = False
) -> tuple[list[str], list[list[Any]]]:
    """Header and data rows of one file, skipping title and trailer rows as the manifest says."""
    if info["format"] == "xlsx":
        wb = openpyxl.load_workbook(folder / name, read_only=True)
        limit = info["header_row"] if header_only else None
        sheet = wb.active
        assert sheet is not None
        raw = [list(r) for r in sheet.iter_rows(max_row=limit, values_only=True)]
        wb.close()
    else:
        with (folder / name).open(encoding=info["encoding"], newline="") as fh:
            raw = list(csv.reader(fh, delimiter=info["delimiter"]))
    header_at = info["header_row"] - 1
    header = [str(c) for c in raw[header_at]]
    rows = raw[header_at + 1 : len(raw) - info["trailer_rows"]]
    return header, rows


def _table(folder: Path, obj: str) -> Iterator[dict[str, Any]]:
    manifest = _manifest(folder)
    for name, info in manifest["files"].items():
        if info["object"] == obj:
            header, rows = _read(folder, name, info)
            for row in rows:
                yield dict(zip(header, row, strict=False))


def _date_parts(text: str) -> list[int]:
    """A printed date as its numbers, so 3/02/1972 equals 03/02/1972."""
    return [int(part) for part in text.replace("-", "/").split("/")]


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("system", SYSTEMS)
def test_same_seed_writes_identical_bytes(
    system: str, exports: dict[str, Path], tmp_path: Path
) -> None:
    """Generating again with the same seed reproduces every file byte for byte."""
    synth(system, tmp_path / "again", patients=N, seed=SEED)
    assert _tree(tmp_path / "again") == _tree(exports[system])


def test_other_seed_differs(exports: dict[str, Path], tmp_path: Path) -> None:
    """A different seed gives different data."""
    synth("corepractice", tmp_path / "other", patients=N, seed=SEED + 1)
    a = (exports["corepractice"] / "patients.csv").read_bytes()
    assert a != (tmp_path / "other" / "patients.csv").read_bytes()


@pytest.mark.parametrize("system", SYSTEMS)
def test_writes_every_listed_file_and_object(system: str, exports: dict[str, Path]) -> None:
    """Every file the reference lists is written, and every profile object has a file."""
    folder = exports[system]
    manifest = _manifest(folder)
    for name in [*EXPECTED_FILES[system], "users.json", "synth_manifest.json"]:
        assert (folder / name).is_file(), name
    objects = {info["object"] for info in manifest["files"].values()}
    assert objects == {o.name for o in load_profile(system).objects}
    assert manifest["patients"] == N


@pytest.mark.parametrize("system", SYSTEMS)
def test_every_file_is_recognised_by_its_profile(system: str, exports: dict[str, Path]) -> None:
    """match_file identifies each generated file's object and maps every one of its headers."""
    folder = exports[system]
    profile = load_profile(system)
    seen: set[tuple[str, ...]] = set()
    for name, info in _manifest(folder)["files"].items():
        header, _rows = _read(folder, name, info, header_only=True)
        if tuple(header) in seen:  # monthly report files repeat one header
            continue
        seen.add(tuple(header))
        found = match_file(profile, name, header)
        assert found.object == info["object"], name
        unmapped = [h for h in header if h not in found.columns]
        assert unmapped in ([], ["Referral Source"]), (name, unmapped)


@pytest.mark.parametrize("system", SYSTEMS)
def test_manifest_counts_are_exact(system: str, exports: dict[str, Path]) -> None:
    """The manifest's rows per file and per object equal the data rows in the files."""
    folder = exports[system]
    manifest = _manifest(folder)
    per_object: dict[str, int] = {}
    for name, info in manifest["files"].items():
        header, rows = _read(folder, name, info)
        assert header == info["columns"]
        assert len(rows) == info["rows"], name
        per_object[info["object"]] = per_object.get(info["object"], 0) + len(rows)
    assert per_object == manifest["objects"]


@pytest.mark.parametrize("system", SYSTEMS)
def test_people_defects_are_in_the_files(system: str, exports: dict[str, Path]) -> None:
    """Missing, placeholder and malformed emails, free-text phones, null dates, duplicates."""
    folder = exports[system]
    manifest = _manifest(folder)
    people = manifest["people"]
    cols = people["columns"]
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in _table(folder, people["object"]):
        key = ":".join(str(row[c]) for c in people["key_columns"])
        if people["split_key"]:
            key = key.split(".", 1)[0]
        by_key.setdefault(key, []).append(row)
    defects = manifest["defects"]
    for key in defects.get("missing_email", []):
        assert by_key[key][0][cols["email"]] == ""
    for item in defects.get("placeholder_email", []) + defects.get("malformed_email", []):
        assert by_key[item["key"]][0][cols["email"]] == item["email"]
    for item in defects.get("free_text_phone", []):
        assert by_key[item["key"]][0][cols["phone"]] == item["value"]
        assert item["value"].startswith("H: ")
        assert " W: " in item["value"]
    for item in defects.get("null_date", []):
        if item["column"] == "dob":
            assert by_key[item["key"]][0][cols["dob"]] == item["value"]
    assert defects["duplicate_patients"]
    for first, second in defects["duplicate_patients"]:
        a, b = by_key[first][0], by_key[second][0]
        assert a[cols["email"]].casefold() == b[cols["email"]].casefold() != ""
        if "dob" in cols:
            assert _date_parts(a[cols["dob"]]) == _date_parts(b[cols["dob"]])
    for group in defects.get("family_shared_email", []):
        emails = {by_key[k][0][cols["email"]] for k in group}
        assert len(emails) == 1
        assert len(group) >= 2


@pytest.mark.parametrize("system", SYSTEMS)
def test_formula_and_orphans_are_in_the_files(system: str, exports: dict[str, Path]) -> None:
    """The formula-looking cell and each orphan reference are where the manifest says."""
    folder = exports[system]
    defects = _manifest(folder)["defects"]
    assert len(defects["formula_cell"]) == 1
    formula = defects["formula_cell"][0]
    cells = [row[formula["column"]] for row in _table(folder, formula["object"])]
    assert sum(1 for c in cells if str(c).startswith("=HYPERLINK(")) == 1
    assert defects["orphan"]
    for orphan in defects["orphan"]:
        values = [row[orphan["column"]] for row in _table(folder, orphan["object"])]
        assert values.count(orphan["value"]) == 1


def test_advancedpm_reports_have_banners_and_totals(exports: dict[str, Path]) -> None:
    """Report CSVs open with title and date-range rows; claims end with a Grand Total row."""
    folder = exports["advancedpm"]
    manifest = _manifest(folder)
    claims = manifest["files"]["claims.csv"]
    assert (claims["title_rows"], claims["trailer_rows"]) == (4, 1)
    with (folder / "claims.csv").open(encoding="utf-8", newline="") as fh:
        raw = list(csv.reader(fh))
    assert raw[0] == ["Charge Detail Report"]
    assert raw[1][0].startswith("Date Range: ")
    assert raw[-1][0] == "Grand Total"
    zips = {r["Chart Number"]: r["Zip"] for r in _table(folder, "patients")}
    assert zips["A000006"].split("-")[0] == "02116"


def test_practicemaster_conventions(exports: dict[str, Path]) -> None:
    """CM* files are cp1252 with CRLF; Client IDs such as 1007.010 and 1007.100 stay text."""
    folder = exports["practicemaster"]
    raw = (folder / "CMJRNL.csv").read_bytes()
    assert b"\r\n" in raw
    assert b"\x92" in raw  # cp1252 right single quote
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    ids = {row["Client ID"] for row in _table(folder, "cmclient")}
    text_ids = _manifest(folder)["defects"]["text_ids"][0]
    assert set(text_ids) <= ids
    assert {"1007.010", "1007.100", "1007.001"} <= ids
    embedded = [r["Text"] for r in _table(folder, "cmjrnl") if "\n" in r["Text"]]
    assert embedded


def test_corepractice_conventions(exports: dict[str, Path]) -> None:
    """Day-first dates, BOM, report XLSX with title rows and Excel dates, text item codes."""
    folder = exports["corepractice"]
    assert (folder / "patients.csv").read_bytes().startswith(b"\xef\xbb\xbfPatient ID,")
    manifest = _manifest(folder)
    reports = [n for n in manifest["files"] if n.startswith("InvoiceCreatedReport_")]
    assert reports
    info = manifest["files"][reports[0]]
    assert (info["format"], info["title_rows"], info["header_row"]) == ("xlsx", 3, 4)
    wb = openpyxl.load_workbook(folder / reports[0], read_only=True)
    first = next(wb.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    wb.close()
    assert first == ("Invoice Created Report",)
    lines = list(_table(folder, "invoices"))
    assert all(hasattr(r["Invoice Date"], "year") for r in lines)
    codes = {r["Item Code"] for r in lines}
    mangled = manifest["defects"]["excel_mangled_code"][0]
    assert mangled["value"] in codes
    assert isinstance(mangled["value"], int)
    assert {c for c in codes if isinstance(c, str)} <= {"011", "012", "022", "114", "121",
                                                         "311", "521", "613", "415"}  # fmt: skip
    postcodes = {r["Patient ID"]: r["Postcode"] for r in _table(folder, "patients")}
    zero_led = manifest["defects"]["text_ids"]
    assert {"key": "10002", "column": "Postcode", "value": "0800"} in zero_led
    assert all(postcodes[item["key"]] == item["value"] for item in zero_led)
    dobs = [r["Date of Birth"] for r in _table(folder, "patients") if r["Date of Birth"]]
    assert any(int(d.split("/")[0]) > 12 for d in dobs if d.count("/") == 2)


def test_documents_manifest_and_attachments(exports: dict[str, Path]) -> None:
    """documents.csv paths exist as real PDF/JPEG files except the one listed missing."""
    for system in ("practicebynumbers", "visualpractice"):
        folder = exports[system]
        missing = set(_manifest(folder)["defects"]["missing_attachment"])
        paths = [r["Relative Path"] for r in _table(folder, "documents")]
        assert len(missing) == 1
        assert missing <= set(paths)
        for rel in paths:
            assert (folder / rel).is_file() == (rel not in missing)
            if rel not in missing:
                _assert_valid_file(folder / rel)
    cp = exports["corepractice"]
    attachments = _manifest(cp)["attachments"]
    assert attachments["invoice_pdfs"]
    for rel in attachments["invoice_pdfs"] + attachments["xrays"]:
        _assert_valid_file(cp / rel)


def _assert_valid_file(path: Path) -> None:
    data = path.read_bytes()
    if path.suffix == ".pdf":
        _assert_pdf(data)
    else:
        assert path.suffix == ".jpg"
        _assert_jpeg(data)


def _assert_pdf(data: bytes) -> None:
    assert data.startswith(b"%PDF-1.")
    assert data.rstrip().endswith(b"%%EOF")
    xref_at = int(data[data.rindex(b"startxref") + 9 :].split()[0])
    assert data[xref_at:].startswith(b"xref\n")
    lines = data[xref_at:].split(b"\n")
    count = int(lines[1].split()[1])
    for number in range(1, count):
        offset = int(lines[2 + number].split()[0])
        assert data[offset:].startswith(f"{number} 0 obj".encode())
    assert b"/Type /Catalog" in data


def _assert_jpeg(data: bytes) -> None:
    assert data[:2] == b"\xff\xd8"
    assert data[-2:] == b"\xff\xd9"
    pos, markers = 2, []
    while True:
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        markers.append(marker)
        if marker == 0xC0:
            precision, height, width = (
                data[pos + 4],
                data[pos + 5 : pos + 7],
                data[pos + 7 : pos + 9],
            )
            assert precision == 8
            assert int.from_bytes(height, "big") > 0
            assert int.from_bytes(width, "big") > 0
        pos += 2 + length
        if marker == 0xDA:
            break
    assert markers[:3] == [0xE0, 0xDB, 0xC0]
    assert markers.count(0xC4) == 2


def test_binary_builders_are_well_formed() -> None:
    """make_pdf and make_jpeg produce structurally valid files for any input."""
    _assert_pdf(make_pdf(["Tax invoice (copy)", "Back\\slash"]))
    _assert_jpeg(make_jpeg([0, 255, 128, 17], blocks_wide=2))
    _assert_jpeg(make_jpeg([144]))


@pytest.mark.parametrize("system", SYSTEMS)
def test_users_match_about_80_percent_of_staff(system: str, exports: dict[str, Path]) -> None:
    """users.json holds an admin plus active users matching 70-90% of staff by email."""
    folder = exports[system]
    users = json.loads((folder / "users.json").read_text(encoding="utf-8"))
    manifest = _manifest(folder)
    assert {tuple(sorted(u)) for u in users} == {("active_flag", "email", "is_admin", "name")}
    assert sum(1 for u in users if u["is_admin"]) == 1
    active = {u["email"].casefold() for u in users if u["active_flag"]}
    staff = [s["email"] for s in manifest["staff"]]
    matched = [e for e in staff if e.casefold() in active]
    assert 0.7 <= len(matched) / len(staff) <= 0.9
    unmatched = set(staff) - set(matched)
    assert unmatched == set(manifest["defects"]["staff_without_user"])
    inactive = {u["email"] for u in users if not u["active_flag"]}
    assert inactive == set(manifest["defects"]["staff_with_inactive_user"])


def test_cli_synth_json_summary(tmp_path: Path) -> None:
    """`pdmigrate synth --json` writes the exports and prints counts equal to the manifest."""
    out = tmp_path / "exports"
    result = CliRunner().invoke(
        cli, ["synth", "visualpractice", str(out), "--patients", "30", "--seed", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    manifest = _manifest(out)
    assert summary["objects"] == manifest["objects"]
    assert summary["defects"] == manifest["defect_counts"]
    assert summary["files"] == len(manifest["files"])
    assert summary["patients"] == 30


def test_refuses_non_empty_output(tmp_path: Path) -> None:
    """Writing into a folder that already has files is a usage error, not an overwrite."""
    (tmp_path / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(UsageError, match="is not empty"):
        synth("generic", tmp_path, patients=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    """Two CLI runs with different PYTHONHASHSEED write the same bytes (no set-order leaks)."""
    for hash_seed in ("1", "2"):
        subprocess.run(
            [sys.executable, "-m", "pdmigrate", "synth", "practicemaster",
             str(tmp_path / hash_seed), "--patients", "40", "--seed", "3"],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )  # fmt: skip
    assert _tree(tmp_path / "1") == _tree(tmp_path / "2")
