"""extract: hand-made nasty exports read to exact values, exact findings, and never a crash."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdmigrate.extract import extract, normalise_header, open_table, repair_mojibake
from pdmigrate.records import Finding, Row


def _read(path: Path, **options: object) -> tuple[list[Row], list[Finding]]:
    rows: list[Row] = []
    findings: list[Finding] = []
    for item in extract(path, **options):
        (rows if isinstance(item, Row) else findings).append(item)  # type: ignore[arg-type]
    return rows, findings


def _codes(findings: list[Finding]) -> list[tuple[str, int | None, str | None]]:
    return [(f.code, f.line, f.column) for f in findings]


def test_cp1252_semicolons_crlf_keep_accents_and_text_ids(tmp_path: Path) -> None:
    """A Windows-1252, semicolon, CRLF export reads with accents intact and IDs as typed."""
    text = (
        "Client ID;Name;ZIP;Item\r\n"
        "1234.010;José Müller;0800;011\r\n"
        "1234.100;Zoë Ñúñez;02116;022\r\n"
    )
    path = tmp_path / "CMCLIENT.csv"
    path.write_bytes(text.encode("cp1252"))
    with open_table(path) as table:
        assert table.info.encoding == "cp1252"
        assert table.info.delimiter == ";"
        assert table.info.header == ("Client ID", "Name", "ZIP", "Item")
        items = list(table)
    rows = [i for i in items if isinstance(i, Row)]
    assert [r.values for r in rows] == [
        {"Client ID": "1234.010", "Name": "José Müller", "ZIP": "0800", "Item": "011"},
        {"Client ID": "1234.100", "Name": "Zoë Ñúñez", "ZIP": "02116", "Item": "022"},
    ]
    assert [r.line for r in rows] == [2, 3]
    assert [(f.code, f.severity) for f in items if isinstance(f, Finding)] == [
        ("encoding_detected", "info")
    ]


def test_latin1_when_bytes_are_undefined_in_cp1252(tmp_path: Path) -> None:
    """A byte cp1252 does not define (0x81) makes the reader fall back to latin-1."""
    path = tmp_path / "x.csv"
    path.write_bytes(b"A,B\r\nx\x81y,\xe9\r\n")
    with open_table(path) as table:
        assert table.info.encoding == "latin-1"
        rows = [r for r in table if isinstance(r, Row)]
    assert rows[0].values == {"A": "x\x81y", "B": "é"}


def test_utf8_bom_is_stripped_from_the_first_header(tmp_path: Path) -> None:
    """The BOM Excel glues to the first header never reaches the column name."""
    path = tmp_path / "patients.csv"
    path.write_bytes("\ufeffPatient ID,First Name\n007,Anaïs\n".encode())
    with open_table(path) as table:
        assert table.info.encoding == "utf-8-sig"
        assert table.info.header == ("Patient ID", "First Name")
        rows = [r for r in table if isinstance(r, Row)]
    assert rows[0].values == {"Patient ID": "007", "First Name": "Anaïs"}


def test_utf16_with_bom_tab_delimited(tmp_path: Path) -> None:
    """Excel's "Unicode Text" (UTF-16 with BOM, tabs) reads like any CSV."""
    path = tmp_path / "export.txt"
    path.write_bytes("ID\tName\r\n011\tRenée\r\n".encode("utf-16"))
    rows, findings = _read(path)
    assert [r.values for r in rows] == [{"ID": "011", "Name": "Renée"}]
    assert _codes(findings) == [("encoding_detected", None, None)]


def test_title_rows_above_header_found_by_expected_names(tmp_path: Path) -> None:
    """Banner and date-range rows above the header are skipped; data lines keep their numbers."""
    path = tmp_path / "InvoiceCreatedReport.csv"
    path.write_text(
        "Invoice Created Report,,\n"
        "From 01/03/2024 to 31/03/2024,,\n"
        ",,\n"
        "Invoice No,Patient ID,Fee\n"
        "INV-1,0042,120.00\n"
        "Grand Total,,120.00\n",
        encoding="utf-8",
    )
    rows, findings = _read(path, expected=["invoice no", "Patient_ID", "Fee", "GST"])
    assert [(r.line, r.values) for r in rows] == [
        (5, {"Invoice No": "INV-1", "Patient ID": "0042", "Fee": "120.00"})
    ]
    assert _codes(findings) == [("title_rows_skipped", 4, None), ("total_row", 6, None)]


