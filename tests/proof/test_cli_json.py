"""Every command's `--json` output has exactly the top-level keys docs/cli.md lists for it,
and every nested key the doc names is there, so the documented contract cannot drift.

The doc's notation (per command section, after "JSON keys:"): `a`, `b.c` (nested key),
`d.{name}.e` (every value of the map ``d`` has ``e``), `f.{x,y}` (``f`` has ``x`` and ``y``),
`g[]` (a list; its items have the keys in the parentheses or braces that follow),
`h` (`i`, `j`) (``h`` has ``i`` and ``j``), `k` ... or null (may be null).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from pdmigrate.cli import cli
from pdmigrate.demo import DemoResult

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
_TOKEN = re.compile(r"`([^`]+)`|([(){}])")

pytestmark = pytest.mark.slow


@dataclass
class Key:
    """A documented key path and the keys documented under it."""

    path: str
    children: list[Key] = field(default_factory=list)


def documented(title: str) -> list[Key] | None:
    """The keys the ``### `title``` section documents (None: the section lists none)."""
    m = re.search(rf"^### `{re.escape(title)}`\n(.*?)(?=^### |\Z)", DOC, re.M | re.S)
    if m is None:
        return None
    j = re.search(r"^JSON keys:(.*?)(?:\n\n|\Z)", m.group(1), re.M | re.S)
    if j is None:
        return None
    root: list[Key] = []
    stack: list[list[Key]] = [root]
    last: Key | None = None
    for tok, brace in _TOKEN.findall(j.group(1)):
        if brace and brace in "({":
            stack.append(last.children if last is not None else [])
        elif brace and brace in ")}":
            if len(stack) > 1:
                stack.pop()
        elif tok and not tok.startswith("{"):
            last = Key(tok)
            stack[-1].append(last)
    return root


def _segments(path: str) -> list[str]:
    return re.findall(r"\{[^}]*\}|[^.{}]+", path)


def _walk(value: Any, segs: list[str], children: list[Key], where: str, errors: list[str]) -> None:
    if value is None:
        return
    if not segs:
        for child in children:
            _walk(value, _segments(child.path), child.children, where, errors)
        return
    seg, rest = segs[0], segs[1:]
    if seg.startswith("{"):
        if not isinstance(value, dict):
            errors.append(f"{where}: not an object")
            return
        names = [n.strip() for n in seg[1:-1].split(",")]
        if len(names) == 1 and ":" not in names[0]:  # a wildcard: every value of the map
            for k, v in value.items():
                _walk(v, rest, children, f"{where}.{k}", errors)
            return
        for n in names:
            if n not in value:
                errors.append(f"{where}.{n}: documented, not printed")
            else:
                _walk(value[n], rest, children, f"{where}.{n}", errors)
        return
    name, is_list = (seg[:-2], True) if seg.endswith("[]") else (seg, False)
    if not isinstance(value, dict) or name not in value:
        errors.append(f"{where}.{name}: documented, not printed")
        return
    inner = value[name]
    if is_list:
        if not isinstance(inner, list):
            errors.append(f"{where}.{name}: not a list")
            return
        for item in inner[:3]:
            _walk(item, rest, children, f"{where}.{name}[]", errors)
        return
    _walk(inner, rest, children, f"{where}.{name}", errors)


def check(title: str, output: dict[str, Any]) -> list[str]:
    """Differences between the printed JSON and the documented keys."""
    keys = documented(title)
    if keys is None:
        return [f"docs/cli.md: section `{title}` lists no JSON keys"]
    tops = {_segments(k.path)[0].removesuffix("[]") for k in keys}
    errors = [f"{title}: prints undocumented key `{k}`" for k in sorted(set(output) - tops)]
    errors += [f"{title}: documents `{k}`, not printed" for k in sorted(tops - set(output))]
    for k in keys:
        _walk(output, _segments(k.path), k.children, title, errors)
    return errors


def _commands() -> dict[str, click.Command]:
    out: dict[str, click.Command] = {}
    for name, cmd in cli.commands.items():
        if isinstance(cmd, click.Group):
            for sub, c in cmd.commands.items():
                out[f"{name} {sub}"] = c
        else:
            out[name] = cmd
    return out


def _invocations(flow: DemoResult, tmp: Path) -> dict[str, list[str]]:
    ws = str(flow.workspace)
    exports = str(flow.workspace.parent / "exports")
    fresh = str(tmp / "fresh")
    return {
        "synth": ["generic", str(tmp / "synth"), "--patients", "10"],
        "init": [fresh, "--source", "corepractice", "--exports", exports],
        "audit": ["-w", fresh],
        "map": ["-w", fresh],
        "confirm": ["-w", fresh, "--yes"],
        "plan": ["-w", ws],
        "sample": ["-w", ws, "--size", "50", "--seed", "2"],
        "run": ["-w", ws],
        "status": ["-w", ws],
        "verify": ["-w", ws],
        "delta": ["-w", ws, "--exports", exports, "--dry-run"],
        "rollback": ["-w", ws, "--run", str(flow.sample.get("run_id")), "--dry-run"],
        "report": ["-w", ws],
        "sandbox dump": ["-w", ws],
        "demo": ["--source", "generic", "--patients", "20", "--out", str(tmp / "demo")],
    }


#: Commands that cannot be run to completion in a test (a server in the foreground).
NOT_RUN = {"sandbox serve"}


def test_every_command_json_matches_docs_cli(flow: DemoResult, tmp_path: Path) -> None:
    """Run each command with --json; its keys are the ones its docs/cli.md section lists."""
    commands = _commands()
    calls = _invocations(flow, tmp_path)
    order = list(calls) + sorted(set(commands) - set(calls))
    errors: list[str] = []
    runner = CliRunner()
    for name in order:
        if name not in commands or name in NOT_RUN:
            continue
        if name not in calls:
            errors.append(f"{name}: no invocation in this test; add one")
            continue
        result = runner.invoke(commands[name], [*calls[name], "--json"])
        try:
            output = json.loads(result.stdout)
        except ValueError:
            errors.append(f"{name}: exit {result.exit_code}, no JSON on stdout: {result.output!r}")
            continue
        errors += check(f"pdmigrate {name}", output)
    assert not errors, "\n".join(errors)


def test_the_key_parser_reads_the_docs_notation() -> None:
    """The parser understands nesting, maps, lists and literal key sets, and reports drift."""
    keys = documented("pdmigrate audit")
    assert keys is not None
    assert [k.path for k in keys][:2] == ["profile", "objects.{name}.rows"]
    dup = next(k for k in keys if k.path == "duplicates[]")
    assert [c.path for c in dup.children] == ["object", "reason", "records[]"]
    errors = check("pdmigrate audit", {"profile": "x", "extra": 1})
    assert "pdmigrate audit: prints undocumented key `extra`" in errors
    assert "pdmigrate audit: documents `findings`, not printed" in errors
