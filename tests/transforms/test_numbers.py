"""money, decimal, int and bool: locales, negatives, currencies and yes/no spellings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pdmigrate.transforms import Money, Ok, Problem, TransformContext

AUD = "AUD"


@pytest.mark.parametrize(
    ("raw", "amount"),
    [
        ("$1,234.50", "1234.50"),
        ("1234.5", "1234.5"),
        ("A$ 99", "99"),
        ("AUD 1,000,000.00", "1000000.00"),
        ("1,234.50 AUD", "1234.50"),
        ("(12.00)", "-12.00"),
        ("($12.00)", "-12.00"),
        ("-$5", "-5"),
        ("12.00-", "-12.00"),
        ("1.234,50", "1234.50"),
        ("0", "0"),
        (".5", "0.5"),
    ],
)
def test_money_au(run, raw: str, amount: str) -> None:
    """AUD amounts read exactly as Decimals, with accounting negatives."""
    assert run("money(AUD)", raw) == Ok(Money(Decimal(amount), AUD))


def test_money_from_numbers(run) -> None:
    """Numeric cells keep their exact value (no float noise)."""
    assert run("money(AUD)", 0.1) == Ok(Money(Decimal("0.1"), AUD))
    assert run("money(AUD)", 12) == Ok(Money(Decimal("12"), AUD))


def test_money_number_mode(run) -> None:
    """money(AUD, number) gives the bare amount for a deal's value."""
    assert run("money(AUD, number)", "$1,234.50") == Ok(Decimal("1234.50"))


def test_money_currency_from_context(run, us) -> None:
    """`money` without a code uses the workspace currency."""
    assert run("money", "$10", us) == Ok(Money(Decimal("10"), "USD"))


def test_money_to_api_shape() -> None:
    """Money.to_api is the v2 monetary field value."""
    assert Money(Decimal("1234.50"), AUD).to_api() == {"value": 1234.5, "currency": "AUD"}
    assert Money(Decimal("500.00"), "USD").to_api() == {"value": 500, "currency": "USD"}


def test_decimal_comma_locale(run) -> None:
    """Where the locale's decimal separator is a comma, 1.234,50 and 12,5 read that way."""
    ctx = TransformContext(currency="EUR", decimal_separator=",")
    assert run("money", "1.234,50 €", ctx) == Ok(Money(Decimal("1234.50"), "EUR"))
    assert run("money", "12,5", ctx) == Ok(Money(Decimal("12.5"), "EUR"))
    assert run("money", "1.234", ctx) == Ok(Money(Decimal("1234"), "EUR"))
    assert run("money(EUR, decimal=comma)", "12,5") == Ok(Money(Decimal("12.5"), "EUR"))


def test_separator_not_matching_locale(run) -> None:
    """12,50 in a dot locale is a finding, not 1250."""
    result = run("money(AUD)", "12,50")
    assert isinstance(result, Problem)
    assert result.code == "money.ambiguous_separator"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("USD 12", "money.currency_mismatch"),
        ("€12", "money.currency_mismatch"),
        ("12%", "money.unparseable"),
        ("twelve", "money.unparseable"),
        ("TBA", "money.unparseable"),
        ("1,23,4.00", "money.unparseable"),
        ("1.2.3", "money.unparseable"),
        ("$", "money.unparseable"),
    ],
)
def test_money_findings(run, raw: str, code: str) -> None:
    """Foreign currencies, percentages and non-numbers are Problems without the value."""
    result = run("money(AUD)", raw)
    assert isinstance(result, Problem)
    assert result.code == code
    assert raw not in result.message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("80%", Decimal("80")),
        ("12.345", Decimal("12.345")),
        ("-0.5", Decimal("-0.5")),
        ("1,234.5", Decimal("1234.5")),
        ("1.5E+3", Decimal("1.5E+3")),
    ],
)
def test_decimal(run, raw: str, expected: Decimal) -> None:
    """decimal reads plain numbers and percentages as written."""
    assert run("decimal", raw) == Ok(expected)


@pytest.mark.parametrize(
    ("raw", "expected"), [("12", 12), ("12.0", 12), ("1,234", 1234), ("-7", -7), (3.0, 3)]
)
def test_int(run, raw: object, expected: int) -> None:
    """int reads whole numbers, including 12.0 and grouped thousands."""
    assert run("int", raw) == Ok(expected)


def test_int_fraction_is_a_finding(run) -> None:
    """int refuses 12.5 rather than rounding it."""
    assert run("int", "12.5") == Problem("int.fraction", "a whole number was expected")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Y", True),
        ("n", False),
        ("Yes", True),
        ("NO", False),
        ("1", True),
        ("0", False),
        ("-1", True),
        ("True", True),
        ("false", False),
        ("T", True),
        ("F", False),
        ("X", True),
        ("x", True),
        (1, True),
        (0, False),
        (True, True),
    ],
)
def test_bool(run, raw: object, expected: bool) -> None:
    """Every yes/no spelling the exports use reads as a bool."""
    assert run("bool", raw) == Ok(expected)


def test_bool_findings(run) -> None:
    """Unknown words are bool.unrecognised; blank is empty, not False."""
    assert run("bool", "maybe") == Problem("bool.unrecognised", "not a yes/no value")
    assert run("bool", "") == Ok(None)
    assert run("default(N) | bool", "") == Ok(False)


@pytest.mark.parametrize("raw", ["1E+999999999", "9" * 40, 1e308])
def test_huge_numbers_are_out_of_range(run, raw: object) -> None:
    """Absurd magnitudes are findings, so nothing downstream builds a billion-digit int."""
    assert run("decimal", raw) == Problem("decimal.out_of_range", "more than 30 digits")
    result = run("int", raw)
    assert isinstance(result, Problem)
    assert result.code == "int.out_of_range"