def test_plausible_header_without_expected_names(tmp_path: Path) -> None:
    """Without profile hints the first row of distinct text cells is the header."""
    path = tmp_path / "r.csv"
    path.write_text("My Practice Pty Ltd\n2024-03-01\nA,B,C\n1,2,3\n", encoding="utf-8")
    with open_table(path) as table:
        assert table.info.header == ("A", "B", "C")
        assert table.info.header_line == 3
        rows = [r for r in table if isinstance(r, Row)]
    assert [r.values for r in rows] == [{"A": "1", "B": "2", "C": "3"}]


def test_expected_names_not_found_is_a_warning(tmp_path: Path) -> None:
    """A file whose header matches nothing the profile knows says so, and still reads."""
    path = tmp_path / "odd.csv"
    path.write_text("Foo,Bar\nx,y\n", encoding="utf-8")
    rows, findings = _read(path, expected=["Patient ID", "Email"])
    assert [r.values for r in rows] == [{"Foo": "x", "Bar": "y"}]
    assert _codes(findings) == [("header_not_recognised", 1, None)]


def test_embedded_newlines_keep_physical_start_lines(tmp_path: Path) -> None:
    """A quoted note spanning lines is one value; the next record's line is its physical line."""
    path = tmp_path / "CMJRNL.csv"
    path.write_bytes(
        b'Record #,Text\r\n1,"line one\r\nline two\r\nline three"\r\n2,"a, b"\r\n3,plain\r\n'
    )
    rows, findings = _read(path)
    assert [(r.line, r.values["Record #"], r.values["Text"]) for r in rows] == [
        (2, "1", "line one\r\nline two\r\nline three"),
        (5, "2", "a, b"),
        (6, "3", "plain"),
    ]
    assert findings == []


def test_tab_and_pipe_delimiters_are_sniffed(tmp_path: Path) -> None:
    """Tab- and pipe-separated exports are detected from their content."""
    tab = tmp_path / "a.txt"
    tab.write_text("ID\tName\n011\tAnn\n", encoding="utf-8")
    pipe = tmp_path / "TRANSFER.OUT"
    pipe.write_text("LinkingID|Surname|PostCode\r\n17|Nguyen|0800\r\n", encoding="utf-8")
    assert [r.values for r in _read(tab)[0]] == [{"ID": "011", "Name": "Ann"}]
    assert [r.values for r in _read(pipe)[0]] == [
        {"LinkingID": "17", "Surname": "Nguyen", "PostCode": "0800"}
    ]


def test_ragged_rows_are_reported_and_kept(tmp_path: Path) -> None:
    """Short rows pad with empty cells (warning); long rows keep extras (error)."""
    path = tmp_path / "p.csv"
    path.write_text("ID,Name,Email\n1,Ann\n2,Bob,b@x.org,EXTRA\n3,Cy,c@x.org,,\n", encoding="utf-8")
    rows, findings = _read(path)
    assert [r.values for r in rows] == [
        {"ID": "1", "Name": "Ann", "Email": ""},
        {"ID": "2", "Name": "Bob", "Email": "b@x.org", "Column 4": "EXTRA"},
        {"ID": "3", "Name": "Cy", "Email": "c@x.org"},
    ]
    assert [(f.code, f.severity, f.line) for f in findings] == [
        ("ragged_row_short", "warning", 2),
        ("ragged_row_long", "error", 3),
    ]


def test_nul_bytes_are_removed_and_reported(tmp_path: Path) -> None:
    """NUL bytes in a cell give a finding naming the column; the rest of the value is kept."""
    path = tmp_path / "n.csv"
    path.write_bytes(b"ID,Note\n1,ab\x00cd\n2,ok\n")
    rows, findings = _read(path)
    assert [r.values["Note"] for r in rows] == ["abcd", "ok"]
    assert _codes(findings) == [("nul_bytes", 2, "Note")]


def test_very_long_cells_report_and_reading_continues(tmp_path: Path) -> None:
    """A 40k-character cell is a warning; an unclosed quote past 1M chars is skipped, not fatal."""
    path = tmp_path / "long.csv"
    path.write_text(
        "ID,Note\n1," + "x" * 40_000 + '\n2,"' + "y" * 1_100_000 + "\n3,fine\n",
        encoding="utf-8",
    )
    rows, findings = _read(path)
    assert [(r.line, r.values["ID"], len(r.values["Note"])) for r in rows] == [
        (2, "1", 40_000),
        (4, "3", 4),
    ]
    assert [(f.code, f.severity, f.line) for f in findings] == [
        ("long_cell", "warning", 2),
        ("cell_too_large", "error", 3),
    ]


