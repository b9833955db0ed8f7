"""The spec parser and chains: what mapping.yaml may write, and the errors it gets."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from pdmigrate.errors import ConfigError
from pdmigrate.transforms import (
    Chain,
    Kind,
    Ok,
    Problem,
    TransformContext,
    TransformSpecError,
    parse_chain,
    parse_transform,
    registry,
)
from pdmigrate.transforms.core import Transform


def test_parse_simple_and_parameterised() -> None:
    """Names, positional and key=value parameters parse; the spec text is kept."""
    t = parse_transform("datetime(tz=Australia/Sydney)")
    assert (t.name, t.spec) == ("datetime", "datetime(tz=Australia/Sydney)")
    assert parse_transform("  truncate( 255 ) ").spec == "truncate( 255 )"
    assert parse_transform("date").name == "date"
    assert parse_transform("date()").name == "date"


def test_quoted_parameters() -> None:
    """Quoted values keep commas, parentheses, spaces and escapes."""
    ctx = TransformContext()
    assert parse_transform('join("; ")')(("a", "b"), ctx) == Ok("a; b")
    assert parse_transform("default('N/A (none)')")(None, ctx) == Ok("N/A (none)")
    assert parse_transform(r'concat("\n")')(("a", "b"), ctx) == Ok("a\nb")
    assert parse_transform(r'default("say \"hi\"")')("", ctx) == Ok('say "hi"')


def test_bare_parameters_may_hold_pipes_and_apostrophes() -> None:
    """Unquoted values run to the next comma or parenthesis: join(|), default(O'Brien)."""
    ctx = TransformContext()
    assert parse_chain("split | join(|)")("a;b", ctx) == Ok("a|b")
    assert parse_transform("default(O'Brien)")("", ctx) == Ok("O'Brien")


def test_chain_string_and_list_are_the_same() -> None:
    """A pipe-separated string and a YAML list build the same chain."""
    a = parse_chain("strip | date(dayfirst)")
    b = parse_chain(["strip", "date(dayfirst)"])
    assert a.spec == b.spec == "strip | date(dayfirst)"
    ctx = TransformContext()
    assert a(" 05/03/2024 ", ctx) == b(" 05/03/2024 ", ctx) == Ok(dt.date(2024, 3, 5))


def test_empty_chain_is_identity() -> None:
    """No transforms: the value passes unchanged."""
    assert parse_chain("")("as is ", TransformContext()) == Ok("as is ")
    assert parse_chain([]) == Chain(())


def test_chain_stops_at_first_problem_and_keeps_warnings() -> None:
    """A Problem ends the chain; warnings from earlier steps are carried to the end."""
    ctx = TransformContext()
    chain = parse_chain("truncate(3) | int")
    assert chain("12345", ctx) == Ok(
        123, (Problem("text.truncated", "text cut to 3 characters from 5"),)
    )
    assert chain("abcdef", ctx) == Problem("int.unparseable", "not a number")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("dat(dayfirst)", "unknown transform 'dat' (did you mean 'date'?) at column 1"),
        ("date(dayfrist)", "unknown date order 'dayfrist' (expected one of: dayfirst, "),
        ("date(dayfirst", "unclosed '(' at column 5"),
        ("datetime(tz=Australia/Sydny)", "unknown time zone 'Australia/Sydny'"),
        ("datetime(zone=UTC)", "unknown option 'zone' (allowed: tz)"),
        ("truncate(abc)", "truncate needs a whole number of characters"),
        ("truncate", "truncate needs a whole number of characters"),
        ("upper(x)", "upper takes no parameters"),
        ("phone(XX)", "unknown phone region 'XX'"),
        ("phone(AU, label=fax)", "unknown label 'fax'"),
        ("money(dollars)", "'dollars' is neither a currency code (AUD) nor 'number'"),
        ("lookup", "lookup needs a table name"),
        ("split_name(surname)", "unknown name part 'surname'"),
        ('join("; )', 'unclosed quote " at column 6'),
        ("split(,)", "expected a parameter value at column 7"),
        ("strip upper", "unexpected 'u' after transform 'strip' (use '|' to chain)"),
        ("date | ", "expected a transform name but found the end"),
        ("date(tz=UTC, dayfirst)", "positional parameter cannot follow key=value"),
        ("datetime(tz=UTC, tz=UTC)", "option 'tz' given twice"),
    ],
)
def test_spec_errors_name_the_bad_part(spec: str, message: str) -> None:
    """Every malformed spec raises a ConfigError whose message names the bad part."""
    with pytest.raises(TransformSpecError) as info:
        parse_chain(spec)
    assert message in str(info.value)
    assert isinstance(info.value, ConfigError)


def test_error_carries_mapping_location() -> None:
    """`where` (the mapping.yaml line) prefixes the message."""
    with pytest.raises(TransformSpecError, match=r"^mapping\.yaml:12: unknown transform 'nope'"):
        parse_chain("nope", where="mapping.yaml:12")
    with pytest.raises(TransformSpecError, match=r"^mapping\.yaml:7: unknown date order"):
        parse_chain("date(sideways)", where="mapping.yaml:7")


def test_chain_kinds_must_fit() -> None:
    """A text-only step after a typed one is refused at parse time, naming both specs."""
    with pytest.raises(TransformSpecError) as info:
        parse_chain("date(dayfirst) | upper")
    assert str(info.value) == "'upper' takes text but 'date(dayfirst)' gives typed"
    with pytest.raises(TransformSpecError, match="'upper' takes text but 'split' gives list"):
        parse_chain("split | upper")


def test_chain_kinds_that_fit() -> None:
    """Steps whose kinds meet parse, including through `default` and `lookup` (any)."""
    for spec in ("strip | date", "split | lookup(t) | join", "phone(AU) | join"):
        assert parse_chain(spec).spec == spec
    assert parse_chain("lookup(t) | upper").spec == "lookup(t) | upper"


def test_parse_transform_refuses_a_chain() -> None:
    """parse_transform takes exactly one spec."""
    with pytest.raises(TransformSpecError, match="expected one transform, found a chain"):
        parse_transform("strip | upper")


def test_internal_failure_becomes_a_problem() -> None:
    """Should a body ever raise, the Transform wrapper turns it into a Problem."""
    definition = registry()["text"]

    def broken(value: object, ctx: TransformContext) -> Ok:
        raise RuntimeError("boom")

    t = Transform("text", definition, broken)
    assert t("x", TransformContext()) == Problem(
        "text.internal_error", "text failed unexpectedly (RuntimeError)"
    )


def test_chain_reports_what_it_returns() -> None:
    """A chain's kind is its last step's, so confirm can match it to a field type."""
    assert parse_chain("strip | date(dayfirst)").returns is Kind.TYPED
    assert parse_chain("phone(AU)").returns is Kind.LIST
    assert parse_chain("phone(AU) | join").returns is Kind.TEXT
    assert parse_chain("").returns is Kind.TEXT


def test_result_and_context_types_are_frozen() -> None:
    """Ok, Problem, TransformContext and Chain cannot be changed after creation."""
    for obj, attr in [
        (Ok(1), "value"),
        (Problem("a.b", "m"), "code"),
        (TransformContext(), "timezone"),
        (parse_chain("strip"), "steps"),
    ]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, None)
