"""The plan report: reports/plan.json (the full summary) and a readable reports/plan.md.

Counts, names of fields/pipelines/types and staff identifiers only; never row values
from the exports and never the API token.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pdmigrate.workspace import Workspace


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out.extend("| " + " | ".join(cell(v) for v in row) + " |" for row in rows)
    return out


def render_markdown(report: dict[str, Any]) -> str:
    """plan.md: estimate, grade with inputs, target preparation, owners, dedup, warnings."""
    est = report["estimate"]
    grade = report["complexity"]
    lines = [
        f"# Migration plan ({report['profile']})",
        "",
        f"Mapping sha256 `{report['mapping_sha256'][:12]}`. "
        f"Plan **{est['plan']}**, {est['seats']} seat(s), "
        f"daily budget {est['daily_budget']} tokens.",
        "",
        "## Estimate",
        "",
        f"- Tokens: **{report['tokens']}** ({report['writes']} writes, "
        f"{report['requests']} requests)",
        f"- Days (§7): **{est['days']}** = max(tokens/budget {est['budget_days']}, "
        f"writes/10,000 {est['fair_use_days']}); calendar days {est['calendar_days']}",
        f"- API time at the burst ceiling: {est['burst_hours']} h; wall clock about "
        f"{est['hours']} h",
    ]
    if report.get("within"):
        w = report["within"]
        lines.append(f"- Within {w['window_hours']} h: {w['advice']}")
    lines += ["", "### Ops per entity", ""]
    lines += _table(["entity", "ops"], [[k, v] for k, v in sorted(report["ops"].items())])
    lines += ["", "### Calls per endpoint", ""]
    lines += _table(["endpoint", "calls"], [[k, v] for k, v in report["calls"].items()])
    lines += ["", f"## Complexity: grade {grade['grade']} ({grade['overall']})", ""]
    lines += _table(
        ["score", "value", "grade", "weight"],
        [[k, s["score"], s["grade"], s["weight"]] for k, s in grade["scores"].items()],
    )
    lines += ["", "Inputs: " + ", ".join(f"{k} = {v}" for k, v in grade["inputs"].items())]
    lines += ["", "## Plan caps", ""]
    lines += _table(
        ["cap", "limit", "planned", "exceeded"],
        [
            [c["cap"], c["limit"], c["planned"], "YES" if c["exceeded"] else "no"]
            for c in report["caps"]
        ],
    )
    t = report["target"]
    lines += [
        "",
        "## Target preparation",
        "",
        "Contact Sync: "
        + ("yes. " if t["contact_sync"] else "no (birthday, postal address -> custom fields). ")
        + f"Fields: {t['fields_to_create']} to create, {t['fields_reused']} reused. "
        f"Pipelines to create: {t['pipelines_to_create']}, stages: {t['stages_to_create']}, "
        f"activity types: {t['activity_types_to_create']}.",
        "",
    ]
    lines += _table(
        ["entity", "field", "type", "options", "action"],
        [[f["entity"], f["name"], f["type"], f["options"], f["action"]] for f in t["fields"]],
    )
    for p in t["pipelines"]:
        stages = ", ".join(f"{n} ({pr}%)" for n, pr in p["stages"])
        lines.append(f"\nPipeline **{p['name']}**: {stages}")
    o = report["owners"]
    lines += [
        "",
        "## Owners",
        "",
        f"{o['matched']} staff matched, {o['unmatched']} unmatched; fallback owner: "
        + (f"user {o['fallback']['id']}" if o["fallback"] else "none")
        + f". Edit `{Path(o.get('csv', 'owners.csv')).name}` and plan again.",
    ]
    d = report["dedup"]
    v = report["visibility"]
    lines += [
        "",
        "## Dedup and visibility",
        "",
        f"- Source duplicates proposed: {d['proposed']} (merge {d['merge']}, skip {d['skip']}, "
        f"keep apart {d['keep_apart']}); edit `decisions.csv` and plan again.",
        f"- Linked to people already in the account (matched_existing): {d['matched_existing']}, "
        f"from {d['listing_pages']} listing page(s).",
        f"- visible_to {v['company']} (company) on {v['plan']}; {v['private_records']} private "
        f"record(s) owner-only; {v['not_restrictable']} private note(s)/activities "
        "not restrictable.",
    ]
    if report["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in report["warnings"]]
    lines += ["", "Run: " + ("ready" if report["runnable"] else "refused until owners are set"), ""]
    return "\n".join(lines)


def write_reports(workspace: Workspace, report: dict[str, Any]) -> list[Path]:
    """Write reports/plan.json and reports/plan.md; return their paths."""
    folder = workspace.reports_dir
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / "plan.json"
    md_path = folder / "plan.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    md_path.write_text(render_markdown(report), "utf-8")
    return [json_path, md_path]