def test_double_encoded_text_is_flagged_not_changed(tmp_path: Path) -> None:
    """`CafÃ©` (UTF-8 shown as cp1252) is kept as read and reported with its repair."""
    path = tmp_path / "m.csv"
    path.write_text("ID,City\n1,CafÃ© Nîmes\n2,Pâté\n", encoding="utf-8")
    rows, findings = _read(path)
    assert [r.values["City"] for r in rows] == ["CafÃ© Nîmes", "Pâté"]
    assert _codes(findings) == [("double_encoded", 2, "City")]
    assert repair_mojibake("CafÃ© NÃ®mes") == "Café Nîmes"
    assert repair_mojibake("CafÃ© Nîmes") == "Café Nîmes"
    assert repair_mojibake("Itâ€™s") == "It’s"
    assert repair_mojibake("Pâté") is None


def test_duplicate_and_blank_header_names(tmp_path: Path) -> None:
    """Repeated header names get a numbered suffix; blank ones get their position."""
    path = tmp_path / "d.csv"
    path.write_text("Phone,Phone,,Name\n1,2,3,4\n", encoding="utf-8")
    rows, findings = _read(path)
    assert rows[0].values == {"Phone": "1", "Phone (2)": "2", "Column 3": "3", "Name": "4"}
    assert _codes(findings) == [("duplicate_header", 1, "Phone")]


def test_repeated_header_and_blank_rows_are_not_records(tmp_path: Path) -> None:
    """Page-break header repeats and blank lines produce no rows."""
    path = tmp_path / "r.csv"
    path.write_text("ID,Name\n1,A\n\n,\nID,Name\n2,B\n", encoding="utf-8")
    rows, findings = _read(path)
    assert [(r.line, r.values["ID"]) for r in rows] == [(2, "1"), (6, "2")]
    assert _codes(findings) == [("repeated_header", 5, None)]


def test_xlsx_title_rows_dates_and_text_ids(tmp_path: Path) -> None:
    """XLSX: banner rows skipped, dates become ISO, text IDs stay, whole numbers lose `.0`."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Report"
    ws.append(["Patient List"])
    ws.append([])
    ws.append(["Patient ID", "Date of Birth", "Postcode", "Balance", "Appt"])
    ws.append(["011", date(1980, 2, 29), "0800", 1234.0, datetime(2024, 3, 5, 9, 30)])
    ws.append(["1234.010", None, 800, 12.5, None])
    ws["B5"] = 45356
    ws["B5"].number_format = "dd/mm/yyyy"
    wb.create_sheet("Other")
    path = tmp_path / "patients.xlsx"
    wb.save(path)
    with open_table(path, expected=["Patient ID", "Postcode"]) as table:
        items = list(table)
        assert table.info.sheet == "Report"
        assert table.info.header_line == 3
    rows = [i for i in items if isinstance(i, Row)]
    assert [(r.line, r.sheet, dict(r.values)) for r in rows] == [
        (
            4,
            "Report",
            {
                "Patient ID": "011",
                "Date of Birth": "1980-02-29",
                "Postcode": "0800",
                "Balance": "1234",
                "Appt": "2024-03-05T09:30:00",
            },
        ),
        (
            5,
            "Report",
            {
                "Patient ID": "1234.010",
                "Date of Birth": "2024-03-05",
                "Postcode": "800",
                "Balance": "12.5",
                "Appt": "",
            },
        ),
    ]
    assert [(f.code, f.line) for f in items if isinstance(f, Finding)] == [
        ("sheet", None),
        ("title_rows_skipped", 3),
    ]


def test_corrupt_xlsx_and_missing_file_are_findings(tmp_path: Path) -> None:
    """A broken workbook or a missing file yields one error finding and no exception."""
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert [(f.code, f.severity) for f in _read(bad)[1]] == [("unreadable_file", "error")]
    assert [f.code for f in _read(tmp_path / "nope.csv")[1]] == ["unreadable_file"]
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    assert [f.code for f in _read(old)[1]] == ["unsupported_format"]


def test_empty_file_is_a_warning(tmp_path: Path) -> None:
    """An empty export says it has no rows."""
    path = tmp_path / "e.csv"
    path.write_bytes(b"")
    assert _codes(_read(path)[1]) == [("empty_file", None, None)]


def test_normalise_header_matches_variants() -> None:
    """BOM, underscores, case and spacing do not change a header's identity."""
    assert normalise_header("\ufeffPatient_ID ") == "patient id"
    assert normalise_header("Record #") == "record #"
    assert normalise_header("Coverage %") == "coverage %"


