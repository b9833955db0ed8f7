"""Contexts and a spec runner shared by the transform tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pdmigrate.transforms import Result, TransformContext, Value, parse_chain

Run = Callable[..., Result]


@pytest.fixture
def au() -> TransformContext:
    """An Australian dental practice: day-first dates, Sydney time, AUD."""
    return TransformContext(
        country="AU",
        timezone="Australia/Sydney",
        currency="AUD",
        date_order="dmy",
        own_email_domain="harbourdental.example.au",
        reference_year=2026,
    )


@pytest.fixture
def us() -> TransformContext:
    """A US practice: month-first dates, New York time, USD."""
    return TransformContext(
        country="US",
        timezone="America/New_York",
        currency="USD",
        date_order="mdy",
        reference_year=2026,
    )


@pytest.fixture
def unknown_order() -> TransformContext:
    """A workspace whose date order is not configured (detect per value)."""
    return TransformContext(country="AU", timezone="Australia/Sydney", reference_year=2026)


@pytest.fixture
def run(au: TransformContext) -> Run:
    """Apply a spec (or chain) to a value, in the AU context unless one is given."""

    def apply(spec: str, value: Value, ctx: TransformContext | None = None) -> Result:
        return parse_chain(spec)(value, ctx or au)

    return apply
