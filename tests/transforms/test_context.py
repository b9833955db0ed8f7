"""make_context (checked workspace settings) and to_json (results in API terms)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pdmigrate.errors import ConfigError
from pdmigrate.transforms import Money, Phone, TransformContext, make_context, to_json


def test_make_context_defaults_from_country() -> None:
    """AU gives AUD and a dot decimal; the own domain is normalised."""
    ctx = make_context(
        country="au",
        timezone="Australia/Sydney",
        date_order="dayfirst",
        own_email_domain="@HarbourDental.com.au ",
        reference_year=2026,
    )
    assert ctx == TransformContext(
        country="AU",
        timezone="Australia/Sydney",
        currency="AUD",
        date_order="dmy",
        own_email_domain="harbourdental.com.au",
        decimal_separator=".",
        reference_year=2026,
    )


def test_make_context_comma_locale_and_tables() -> None:
    """A comma-decimal country gets ',' unless told otherwise; tables are kept read-only."""
    ctx = make_context(country="DE", timezone="Europe/Berlin", tables={"s": {"A": 1}})
    assert (ctx.currency, ctx.decimal_separator, dict(ctx.tables)) == ("EUR", ",", {"s": {"A": 1}})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"country": "XX", "timezone": "UTC"}, "country 'XX' is not an ISO 3166 region code"),
        ({"country": "AU", "timezone": "Australia/Sydny"}, "'Australia/Sydny' is not an IANA"),
        ({"country": "AU", "timezone": "UTC", "currency": "dollars"}, "currency 'dollars'"),
        ({"country": "JP", "timezone": "Asia/Tokyo"}, "currency '' is not a 3-letter"),
        ({"country": "AU", "timezone": "UTC", "date_order": "dm"}, "date_order 'dm'"),
        ({"country": "AU", "timezone": "UTC", "decimal_separator": ";"}, "separator ';'"),
    ],
)
def test_make_context_refuses_bad_settings(settings: dict[str, str], message: str) -> None:
    """Each bad setting is a ConfigError naming the setting and its value."""
    with pytest.raises(ConfigError, match=message):
        make_context(**settings)


def test_to_json_shapes() -> None:
    """Results render as Pipedrive takes them."""
    assert to_json(dt.date(2024, 3, 5)) == "2024-03-05"
    assert to_json(dt.datetime(2024, 3, 4, 22, 30, tzinfo=dt.UTC)) == "2024-03-04T22:30:00Z"
    assert to_json(dt.time(9, 30)) == "09:30:00"
    assert to_json(Decimal("1234.50")) == 1234.5
    assert to_json(Decimal("12.00")) == 12
    assert to_json(Money(Decimal("99.95"), "AUD")) == {"value": 99.95, "currency": "AUD"}
    assert to_json((Phone("+61412345678", "mobile", True),)) == [
        {"value": "+61412345678", "label": "mobile", "primary": True}
    ]
    assert to_json(True) is True
    assert to_json(None) is None
