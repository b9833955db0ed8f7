"""date, datetime, time and null_dates: exact values, DST edges, order and ambiguity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pdmigrate.transforms import Ok, Problem, TransformContext, detect_date_order

UTC = dt.UTC


def _ok(result: object) -> Ok:
    assert isinstance(result, Ok), result
    return result


def _codes(result: object) -> list[str]:
    return [w.code for w in _ok(result).warnings]


@pytest.mark.parametrize(
    ("spec", "raw", "expected"),
    [
        ("date(dayfirst)", "05/03/2024", dt.date(2024, 3, 5)),
        ("date(monthfirst)", "05/03/2024", dt.date(2024, 5, 3)),
        ("date(dayfirst)", "5-3-2024", dt.date(2024, 3, 5)),
        ("date(dayfirst)", "05.03.2024", dt.date(2024, 3, 5)),
        ("date(ymd)", "2024-03-05", dt.date(2024, 3, 5)),
        ("date(ymd)", "2024/3/5", dt.date(2024, 3, 5)),
        ("date(monthfirst)", "2024-03-05", dt.date(2024, 3, 5)),
        ("date", "20240305", dt.date(2024, 3, 5)),
        ("date", "45356", dt.date(2024, 3, 5)),
        ("date", "5 Mar 2024", dt.date(2024, 3, 5)),
        ("date", "05-Mar-2024", dt.date(2024, 3, 5)),
        ("date", "March 5, 2024", dt.date(2024, 3, 5)),
        ("date", "Tuesday, 5 March 2024", dt.date(2024, 3, 5)),
        ("date(dayfirst)", "05/03/2024 14:30:00", dt.date(2024, 3, 5)),
        ("date", "2024-03-05T23:30:00+11:00", dt.date(2024, 3, 5)),
        ("date(dayfirst)", "29/02/2024", dt.date(2024, 2, 29)),
    ],
)
def test_date_forms(run, spec: str, raw: str, expected: dt.date) -> None:
    """Every accepted date form reads to the exact calendar date, never shifted."""
    assert run(spec, raw) == Ok(expected)


def test_date_from_xlsx_cells(run) -> None:
    """XLSX cells (datetime, date, serial float) read without any zone shift."""
    assert run("date", dt.datetime(2024, 3, 5, 23, 30)) == Ok(dt.date(2024, 3, 5))
    assert run("date", dt.date(2024, 3, 5)) == Ok(dt.date(2024, 3, 5))
    assert run("date", 45356.75) == Ok(dt.date(2024, 3, 5))
    assert run("date", 45356) == Ok(dt.date(2024, 3, 5))


def test_excel_serial_boundaries(run) -> None:
    """Serial 61 is 1900-03-01 (after Excel's fictional 29 Feb 1900); 60 and below refuse."""
    assert run("date", "61") == Ok(dt.date(1900, 3, 1))
    assert run("date", "60") == Problem("date.unparseable", "not a date in any accepted form")


def test_date_order_from_context(run, au, us) -> None:
    """Plain `date` takes the workspace order: AU reads day-first, US month-first."""
    assert run("date", "05/03/2024", au) == Ok(dt.date(2024, 3, 5))
    assert run("date", "05/03/2024", us) == Ok(dt.date(2024, 5, 3))


def test_spec_order_beats_context(run, us) -> None:
    """An explicit date(dayfirst) wins over a month-first workspace."""
    assert run("date(dayfirst)", "05/03/2024", us) == Ok(dt.date(2024, 3, 5))


def test_ambiguous_date_is_a_finding(run, unknown_order) -> None:
    """With no order known, 05/03/2024 is a date.ambiguous finding, not a guess."""
    result = run("date", "05/03/2024", unknown_order)
    assert isinstance(result, Problem)
    assert result.code == "date.ambiguous"
    assert "05" not in result.message
    assert "2024" not in result.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("25/03/2024", dt.date(2024, 3, 25)),
        ("03/25/2024", dt.date(2024, 3, 25)),
        ("07/07/2024", dt.date(2024, 7, 7)),
    ],
)
def test_unambiguous_dates_without_order(run, unknown_order, raw: str, expected) -> None:
    """A day over 12, or equal day and month, tells the order by itself."""
    assert run("date", raw, unknown_order) == Ok(expected)


