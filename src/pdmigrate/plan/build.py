"""build_plan: everything decided before the first write, and the plan report.

:func:`read_source` (I/O) reads the confirmed mapping and the exports and applies
them; :func:`compose_plan` (pure) turns source + account snapshot + the user's edits
(owners.csv, decisions.csv) into a :class:`~pdmigrate.plan.model.Plan` and its report;
:func:`plan_workspace` does the I/O around it (one listing each from the account,
owners.csv, decisions.csv, plan.json, reports/plan.json and plan.md, a ``plan`` run in
state.db). :func:`payloads_for_run` is what ``run`` loads.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pdmigrate.errors import ConfigError
from pdmigrate.mapping.compat import compatibility
from pdmigrate.mapping.io import MAPPING_NAME
from pdmigrate.mapping.names import equivalent_name
from pdmigrate.mapping.payload import Payload
from pdmigrate.plan import dedup, estimate, owners
from pdmigrate.plan.account import (
    AccountSnapshot,
    existing_emails,
    read_account,
    workspace_client,
)
from pdmigrate.plan.complexity import complexity
from pdmigrate.plan.model import ADDRESS_FIELD, DOB_FIELD, SOURCE_ID_FIELD, Plan, TargetPrep
from pdmigrate.plan.payloads import run_payloads, unattached
from pdmigrate.plan.source import Source, file_problems, read_source
from pdmigrate.plan.store import load_plan, save_plan
from pdmigrate.plan.target import (
    options_to_add,
    pipelines_to_create,
    prepare_target,
    stages_to_create,
    types_to_create,
)
from pdmigrate.sandbox.plans import get_plan
from pdmigrate.state import now_utc
from pdmigrate.workspace import Workspace

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient


@dataclass(frozen=True)
class Edits:
    """What the user wrote in owners.csv and decisions.csv, and the command's options."""

    owners: Mapping[str, str] = field(default_factory=dict)
    owners_fallback: str | None = None
    fallback_owner: str | None = None  # --fallback-owner wins over the csv
    decisions: Mapping[tuple[str, str], str] = field(default_factory=dict)
    plan_name: str | None = None
    seats: int | None = None
    within: timedelta | None = None
    default_plan: str | None = None  # the sandbox's plan when the account does not say
    default_seats: int | None = None  # the sandbox's seats when the account does not say


@dataclass(frozen=True)
class Composed:
    """A plan plus the files and report it comes with."""

    plan: Plan
    owner_rows: list[owners.OwnerRow]
    proposals: list[dedup.Proposal]
    report: dict[str, Any]


def source_id_key(account: AccountSnapshot) -> str | None:
    """The key of the account's person "Source ID" field, if it has one."""
    fields = {f.name: f.key for f in account.fields.get("person", ())}
    name = equivalent_name(SOURCE_ID_FIELD, fields)
    return None if name is None else fields[name]


def _workarounds(pl: Sequence[Payload], counts: Mapping[str, int], prep: TargetPrep) -> list[str]:
    entities = {p.entity for p in pl}
    out = []
    if entities & {"activity", "note"}:
        out.append("markers")
    if "deal" in entities:
        out.append("deal_date_fields")
    if counts.get("organization_parent"):
        out.append("organization_relationships")
    if "file" in entities:
        out.append("files")
    fallback = {(f.entity, f.name) for f in prep.fields} & {
        ("person", DOB_FIELD),
        ("person", ADDRESS_FIELD),
    }
    if fallback and not prep.contact_sync:
        out.append("contact_sync_fallback")
    if prep.activity_types:
        out.append("custom_activity_types")
    if "deal_product" in entities:
        out.append("deal_products")
    return out


