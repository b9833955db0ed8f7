"""The workflow rebuild reference: which automations to rebuild in Pipedrive, and how.

Workflows and reminders are configuration, not data: they are never migrated (landing
rules §6). Instead pdmigrate writes a reference from two sources:

* the profile's catalogue of automations the system is known for (``automations:``
  in its YAML: appointment reminders, recall sequences, confirmations, reviews...);
* rules inferred from the exports (:mod:`pdmigrate.workflows_infer`): recall intervals,
  calendar reminder lead times, statuses that imply follow-ups, with the records seen.

Each rule has a trigger, conditions, actions, timing and the Pipedrive tool to rebuild
it with (an Automation, a Sequence, the Scheduler, a notification setting, or none),
and the reference counts the Automations and Sequences against the plan's caps.
An inferred rule that refines a catalogue rule (the 6-month Prophy recall refines the
recall sequence) is counted instead of its parent.

Outputs: ``workflows.yaml`` in the workspace (editable: ``enabled``, ``tool``,
``recipe`` and ``notes`` survive regeneration, and rules with ``origin: manual`` are
kept), and ``reports/workflows.json`` / ``reports/workflows.md``. The core
(:func:`catalogue_rules`, :func:`build_reference`, :func:`render_markdown`) is pure;
:func:`scan_workspace` and :func:`write_workflows` do the I/O.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import yaml

from pdmigrate.errors import ConfigError
from pdmigrate.profiles import Automation, Profile
from pdmigrate.records import Row
from pdmigrate.workflows_infer import SIGNALS, Observation, Observer, infer_rules

WORKFLOWS_YAML = "workflows.yaml"
WORKFLOWS_JSON = "workflows.json"
WORKFLOWS_MD = "workflows.md"
FORMAT = 1
TOOLS = ("automation", "sequence", "scheduler", "notification", "integration", "none")
#: Rule fields a user's edits in workflows.yaml keep across regeneration.
EDITABLE = ("enabled", "tool", "recipe", "notes")

#: Active workflow automations and sequences per company, by plan (new plans, 2024+).
PLAN_CAPS: dict[str, dict[str, int]] = {
    "lite": {"automations": 0, "sequences": 0},
    "growth": {"automations": 50, "sequences": 5},
    "premium": {"automations": 150, "sequences": 25},
    "ultimate": {"automations": 250, "sequences": 50},
}
CAPS_SOURCE = (
    "Pipedrive Knowledge Base, 'Usage limits in Pipedrive' "
    "(https://support.pipedrive.com/en/article/usage-limits-in-pipedrive), table for the "
    "Lite/Growth/Premium/Ultimate plans, as published in August 2025: automations and "
    "sequences per company (Lite has neither). Booster packs can raise them; check the "
    "account's Settings > Company > Usage."
)


def classify(text: str) -> str:
    """The Pipedrive tool a catalogue suggestion starts with (``Automation "..."``: automation)."""
    head = text.strip().casefold()
    for prefix, tool in (
        ("automation", "automation"),
        ("sequence", "sequence"),
        ("scheduler", "scheduler"),
        ("activity reminder", "notification"),
        ("none", "none"),
    ):
        if head.startswith(prefix):
            return tool
    return "integration" if "integration" in head else "automation"


def catalogue_rules(automations: Iterable[Automation]) -> list[dict[str, Any]]:
    """Rules from a profile's automation catalogue (pure)."""
    return [
        {
            "id": a.id,
            "name": a.name,
            "kind": a.kind,
            "origin": "catalogue",
            "evidence": a.evidence,
            "trigger": a.trigger,
            "conditions": list(a.conditions),
            "actions": list(a.actions),
            "timing": a.timing,
            "channel": list(a.channel),
            "refines": None,
            "tool": classify(a.pipedrive),
            "recipe": a.pipedrive,
            "observed": {"columns": list(a.inferred_from)} if a.inferred_from else {},
        }
        for a in automations
    ]