def test_value_contradicting_the_order(run) -> None:
    """A US-style date in a day-first column is refused with a reason, not misread."""
    result = run("date(dayfirst)", "03/25/2024")
    assert result == Problem(
        "date.wrong_order",
        "month out of range for day-first order (the value reads as month-first)",
    )


def test_ymd_refuses_day_month_forms(run) -> None:
    """date(ymd) does not guess at 05/03/2024."""
    result = run("date(ymd)", "05/03/2024")
    assert isinstance(result, Problem)
    assert result.code == "date.wrong_order"


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01",
        "01/01/1900",
        "00/00/0000",
        "1/1/0001",
        "1900-01-01",
        "00000000",
        "1899-12-30",
        "9999-12-31",
        "0000-00-00",
    ],
)
def test_null_sentinel_dates(run, raw: str) -> None:
    """Placeholder dates become empty with a date.null_sentinel warning."""
    result = _ok(run("date", raw))
    assert result.value is None
    assert _codes(result) == ["date.null_sentinel"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("05/03/24", dt.date(2024, 3, 5)),
        ("05/03/36", dt.date(2036, 3, 5)),
        ("05/03/37", dt.date(1937, 3, 5)),
        ("05/03/85", dt.date(1985, 3, 5)),
    ],
)
def test_two_digit_years(run, raw: str, expected: dt.date) -> None:
    """Two-digit years fall in the 100 years ending ten after the reference year."""
    result = _ok(run("date(dayfirst)", raw))
    assert result.value == expected
    assert result.warnings == (
        Problem("date.two_digit_year", "two-digit year read within 1937-2036"),
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("31/02/2024", "date.invalid"),
        ("29/02/2023", "date.invalid"),
        ("next tuesday", "date.unparseable"),
        ("05/03/2024 later", "date.unparseable"),
        ("2024-13-01", "date.invalid"),
    ],
)
def test_bad_dates_are_findings(run, raw: str, code: str) -> None:
    """Impossible or unreadable dates are Problems naming no value."""
    result = run("date(dayfirst)", raw)
    assert isinstance(result, Problem)
    assert result.code == code
    assert raw not in result.message


def test_blank_date_is_empty(run) -> None:
    """An empty or blank cell is no date and no finding."""
    assert run("date", "") == Ok(None)
    assert run("date", "   ") == Ok(None)
    assert run("date", None) == Ok(None)


# --- datetime ------------------------------------------------------------------------


def test_datetime_local_to_utc(run) -> None:
    """Sydney local 09:30 in March (AEDT, +11) is 22:30 UTC the day before."""
    assert run("datetime", "05/03/2024 09:30") == Ok(dt.datetime(2024, 3, 4, 22, 30, tzinfo=UTC))


def test_datetime_with_explicit_zone(run) -> None:
    """datetime(tz=Australia/Darwin) uses Darwin (+09:30, no DST) whatever the workspace."""
    result = run("datetime(tz=Australia/Darwin)", "05/03/2024 9:30 AM")
    assert result == Ok(dt.datetime(2024, 3, 5, 0, 0, tzinfo=UTC))


def test_sydney_dst_gap_moves_forward(run) -> None:
    """02:30 on 6 Oct 2024 does not exist in Sydney: it lands as 03:30 AEDT (16:30 UTC)."""
    result = _ok(run("datetime", "06/10/2024 02:30"))
    assert result.value == dt.datetime(2024, 10, 5, 16, 30, tzinfo=UTC)
    assert result.warnings == (
        Problem(
            "datetime.dst_gap",
            "local time does not exist (daylight-saving gap); moved forward 60 min",
        ),
    )


