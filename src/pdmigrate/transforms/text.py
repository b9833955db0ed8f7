"""Text transforms: text, strip, upper, lower, truncate, default, concat, join, split, lookup."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal

from pdmigrate.transforms.core import (
    Args,
    Body,
    Kind,
    Money,
    Ok,
    Phone,
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

_EDGE_JUNK = " \t\r\n\f\v\u00a0\ufeff\u200b"


def to_text(value: Value) -> str | None:
    """A scalar as text (numbers without a spurious ``.0``, dates in ISO); None if a list."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Money):
        return f"{format(value.amount, 'f')} {value.currency}"
    if isinstance(value, Phone):
        return value.value
    return None


def _items(value: Value) -> tuple[Value, ...]:
    return value if isinstance(value, tuple) else (value,)


@register(
    "text",
    signature="text",
    summary="Keep the value exactly as exported (numbers and dates written as text).",
    accepts=(Kind.TEXT, Kind.TYPED),
)
def _text(args: Args, spec: str) -> Body:
    no_args("text")(args, spec)

    def body(value: Value, ctx: TransformContext) -> Result:
        if value is None:
            return Ok(None)
        out = to_text(value)
        return Ok(out) if out is not None else wrong_type("text", "one value, not a list")

    return body


def _str_body(name: str) -> Body:
    def body(value: Value, ctx: TransformContext) -> Result:
        if value is None:
            return Ok(None)
        if not isinstance(value, str):
            return wrong_type(name, "text")
        if name == "strip":
            out = value.strip(_EDGE_JUNK)
            return Ok(out or None)
        return Ok(value.upper() if name == "upper" else value.lower())

    return body


@register("strip", signature="strip", summary="Trim surrounding whitespace; blank becomes empty.")
def _strip(args: Args, spec: str) -> Body:
    no_args("strip")(args, spec)
    return _str_body("strip")


@register("upper", signature="upper", summary="Upper-case the text.")
def _upper(args: Args, spec: str) -> Body:
    no_args("upper")(args, spec)
    return _str_body("upper")


@register("lower", signature="lower", summary="Lower-case the text.")
def _lower(args: Args, spec: str) -> Body:
    no_args("lower")(args, spec)
    return _str_body("lower")


@register(
    "truncate",
    signature="truncate(N)",
    summary="Cut text to at most N characters, with a warning when it cuts.",
)
def _truncate(args: Args, spec: str) -> Body:
    check_args(args, spec, max_positional=1)
    if len(args.positional) != 1 or not args.positional[0].isdigit():
        raise spec_error(spec, "truncate needs a whole number of characters, e.g. truncate(255)")
    limit = int(args.positional[0])
    if limit < 1:
        raise spec_error(spec, "truncate needs at least 1 character")

    def body(value: Value, ctx: TransformContext) -> Result:
        if value is None:
            return Ok(None)
        if not isinstance(value, str):
            return wrong_type("truncate", "text")
        if len(value) <= limit:
            return Ok(value)
        warning = Problem("text.truncated", f"text cut to {limit} characters from {len(value)}")
        return Ok(value[:limit], (warning,))

    return body


@register(
    "default",
    signature="default(VALUE)",
    summary="Use VALUE when the cell (or every column) is empty.",
    accepts=(Kind.ANY,),
    returns=Kind.ANY,
)
def _default(args: Args, spec: str) -> Body:
    check_args(args, spec, max_positional=1)
    if len(args.positional) != 1:
        raise spec_error(spec, 'default needs one value, e.g. default(Unknown) or default("")')
    fallback = args.positional[0]

    def body(value: Value, ctx: TransformContext) -> Result:
        if all(is_blank(v) for v in _items(value)):
            return Ok(fallback)
        return Ok(value)

    return body


def _sep(args: Args, spec: str, default: str) -> str:
    check_args(args, spec, max_positional=1)
    return args.positional[0] if args.positional else default


@register(
    "concat",
    signature='concat(SEP=" ")',
    summary="Join several columns in their order, skipping empty ones.",
    accepts=(Kind.LIST, Kind.TEXT, Kind.TYPED),
)
def _concat(args: Args, spec: str) -> Body:
    sep = _sep(args, spec, " ")

    def body(value: Value, ctx: TransformContext) -> Result:
        parts: list[str] = []
        for item in _items(value):
            if is_blank(item):
                continue
            text = to_text(item)
            if text is None:
                return wrong_type("concat", "columns of single values")
            parts.append(text.strip(_EDGE_JUNK))
        return Ok(sep.join(parts) if parts else None)

    return body


