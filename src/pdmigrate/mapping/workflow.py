"""The map and confirm steps on a workspace: the library the CLI commands call.

:func:`map_workspace` samples the exports, asks the account for its field names
(unless offline), proposes, writes ``mapping.yaml`` and records a ``map`` run.
:func:`confirm_workspace` validates the file against profile, data and account and
stores its sha256. Both return JSON-ready summaries (the ``--json`` contract).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from pdmigrate.errors import ConfigError, UsageError
from pdmigrate.mapping.compat import sentence
from pdmigrate.mapping.confirm import confirm, load_for_confirm, validate
from pdmigrate.mapping.gather import account_fields, names_only, sample_exports
from pdmigrate.mapping.io import MAPPING_NAME, sha256_text, to_yaml
from pdmigrate.mapping.model import Mapping as MappingFile
from pdmigrate.mapping.model import Settings
from pdmigrate.mapping.propose import REVIEW_BELOW, Proposal, propose
from pdmigrate.profiles import load_profile
from pdmigrate.state import hash_inputs
from pdmigrate.workspace import Workspace, list_exports


def settings_of(workspace: Workspace) -> Settings:
    """The practice settings of a workspace, as a mapping records them."""
    config = workspace.config
    order = {"DMY": "dmy", "MDY": "mdy", "YMD": "ymd"}.get(config.date_order.upper())
    return Settings(
        country=config.country,
        timezone=config.timezone,
        currency=config.currency,
        date_order=order,
    )


def objects_summary(mapping: MappingFile) -> list[dict[str, Any]]:
    """``objects[]`` of the JSON contract: source, target, cardinality, per mapping object."""
    return [
        {
            "id": o.id,
            "source": ", ".join(o.source) or o.id,
            "target": o.targets[0],
            "targets": list(o.targets),
            "cardinality": o.cardinality,
            "native": o.native,
            "fields": len(o.fields),
        }
        for o in mapping.objects
    ]


def map_workspace(
    workspace: Workspace,
    *,
    force: bool = False,
    offline: bool = False,
    sample: int = 200,
    existing: Mapping[str, Collection[str]] | None = None,
) -> tuple[Proposal, dict[str, Any]]:
    """Propose and write mapping.yaml; return the proposal and the JSON summary."""
    path = workspace.root / MAPPING_NAME
    if path.exists() and not force:
        raise UsageError(
            f"{path}: already exists; map does not overwrite a mapping you may have edited",
            hint="use --force to propose a new one (the old one is kept as mapping.yaml.bak)",
        )
    profile = load_profile(workspace.config.source)
    tables = sample_exports(profile, workspace.config.exports, sample=sample)
    if not any(t.object for t in tables) and profile.name != "generic":
        raise ConfigError(
            f"{workspace.config.exports}: no export file is recognised as a {profile.name} export",
            hint="check --exports in pdmigrate.toml, or use --source generic",
        )
    if existing is None and not offline:
        existing = names_only(account_fields(workspace))
    proposal = propose(profile, settings_of(workspace), tables, existing or {})
    text = to_yaml(proposal.mapping)
    if path.exists():
        path.replace(path.with_name(MAPPING_NAME + ".bak"))
    path.write_text(text, encoding="utf-8")
    sha = sha256_text(text)
    compat = proposal.mapping.compatibility
    assert compat is not None
    low = [r for r in proposal.review if r.confidence < REVIEW_BELOW]
    unmapped = sum(
        1
        for t in proposal.mapping.value_maps.values()
        if not set(t.values()) <= {"Yes", None}  # yes/no maps: No is deliberately empty
        for v in t.values()
        if v is None
    )
    summary: dict[str, Any] = {
        "mapping": str(path),
        "sha256": sha,
        "profile": profile.name,
        "objects": objects_summary(proposal.mapping),
        "compatibility": {
            "mapped": compat.mapped,
            "total": compat.total,
            "native": compat.native,
            "percent": compat.percent,
        },
        "summary": sentence(compat),
        "fields": sum(len(o.fields) for o in proposal.mapping.objects),
        "review": [r.to_dict() for r in low],
        "unmapped_values": unmapped,
        "not_migrated": [n.model_dump() for n in proposal.mapping.not_migrated],
        "unknown_files": list(proposal.unknown_files),
    }
    with workspace.state() as state:
        inputs = hash_inputs(list_exports(workspace.config.exports), workspace.config.exports)
        run_id = state.start_run("map", profile=profile.name, inputs=inputs, mapping_sha256=sha)
        state.finish_run(run_id, "done", {"compatibility": summary["compatibility"]})
    summary["run_id"] = run_id
    return proposal, summary


def confirm_workspace(
    workspace: Workspace,
    *,
    offline: bool = False,
    fields: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """Validate mapping.yaml and lock its sha256; ConfigError naming lines when invalid."""
    path = workspace.root / MAPPING_NAME
    mapping, lines, sha = load_for_confirm(path)
    profile = load_profile(workspace.config.source)
    if fields is None and not offline:
        fields = account_fields(workspace)
    tables = sample_exports(profile, workspace.config.exports, sample=0)
    headers: dict[str, set[str]] = {}
    values: dict[str, dict[str, list[str]]] = {}
    for table in tables:
        if table.object is None:
            continue
        headers.setdefault(table.object, set()).update(table.headers)
        found = values.setdefault(table.object, {})
        for header, distinct in table.distinct.items():
            if distinct is not None:
                found.setdefault(header, []).extend(distinct)
    result = validate(
        mapping,
        lines,
        profile,
        headers=headers,
        account_fields=fields,
        files=[t.name for t in tables],
        values=values,
    )
    if result.errors:
        shown = [p.render(str(path)) for p in result.errors[:20]]
        more = len(result.errors) - len(shown)
        message = "\n  ".join(shown) + (f"\n  ... and {more} more" if more else "")
        raise ConfigError(
            f"mapping.yaml has {len(result.errors)} problem(s):\n  {message}",
            hint="fix the lines named above, then run `pdmigrate confirm` again",
        )
    with workspace.state() as state:
        run_id = confirm(state, path, sha, profile.name)
    return {
        "confirmed": True,
        "mapping": str(path),
        "sha256": sha,
        "run_id": run_id,
        "objects": len(mapping.objects),
        "fields": sum(len(o.fields) for o in mapping.objects),
        "warnings": [p.render(str(path)) for p in result.warnings],
        "errors": [],
    }


def preview(path: Path) -> MappingFile:
    """The parsed mapping (for the confirm prompt)."""
    mapping, _, _ = load_for_confirm(path)
    return mapping
