"""The shared CSV writer (formula cells neutralised, UTF-8 BOM) and the inline SVG charts."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pdmigrate.reports.charts import BAR_WIDTH, bar_chart, bars
from pdmigrate.reports.csvout import neutralise, render_csv, write_csv

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+61 2 5550 1234", "'+61 2 5550 1234"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_prefixes_formula_starts(cell: str, expected: str) -> None:
    """Cells starting with = + - @ tab or CR get a leading quote; others are unchanged."""
    assert neutralise(cell) == expected


def test_neutralise_non_strings() -> None:
    """None is empty, numbers and booleans are written as text (negative numbers quoted)."""
    assert [neutralise(None), neutralise(42), neutralise(-1.5), neutralise(True)] == [
        "",
        "42",
        "'-1.5",
        "true",
    ]


def test_csv_has_bom_crlf_and_round_trips(tmp_path: Path) -> None:
    """The file starts with a UTF-8 BOM and reads back with every cell intact or neutralised."""
    path = write_csv(
        tmp_path / "out.csv",
        ["key", "note"],
        [["A1", "Zoë, line one\nline two"], ["=1+1", "@me"], ["B2", None]],
    )
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows == [
        ["key", "note"],
        ["A1", "Zoë, line one\nline two"],
        ["'=1+1", "'@me"],
        ["B2", ""],
    ]
    assert not list(tmp_path.glob("*.tmp"))


def test_render_csv_neutralises_the_header_too() -> None:
    """Even a header cell cannot start a formula."""
    text = render_csv(["=cmd"], [])
    assert text == "\ufeff'=cmd\r\n"


def test_bars_scale_to_the_largest_value() -> None:
    """Widths are proportional to the values, the largest fills the bar area."""
    chart = bars([("a", 50.0), ("b", 100.0), ("c", 0.0)])
    assert [b.width for b in chart] == [BAR_WIDTH / 2, BAR_WIDTH, 0.0]
    assert [b.text for b in chart] == ["50", "100", "0"]


def test_bar_chart_is_valid_svg_with_the_right_numbers() -> None:
    """The chart parses as XML, has one bar per item carrying its value, and escapes labels."""
    svg = bar_chart("Records", [("patients", 60), ("<script>alert(1)</script>", 1200)])
    root = ET.fromstring(str(svg))  # noqa: S314 - our own SVG
    assert root.tag == f"{SVG}svg"
    rects = root.findall(f"{SVG}rect")
    assert [r.get("data-value") for r in rects] == ["60", "1200"]
    assert [float(r.get("width") or 0) for r in rects] == [round(BAR_WIDTH * 60 / 1200, 1), 320.0]
    texts = [t.text for t in root.findall(f"{SVG}text")]
    assert texts == ["patients", "60", "<script>alert(1)</script>", "1,200"]
    assert "<script>" not in str(svg)
    assert root.find(f"{SVG}title") is not None


def test_percent_chart_scales_to_100() -> None:
    """A percent chart draws 50% as half the bar area and prints the percent sign."""
    root = ET.fromstring(str(bar_chart("Fill", [("email", 50.0)], percent=True)))  # noqa: S314 - our own SVG
    rect = root.find(f"{SVG}rect")
    assert rect is not None
    assert float(rect.get("width") or 0) == BAR_WIDTH / 2
    assert [t.text for t in root.findall(f"{SVG}text")] == ["email", "50%"]


def test_empty_chart_says_no_data() -> None:
    """A chart without items is still valid SVG and says so."""
    root = ET.fromstring(str(bar_chart("Nothing", [])))  # noqa: S314 - our own SVG
    assert [t.text for t in root.findall(f"{SVG}text")] == ["no data"]
