"""Property tests: every transform on arbitrary input returns Ok or Problem, never raises."""

from __future__ import annotations

import datetime as dt
import time
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdmigrate.transforms import Ok, Problem, TransformContext, Value, registry
from pdmigrate.transforms.spec import parse_transform

#: Every registered transform, with the parameter shapes a mapping may use.
SPECS = [
    "text",
    "strip",
    "upper",
    "lower",
    "truncate(5)",
    "default(Unknown)",
    'concat(", ")',
    'join("; ")',
    "split",
    'split(",")',
    "lookup(status)",
    "lookup(status, keep)",
    "lookup(missing)",
    "date",
    "date(dayfirst)",
    "date(monthfirst)",
    "date(ymd)",
    "datetime",
    "datetime(tz=Australia/Sydney)",
    "datetime(monthfirst, tz=America/New_York)",
    "time",
    "null_dates",
    "phone",
    "phone(AU)",
    "phone(US, label=home)",
    "email",
    "money",
    "money(AUD)",
    "money(AUD, number)",
    "money(EUR, decimal=comma)",
    "decimal",
    "int",
    "bool",
    "html_to_text",
    "html_sanitize",
    "split_name",
    "split_name(last)",
]

CONTEXTS = [
    TransformContext(
        country="AU",
        timezone="Australia/Sydney",
        currency="AUD",
        date_order="dmy",
        own_email_domain="harbourdental.example.au",
        reference_year=2026,
        tables=MappingProxyType({"status": {"Completed": "won", "": "blank"}}),
    ),
    TransformContext(country="US", timezone="America/New_York", date_order="mdy"),
    TransformContext(country="ZZ", timezone="Not/AZone", decimal_separator=","),
]

_text = st.text(max_size=60)
_dateish = st.from_regex(
    r"\A[0-9]{1,4}[-/. ][0-9A-Za-z]{1,9}[-/. ,]{1,2}[0-9]{1,4}"
    r"([ T][0-9]{1,2}[:.][0-9]{2}(:[0-9]{2})?( ?[apAP]\.?[mM])?([+-][0-9]{2}:?[0-9]{2}|Z)?)?\Z"
)
_phoneish = st.from_regex(r"\A([HhWwMm][a-z]{0,4}:? ?)?[0-9 ()+.-]{3,18}(ext ?[0-9]{1,4})?\Z")
_moneyish = st.from_regex(r"\A\(?[-+]?(A?\$|USD |€|£)?[0-9.,' ]{1,14}(AUD|%|-)?\)?\Z")
_emailish = st.from_regex(r"\A[A-Za-z0-9._<>:; -]{0,12}@[A-Za-z0-9.-]{0,14}\Z")
_htmlish = st.text(alphabet="<>/abpilstr &;#'\"=!-{}\\\n", max_size=60)
_nameish = st.from_regex(r"\A[A-Za-z.,'\"() -]{0,30}\Z")
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.decimals(),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.times(),
)
VALUES: st.SearchStrategy[Value] = st.one_of(
    _text,
    _dateish,
    _phoneish,
    _moneyish,
    _emailish,
    _htmlish,
    _nameish,
    _scalars,
    st.tuples(_text, _text),
    st.tuples(_scalars, _dateish, st.tuples(_text)),
)

_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_specs_cover_every_registered_transform() -> None:
    """The property tests exercise every registered transform name."""
    assert {parse_transform(s).name for s in SPECS} == set(registry())


@pytest.mark.parametrize("spec", SPECS)
@_SETTINGS
@given(value=VALUES, ctx_index=st.integers(min_value=0, max_value=len(CONTEXTS) - 1))
def test_never_raises(spec: str, value: Value, ctx_index: int) -> None:
    """The raw body (no safety wrapper) returns Ok or Problem for any input and context."""
    transform = parse_transform(spec)
    result = transform.body(value, CONTEXTS[ctx_index])
    assert isinstance(result, Ok | Problem)
    if isinstance(result, Problem):
        assert result.code.count(".") == 1
        assert result.message
    else:
        assert all(isinstance(w, Problem) for w in result.warnings)


@pytest.mark.parametrize("spec", SPECS)
@settings(_SETTINGS, max_examples=40)
@given(core=st.one_of(_text, _dateish, _phoneish, _moneyish, _emailish, _nameish))
def test_problems_never_echo_the_value(spec: str, core: str) -> None:
    """No finding or warning message quotes the row value (marked here with a sentinel)."""
    value = f"\u00a7{core}\u00a7"
    result = parse_transform(spec).body(value, CONTEXTS[0])
    findings = [result] if isinstance(result, Problem) else list(result.warnings)
    for finding in findings:
        assert "\u00a7" not in finding.message


@_SETTINGS
@given(value=st.dates(min_value=dt.date(1901, 1, 1), max_value=dt.date(9998, 12, 30)))
def test_date_round_trips_through_text(value: dt.date) -> None:
    """A date written day-first, month-first or ISO reads back as the same date."""
    ctx = CONTEXTS[0]
    dmy = f"{value.day:02d}/{value.month:02d}/{value.year:04d}"
    mdy = f"{value.month}/{value.day}/{value.year:04d}"
    assert parse_transform("date(dayfirst)")(dmy, ctx) == Ok(value)
    assert parse_transform("date(monthfirst)")(mdy, ctx) == Ok(value)
    assert parse_transform("date")(value.isoformat(), ctx) == Ok(value)


@_SETTINGS
@given(
    local=st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2037, 12, 31)),
    zone=st.sampled_from(["Australia/Sydney", "America/New_York", "Australia/Darwin"]),
)
def test_datetime_lands_on_the_local_clock(local: dt.datetime, zone: str) -> None:
    """Converted back to the zone, the UTC result shows the same wall clock (or later, in a gap)."""
    from zoneinfo import ZoneInfo

    local = local.replace(microsecond=0)
    spec = f"datetime(ymd, tz={zone})"
    result = parse_transform(spec)(local.strftime("%Y-%m-%d %H:%M:%S"), CONTEXTS[0])
    assert isinstance(result, Ok)
    if local.time() == dt.time(0):
        assert result.value == local.date()  # midnight is a pure date
        return
    assert isinstance(result.value, dt.datetime)
    back = result.value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    codes = [w.code for w in result.warnings]
    if "datetime.dst_gap" in codes:
        assert back > local
    else:
        assert back == local


HOSTILE = {
    "spaces": " " * 100_000,
    "dashes": "1" + " -" * 50_000,
    "open tags": "<a" * 50_000,
    "pre spaces": "<pre>" + " " * 100_000 + "</pre>",
    "digits and commas": "1," * 50_000,
    "at signs": "a@" * 50_000,
    "parentheses": "(" * 50_000,
}


@pytest.mark.parametrize("spec", SPECS)
def test_hostile_long_cells_stay_fast(spec: str) -> None:
    """100 KB of pathological text gives a result in well under a second per cell."""
    transform = parse_transform(spec)
    for text in HOSTILE.values():
        started = time.perf_counter()
        result = transform.body(text, CONTEXTS[0])
        assert isinstance(result, Ok | Problem)
        assert time.perf_counter() - started < 1.0
