"""Parse transform specs as written in mapping.yaml into bound transforms and chains.

Grammar (whitespace around tokens is ignored)::

    chain := step ("|" step)*
    step  := NAME [ "(" [arg ("," arg)*] ")" ]
    arg   := [KEY "="] (QUOTED | BARE)

``QUOTED`` is a single- or double-quoted string with backslash escapes (``\\n``,
``\\t``, ``\\\\``, the quote); use it for separators with spaces, commas or parentheses
(``join("; ")``). ``BARE`` runs to the next ``,``, ``(`` or ``)`` and is trimmed
(``join(|)``, ``default(O'Brien)``). Errors are
:class:`TransformSpecError` (a ConfigError) naming the bad part and its column.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterable

from pdmigrate.transforms.core import (
    Args,
    Chain,
    Kind,
    Transform,
    TransformSpecError,
    registry,
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


class _Scanner:
    def __init__(self, text: str, where: str | None) -> None:
        self.text = text
        self.pos = 0
        self.where = where

    def error(self, message: str, pos: int | None = None) -> TransformSpecError:
        col = (self.pos if pos is None else pos) + 1
        prefix = f"{self.where}: " if self.where else ""
        return TransformSpecError(f"{prefix}{message} at column {col} of '{self.text}'")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def name(self, what: str) -> str:
        self.skip_ws()
        m = _NAME.match(self.text, self.pos)
        if not m:
            found = self.peek()
            shown = f"'{found}'" if found else "the end"
            raise self.error(f"expected a {what} but found {shown}")
        self.pos = m.end()
        return m.group(0)

    def quoted(self) -> str:
        quote = self.text[self.pos]
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                nxt = self.text[self.pos + 1]
                if nxt not in _ESCAPES:
                    raise self.error(f"unknown escape '\\{nxt}'")
                out.append(_ESCAPES[nxt])
                self.pos += 2
                continue
            if ch == quote:
                self.pos += 1
                return "".join(out)
            out.append(ch)
            self.pos += 1
        raise self.error(f"unclosed quote {quote}", start)

    def bare(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",()":
            self.pos += 1
        value = self.text[start : self.pos].strip()
        if not value:
            raise self.error("expected a parameter value", start)
        return value

    def args(self) -> Args:
        positional: list[str] = []
        options: list[tuple[str, str]] = []
        open_pos = self.pos
        self.pos += 1  # the "("
        self.skip_ws()
        if self.peek() == ")":
            self.pos += 1
            return Args()
        while True:
            self.skip_ws()
            if not self.peek():
                raise self.error("unclosed '('", open_pos)
            key: str | None = None
            m = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*=").match(self.text, self.pos)
            if m:
                key = m.group(1)
                self.pos = m.end()
                self.skip_ws()
            value = self.quoted() if self.peek() in "\"'" and self.peek() else self.bare()
            if key is None:
                if options:
                    raise self.error("a positional parameter cannot follow key=value ones")
                positional.append(value)
            else:
                if any(k == key for k, _ in options):
                    raise self.error(f"option '{key}' given twice")
                options.append((key, value))
            self.skip_ws()
            ch = self.peek()
            if ch == ",":
                self.pos += 1
                continue
            if ch == ")":
                self.pos += 1
                return Args(tuple(positional), tuple(options))
            if not ch:
                raise self.error("unclosed '('", open_pos)
            raise self.error(f"unexpected '{ch}' in the parameters")


def _bind(name: str, args: Args, spec: str, scanner: _Scanner, name_pos: int) -> Transform:
    defs = registry()
    definition = defs.get(name)
    if definition is None:
        close = difflib.get_close_matches(name, list(defs), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise scanner.error(f"unknown transform '{name}'{hint}", name_pos)
    try:
        body = definition.factory(args, spec)
    except TransformSpecError as exc:
        prefix = f"{scanner.where}: " if scanner.where else ""
        raise TransformSpecError(f"{prefix}{exc.message}") from None
    return Transform(spec, definition, body)


def _parse_steps(text: str, where: str | None) -> list[Transform]:
    scanner = _Scanner(text, where)
    steps: list[Transform] = []
    while True:
        scanner.skip_ws()
        start = scanner.pos
        name = scanner.name("transform name")
        scanner.skip_ws()
        args = scanner.args() if scanner.peek() == "(" else Args()
        spec = text[start : scanner.pos].strip()
        steps.append(_bind(name, args, spec, scanner, start))
        scanner.skip_ws()
        ch = scanner.peek()
        if not ch:
            return steps
        if ch != "|":
            raise scanner.error(f"unexpected '{ch}' after transform '{name}' (use '|' to chain)")
        scanner.pos += 1


def parse_transform(text: str, *, where: str | None = None) -> Transform:
    """Parse one spec such as ``datetime(tz=Australia/Sydney)`` into a bound transform.

    ``where`` (e.g. ``mapping.yaml:12``) prefixes error messages.
    """
    steps = _parse_steps(text, where)
    if len(steps) != 1:
        prefix = f"{where}: " if where else ""
        raise TransformSpecError(f"{prefix}expected one transform, found a chain in '{text}'")
    return steps[0]


def parse_chain(specs: str | Iterable[str], *, where: str | None = None) -> Chain:
    """Parse a chain: ``"strip | date(dayfirst)"`` or a list of specs, applied in order.

    The steps must fit together: a step that takes text cannot follow one that yields
    a typed value (``date | upper`` is refused here, not at run time).
    """
    if isinstance(specs, str):
        steps = _parse_steps(specs, where) if specs.strip() else []
    else:
        steps = [t for s in specs for t in _parse_steps(s, where)]
    for before, after in itertools.pairwise(steps):
        produced = before.definition.returns
        takes = after.definition.accepts
        if produced is Kind.ANY or Kind.ANY in takes or produced in takes:
            continue
        prefix = f"{where}: " if where else ""
        raise TransformSpecError(
            f"{prefix}'{after.spec}' takes {_kinds(takes)} but '{before.spec}' "
            f"gives {produced.value}"
        )
    return Chain(tuple(steps))


def _kinds(kinds: frozenset[Kind]) -> str:
    return " or ".join(sorted(k.value for k in kinds))
