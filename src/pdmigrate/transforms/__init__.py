"""The closed set of named value transforms that mapping.yaml uses.

A transform is pure and never raises on bad data: it returns :class:`Ok` (a value,
perhaps with warnings) or :class:`Problem` (a finding whose message never quotes the
value). Specs as written in a mapping are parsed with :func:`parse_transform` and
:func:`parse_chain`; :func:`registry` lists every name. ``docs/transforms.md`` is the
reference, kept in step with the registry by a test.

Example::

    ctx = TransformContext(country="AU", timezone="Australia/Sydney", currency="AUD")
    parse_chain("strip | date(dayfirst)")(" 05/03/2024 ", ctx)  # Ok(date(2024, 3, 5))
"""

from __future__ import annotations

from pdmigrate.transforms import contact, dates, html, numbers, text
from pdmigrate.transforms.contact import Name, parse_name
from pdmigrate.transforms.core import (
    Args,
    Chain,
    DateOrder,
    Kind,
    Money,
    Ok,
    Phone,
    Problem,
    Result,
    Transform,
    TransformContext,
    TransformDef,
    TransformSpecError,
    Value,
    make_context,
    registry,
    to_json,
)
from pdmigrate.transforms.dates import DateOrderEvidence, detect_date_order, localise
from pdmigrate.transforms.spec import parse_chain, parse_transform

__all__ = [
    "Args",
    "Chain",
    "DateOrder",
    "DateOrderEvidence",
    "Kind",
    "Money",
    "Name",
    "Ok",
    "Phone",
    "Problem",
    "Result",
    "Transform",
    "TransformContext",
    "TransformDef",
    "TransformSpecError",
    "Value",
    "contact",
    "dates",
    "detect_date_order",
    "html",
    "localise",
    "make_context",
    "numbers",
    "parse_chain",
    "parse_name",
    "parse_transform",
    "registry",
    "text",
    "to_json",
]
