"""Header matching beyond the profile's aliases: abbreviations, plurals, domain synonyms."""

from __future__ import annotations

import pytest

from pdmigrate.mapping.headers import canonical, match_headers
from pdmigrate.profiles import list_profiles, load_profile


@pytest.mark.parametrize(
    ("header", "folded"),
    [
        ("Booking Ref", "appointment number"),
        ("Referred From", "referring source"),
        ("Treatment Plan Date", "planned date"),
        ("Responsible Lawyer", "responsible timekeeper"),
        ("Procedure Codes", "procedure code"),
        ("Status", "status"),
        ("Address", "address"),
        ("Closing Date", "close date"),
    ],
)
def test_canonical_folds_abbreviations_plurals_and_synonyms(header: str, folded: str) -> None:
    """Headers fold word by word; plurals lose their s, but status/address keep theirs."""
    assert canonical(header) == folded


@pytest.mark.parametrize(
    ("system", "obj", "header", "column"),
    [
        ("visualpractice", "appointments", "Booking Ref", "Appointment ID"),
        ("visualpractice", "clients", "Referrer", "Referral Source"),
        ("practicemaster", "cmclient", "Primary Attorney", "Prim_Tkpr"),
        ("practicebynumbers", "kpis", "Indicator", "Metric"),
        ("practicebynumbers", "treatment_plans", "Charge", "Fee"),
    ],
)
def test_renamed_header_finds_its_column(system: str, obj: str, header: str, column: str) -> None:
    """A renamed header among the documented ones maps to the column it stands for."""
    source = load_profile(system).object(obj)
    headers = [header if c.name == column else c.name for c in source.columns]
    assert match_headers(source, headers)[header].column == column


def test_no_two_documented_columns_fold_alike() -> None:
    """The synonyms never make two documented column names of one object equal."""
    clashes = []
    for name in list_profiles():
        for obj in load_profile(name).objects:
            folded = [canonical(c.name) for c in obj.columns]
            clashes += [(name, obj.name, f) for f in set(folded) if folded.count(f) > 1]
    assert clashes == []