@register(
    "join",
    signature='join(SEP=", ")',
    summary="Join a list (split cell, rollup, phones) into text, dropping blanks and repeats.",
    accepts=(Kind.LIST, Kind.TEXT, Kind.TYPED),
)
def _join(args: Args, spec: str) -> Body:
    sep = _sep(args, spec, ", ")

    def body(value: Value, ctx: TransformContext) -> Result:
        parts: list[str] = []
        for item in _items(value):
            if is_blank(item):
                continue
            text = to_text(item)
            if text is None:
                return wrong_type("join", "a flat list")
            text = text.strip(_EDGE_JUNK)
            if text not in parts:
                parts.append(text)
        return Ok(sep.join(parts) if parts else None)

    return body


_DEFAULT_SPLIT = re.compile(r"[;|\r\n]+")


@register(
    "split",
    signature="split(SEP)",
    summary="Split a multi-value cell into a list; default separators are ; | and newline.",
    returns=Kind.LIST,
)
def _split(args: Args, spec: str) -> Body:
    check_args(args, spec, max_positional=1)
    pattern = re.compile(re.escape(args.positional[0])) if args.positional else _DEFAULT_SPLIT
    if args.positional and not args.positional[0]:
        raise spec_error(spec, "split needs a non-empty separator")

    def body(value: Value, ctx: TransformContext) -> Result:
        if value is None:
            return Ok(None)
        if not isinstance(value, str):
            return wrong_type("split", "text")
        parts = tuple(p.strip(_EDGE_JUNK) for p in pattern.split(value))
        kept = tuple(p for p in parts if p)
        return Ok(kept or None)

    return body


def normalise_key(text: str) -> str:
    """A value-map key as compared by ``lookup``: case-folded, inner spaces collapsed."""
    return " ".join(text.split()).casefold()


@register(
    "lookup",
    signature="lookup(TABLE[, keep])",
    summary="Map a value through a value map of the mapping (case and spacing ignored).",
    accepts=(Kind.TEXT, Kind.TYPED, Kind.LIST),
    returns=Kind.ANY,
)
def _lookup(args: Args, spec: str) -> Body:
    check_args(args, spec, max_positional=2)
    if not args.positional:
        raise spec_error(spec, "lookup needs a table name, e.g. lookup(status)")
    table_name = args.positional[0]
    keep = (
        len(args.positional) == 2 and choice(args.positional[1], ("keep",), spec, "mode") == "keep"
    )

    def one(item: Value, table: dict[str, Value]) -> Result:
        key = "" if item is None else to_text(item)
        if key is None:
            return wrong_type("lookup", "single values")
        norm = normalise_key(key)
        if norm in table:
            return Ok(table[norm])
        if not norm:
            return Ok(None)
        if keep:
            return Ok(
                item,
                (Problem("lookup.unmapped", f"value not in table '{table_name}', kept as is"),),
            )
        return Problem("lookup.unmapped", f"value not in table '{table_name}'")

    # The normalised table, rebuilt only when the context hands over a different map.
    cache: list[tuple[object, dict[str, Value]]] = []

    def normalised(source: Mapping[str, Value]) -> dict[str, Value]:
        if cache and cache[0][0] is source:
            return cache[0][1]
        table = {normalise_key(k): v for k, v in source.items()}
        cache[:] = [(source, table)]
        return table

    def body(value: Value, ctx: TransformContext) -> Result:
        source = ctx.tables.get(table_name)
        if source is None:
            return Problem("lookup.no_table", f"no value map named '{table_name}'")
        table = normalised(source)
        if not isinstance(value, tuple):
            return one(value, table)
        out: list[Value] = []
        warnings: list[Problem] = []
        for item in value:
            res = one(item, table)
            if isinstance(res, Problem):
                return res
            warnings.extend(res.warnings)
            if res.value is not None:
                out.append(res.value)
        return Ok(tuple(out) or None, tuple(warnings))

    return body
