"""Date and time transforms: date, datetime, time and null_dates.

Accepted date forms: ``YYYY-MM-DD`` (also with ``/`` or ``.``), ``YYYYMMDD`` (LEDES),
``D/M/Y`` or ``M/D/Y`` with ``/``, ``-`` or ``.`` and a two- or four-digit year,
month names (``5 Mar 2024``, ``March 5, 2024``, ``05-Mar-24``), Excel serial numbers
(61 up to 99999, i.e. 1900-03-01 to 2173) and date/datetime cells from XLSX. A time may
follow the date (``T`` or a space). Placeholder dates (``0001-01-01``, ``01/01/1900``,
``00/00/0000``, ``1899-12-30``, ``9999-12-31``...) become empty with a warning.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pdmigrate.transforms.core import (
    Args,
    Body,
    DateOrder,
    Kind,
    Ok,
    Problem,
    Result,
    TransformContext,
    Value,
    check_args,
    choice,
    is_blank,
    no_args,
    register,
    spec_error,
    wrong_type,
)

_ORDER_WORDS: dict[str, DateOrder] = {"dayfirst": "dmy", "monthfirst": "mdy", "ymd": "ymd"}
_ORDER_NAMES = {"dmy": "day-first", "mdy": "month-first", "ymd": "year-first"}

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}

_REST = r"(?:(?:T|\s+|\s*,\s*)(?P<rest>.*?))?\s*"
_WEEKDAY = r"(?:(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)[a-z]*\.?,?\s+)?"
_YEAR_FIRST = re.compile(
    r"(?P<y>\d{4})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})" + _REST, re.IGNORECASE
)
_COMPACT = re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})" + _REST, re.IGNORECASE)
_NUMERIC = re.compile(
    r"(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)(?P<y>\d{4}|\d{2})" + _REST, re.IGNORECASE
)
_NAMED_DMY = re.compile(
    _WEEKDAY
    + r"(?P<d>\d{1,2})(?:st|nd|rd|th)?[\s-]*(?P<mon>[a-z]{3,9})\.?[\s,-]*(?P<y>\d{4}|\d{2})"
    + _REST,
    re.IGNORECASE,
)
_NAMED_MDY = re.compile(
    _WEEKDAY
    + r"(?P<mon>[a-z]{3,9})\.?[\s-]*(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:\s*,\s*|[\s-]+)"
    + r"(?P<y>\d{4})"
    + _REST,
    re.IGNORECASE,
)
_SERIAL = re.compile(r"(?P<n>\d{2,5})(?:\.(?P<f>\d+))?")
_TIME = re.compile(
    r"(?P<h>\d{1,2})(?:[:.](?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,6})\d*)?)?)?"
    r"\s*(?P<ap>[ap]\.?m\.?)?",
    re.IGNORECASE,
)
_TIME_COMPACT = re.compile(r"(?P<h>\d{1,2})(?P<mi>\d{2})")
_ZONE = re.compile(r"(?P<time>.*?)\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})", re.IGNORECASE)

_EXCEL_EPOCH = dt.date(1899, 12, 30)
_SENTINELS = {(1, 1, 1), (1900, 1, 1), (1899, 12, 30), (1899, 12, 31), (9999, 12, 31)}

NULL_DATE = Problem("date.null_sentinel", "placeholder date treated as empty")


@dataclass(frozen=True, slots=True)
class _Raw:
    """A date as read, before order and calendar checks: fields may still be swapped."""

    first: int
    second: int
    year: int
    two_digit_year: bool
    order_known: DateOrder | None  # ymd/named/serial forms fix the order themselves
    rest: str
    fraction: Decimal | None = None


_MAX_DATE_TEXT = 64  # longer cells are not dates; keeps the patterns linear in practice


def _read(text: str) -> _Raw | None:
    text = text.strip()
    if len(text) > _MAX_DATE_TEXT:
        return None
    m = _YEAR_FIRST.fullmatch(text) or _COMPACT.fullmatch(text)
    if m:
        y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
        return _Raw(mo, d, y, False, "ymd", m["rest"] or "")
    m = _NUMERIC.fullmatch(text)
    if m:
        return _Raw(int(m["a"]), int(m["b"]), int(m["y"]), len(m["y"]) == 2, None, m["rest"] or "")
    for pattern in (_NAMED_DMY, _NAMED_MDY):
        m = pattern.fullmatch(text)
        if m and m["mon"].lower() in _MONTHS:
            month = _MONTHS[m["mon"].lower()]
            year_text = m["y"]
            return _Raw(
                month, int(m["d"]), int(year_text), len(year_text) == 2, "mdy", m["rest"] or ""
            )
    m = _SERIAL.fullmatch(text)
    if m:
        frac = Decimal("0." + m["f"]) if m["f"] else None
        return _serial(int(m["n"]), frac)
    return None


def _serial(n: int, fraction: Decimal | None) -> _Raw | None:
    if n < 61 or n > 99999:
        return None
    day = _EXCEL_EPOCH + dt.timedelta(days=n)
    return _Raw(day.month, day.day, day.year, False, "mdy", "", fraction)


def _from_cell(value: Value) -> _Raw | Problem | None:
    """Read a cell of any kind; None means it is not a date at all."""
    if isinstance(value, dt.datetime):
        rest = value.time().isoformat() if value.time() != dt.time(0) else ""
        return _Raw(value.month, value.day, value.year, False, "mdy", rest)
    if isinstance(value, dt.date):
        return _Raw(value.month, value.day, value.year, False, "mdy", "")
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return None
        if not number.is_finite() or number < 0 or number >= 100000:
            return None
        whole = int(number)
        frac = number - whole
        return _serial(whole, frac if frac else None)
    if isinstance(value, str):
        return _read(value)
    return None


def _two_digit(yy: int, ctx: TransformContext) -> tuple[int, Problem]:
    top = ctx.reference_year + 10
    year = top - ((top - yy) % 100)
    warning = Problem("date.two_digit_year", f"two-digit year read within {top - 99}-{top}")
    return year, warning


def _resolve(
    raw: _Raw, order: DateOrder | None, name: str, ctx: TransformContext
) -> tuple[dt.date | None, tuple[Problem, ...]] | Problem:
    """Apply the day/month order and the calendar: a date, None (placeholder) or a Problem."""
    warnings: tuple[Problem, ...] = ()
    if raw.order_known is not None:
        month, day = raw.first, raw.second
    else:
        a, b = raw.first, raw.second
        if order == "ymd":
            return Problem(f"{name}.wrong_order", "expected a year-first date (YYYY-MM-DD)")
        if order is None:
            if a == 0 or b == 0 or a > 12 >= b:
                order = "dmy"
            elif b > 12 >= a:
                order = "mdy"
            elif a == b or a > 12:
                order = "dmy"
            else:
                return Problem(
                    "date.ambiguous",
                    "day and month cannot be told apart; set the date order "
                    "(date(dayfirst) or date(monthfirst), or date_order in the workspace)",
                )
        elif (a <= 12 < b and order == "dmy") or (b <= 12 < a and order == "mdy"):
            other = "mdy" if order == "dmy" else "dmy"
            return Problem(
                f"{name}.wrong_order",
                f"month out of range for {_ORDER_NAMES[order]} order "
                f"(the value reads as {_ORDER_NAMES[other]})",
            )
        day, month = (a, b) if order == "dmy" else (b, a)
    year = raw.year
    if raw.two_digit_year:
        year, warning = _two_digit(year, ctx)
        warnings = (warning,)
    if year == 0 or month == 0 or day == 0 or (year, month, day) in _SENTINELS:
        return None, (NULL_DATE,)
    try:
        return dt.date(year, month, day), warnings
    except ValueError:
        return Problem(f"{name}.invalid", "no such calendar date (day or month out of range)")


def _order_param(args: Args, spec: str) -> DateOrder | None:
    if not args.positional:
        return None
    return _ORDER_WORDS[choice(args.positional[0], tuple(_ORDER_WORDS), spec, "date order")]


def _effective(order: DateOrder | None, ctx: TransformContext) -> DateOrder | None:
    return order if order is not None else ctx.date_order


_UNPARSEABLE = "not a date in any accepted form"


@register(
    "date",
    signature="date[(dayfirst|monthfirst|ymd)]",
    summary="A calendar date; a time part is dropped, never shifted.",
    accepts=(Kind.TEXT, Kind.TYPED),
    returns=Kind.TYPED,
)
def _date(args: Args, spec: str) -> Body:
    check_args(args, spec, max_positional=1)
    order = _order_param(args, spec)

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        raw = _from_cell(value)
        if raw is None:
            return Problem("date.unparseable", _UNPARSEABLE)
        if isinstance(raw, Problem):
            return raw
        if raw.rest and parse_time_text(_split_zone(raw.rest)[0]) is None:
            return Problem("date.unparseable", "unexpected text after the date")
        out = _resolve(raw, _effective(order, ctx), "date", ctx)
        if isinstance(out, Problem):
            return out
        return Ok(out[0], out[1])

    return body


# --- time ---------------------------------------------------------------------------


def parse_time_text(text: str) -> dt.time | None:
    """``9:30``, ``09:30:15``, ``9:30 PM``, ``9am``, ``0930`` -> a time; None if not a time."""
    text = text.strip()
    if not text or len(text) > _MAX_DATE_TEXT:
        return None
    m = _TIME_COMPACT.fullmatch(text)
    if m and len(text) >= 3:
        hour, minute, second, micro, ampm = int(m["h"]), int(m["mi"]), 0, 0, None
    else:
        m = _TIME.fullmatch(text)
        if not m or (m["mi"] is None and m["ap"] is None):
            return None
        hour = int(m["h"])
        minute = int(m["mi"] or 0)
        second = int(m["s"] or 0)
        micro = int((m["f"] or "0").ljust(6, "0"))
        ampm = m["ap"][0].lower() if m["ap"] else None
    if ampm is not None:
        if not 1 <= hour <= 12 and hour != 0:
            return None
        hour = hour % 12 + (12 if ampm == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return dt.time(hour, minute, second, micro)


def _time_from_fraction(fraction: Decimal) -> dt.time | None:
    if not 0 <= fraction < 1:
        return None
    seconds = int((fraction * 86400).to_integral_value())
    if seconds >= 86400:
        return None
    return dt.time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


@register(
    "time",
    signature="time",
    summary="A local time of day (09:30, 9:30 PM, 0930, Excel day fractions); never shifted.",
    accepts=(Kind.TEXT, Kind.TYPED),
    returns=Kind.TYPED,
)
def _time(args: Args, spec: str) -> Body:
    no_args("time")(args, spec)

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        if isinstance(value, dt.datetime):
            return Ok(value.time().replace(tzinfo=None))
        if isinstance(value, dt.time):
            return Ok(value.replace(tzinfo=None))
        out: dt.time | None = None
        if isinstance(value, float | Decimal) and not isinstance(value, bool):
            try:
                out = _time_from_fraction(Decimal(str(value)))
            except InvalidOperation:
                out = None
        elif isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"0?\.\d+", text):
                out = _time_from_fraction(Decimal(text))
            else:
                out = parse_time_text(text)
        else:
            return wrong_type("time", "text or a time")
        return Ok(out) if out is not None else Problem("time.unparseable", "not a time of day")

    return body


# --- datetime -------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def localise(naive: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime, tuple[Problem, ...]]:
    """A local wall-clock time in ``zone`` as UTC, by the landing rules.

    A time in a daylight-saving gap moves forward by the gap (02:30 on a spring-forward
    night becomes 03:30); a time that occurs twice takes the first occurrence.
    """
    local = naive.replace(tzinfo=zone, fold=0)
    utc = local.astimezone(dt.UTC)
    back = utc.astimezone(zone).replace(tzinfo=None)
    if back != naive:
        minutes = int((back - naive).total_seconds() // 60)
        return utc, (
            Problem(
                "datetime.dst_gap",
                f"local time does not exist (daylight-saving gap); moved forward {minutes} min",
            ),
        )
    if local.utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset():
        return utc, (
            Problem(
                "datetime.dst_overlap",
                "local time occurs twice (daylight-saving overlap); took the first",
            ),
        )
    return utc, ()


def _offset(zone_text: str) -> dt.timezone:
    z = zone_text.upper()
    if z in ("Z", "UTC", "GMT"):
        return dt.UTC
    sign = -1 if z[0] == "-" else 1
    digits = z[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _split_zone(rest: str) -> tuple[str, dt.timezone | None]:
    """``09:30+10:00`` -> (``09:30``, UTC+10); a rest without a zone comes back whole."""
    zm = _ZONE.fullmatch(rest)
    if zm and zm["time"]:
        return zm["time"], _offset(zm["zone"])
    return rest, None


@register(
    "datetime",
    signature="datetime[(dayfirst|monthfirst|ymd)][(tz=ZONE)]",
    summary="A local date and time in the practice's zone (or tz=) converted to UTC.",
    accepts=(Kind.TEXT, Kind.TYPED),
    returns=Kind.TYPED,
)
def _datetime(args: Args, spec: str) -> Body:
    check_args(args, spec, max_positional=1, keys=("tz",))
    order = _order_param(args, spec)
    tz_name = args.option("tz")
    fixed_zone = None
    if tz_name is not None:
        fixed_zone = _zone(tz_name)
        if fixed_zone is None:
            raise spec_error(spec, f"unknown time zone '{tz_name}' (use an IANA name)")

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        zone = fixed_zone or _zone(ctx.timezone)
        if zone is None:
            return Problem("datetime.bad_zone", "the workspace time zone is not an IANA zone")
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return Ok(value.astimezone(dt.UTC))
        raw = _from_cell(value)
        if raw is None:
            return Problem("datetime.unparseable", "not a date and time in any accepted form")
        if isinstance(raw, Problem):
            return raw
        out = _resolve(raw, _effective(order, ctx), "datetime", ctx)
        if isinstance(out, Problem):
            return out
        day, warnings = out
        if day is None:
            return Ok(None, warnings)
        clock: dt.time | None
        offset: dt.timezone | None = None
        if raw.fraction is not None:
            clock = _time_from_fraction(raw.fraction)
        elif raw.rest:
            text, offset = _split_zone(raw.rest)
            clock = parse_time_text(text)
            if clock is None:
                return Problem("datetime.unparseable", "the time part is not a time of day")
        else:
            return Ok(day, warnings)  # a pure date never shifts
        if clock is None:
            return Problem("datetime.unparseable", "the time part is not a time of day")
        if clock == dt.time(0) and offset is None:
            return Ok(day, warnings)  # midnight: how date-only columns export; never shifted
        naive = dt.datetime.combine(day, clock)
        if offset is not None:
            return Ok(naive.replace(tzinfo=offset).astimezone(dt.UTC), warnings)
        utc, dst = localise(naive, zone)
        return Ok(utc, warnings + dst)

    return body


# --- null_dates and order detection -----------------------------------------------


@register(
    "null_dates",
    signature="null_dates",
    summary="Placeholder dates (0001-01-01, 01/01/1900, 00/00/0000...) become empty.",
    accepts=(Kind.TEXT, Kind.TYPED),
    returns=Kind.ANY,
)
def _null_dates(args: Args, spec: str) -> Body:
    no_args("null_dates")(args, spec)

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value) or isinstance(value, bool | int | float | Decimal):
            return Ok(value)
        raw = _from_cell(value)
        if raw is None or isinstance(raw, Problem):
            return Ok(value)
        fields = {(raw.year, raw.first, raw.second), (raw.year, raw.second, raw.first)}
        if raw.two_digit_year:
            return Ok(value)
        if any(0 in f or f in _SENTINELS for f in fields):
            return Ok(None, (NULL_DATE,))
        return Ok(value)

    return body


@dataclass(frozen=True, slots=True)
class DateOrderEvidence:
    """What a column's values say about day/month order.

    ``order`` is ``dmy`` or ``mdy`` when only one reading fits every value, ``ymd`` when
    every date is year-first, and None when nothing tells (all day values <= 12) or
    the values contradict each other.
    """

    order: DateOrder | None
    dayfirst_only: int
    monthfirst_only: int
    ambiguous: int
    year_first: int


def detect_date_order(values: list[str]) -> DateOrderEvidence:
    """Count the values that only fit day-first, only month-first, or either."""
    dmy = mdy = amb = ymd = 0
    for value in values:
        raw = _read(value) if isinstance(value, str) else None
        if raw is None:
            continue
        if raw.order_known is not None:
            ymd += raw.order_known == "ymd"
            continue
        a, b = raw.first, raw.second
        if a > 12 >= b >= 1:
            dmy += 1
        elif b > 12 >= a >= 1:
            mdy += 1
        elif 1 <= a <= 12 and 1 <= b <= 12 and a != b:
            amb += 1
    order: DateOrder | None = None
    if dmy and not mdy:
        order = "dmy"
    elif mdy and not dmy:
        order = "mdy"
    elif ymd and not (dmy or mdy or amb):
        order = "ymd"
    return DateOrderEvidence(order, dmy, mdy, amb, ymd)