def compose_plan(
    source: Source,
    account: AccountSnapshot,
    edits: Edits,
    *,
    emails: Mapping[str, int],
    listing_pages: int = 0,
) -> Composed:
    """The plan from the source, the account snapshot and the user's edits (pure)."""
    mapping = source.mapping
    warnings: list[str] = []
    plan_name = edits.plan_name or account.plan_hint or edits.default_plan
    if plan_name is None:
        plan_name = "growth"
        warnings.append("the account's plan is unknown: assumed Growth (use --plan)")
    tier = get_plan(plan_name)
    active_users = [u for u in account.users if u.active]
    seats = (
        edits.seats
        or account.seats_hint(tier.daily_multiplier)
        or edits.default_seats
        or max(1, len(active_users))
    )
    me = account.me
    admin = me is not None and me.admin
    if not admin:
        warnings.append(
            "the API token's user is not an admin: Pipedrive listings hide other users' "
            "private records, so verification may miss some"
        )
    prep, target_warnings = prepare_target(
        mapping, source.payloads, account, visible_to_company=tier.visible_to_company
    )
    warnings.extend(target_warnings)
    # owners
    staff = owners.collect_staff(source.payloads)
    who, owner_rows, owner_warnings = owners.resolve_owners(
        staff,
        account.users,
        edits=edits.owners,
        fallback_email=edits.fallback_owner or edits.owners_fallback,
        fallback_from_option=edits.fallback_owner is not None,
        inactive_rule=source.inactive_rule,
    )
    warnings.extend(owner_warnings)
    if not who.runnable:
        warnings.append(
            f"{len(who.unmatched)} staff have no Pipedrive user and there is no fallback owner: "
            "run refuses until owners.csv names them or --fallback-owner is given"
        )
    # dedup
    people = dedup.candidates(source.payloads)
    proposals = dedup.apply_decisions(dedup.propose_pairs(people), edits.decisions)
    merges, skips = dedup.merges_of(proposals)
    existing = dedup.match_existing(people, merges, emails)
    # ops and estimate
    payloads = run_payloads(
        source.payloads,
        profile=mapping.profile,
        merges=merges,
        skips=skips,
        contact_sync=prep.contact_sync,
    )
    doomed = unattached(payloads, mapping.profile, (o.id for o in mapping.objects))
    if doomed:
        warnings.append(
            f"{len(doomed)} record(s) hang only on records that are not in this migration; "
            "run marks them failed (see unattached in reports/plan.json)"
        )
    missing_files, big_files = file_problems(payloads, source.attachments, source.max_file_mb)
    if missing_files or big_files:
        warnings.append(
            f"{len(missing_files)} file(s) missing from the attachments folder and "
            f"{len(big_files)} over {source.max_file_mb} MB: run marks them failed"
        )
    gone = {id(p) for p in [*doomed, *missing_files, *big_files]}
    to_create = prep.to_create()
    ops = estimate.count_ops(
        [p for p in payloads if id(p) not in gone],
        fields_to_create=Counter(f.entity for f in to_create),
        options_to_add=options_to_add(prep, account),
        pipelines=pipelines_to_create(prep),
        stages=stages_to_create(prep),
        activity_types=types_to_create(prep),
        existing=existing,
        prepare_reads=estimate.prepare_reads(
            (f.entity for f in prep.fields),
            pipelines=bool(prep.pipelines),
            activity_types=bool(prep.activity_types),
        ),
    )
    est = estimate.estimate(ops, tier, seats)
    window = None if edits.within is None else estimate.within(ops, tier, seats, edits.within)
    caps = estimate.caps(
        tier,
        seats,
        custom_fields_total=account.custom_field_count() + len(to_create),
        deals=ops.counts.get("deal", 0),
        leads=ops.counts.get("lead", 0),
    )
    exceeded = [c for c in caps if c["exceeded"]]
    for c in exceeded:
        warnings.append(
            f"plan cap exceeded: {c['cap']} {c['planned']} > {c['limit']} on {tier.name}"
        )
    compat = mapping.compatibility or compatibility(mapping.objects)
    grade = complexity(
        compatibility_percent=compat.percent,
        confidences=[line.confidence for o in mapping.objects for line in o.fields],
        days=est.days,
        workarounds=_workarounds(payloads, ops.counts, prep),
        exceeded_caps=len(exceeded),
    )
    plan = Plan(
        target=prep,
        owners=who,
        merges=merges,
        existing=existing,
        counts=dict(ops.counts),
        tokens=ops.tokens,
        days=round(est.days, 6),
        grade=grade.grade,
        skips=skips,
        private=source.private,
        plan_name=tier.name,
        seats=seats,
        mapping_sha256=source.sha256,
        created_at=now_utc(),
        warnings=tuple(warnings),
        details={
            "inputs": dict(source.inputs),
            "calls": dict(sorted(ops.calls.items())),
            "estimate": est.to_dict(),
            "within": window,
            "caps": caps,
            "complexity": grade.to_dict(),
        },
    )
    by_status = Counter(r.status for r in owner_rows if r.staff != owners.FALLBACK_ROW)
    report: dict[str, Any] = {
        "mapping_sha256": source.sha256,
        "profile": mapping.profile,
        "ops": dict(ops.counts),
        "calls": dict(sorted(ops.calls.items())),
        "tokens": ops.tokens,
        "writes": ops.writes,
        "requests": ops.requests,
        "days": round(est.days, 4),
        "hours": round(est.hours, 4),
        "estimate": est.to_dict(),
        "within": window,
        "caps": caps,
        "complexity": grade.to_dict(),
        "grade": grade.grade,
        "owners": {
            "matched": by_status["matched"] + by_status["edited"],
            "unmatched": len(who.unmatched),
            "by_status": dict(sorted(by_status.items())),
            "unmatched_staff": list(who.unmatched),
            "fallback": None
            if who.fallback_user_id is None
            else {"id": who.fallback_user_id, "email": who.fallback_email},
            "users": [
                {"id": u.id, "email": u.email, "name": u.name, "active": u.active, "admin": u.admin}
                for u in account.users
            ],
            "runnable": who.runnable,
        },
        "dedup": {
            "proposed": len(proposals),
            "merge": sum(1 for p in proposals if p.decision == "merge"),
            "skip": sum(1 for p in proposals if p.decision == "skip"),
            "keep_apart": sum(1 for p in proposals if p.decision == "keep apart"),
            "matched_existing": len(existing),
            "listing_pages": listing_pages,
        },
        "target": {
            "contact_sync": prep.contact_sync,
            "fields_to_create": len(to_create),
            "fields_reused": len(prep.fields) - len(to_create),
            "pipelines_to_create": pipelines_to_create(prep),
            "stages_to_create": stages_to_create(prep),
            "activity_types_to_create": types_to_create(prep),
            "fields": [
                {
                    "entity": f.entity,
                    "name": f.name,
                    "type": f.field_type,
                    "options": len(f.options),
                    "action": "reuse" if (f.entity, f.name) in prep.reuse else "create",
                }
                for f in prep.fields
            ],
            "pipelines": [
                {"name": p.name, "stages": [[s.name, s.probability] for s in p.stages]}
                for p in prep.pipelines
            ],
            "activity_types": [t.name for t in prep.activity_types],
        },
        "visibility": {
            "plan": tier.name,
            "company": prep.visible_to_company,
            "private_records": len(source.private),
            "not_restrictable": source.not_restrictable,
            "token_user_admin": admin,
        },
        "files": {
            "planned": sum(1 for p in payloads if p.entity == "file"),
            "missing": len(missing_files),
            "too_large": len(big_files),
            "max_file_mb": source.max_file_mb,
            "examples": [
                {"source_key": p.source_key, "where": p.where}
                for p in [*missing_files, *big_files][:10]
            ],
        },
        "findings": source.findings,
        "unattached": {
            "count": len(doomed),
            "by_entity": dict(
                Counter(p.entity + ("_update" if p.update_of else "") for p in doomed)
            ),
            "examples": [{"source_key": p.source_key, "where": p.where} for p in doomed[:10]],
        },
        "warnings": warnings,
        "runnable": who.runnable,
    }
    return Composed(plan, owner_rows, proposals, report)


