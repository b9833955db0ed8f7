"""The transform contract: results, value types, the context and the registry.

A transform is a pure function ``(value, context) -> Ok | Problem``. It never raises on
bad input: what it cannot turn into a value becomes a :class:`Problem` whose message
names what went wrong and never quotes the row value. Transforms are registered by
name with :func:`register`; a mapping names them as spec strings (``date(dayfirst)``)
that :mod:`pdmigrate.transforms.spec` parses into bound :class:`Transform` objects.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from types import MappingProxyType
from typing import Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from pdmigrate.errors import ConfigError

DateOrder = Literal["dmy", "mdy", "ymd"]


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency; ``to_api()`` gives Pipedrive's monetary field shape."""

    amount: Decimal
    currency: str

    def to_api(self) -> dict[str, object]:
        """The v2 monetary custom-field value: ``{"value": 12.5, "currency": "AUD"}``."""
        return {"value": decimal_to_number(self.amount), "currency": self.currency}


@dataclass(frozen=True, slots=True)
class Phone:
    """One normalised phone number with its Pipedrive label (work/home/mobile/other)."""

    value: str
    label: str
    primary: bool = False

    def to_api(self) -> dict[str, object]:
        """The v2 ``phones[]`` item: ``{"value", "label", "primary"}``."""
        return {"value": self.value, "label": self.label, "primary": self.primary}


Scalar: TypeAlias = (
    str | int | float | Decimal | bool | dt.date | dt.datetime | dt.time | Money | Phone | None
)
#: What flows through a chain: one cell, or a tuple (several columns, a split list, phones).
Value: TypeAlias = Scalar | tuple["Value", ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """A finding: the transform could not produce a value (or a warning beside a value).

    ``code`` is stable and dotted (``date.ambiguous``); ``message`` says what is wrong
    in words and never contains the row's value.
    """

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Ok:
    """A transformed value, with any warnings worth reporting (a truncation, a DST gap)."""

    value: Value
    warnings: tuple[Problem, ...] = ()


Result: TypeAlias = Ok | Problem


class Kind(Enum):
    """Coarse value kinds, used to check at parse time that a chain's steps fit together."""

    TEXT = "text"
    LIST = "list"
    TYPED = "typed"
    ANY = "any"


def _this_year() -> int:
    return dt.datetime.now(dt.UTC).year


@dataclass(frozen=True, slots=True)
class TransformContext:
    """The practice's facts that transforms need, built once per workspace.

    ``country`` is the ISO 3166 region phones default to, ``timezone`` the IANA zone
    of the practice's local times, ``date_order`` the export's day/month order (None
    means detect per value and report ambiguity), ``own_email_domain`` the practice's
    domain (addresses on it are placeholders), ``decimal_separator`` the locale's, and
    ``reference_year`` anchors two-digit years. ``tables`` holds the mapping's value
    maps for ``lookup``.
    """

    country: str = "US"
    timezone: str = "UTC"
    currency: str = "USD"
    date_order: DateOrder | None = None
    own_email_domain: str | None = None
    decimal_separator: Literal[".", ","] = "."
    reference_year: int = field(default_factory=_this_year)
    tables: Mapping[str, Mapping[str, Value]] = field(default_factory=lambda: MappingProxyType({}))


_COUNTRY_CURRENCY = {"AU": "AUD", "US": "USD", "NZ": "NZD", "CA": "CAD", "GB": "GBP", "BR": "BRL"}
_COUNTRY_CURRENCY |= dict.fromkeys(("DE", "FR", "ES", "IT", "NL", "BE", "AT", "PT", "IE"), "EUR")
_COMMA_DECIMAL_COUNTRIES = frozenset({"DE", "FR", "ES", "IT", "NL", "BE", "AT", "PT", "BR"})


def make_context(
    *,
    country: str,
    timezone: str,
    currency: str | None = None,
    date_order: str | None = None,
    own_email_domain: str | None = None,
    decimal_separator: str | None = None,
    tables: Mapping[str, Mapping[str, Value]] | None = None,
    reference_year: int | None = None,
) -> TransformContext:
    """A checked context from workspace settings; a bad setting is a ConfigError naming it.

    The currency and decimal separator default from the country (AU -> AUD and ``.``);
    ``date_order`` takes ``dmy``/``mdy``/``ymd`` or ``dayfirst``/``monthfirst``.
    """
    code = country.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"country '{country}' is not an ISO 3166 region code (AU, US...)")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"timezone '{timezone}' is not an IANA time zone", hint="e.g. Australia/Sydney"
        ) from None
    money = (currency or _COUNTRY_CURRENCY.get(code, "")).strip().upper()
    if not (len(money) == 3 and money.isalpha()):
        raise ConfigError(f"currency '{currency or ''}' is not a 3-letter ISO 4217 code")
    orders: dict[str, DateOrder] = {
        "dmy": "dmy",
        "dayfirst": "dmy",
        "mdy": "mdy",
        "monthfirst": "mdy",
        "ymd": "ymd",
    }
    order: DateOrder | None = None
    if date_order:
        if date_order.lower() not in orders:
            raise ConfigError(f"date_order '{date_order}' is not one of dmy, mdy, ymd")
        order = orders[date_order.lower()]
    sep = decimal_separator or ("," if code in _COMMA_DECIMAL_COUNTRIES else ".")
    if sep not in (".", ","):
        raise ConfigError(f"decimal separator '{sep}' is neither '.' nor ','")
    domain = own_email_domain.strip().lower().lstrip("@") if own_email_domain else None
    return TransformContext(
        country=code,
        timezone=timezone,
        currency=money,
        date_order=order,
        own_email_domain=domain or None,
        decimal_separator="," if sep == "," else ".",
        reference_year=reference_year if reference_year is not None else _this_year(),
        tables=MappingProxyType(dict(tables or {})),
    )


