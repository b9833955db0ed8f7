"""HTML pages of the reports: Jinja2 templates with autoescaping, one self-contained file each.

Every page carries its CSS inline (with print rules), loads nothing from the network
and runs no script; the sample diff's mismatch filter is plain CSS radio buttons.
Source values are escaped by the template engine, charts escape their labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from pdmigrate.reports.charts import bar_chart

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Lines shown per long table (the CSV files have them all).
HTML_ROWS = 2000
#: Bars per chart.
CHART_BARS = 40


@dataclass(frozen=True, slots=True)
class Section:
    """A section of the reports: its key, title, page and what it shows."""

    key: str
    title: str
    page: str
    about: str


SECTIONS: tuple[Section, ...] = (
    Section("audit", "Audit", "audit.html", "data-quality findings before anything moves"),
    Section("source", "Source data", "source.html", "rows per object and fill rate per column"),
    Section("owners", "Owners", "owners.html", "source staff matched to Pipedrive users"),
    Section("plan", "Plan", "plan.html", "custom fields and keys, stages, tokens and days"),
    Section("sample", "Sample diff", "sample.html", "field-level diff of the sample"),
    Section("verify", "Verification", "verify.html", "reconciliation of every source record"),
    Section("failures", "Failed and skipped", "failures.html", "records not migrated, why"),
    Section("workflows", "Workflows", "workflows.html", "automations to rebuild in Pipedrive"),
)


def environment() -> Environment:
    """The Jinja2 environment of the report templates (autoescape on for every template)."""
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=False,
        lstrip_blocks=False,
    )


def nav(sections: Mapping[str, Any]) -> list[dict[str, str | None]]:
    """One entry per section: a link only when the section has data (else "not run yet")."""
    out: list[dict[str, str | None]] = []
    for s in SECTIONS:
        data = sections.get(s.key)
        exists = data is not None and (s.key != "audit" or bool(data.get("html")))
        out.append({"key": s.key, "title": s.title, "about": s.about,
                    "href": s.page if exists else None})  # fmt: skip
    return out


def reconciliation_view(verification: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Rows and columns of the reconciliation table from a verify summary (None before verify)."""
    if not verification:
        return None
    objects = verification.get("objects") or {}
    columns: list[str] = []
    rows: list[tuple[str, dict[str, Any]]] = []
    for name, buckets in objects.items():
        flat = {
            k: v
            for k, v in (buckets.items() if isinstance(buckets, Mapping) else [])
            if isinstance(v, int | float | str) or v is None
        }
        why = buckets.get("why") if isinstance(buckets, Mapping) else None
        if isinstance(why, Mapping) and why:
            flat["skipped because"] = "; ".join(f"{k} ({n})" for k, n in why.items())
        for key in flat:
            if key not in columns:
                columns.append(key)
        rows.append((str(name), flat))
    fields = verification.get("fields") or {}
    return {
        "columns": columns,
        "rows": rows,
        "checked": fields.get("checked", ""),
        "mismatched": fields.get("mismatched", ""),
        "accuracy": verification.get("accuracy", ""),
        "tokens": verification.get("tokens"),
        "source_rows": verification.get("rows") or {},
    }


def _fill_items(verification: Mapping[str, Any]) -> list[tuple[str, float]]:
    items: list[tuple[str, float]] = []
    for name, buckets in (verification.get("objects") or {}).items():
        fill = buckets.get("fill") if isinstance(buckets, Mapping) else None
        if isinstance(fill, Mapping):
            items.extend(
                (f"{name}.{field}", float(pct))
                for field, pct in fill.items()
                if isinstance(pct, int | float)
            )
    return items[:CHART_BARS]


def charts(sections: Mapping[str, Any]) -> dict[str, Markup | None]:
    """The summary's charts from whatever data exists (None where there is none)."""
    source = sections.get("source")
    progress = sections.get("progress")
    verification = sections.get("verify")
    out: dict[str, Markup | None] = {"records": None, "migrated": None, "fill": None}
    if source and source["objects"]:
        objects = source["objects"]
        out["records"] = bar_chart(
            "Source records per object",
            [(name, float(o["rows"])) for name, o in objects.items()][:CHART_BARS],
        )
        out["fill"] = bar_chart(
            "Mean field fill rate per source object",
            [(name, float(o["mean_fill"])) for name, o in objects.items()][:CHART_BARS],
            percent=True,
        )
    if progress and progress.get("id_map"):
        out["migrated"] = bar_chart(
            "Records in Pipedrive per entity",
            [(e, float(sum(by.values()))) for e, by in progress["id_map"].items()],
        )
    if verification:
        items = _fill_items(verification)
        out["verify_fill"] = (
            bar_chart("Field fill rates in Pipedrive", items, percent=True) if items else None
        )
    return out


def render_pages(
    context: Mapping[str, Any], sections: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]
) -> dict[str, str]:
    """Every page that has data, as ``{file name: html}`` (index.html always)."""
    env = environment()
    links = nav(sections)
    chart = charts(sections)
    recon = reconciliation_view(sections.get("verify"))
    base = {**context, "nav": links}
    pages: dict[str, str] = {}
    progress = sections.get("progress") or {}
    failures = sections.get("failures")
    migrated = (
        sum(sum(by.values()) for by in progress.get("id_map", {}).values()) if progress else None
    )
    pages["index.html"] = env.get_template("index.html").render(
        **base,
        title="Migration summary",
        runs=runs,
        source=sections.get("source"),
        verification=sections.get("verify"),
        recon=recon,
        charts=chart,
        migrated=migrated,
        failed=len(failures["ops"]) if failures and failures.get("ops_run") else None,
    )
    if sections.get("source"):
        pages["source.html"] = env.get_template("source.html").render(
            **base, title="Source data", source=sections["source"]
        )
    if sections.get("owners"):
        from pdmigrate.plan.owners import COLUMNS, UNMATCHED

        pages["owners.html"] = env.get_template("owners.html").render(
            **base,
            title="Owner resolution",
            owners=sections["owners"],
            columns=COLUMNS,
            unmatched=UNMATCHED,
        )
    if sections.get("plan"):
        pages["plan.html"] = env.get_template("plan.html").render(
            **base, title="Migration plan", plan=sections["plan"]
        )
    if sections.get("sample"):
        diff = sections["sample"]
        pages["sample.html"] = env.get_template("sample.html").render(
            **base,
            title="Sample diff",
            diff=diff,
            rows=diff["rows"][:HTML_ROWS],
            truncated=len(diff["rows"]) > HTML_ROWS,
        )
    if sections.get("verify"):
        verification = sections["verify"]
        mismatches = [m for m in verification.get("mismatches") or [] if isinstance(m, Mapping)]
        pages["verify.html"] = env.get_template("verify.html").render(
            **base,
            title="Verification",
            verification=verification,
            recon=recon,
            charts={"fill": chart.get("verify_fill")},
            mismatches=mismatches[:HTML_ROWS],
        )
    if failures:
        pages["failures.html"] = env.get_template("failures.html").render(
            **base,
            title="Failed and skipped records",
            failures=failures,
            ops=failures["ops"][:HTML_ROWS],
            quarantine=failures["quarantine"][:HTML_ROWS],
        )
    if sections.get("workflows"):
        pages["workflows.html"] = env.get_template("workflows.html").render(
            **base, title="Workflow rebuild reference", wf=sections["workflows"]
        )
    return pages