async def _read(
    workspace: Workspace, client: PipedriveClient | None
) -> tuple[AccountSnapshot, dict[str, int], int]:
    async def with_client(c: PipedriveClient) -> tuple[AccountSnapshot, dict[str, int], int]:
        snapshot = await read_account(c)
        before = c.stats.by_endpoint["persons.list"]
        emails = await existing_emails(c, source_id_key=source_id_key(snapshot))
        return snapshot, emails, c.stats.by_endpoint["persons.list"] - before

    if client is not None:
        return await with_client(client)
    async with workspace_client(workspace) as c:
        return await with_client(c)


def plan_workspace(
    workspace: Workspace,
    client: PipedriveClient | None = None,
    *,
    fallback_owner: str | None = None,
    within: timedelta | None = None,
    plan_name: str | None = None,
    seats: int | None = None,
) -> Composed:
    """Plan the workspace's migration and write owners.csv, decisions.csv, plan.json, reports.

    Refuses (ConfigError, exit 2) without a confirmed mapping. Records a ``plan`` run.
    """
    from pdmigrate.plan.report import write_reports

    source = read_source(workspace)
    owners_path = workspace.root / owners.OWNERS_CSV
    decisions_path = workspace.root / dedup.DECISIONS_CSV
    owner_edits, owner_fallback = owners.read_owners_csv(owners_path)
    decisions = dedup.read_decisions_csv(decisions_path)
    if plan_name is not None:
        get_plan(plan_name)
    with workspace.state() as state:
        run_id = state.start_run(
            "plan",
            profile=source.mapping.profile,
            inputs=source.inputs,
            mapping_sha256=source.sha256,
        )
    try:
        snapshot, emails, pages = asyncio.run(_read(workspace, client))
        edits = Edits(
            owners=owner_edits,
            owners_fallback=owner_fallback,
            fallback_owner=fallback_owner,
            decisions=decisions,
            plan_name=plan_name,
            seats=seats,
            within=within,
            default_plan=workspace.config.sandbox_plan if workspace.config.is_sandbox else None,
            default_seats=1 if workspace.config.is_sandbox else None,
        )
        composed = compose_plan(source, snapshot, edits, emails=emails, listing_pages=pages)
        _write_text(owners_path, owners.render_owners_csv(composed.owner_rows))
        _write_text(decisions_path, dedup.render_decisions_csv(composed.proposals))
        composed.report["plan"] = str(save_plan(workspace, composed.plan))
        composed.report["owners"]["csv"] = str(owners_path)
        composed.report["dedup"]["csv"] = str(decisions_path)
        composed.report["run_id"] = run_id
        composed.report["reports"] = [str(p) for p in write_reports(workspace, composed.report)]
    except BaseException:
        with workspace.state() as state:
            state.finish_run(run_id, "failed")
        raise
    with workspace.state() as state:
        state.finish_run(
            run_id,
            "done",
            {
                "tokens": composed.plan.tokens,
                "days": composed.plan.days,
                "grade": composed.plan.grade,
                "ops": composed.plan.counts,
                "runnable": composed.plan.owners.runnable,
            },
        )
    return composed