def test_sydney_dst_overlap_takes_first(run) -> None:
    """02:30 on 7 Apr 2024 happens twice in Sydney: the first (AEDT, 15:30 UTC) is taken."""
    result = _ok(run("datetime", "07/04/2024 02:30"))
    assert result.value == dt.datetime(2024, 4, 6, 15, 30, tzinfo=UTC)
    assert _codes(result) == ["datetime.dst_overlap"]


def test_sydney_edges_of_the_gap(run) -> None:
    """01:59 before the gap is AEST; 03:00 after it is AEDT: no warnings either side."""
    assert run("datetime", "06/10/2024 01:59") == Ok(dt.datetime(2024, 10, 5, 15, 59, tzinfo=UTC))
    assert run("datetime", "06/10/2024 03:00") == Ok(dt.datetime(2024, 10, 5, 16, 0, tzinfo=UTC))


def test_new_york_dst_gap_and_overlap(run, us) -> None:
    """New York: 02:30 on 10 Mar 2024 moves to 03:30 EDT; 01:30 on 3 Nov 2024 is EDT."""
    gap = _ok(run("datetime", "03/10/2024 02:30", us))
    assert gap.value == dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC)
    assert _codes(gap) == ["datetime.dst_gap"]
    overlap = _ok(run("datetime", "11/03/2024 01:30", us))
    assert overlap.value == dt.datetime(2024, 11, 3, 5, 30, tzinfo=UTC)
    assert _codes(overlap) == ["datetime.dst_overlap"]
    after = _ok(run("datetime", "11/03/2024 02:30", us))
    assert after == Ok(dt.datetime(2024, 11, 3, 7, 30, tzinfo=UTC))


def test_pure_date_never_shifts(run) -> None:
    """A date with no time stays that date (Sydney midnight would be the day before in UTC)."""
    assert run("datetime", "05/03/2024") == Ok(dt.date(2024, 3, 5))
    assert run("datetime", dt.datetime(2024, 3, 5)) == Ok(dt.date(2024, 3, 5))
    assert run("datetime", "2024-03-05 00:00:00.000") == Ok(dt.date(2024, 3, 5))
    assert run("datetime", "5/3/2024 12:00:00 AM") == Ok(dt.date(2024, 3, 5))
    assert run("datetime", "2024-03-05T00:00:00Z") == Ok(dt.datetime(2024, 3, 5, tzinfo=UTC))


def test_datetime_with_offset_ignores_zone(run) -> None:
    """An ISO value carrying its own offset is converted by that offset."""
    result = run("datetime", "2024-03-05T09:30:00-05:00")
    assert result == Ok(dt.datetime(2024, 3, 5, 14, 30, tzinfo=UTC))
    assert run("datetime", "2024-03-05 09:30Z") == Ok(dt.datetime(2024, 3, 5, 9, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03-05T09:30:00.000Z", dt.datetime(2024, 3, 5, 9, 30, tzinfo=UTC)),
        ("05/03/2024 9:30:00 a.m.", dt.datetime(2024, 3, 4, 22, 30, tzinfo=UTC)),
        ("5/3/2024 0930", dt.datetime(2024, 3, 4, 22, 30, tzinfo=UTC)),
        ("05/03/2024, 9:30 am", dt.datetime(2024, 3, 4, 22, 30, tzinfo=UTC)),
        ("Mar 5 2024 9:30AM", dt.datetime(2024, 3, 4, 22, 30, tzinfo=UTC)),
        ("05-MAR-2024 14:05", dt.datetime(2024, 3, 5, 3, 5, tzinfo=UTC)),
        ("2024-03-05T09:30:00+1000", dt.datetime(2024, 3, 4, 23, 30, tzinfo=UTC)),
    ],
)
def test_datetime_export_forms(run, raw: str, expected: dt.datetime) -> None:
    """Date-and-time forms seen in exports read to the exact UTC instant."""
    assert run("datetime", raw) == Ok(expected)