def to_json(value: Value) -> object:
    """A transform result in JSON terms: ISO dates, ``Z`` datetimes, numbers, API shapes.

    Dates are ``YYYY-MM-DD``, UTC datetimes ``YYYY-MM-DDTHH:MM:SSZ``, times
    ``HH:MM:SS``, Decimals numbers, Money and Phone their Pipedrive shapes, lists lists.
    """
    if isinstance(value, tuple):
        return [to_json(v) for v in value]
    if isinstance(value, Money | Phone):
        return value.to_api()
    if isinstance(value, Decimal):
        return decimal_to_number(value) if value.is_finite() else None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return value.isoformat(timespec="seconds") + "Z"
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None).isoformat(timespec="seconds")
    return value


#: A bound transform body: parameters are already parsed and checked.
Body: TypeAlias = Callable[[Value, TransformContext], Result]


class TransformSpecError(ConfigError):
    """A transform spec in a mapping is malformed, unknown or has a bad parameter."""


@dataclass(frozen=True, slots=True)
class Args:
    """The parsed arguments of one spec: positional values and ``key=value`` options."""

    positional: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()

    def option(self, key: str) -> str | None:
        """The value of option ``key``, or None when absent."""
        for k, v in self.options:
            if k == key:
                return v
        return None


@dataclass(frozen=True, slots=True)
class TransformDef:
    """A registered transform: its name, how to bind parameters, and its value kinds."""

    name: str
    signature: str
    summary: str
    factory: Callable[[Args, str], Body]
    accepts: frozenset[Kind]
    returns: Kind


_REGISTRY: dict[str, TransformDef] = {}


def register(
    name: str,
    *,
    signature: str,
    summary: str,
    accepts: Sequence[Kind] = (Kind.TEXT,),
    returns: Kind = Kind.TEXT,
) -> Callable[[Callable[[Args, str], Body]], Callable[[Args, str], Body]]:
    """Register a transform factory under ``name``.

    The factory receives the parsed :class:`Args` and the spec text (for error
    messages), raises :class:`TransformSpecError` for bad parameters, and returns the
    bound body.
    """

    def deco(factory: Callable[[Args, str], Body]) -> Callable[[Args, str], Body]:
        if name in _REGISTRY:
            raise ValueError(f"transform {name!r} registered twice")
        _REGISTRY[name] = TransformDef(
            name, signature, summary, factory, frozenset(accepts), returns
        )
        return factory

    return deco