# --- properties ---------------------------------------------------------------------

_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_SETTINGS
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".csv", ".txt", ".xlsx", ".xls"]))
def test_random_bytes_never_raise(tmp_path: Path, data: bytes, suffix: str) -> None:
    """Any bytes under any export name give rows or findings, never an exception."""
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    for item in extract(path):
        assert isinstance(item, Row | Finding)


_cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
_record = st.tuples(st.integers(0, 10**6).map(str), st.lists(_cell, max_size=7)).map(
    lambda t: [t[0], *t[1]]
)


@_SETTINGS
@given(
    header=st.lists(
        st.text(alphabet="abcdefghij XYZ", min_size=1, max_size=8).filter(str.strip),
        min_size=2,
        max_size=6,
        unique_by=str.strip,
    ),
    body=st.lists(_record, max_size=15),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_random_csv_shapes_roundtrip_values(
    tmp_path: Path, header: list[str], body: list[list[str]], delimiter: str, encoding: str
) -> None:
    """Random well-quoted CSVs read back cell for cell, padded or trimmed to the header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(body)
    path = tmp_path / "shape.csv"
    path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
    rows, _ = _read(path, delimiter=delimiter, encoding=encoding)
    text = path.read_bytes().decode(encoding)
    written = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))[1:]
    width = len(header)
    assert [list(r.values.values())[:width] for r in rows] == [
        (r + [""] * width)[:width] for r in written
    ]
    extras = [r[width:] for r in written]
    assert [r.values.get(f"Column {width + 1}", "") for r in rows] == [
        e[0] if any(c.strip() for c in e) else "" for e in extras
    ]


@pytest.mark.parametrize("limit", [24 * 1024 * 1024, 0], ids=["calamine", "streamed"])
def test_xlsx_reader_agrees_with_openpyxl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Both XLSX paths (calamine, and the streaming reader for big sheets) give openpyxl's text."""
    from datetime import time, timedelta

    from pdmigrate import extract_xlsx
    from pdmigrate.extract_xlsx import cell_text, iter_xlsx_records

    monkeypatch.setattr(extract_xlsx, "CALAMINE_MAX_PART_BYTES", limit)

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["ID", "When", "At", "Paid", "Ratio", "Flag", "Note", "Span"])
    ws.append(["0800", datetime(2024, 2, 29, 13, 5), time(9, 30), 1234.5, 0.125, True, "a\nb", 3])
    ws.append([11, date(1999, 12, 31), None, -7, 1e-7, False, "=not a formula", None])
    ws["H3"] = timedelta(hours=26)
    ws["D2"].number_format = "#,##0.00"
    ws["B3"].number_format = "d mmm yyyy"
    ws["D5"] = date(1900, 1, 1)
    ws["E5"] = datetime(1900, 3, 1, 12, 0)
    ws["A6"] = 123456789012345  # 15 digits: exact as a float too
    ws["C7"] = 12345678901234567890  # beyond a float: the rest of the sheet is streamed
    ws["A8"] = "after"
    other = wb.create_sheet("Second")
    other.append(["x", 1])
    path = tmp_path / "types.xlsx"
    wb.save(path)
    for sheet in ("Second", "Data"):
        ours = [r for r in iter_xlsx_records(path, sheet=sheet) if not isinstance(r, Finding)]
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            theirs = [
                (n, [cell_text(c.value) for c in row])
                for n, row in enumerate(book[sheet].iter_rows(), start=1)
            ]
        finally:
            book.close()
        width = max(len(t) for _, t in theirs)
        filled = [(n, t) for n, t in theirs if any(t)]  # blank rows are never records
        assert [(n, c + [""] * (width - len(c))) for n, c in ours if any(c)] == filled
    assert filled[-1] == (8, ["after"] + [""] * 7)  # the big number did not stop the read


def test_reading_stays_flat_in_memory(tmp_path: Path) -> None:
    """Reading 60,000 rows never holds more than a few records (traced peak under 3 MB)."""
    import tracemalloc

    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("ID,Name,Note\n")
        for i in range(60_000):
            fh.write(f'{i:06d},Person {i},"a note that\nspans lines {i}"\n')
    tracemalloc.start()
    try:
        count = 0
        last = 0
        for item in extract(path):
            if isinstance(item, Row):
                count += 1
                last = item.line
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (count, last) == (60_000, 2 + 2 * 59_999)
    assert peak < 3 * 1024 * 1024


