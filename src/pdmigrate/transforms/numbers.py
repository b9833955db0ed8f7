"""Number transforms: money, decimal, int and bool.

Numbers are read as the practice's locale writes them: ``1,234.50`` where the decimal
separator is ``.`` (AU, US), ``1.234,50`` where it is ``,``. When both separators
appear, the last one is the decimal point whatever the locale. Negatives may be
written ``-12``, ``12-`` or ``(12.00)``. A lone separator that does not fit the locale
(``12,5`` in a ``.`` locale) is a finding, not a guess.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Literal

from pdmigrate.transforms.core import (
    Args,
    Body,
    Kind,
    Money,
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

Sep = Literal[".", ","]

_SYMBOLS: dict[str, tuple[str, ...]] = {
    "A$": ("AUD",),
    "AU$": ("AUD",),
    "US$": ("USD",),
    "NZ$": ("NZD",),
    "C$": ("CAD",),
    "CA$": ("CAD",),
    "S$": ("SGD",),
    "HK$": ("HKD",),
    "$": ("AUD", "USD", "NZD", "CAD", "SGD", "HKD"),
    "€": ("EUR",),
    "£": ("GBP",),
    "¥": ("JPY", "CNY"),
}
_SYMBOL_RE = re.compile(r"A\$|AU\$|US\$|NZ\$|CA?\$|S\$|HK\$|\$|€|£|¥")
_CODE_RE = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_PLAIN = re.compile(r"\d+(?:[.,]\d*)?|[.,]\d+")
_MAX_NUMBER_TEXT = 64
_MAX_DIGITS = 30  # no practice amount or count needs more; huge exponents stay bounded
_EXPONENT = re.compile(r"\d+(?:\.\d+)?[eE][+-]?\d+")


def _grouped(text: str, group: str, dec: str | None) -> bool:
    pattern = r"\d{1,3}(?:" + re.escape(group) + r"\d{3})+"
    if dec is not None:
        pattern += r"(?:" + re.escape(dec) + r"\d*)?"
    return re.fullmatch(pattern, text) is not None


def parse_number(text: str, decimal_sep: Sep, name: str) -> Decimal | Problem:
    """Read a plain number (no currency) as the locale writes it; a Problem if it is not one."""
    if len(text) > _MAX_NUMBER_TEXT:
        return Problem(f"{name}.unparseable", f"more than {_MAX_NUMBER_TEXT} characters")
    t = text.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    t = t.replace("'", "")
    negative = False
    if t.startswith("(") and t.endswith(")"):
        negative, t = True, t[1:-1]
    if t.startswith(("-", "−")):
        negative, t = not negative, t[1:]
    elif t.startswith("+"):
        t = t[1:]
    elif t.endswith("-"):
        negative, t = not negative, t[:-1]
    if not t:
        return Problem(f"{name}.unparseable", "not a number")
    if _EXPONENT.fullmatch(t):
        number = Decimal(t)
        if number and not -_MAX_DIGITS <= number.adjusted() <= _MAX_DIGITS:
            return Problem(f"{name}.out_of_range", f"more than {_MAX_DIGITS} digits")
        return -number if negative else number
    has_dot, has_comma = "." in t, "," in t
    if has_dot and has_comma:
        dec = "." if t.rfind(".") > t.rfind(",") else ","
        grp = "," if dec == "." else "."
        if not _grouped(t, grp, dec):
            return Problem(f"{name}.unparseable", "digit grouping is not in threes")
        t = t.replace(grp, "").replace(dec, ".")
    elif has_dot or has_comma:
        sep = "." if has_dot else ","
        if sep == decimal_sep and t.count(sep) == 1:
            t = t.replace(sep, ".")
        elif _grouped(t, sep, None):
            t = t.replace(sep, "")
        elif t.count(sep) > 1:
            return Problem(f"{name}.unparseable", "more than one decimal separator")
        else:
            return Problem(
                f"{name}.ambiguous_separator",
                f"'{sep}' is not the decimal separator of this locale and does not group "
                "thousands; set decimal=comma or decimal=dot",
            )
    if not _PLAIN.fullmatch(t):
        return Problem(f"{name}.unparseable", "not a number")
    try:
        number = Decimal(t)
    except InvalidOperation:
        return Problem(f"{name}.unparseable", "not a number")
    if number and number.adjusted() > _MAX_DIGITS:
        return Problem(f"{name}.out_of_range", f"more than {_MAX_DIGITS} digits")
    return -number if negative else number


def _decimal_option(args: Args, spec: str) -> Sep | None:
    word = args.option("decimal")
    if word is None:
        return None
    return "," if choice(word, ("comma", "dot"), spec, "decimal separator") == "comma" else "."


def _from_value(value: Value, sep: Sep, name: str) -> Decimal | Problem:
    if isinstance(value, bool):
        return wrong_type(name, "a number")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        return parse_number(value, sep, name)
    else:
        return wrong_type(name, "a number")
    if not number.is_finite():
        return Problem(f"{name}.unparseable", "not a finite number")
    if number and number.adjusted() > _MAX_DIGITS:
        return Problem(f"{name}.out_of_range", f"more than {_MAX_DIGITS} digits")
    return number


@register(
    "money",
    signature="money[(CURRENCY[, number])][(decimal=comma|dot)]",
    summary="An amount: {value, currency} for monetary fields, or a bare number with 'number'.",
    accepts=(Kind.TEXT, Kind.TYPED),
    returns=Kind.TYPED,
)
def _money(args: Args, spec: str) -> Body:
    check_args(args, spec, max_positional=2, keys=("decimal",))
    fixed: str | None = None
    as_number = False
    for word in args.positional:
        if word.lower() == "number":
            as_number = True
        elif re.fullmatch(r"[A-Za-z]{3}", word) and fixed is None:
            fixed = word.upper()
        else:
            raise spec_error(spec, f"'{word}' is neither a currency code (AUD) nor 'number'")
    dec = _decimal_option(args, spec)

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        currency = fixed or ctx.currency.upper()
        if isinstance(value, str):
            text = value.strip()
            codes = set(_CODE_RE.findall(text))
            text = _CODE_RE.sub("", text)
            symbols = _SYMBOL_RE.findall(text)
            text = _SYMBOL_RE.sub("", text)
            if "%" in text:
                return Problem("money.unparseable", "a percentage is not an amount")
            number = parse_number(text, dec or ctx.decimal_separator, "money")
            if isinstance(number, Problem):
                return number
            foreign = any(code != currency for code in codes) or any(
                currency not in _SYMBOLS.get(sym, ()) for sym in symbols
            )
            if foreign:
                return Problem("money.currency_mismatch", f"amount is not in {currency}")
        else:
            number = _from_value(value, dec or ctx.decimal_separator, "money")
        if isinstance(number, Problem):
            return number
        return Ok(number if as_number else Money(number, currency))

    return body


@register(
    "decimal",
    signature="decimal[(decimal=comma|dot)]",
    summary="A number with a fractional part; a trailing % is dropped (80% -> 80).",
    accepts=(Kind.TEXT, Kind.TYPED),
    returns=Kind.TYPED,
)
def _decimal(args: Args, spec: str) -> Body:
    check_args(args, spec, keys=("decimal",))
    dec = _decimal_option(args, spec)

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        if isinstance(value, str):
            value = value.strip().removesuffix("%")
        number = _from_value(value, dec or ctx.decimal_separator, "decimal")
        return number if isinstance(number, Problem) else Ok(number)

    return body


@register(
    "int",
    signature="int",
    summary="A whole number (12, 12.0, 1,234); a fraction is a finding.",
    accepts=(Kind.TEXT, Kind.TYPED),
    returns=Kind.TYPED,
)
def _int(args: Args, spec: str) -> Body:
    no_args("int")(args, spec)

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        number = _from_value(value, ctx.decimal_separator, "int")
        if isinstance(number, Problem):
            return number
        if number != number.to_integral_value():
            return Problem("int.fraction", "a whole number was expected")
        if abs(number) >= 10**18:
            return Problem("int.too_large", "number too large for a whole-number field")
        return Ok(int(number))

    return body


_TRUE = frozenset({"y", "yes", "true", "t", "1", "-1", "x", "on", "checked", "✓", "✔"})
_FALSE = frozenset({"n", "no", "false", "f", "0", "off", "unchecked"})


@register(
    "bool",
    signature="bool",
    summary="Yes/No: Y/N, Yes/No, 1/0, -1, True/False, T/F, On/Off, X (checked).",
    accepts=(Kind.TEXT, Kind.TYPED),
    returns=Kind.TYPED,
)
def _bool(args: Args, spec: str) -> Body:
    no_args("bool")(args, spec)

    def body(value: Value, ctx: TransformContext) -> Result:
        if is_blank(value):
            return Ok(None)
        if isinstance(value, bool):
            return Ok(value)
        if isinstance(value, int | float | Decimal):
            if isinstance(value, Decimal) and not value.is_finite():
                return Problem("bool.unrecognised", "not a yes/no value")
            if value in (1, -1):
                return Ok(True)
            if value == 0:
                return Ok(False)
            return Problem("bool.unrecognised", "not a yes/no value")
        if not isinstance(value, str):
            return wrong_type("bool", "text or a number")
        word = value.strip().lower().rstrip(".")
        if word in _TRUE:
            return Ok(True)
        if word in _FALSE:
            return Ok(False)
        return Problem("bool.unrecognised", "not a yes/no value")

    return body