def build_plan(
    workspace: Workspace,
    client: PipedriveClient | None = None,
    *,
    fallback_owner: str | None = None,
    within: timedelta | None = None,
    plan_name: str | None = None,
    seats: int | None = None,
) -> Plan:
    """Plan the workspace's migration (see :func:`plan_workspace`) and return the Plan."""
    return plan_workspace(
        workspace,
        client,
        fallback_owner=fallback_owner,
        within=within,
        plan_name=plan_name,
        seats=seats,
    ).plan


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def payloads_for_run(workspace: Workspace, plan: Plan | None = None) -> Iterator[Payload]:
    """The payloads ``run`` loads: rows x locked mapping, the plan's decisions applied.

    Refuses (ConfigError) when the mapping or the exports changed since the plan.
    """
    plan = plan or load_plan(workspace)
    source = read_source(workspace)
    if source.sha256 != plan.mapping_sha256:
        raise ConfigError(
            f"{workspace.root / MAPPING_NAME}: confirmed after the plan was made",
            hint="run `pdmigrate plan` again",
        )
    planned = plan.details.get("inputs")
    if planned is not None and dict(source.inputs) != planned:
        raise ConfigError(
            f"{workspace.config.exports}: the exports changed since the plan was made",
            hint="run `pdmigrate plan` again",
        )
    yield from run_payloads(
        source.payloads,
        profile=source.mapping.profile,
        merges=plan.merges,
        skips=plan.skips,
        contact_sync=plan.target.contact_sync,
    )