def _apply_edits(
    rules: list[dict[str, Any]], previous: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    by_id = {str(r.get("id")): r for r in previous}
    out: list[dict[str, Any]] = []
    for rule in rules:
        old = by_id.get(rule["id"])
        rule = {**rule, "enabled": True, "notes": ""}
        if old is not None:
            for key in EDITABLE:
                if key in old and old[key] is not None:
                    rule[key] = old[key]
        out.append(rule)
    known = {r["id"] for r in out}
    for old in previous:
        if old.get("origin") == "manual" and old.get("id") not in known:
            out.append(dict(old))
    return out


def _check(rules: Sequence[Mapping[str, Any]], where: str) -> None:
    for rule in rules:
        if rule.get("tool") not in TOOLS:
            raise ConfigError(
                f"{where}: rule {rule.get('id')!r}: tool must be one of {', '.join(TOOLS)}"
            )
        if not isinstance(rule.get("enabled"), bool):
            raise ConfigError(f"{where}: rule {rule.get('id')!r}: enabled must be true or false")


def count_usage(rules: list[dict[str, Any]]) -> dict[str, int]:
    """Set each rule's ``counted`` (Automations/Sequences it takes) and return the totals.

    Disabled rules take nothing; a catalogue rule refined by an enabled inferred rule
    is counted through its refinements (``counted_in``).
    """
    children: dict[str, list[str]] = {}
    for rule in rules:
        if rule.get("enabled") and rule.get("refines"):
            children.setdefault(str(rule["refines"]), []).append(str(rule["id"]))
    totals = {"automations": 0, "sequences": 0}
    for rule in rules:
        counted_in = children.get(str(rule["id"]), [])
        rule["counted_in"] = counted_in
        counted = {"automations": 0, "sequences": 0}
        if rule.get("enabled") and not counted_in:
            if rule["tool"] == "automation":
                counted["automations"] = 1
            elif rule["tool"] == "sequence":
                counted["sequences"] = 1
        rule["counted"] = counted
        for key, value in counted.items():
            totals[key] += value
    return totals


def build_reference(
    profile: Profile,
    seen: Mapping[str, Observation],
    *,
    as_of: date,
    plan: str = "growth",
    previous: Sequence[Mapping[str, Any]] = (),
    generated: str = "",
    where: str = WORKFLOWS_YAML,
) -> dict[str, Any]:
    """The whole reference (pure): rules, usage against the plan's caps, and their source."""
    signals = SIGNALS.get(profile.name, ())
    rules = catalogue_rules(profile.automations) + infer_rules(signals, seen)
    rules = _apply_edits(rules, previous)
    _check(rules, where)
    totals = count_usage(rules)
    caps = PLAN_CAPS.get(plan, PLAN_CAPS["growth"])
    return {
        "format": FORMAT,
        "system": profile.name,
        "generated": generated,
        "as_of": as_of.isoformat(),
        "plan": {"name": plan, **caps, "source": CAPS_SOURCE},
        "usage": {
            **totals,
            "automations_left": caps["automations"] - totals["automations"],
            "sequences_left": caps["sequences"] - totals["sequences"],
            "within_caps": totals["automations"] <= caps["automations"]
            and totals["sequences"] <= caps["sequences"],
        },
        "rules": rules,
    }


# -- rendering (pure) -------------------------------------------------------------------

_YAML_HEAD = """\
# Workflow rebuild reference for {system}: automations to rebuild in Pipedrive.
# Generated by `pdmigrate report`. You may edit `enabled`, `tool` ({tools}),
# `recipe` and `notes` of any rule, and add rules with `origin: manual`; your edits are
# kept the next time the reference is generated. reports/workflows.md counts the
# enabled rules against the plan's caps.
"""


def render_yaml(reference: Mapping[str, Any]) -> str:
    """workflows.yaml text (a header comment, then the rules)."""
    keep = ("id", "name", "origin", "kind", "enabled", "tool", "recipe", "trigger")
    rules = []
    for rule in reference["rules"]:
        item = {k: rule[k] for k in keep if k in rule}
        for key in ("conditions", "actions", "timing", "channel", "refines", "observed", "notes"):
            if rule.get(key) not in (None, [], {}, ""):
                item[key] = rule[key]
        rules.append(item)
    body = yaml.safe_dump(
        {"system": reference["system"], "plan": reference["plan"]["name"], "rules": rules},
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return _YAML_HEAD.format(system=reference["system"], tools=", ".join(TOOLS)) + body


def _md(text: object) -> str:
    """Markdown-safe text: no HTML, no table breaks."""
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\n", " ")
    )


def render_markdown(reference: Mapping[str, Any]) -> str:
    """workflows.md: the suggested Pipedrive Automation or Sequence per rule, and the cap count."""
    plan = reference["plan"]
    usage = reference["usage"]
    lines = [
        f"# Workflow rebuild reference: {reference['system']}",
        "",
        "Workflows are configuration: pdmigrate does not migrate them. Rebuild the enabled "
        "rules below in Pipedrive (Automations under Automations, Sequences under "
        "Automations > Sequences). Edit `workflows.yaml` to switch rules off or change the "
        "suggestion.",
        "",
        f"Data as of {reference['as_of']}.",
        "",
        "## Against the plan's caps",
        "",
        "| | needed | cap on " + _md(plan["name"]) + " | left |",
        "|---|---:|---:|---:|",
        f"| Automations | {usage['automations']} | {plan['automations']} | "
        f"{usage['automations_left']} |",
        f"| Sequences | {usage['sequences']} | {plan['sequences']} | {usage['sequences_left']} |",
        "",
        "Within the caps."
        if usage["within_caps"]
        else "**Over a cap**: upgrade the plan, "
        "add a booster pack, or merge rules (one Automation can hold several delays).",
        "",
        f"Caps: {plan['source']}",
        "",
        "## Rules",
        "",
        "| id | rule | origin | tool | counts as |",
        "|---|---|---|---|---|",
    ]
    for rule in reference["rules"]:
        counted = rule.get("counted", {})
        if not rule.get("enabled"):
            counts = "disabled"
        elif rule.get("counted_in"):
            counts = "via " + ", ".join(rule["counted_in"])
        elif counted.get("automations"):
            counts = "1 Automation"
        elif counted.get("sequences"):
            counts = "1 Sequence"
        else:
            counts = "no cap"
        lines.append(
            f"| `{_md(rule['id'])}` | {_md(rule['name'])} | {_md(rule['origin'])} | "
            f"{_md(rule['tool'])} | {counts} |"
        )
    for rule in reference["rules"]:
        lines += ["", f"### {_md(rule['name'])} (`{_md(rule['id'])}`)", ""]
        lines.append(f"- **Trigger**: {_md(rule.get('trigger', ''))}")
        if rule.get("conditions"):
            lines.append("- **Conditions**: " + "; ".join(_md(c) for c in rule["conditions"]))
        if rule.get("actions"):
            lines.append("- **Actions**: " + "; ".join(_md(a) for a in rule["actions"]))
        if rule.get("timing"):
            lines.append(f"- **Timing**: {_md(rule['timing'])}")
        observed = rule.get("observed") or {}
        if "records" in observed:
            lines.append(
                f"- **Seen in the data**: {observed['records']} records of "
                f"`{_md(observed.get('object', ''))}`"
            )
        if rule.get("refines"):
            lines.append(f"- **Refines**: `{_md(rule['refines'])}`")
        lines.append(f"- **Rebuild with** ({_md(rule['tool'])}): {_md(rule.get('recipe', ''))}")
        if rule.get("notes"):
            lines.append(f"- **Notes**: {_md(rule['notes'])}")
    return "\n".join(lines) + "\n"


# -- I/O at the edge --------------------------------------------------------------------


class RowSink(Protocol):
    """Anything that takes the rows of one pass over the exports."""

    def add(self, obj: str, values: Mapping[str, str]) -> None:
        """Take one row of source object ``obj``."""


def observer_for(profile: Profile, *, as_of: date, date_order: str) -> Observer:
    """The observer of ``profile``'s signals (date order as in pdmigrate.toml)."""
    order = {"DMY": "dmy", "MDY": "mdy", "YMD": "ymd"}.get(date_order.upper())
    return Observer(SIGNALS.get(profile.name, ()), as_of=as_of, date_order=order)


def scan_exports(profile: Profile, exports: Path, sinks: Sequence[RowSink]) -> None:
    """One streaming pass over the recognised exports, every row to every sink."""
    from pdmigrate.sources import Reader

    for source, rows in Reader(profile).sources(exports):
        if source.object is None:
            continue
        for item in rows:
            if isinstance(item, Row):
                for sink in sinks:
                    sink.add(source.object, item.values)


def read_previous(path: Path) -> list[dict[str, Any]]:
    """The rules of an existing workflows.yaml ([] if none); ConfigError names the file."""
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML", hint="fix it or delete it") from None
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise ConfigError(f"{path}: expected a mapping with a list of rules")
    return rules


def _atomic(path: Path, text: str) -> Path:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_workflows(root: Path, reports: Path, reference: Mapping[str, Any]) -> dict[str, Path]:
    """Write workflows.yaml (root) and workflows.json / workflows.md (reports)."""
    reports.mkdir(parents=True, exist_ok=True)
    return {
        "yaml": _atomic(root / WORKFLOWS_YAML, render_yaml(reference)),
        "json": _atomic(
            reports / WORKFLOWS_JSON,
            json.dumps(reference, indent=2, ensure_ascii=False) + "\n",
        ),
        "md": _atomic(reports / WORKFLOWS_MD, render_markdown(reference)),
    }


__all__ = [
    "CAPS_SOURCE",
    "PLAN_CAPS",
    "TOOLS",
    "WORKFLOWS_JSON",
    "WORKFLOWS_MD",
    "WORKFLOWS_YAML",
    "build_reference",
    "catalogue_rules",
    "classify",
    "count_usage",
    "observer_for",
    "read_previous",
    "render_markdown",
    "render_yaml",
    "scan_exports",
    "write_workflows",
]