def test_hand_written_xlsx_parts(tmp_path: Path) -> None:
    """Rich text, phonetic runs, gaps, booleans, errors and 1904 dates read as Excel shows them."""
    import zipfile

    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    parts = {
        "xl/workbook.xml": f'<workbook {main} {rel}><workbookPr date1904="1"/><sheets>'
        '<sheet name="Only" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="x" '
        'Target="worksheets/data.xml"/></Relationships>',
        "xl/styles.xml": f'<styleSheet {main}><cellXfs count="2"><xf numFmtId="0"/>'
        '<xf numFmtId="14"/></cellXfs></styleSheet>',
        "xl/sharedStrings.xml": f"<sst {main}><si><t>ID</t></si><si><t>Name</t></si>"
        "<si><r><t>Ren</t></r><r><t>&#233;e</t></r><rPh><t>x</t></rPh></si></sst>",
        "xl/worksheets/data.xml": f"<worksheet {main}><sheetData>"
        '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c>'
        '<c r="C2" t="inlineStr"><is><t>When</t></is></c><c r="D2" t="inlineStr">'
        "<is><t>Flag</t></is></c></row>"
        '<row r="3"><c r="A3" t="inlineStr"><is><r><t>0</t></r><r><t>11</t></r></is></c>'
        '<c r="B3" t="s"><v>2</v></c><c r="C3" s="1"><v>1</v></c><c r="D3" t="b"><v>1</v></c>'
        "</row>"
        '<row r="5"><c r="A5" t="str"><v>0800</v></c><c r="C5" t="e"><v>#N/A</v></c></row>'
        "</sheetData></worksheet>",
    }
    path = tmp_path / "hand.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    rows, findings = _read(path)
    assert [(r.line, dict(r.values)) for r in rows] == [
        (3, {"ID": "011", "Name": "Renée", "When": "1904-01-02", "Flag": "TRUE"}),
        (5, {"ID": "0800", "Name": "", "When": "#N/A", "Flag": ""}),
    ]
    assert [(f.code, f.sheet) for f in findings] == [("sheet", "Only")]


def test_xlsx_cell_reference_beyond_the_last_column_is_damage(tmp_path: Path) -> None:
    """A cell at column ZZZZZZ (found by fuzzing) is reported, not padded to millions of cells."""
    import zipfile

    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "xl/workbook.xml", f'<workbook {main}><sheets><sheet name="S"/></sheets></workbook>'
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet {main}><sheetData><row><c t="inlineStr"><is><t>ID</t></is></c>'
            '<c t="inlineStr"><is><t>Name</t></is></c></row><row><c r="ZZZZZZ2"><v>1</v></c>'
            "</row></sheetData></worksheet>",
        )
    rows, findings = _read(path)
    assert rows == []
    assert [(f.code, f.severity) for f in findings] == [
        ("sheet", "info"),
        ("unreadable_sheet", "error"),
    ]


def test_a_runaway_line_is_skipped_with_its_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A physical line past the line limit is reported and skipped; later lines keep numbers."""
    from pdmigrate import extract_csv

    monkeypatch.setattr(extract_csv, "MAX_LINE_CHARS", 1000)
    path = tmp_path / "runaway.csv"
    path.write_text("ID,Name\n1,a\n2," + "," * 5000 + "\n3,c\n", encoding="utf-8")
    rows, findings = _read(path)
    assert [(r.line, r.values["ID"]) for r in rows] == [(2, "1"), (4, "3")]
    assert [(f.code, f.line) for f in findings] == [("line_too_long", 3)]


def _valid_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Patient ID", "Name", "Born", "Balance"])
    ws.append(["011", "Renée", date(1980, 2, 29), 12.5])
    ws.append([12, "Ann", datetime(2024, 3, 5, 9, 30), True])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


_VALID_XLSX = _valid_xlsx()


@_SETTINGS
@given(
    part=st.sampled_from(["xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/styles.xml"]),
    at=st.floats(0, 1),
    junk=st.binary(min_size=1, max_size=12),
)
def test_damaged_xlsx_parts_never_raise(tmp_path: Path, part: str, at: float, junk: bytes) -> None:
    """A valid workbook with bytes spliced into one part gives rows or findings, never a crash."""
    import zipfile

    path = tmp_path / "damaged.xlsx"
    with (
        zipfile.ZipFile(io.BytesIO(_VALID_XLSX)) as source,
        zipfile.ZipFile(path, "w") as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == part:
                cut = int(at * len(data))
                data = data[:cut] + junk + data[cut:]
            target.writestr(info.filename, data)
    for item in extract(path):
        assert isinstance(item, Row | Finding)
