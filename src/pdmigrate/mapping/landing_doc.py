"""Render docs/landing.md: per system, the rule the default mapping applies to every object.

``python -m pdmigrate.mapping.landing_doc > docs/landing.md`` regenerates it from the
profiles and the proposal itself, so the page shows what the code does.
"""

from __future__ import annotations

from pdmigrate.mapping.compat import sentence
from pdmigrate.mapping.crossref import join_spec
from pdmigrate.mapping.model import Link, MappingObject, Settings
from pdmigrate.mapping.propose import TableSample, propose
from pdmigrate.profiles import list_profiles, load_profile

SYSTEMS = ("advancedpm", "corepractice", "practicebynumbers", "practicemaster", "visualpractice")


def _what(obj: MappingObject, probabilities: dict[str, int], *, joined_into: bool = False) -> str:
    parts: list[str] = []
    if obj.cardinality == "not_migrated":
        return "not migrated"
    if obj.key:
        parts.append(f"key {' + '.join(obj.key)}")
    if obj.group_by:
        split = " (before the first '.')" if obj.split_key == "before_dot" else ""
        parts.append(f"group_by {' + '.join(obj.group_by)}{split}")
    if obj.source_id:
        parts.append("Source ID")
    if obj.email_missing:
        parts.append("Email missing flag")
    if obj.pipeline and obj.status is not None:
        stages = ", ".join(f"{k} {v}%" for k, v in probabilities.items())
        parts.append(f"pipeline {obj.pipeline} ({stages})")
    if obj.activity is not None:
        parts.append(f"activity type {obj.activity.type}, marker")
    if obj.targets[0] == "note":
        parts.append("marker, add_time kept")
    join = join_spec(obj)
    links = ", ".join(
        _link_text(k, v) for k, v in obj.links.items() if not (join is not None and k == "record")
    )
    if links:
        parts.append(links)
    if join is not None:
        share = f" sharing {join.share}" if join.share else ""
        parts.append(
            f"joins the latest earlier {join.to} of the same {' + '.join(join.on)}{share} "
            f"({join.date} ≥ {join.other_date}), else {join.fallback}"
        )
    if joined_into:
        parts.append("won/lost time without a source column = latest date joined into it")
    if obj.options.get("constant_across"):
        parts.append(
            "custom fields constant across a client's rows → person/organization, else deal"
        )
    household = obj.options.get("household_org")
    if isinstance(household, dict):
        parts.append(
            f"organization named after the primary person when {household.get('when_blank')} "
            "is blank"
        )
    rollups = sorted({ln.rollup for ln in obj.fields if ln.rollup})
    if rollups:
        parts.append("rollups " + ", ".join(rollups))
    if obj.pivot is not None:
        parts.append(f"pivot {obj.pivot.column}")
    if obj.note_table is not None:
        parts.append("note_table")
    custom = sum(1 for ln in obj.fields if ln.custom)
    parts.append(f"{len(obj.fields)} field lines ({custom} custom)")
    return "; ".join(parts)


def _link_text(name: str, link: Link) -> str:
    if link.via is not None:
        fallback = f", else {link.fallback}" if link.fallback else ""
        return f"{name} → most frequent {link.via}.{link.columns[0]}{fallback}"
    return f"{name} → {link.to}"


def render() -> str:
    """The whole page."""
    out = [
        "# Where every source object lands",
        "",
        "Generated from the profiles by `python -m pdmigrate.mapping.landing_doc` (a test",
        "checks it is current). Each table is the default mapping `pdmigrate map` proposes",
        "for the system's documented export headers: one row per row of",
        "`reference/landing-rules.md`, with the rule and what the mapping does for it.",
        "",
    ]
    for name in [*SYSTEMS, *(p for p in list_profiles() if p not in SYSTEMS)]:
        profile = load_profile(name)
        order = {"DMY": "dmy", "MDY": "mdy", "YMD": "ymd"}.get(profile.system.date_order)
        settings = Settings(
            country=profile.system.country,
            timezone=profile.system.timezone,
            currency=profile.system.currency,
            date_order=order,
        )
        tables = [
            TableSample(
                o.file.patterns[0].replace("*", ""), o.name, tuple(c.name for c in o.columns)
            )
            for o in profile.objects
        ]
        mapping = propose(profile, settings, tables).mapping
        assert mapping.compatibility is not None
        out += [f"## {name}", "", f"{profile.system.label}. {sentence(mapping.compatibility)}.", ""]
        out += ["| object | source → targets | cardinality | 1:1 native | rule | mapping does |"]
        out += ["|---|---|---|---|---|---|"]
        joined = {j.to for o in mapping.objects if (j := join_spec(o)) is not None}
        for obj in mapping.objects:
            pipe = mapping.pipeline(obj.pipeline or "")
            probs = {s.name: s.probability for s in pipe.stages} if pipe else {}
            source = ", ".join(obj.source) or "—"
            row = [
                f"`{obj.id}`",
                f"{source} → {', '.join(obj.targets)}",
                obj.cardinality,
                "yes" if obj.native else "no",
                obj.rule.replace("|", "/"),
                _what(obj, probs, joined_into=obj.id in joined).replace("|", "/"),
            ]
            out.append("| " + " | ".join(row) + " |")
        if mapping.not_migrated:
            out += ["", "Not migrated:", ""]
            for item in mapping.not_migrated:
                what = f"{item.object}.{item.column}" if item.column else item.object
                out.append(f"- `{what}`: {item.reason}")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(render(), end="")