def registry() -> Mapping[str, TransformDef]:
    """Every registered transform by name (read-only)."""
    return MappingProxyType(_REGISTRY)


@dataclass(frozen=True, slots=True)
class Transform:
    """A transform bound to its parameters, as written in a mapping (``spec``)."""

    spec: str
    definition: TransformDef
    body: Body = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        """The registered name (``date`` for ``date(dayfirst)``)."""
        return self.definition.name

    def __call__(self, value: Value, ctx: TransformContext) -> Result:
        """Apply to one value; never raises (an internal failure becomes a Problem)."""
        try:
            return self.body(value, ctx)
        except Exception as exc:  # the contract: a transform never raises on data
            return Problem(
                f"{self.name}.internal_error",
                f"{self.spec} failed unexpectedly ({type(exc).__name__})",
            )


@dataclass(frozen=True, slots=True)
class Chain:
    """A column's transforms, applied in order; the first Problem stops the chain."""

    steps: tuple[Transform, ...] = ()

    @property
    def spec(self) -> str:
        """The chain written back as a spec string (``strip | date(dayfirst)``)."""
        return " | ".join(t.spec for t in self.steps)

    @property
    def returns(self) -> Kind:
        """The kind of value the chain gives (its last step's; text when empty)."""
        return self.steps[-1].definition.returns if self.steps else Kind.TEXT

    def __call__(self, value: Value, ctx: TransformContext) -> Result:
        """Run every step in order, keeping the warnings of each."""
        warnings: list[Problem] = []
        for step in self.steps:
            result = step(value, ctx)
            if isinstance(result, Problem):
                return result
            warnings.extend(result.warnings)
            value = result.value
        return Ok(value, tuple(warnings))


# --- small helpers shared by the transform modules ---------------------------------


def is_blank(value: Value) -> bool:
    """None, or a string of only whitespace: the cell is empty."""
    return value is None or (isinstance(value, str) and not value.strip())


def wrong_type(name: str, expected: str) -> Problem:
    """The Problem for a value of a kind the transform does not take."""
    return Problem(f"{name}.wrong_type", f"{name} expects {expected}")


def decimal_to_number(amount: Decimal) -> int | float:
    """A Decimal as the JSON number Pipedrive takes (int when whole)."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


def spec_error(spec: str, message: str) -> TransformSpecError:
    """A TransformSpecError naming the spec it comes from."""
    return TransformSpecError(f"{message} in transform '{spec}'")


def no_args(name: str) -> Callable[[Args, str], None]:
    """A checker for transforms that take no parameters."""

    def check(args: Args, spec: str) -> None:
        if args.positional or args.options:
            raise spec_error(spec, f"{name} takes no parameters")

    return check


def check_args(
    args: Args,
    spec: str,
    *,
    max_positional: int = 0,
    keys: Sequence[str] = (),
) -> None:
    """Refuse more positional parameters than ``max_positional`` or unknown options."""
    if len(args.positional) > max_positional:
        if max_positional == 0:
            raise spec_error(spec, "no positional parameter is taken")
        raise spec_error(spec, f"at most {max_positional} positional parameter(s) are taken")
    for key, _ in args.options:
        if key not in keys:
            allowed = ", ".join(keys) if keys else "none"
            raise spec_error(spec, f"unknown option '{key}' (allowed: {allowed})")


def choice(value: str, allowed: Sequence[str], spec: str, what: str) -> str:
    """``value`` if it is one of ``allowed`` (case-insensitive), else a spec error."""
    low = value.lower()
    if low in allowed:
        return low
    close = difflib.get_close_matches(low, list(allowed), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise spec_error(
        spec, f"unknown {what} '{value}' (expected one of: {', '.join(allowed)}{hint})"
    )