def test_datetime_from_xlsx_cells(run) -> None:
    """A naive XLSX datetime is local; an Excel serial with a fraction carries the time."""
    assert run("datetime", dt.datetime(2024, 3, 5, 9, 30)) == Ok(
        dt.datetime(2024, 3, 4, 22, 30, tzinfo=UTC)
    )
    assert run("datetime", Decimal("45356.375")) == Ok(dt.datetime(2024, 3, 4, 22, 0, tzinfo=UTC))


def test_datetime_bad_time_part(run) -> None:
    """A date followed by an impossible time is a finding."""
    result = run("datetime", "05/03/2024 25:61")
    assert isinstance(result, Problem)
    assert result.code in ("datetime.unparseable", "date.unparseable")


def test_datetime_bad_workspace_zone(run) -> None:
    """A context with a zone that is not IANA gives a Problem, not an exception."""
    ctx = TransformContext(timezone="Mars/Olympus", date_order="dmy")
    result = run("datetime", "05/03/2024 09:30", ctx)
    assert result == Problem("datetime.bad_zone", "the workspace time zone is not an IANA zone")


# --- time ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("09:30", dt.time(9, 30)),
        ("9:30:15", dt.time(9, 30, 15)),
        ("9:30 PM", dt.time(21, 30)),
        ("12:15 am", dt.time(0, 15)),
        ("12:15 pm", dt.time(12, 15)),
        ("9am", dt.time(9, 0)),
        ("9.30am", dt.time(9, 30)),
        ("0930", dt.time(9, 30)),
        ("1745", dt.time(17, 45)),
        ("0.375", dt.time(9, 0)),
    ],
)
def test_time_forms(run, raw: str, expected: dt.time) -> None:
    """Times read as local clock times, never shifted."""
    assert run("time", raw) == Ok(expected)


@pytest.mark.parametrize("raw", ["25:00", "9", "13:00 pm", "12:60", "noonish", "2400"])
def test_bad_times(run, raw: str) -> None:
    """Impossible times are time.unparseable findings."""
    assert run("time", raw) == Problem("time.unparseable", "not a time of day")


def test_time_from_cells(run) -> None:
    """XLSX time and datetime cells give their clock time."""
    assert run("time", dt.time(14, 5)) == Ok(dt.time(14, 5))
    assert run("time", dt.datetime(2024, 3, 5, 14, 5)) == Ok(dt.time(14, 5))
    assert run("time", 0.5) == Ok(dt.time(12, 0))


# --- null_dates ------------------------------------------------------------------------


def test_null_dates_keeps_real_values(run) -> None:
    """null_dates blanks placeholders and passes anything else through unchanged."""
    assert run("null_dates", "00/00/0000") == Ok(
        None, (Problem("date.null_sentinel", "placeholder date treated as empty"),)
    )
    assert run("null_dates", "05/03/2024") == Ok("05/03/2024")
    assert run("null_dates", "not a date") == Ok("not a date")


# --- order detection ----------------------------------------------------------------


def test_detect_date_order() -> None:
    """A column tells its order only when some day is over 12; all-low days stay unknown."""
    dmy = detect_date_order(["05/03/2024", "25/12/2023", "01/02/2020"])
    assert (dmy.order, dmy.dayfirst_only, dmy.ambiguous) == ("dmy", 1, 2)
    mdy = detect_date_order(["12/25/2023", "03/05/2024"])
    assert mdy.order == "mdy"
    unknown = detect_date_order(["05/03/2024", "01/02/2020", ""])
    assert (unknown.order, unknown.ambiguous) == (None, 2)
    mixed = detect_date_order(["25/12/2023", "12/25/2023"])
    assert mixed.order is None
    iso = detect_date_order(["2024-03-05", "2023-12-25"])
    assert (iso.order, iso.year_first) == ("ymd", 2)
