"""The stage order and the resume rule: the only module that knows them.

Order (landing rules §6): target preparation (fields, pipelines, stages, activity
types), then organizations, their parent links, persons, products, deals, deal
products, leads, activities, notes, files.

Resume rule: every run re-derives the payloads from the locked mapping and the
plan, registers any op not yet known as ``pending`` and runs, stage by stage, the
ops that are ``pending`` or ``started``; ``started`` ones are first reconciled by
source id. ``done``, ``failed`` and ``skipped`` ops are never redone (``failed``
ones only with ``retry_failed``), so a re-run of a finished migration writes nothing.

:func:`run_migration` is the async core (tests call it with any client);
:func:`run_workspace` is what ``pdmigrate run`` calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pdmigrate.errors import BudgetExhausted, ConfigError, UsageError
from pdmigrate.load import Loader
from pdmigrate.load_items import Item, build_items
from pdmigrate.mapping.payload import Payload
from pdmigrate.plan.model import Plan
from pdmigrate.prepare import prepare_target
from pdmigrate.sample_refresh import refresh, stale_items
from pdmigrate.state_ops import Ops, OpSpec

if TYPE_CHECKING:
    from pdmigrate.pipedrive.client import PipedriveClient
    from pdmigrate.workspace import Workspace

__all__ = ["STAGES", "RunSummary", "resume_preview", "run_migration", "run_workspace"]

#: Every stage, in the order they run.
STAGES: tuple[str, ...] = (
    "organization",
    "org_parent",
    "person",
    "product",
    "deal",
    "deal_product",
    "lead",
    "activity",
    "note",
    "file",
)


@dataclass
class RunSummary:
    """How a run ended (the ``--json`` summary of ``run``)."""

    run_id: int
    status: str = "running"
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    reconciled: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    links_absent: dict[str, int] = field(default_factory=dict)
    unknown: int = 0
    resets_at: datetime | None = None
    tokens: int = 0
    requests: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "created": dict(self.created),
            "updated": dict(self.updated),
            "reconciled": self.reconciled,
            "failed": list(self.failed),
            "links_not_set": list(self.links),
            "links_absent": dict(self.links_absent),
            "unknown": self.unknown,
            "resets_at": None if self.resets_at is None else self.resets_at.isoformat(),
            "tokens": self.tokens,
            "requests": self.requests,
        }


ProgressHook = Callable[[str, int, int], None]  # (stage, advance, total) - total<0: advance


async def run_migration(
    client: PipedriveClient,
    ops: Ops,
    *,
    plan: Plan,
    payloads: Iterable[Payload],
    run_id: int,
    account: str,
    currency: str = "USD",
    attachments: Any = None,
    concurrency: int = 8,
    stop: asyncio.Event | None = None,
    progress: Any = None,
    retry_failed: bool = False,
) -> RunSummary:
    """Prepare the target and run every stage (see the module docstring)."""
    summary = RunSummary(run_id)
    items, index = build_items(payloads, plan)
    ops.register(
        (
            OpSpec(i.stage, i.entity, i.source_key, i.kind, "", i.payload.where, i.seq)
            for i in items
        ),
        run_id,
    )
    if retry_failed:
        ops.reset(["failed"])
    open_ops = ops.conn.execute(
        "SELECT COUNT(*) FROM ops WHERE status IN ('pending', 'started')"
    ).fetchone()[0]
    stale = stale_items(items, ops)  # written before (e.g. by a sample), payload changed since
    refreshed: Counter[str] = Counter()
    if not open_ops and not stale:
        # A finished migration: nothing to prepare, nothing to write.
        _fill(summary, ops, run_id, client)
        summary.status = "attention" if summary.failed else "done"
        return summary
    prepared = await prepare_target(client, ops, plan.target, account=account, run_id=run_id)
    loader = Loader(
        client=client,
        ops=ops,
        plan=plan,
        keys=prepared.keys,
        index=index,
        run_id=run_id,
        currency=currency,
        attachments=attachments,
        concurrency=concurrency,
        stop=stop or asyncio.Event(),
    )
    by_stage: dict[str, list[Item]] = {}
    for item in items:
        by_stage.setdefault(item.stage, []).append(item)
    if progress is not None:
        loader.on_progress = progress.advance
        if getattr(progress, "tokens_left", None) is None:
            progress.tokens_left = client.ledger.tokens_left
    try:
        for stage in STAGES:
            if loader.stop.is_set():
                break
            stage_items = by_stage.get(stage, [])
            if not stage_items:
                continue
            if progress is not None:
                progress.start(stage, len(stage_items))
            res = await loader.run_stage(stage, stage_items)
            summary.reconciled += res.reconciled
            summary.unknown += res.unknown
            if stale and not loader.stop.is_set():
                refreshed += await refresh(loader, [i for i in stale if i.stage == stage])
    except BudgetExhausted as exc:
        summary.status = "stopped"
        summary.resets_at = exc.resets_at
    _fill(summary, ops, run_id, client)
    summary.links_absent = dict(sorted(loader.absent.items()))
    for entity, n in refreshed.items():
        summary.updated[entity] = summary.updated.get(entity, 0) + n
    if summary.status == "running":
        if loader.stop.is_set():
            summary.status = "interrupted"
        elif summary.failed or summary.unknown:
            summary.status = "attention"
        else:
            summary.status = "done"
    return summary


def _fill(summary: RunSummary, ops: Ops, run_id: int, client: PipedriveClient) -> None:
    done = ops.done_by_run(run_id)
    for kind, counter in done.items():
        target = summary.created if kind in ("create", "link") else summary.updated
        for entity, n in counter.items():
            target[entity] = target.get(entity, 0) + n
    rows = ops.conn.execute(
        "SELECT stage, source_key, src_where, status, error FROM ops "
        "WHERE (status = 'failed') OR (status = 'done' AND error IS NOT NULL) ORDER BY id"
    )
    for stage, key, where, status, error in rows:
        entry = {"stage": stage, "source_key": key, "where": where, "error": error}
        (summary.failed if status == "failed" else summary.links).append(entry)
    summary.tokens = client.stats.tokens_charged
    summary.requests = client.stats.requests


def resume_preview(ops: Ops) -> dict[str, Any]:
    """What a resume will do: ops to reconcile, to send, failed and kept."""
    counts = ops.counts()
    out: dict[str, Any] = {"stages": {}, "reconcile": 0, "send": 0, "failed": 0}
    for stage in STAGES:
        c = counts.get(stage)
        if not c:
            continue
        out["stages"][stage] = c
        out["reconcile"] += c.get("started", 0)
        out["send"] += c.get("pending", 0)
        out["failed"] += c.get("failed", 0)
    return out


# -- the workspace entry point ----------------------------------------------------------


def _resolve_fallback(plan: Plan, email: str | None, users: list[dict[str, Any]]) -> Plan:
    from dataclasses import replace

    if email is None:
        return plan
    hit = next(
        (
            u
            for u in users
            if str(u.get("email", "")).casefold() == email.casefold() and u.get("active_flag", True)
        ),
        None,
    )
    if hit is None:
        raise UsageError(
            f"--fallback-owner {email}: no active Pipedrive user has this email",
            hint="use the email of an active user of the account",
        )
    owners = replace(plan.owners, fallback_user_id=int(hit["id"]), fallback_email=email)
    return replace(plan, owners=owners)


def run_workspace(
    workspace: Workspace,
    *,
    fallback_owner: str | None = None,
    wait: bool = False,
    retry_failed: bool = False,
    progress: Any = None,
    client_factory: Callable[[], Any] | None = None,
    on_wait: Callable[[datetime], None] | None = None,
) -> RunSummary:
    """``pdmigrate run``: refuse an unconfirmed mapping or unmatched staff, then migrate.

    With ``wait`` a run stopped by the daily budget sleeps until the reset and goes
    on. Ctrl-C (SIGINT) lets in-flight ops finish and returns ``interrupted``.
    """
    from pdmigrate.mapping.confirm import require_confirmed
    from pdmigrate.plan.build import payloads_for_run
    from pdmigrate.plan.store import load_plan

    sha = require_confirmed(workspace)
    plan = load_plan(workspace)
    if plan.mapping_sha256 and plan.mapping_sha256 != sha:
        raise ConfigError(
            f"{workspace.root / 'plan.json'}: made for another mapping version",
            hint="run `pdmigrate plan` again",
        )
    if not plan.owners.runnable and fallback_owner is None:
        raise UsageError(
            f"{len(plan.owners.unmatched)} source staff have no Pipedrive user and no fallback "
            "owner is set",
            hint="fill owners.csv and re-run `pdmigrate plan`, or pass --fallback-owner EMAIL",
        )
    payloads = list(payloads_for_run(workspace, plan))
    if client_factory is None:
        from pdmigrate.plan.account import workspace_client

        client_factory = lambda: workspace_client(workspace)  # noqa: E731
    state = workspace.state()
    ops = Ops(state)
    run_id = state.start_run("run", profile=workspace.config.source, mapping_sha256=sha)
    stop = asyncio.Event()

    async def main() -> RunSummary:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, stop.set)
        async with client_factory() as client:
            current = plan
            if fallback_owner is not None:
                users = await client.users.list()
                current = _resolve_fallback(plan, fallback_owner, users)
            while True:
                summary = await run_migration(
                    client,
                    ops,
                    plan=current,
                    payloads=payloads,
                    run_id=run_id,
                    account=workspace.config.target,
                    currency=workspace.config.currency,
                    attachments=workspace.config.attachments,
                    stop=stop,
                    progress=progress,
                    retry_failed=retry_failed,
                )
                if summary.status != "stopped" or not wait or summary.resets_at is None:
                    return summary
                if on_wait is not None:
                    on_wait(summary.resets_at)
                delay = (summary.resets_at - client.clock.now()).total_seconds()
                await client.sleep(max(delay, 0) + 1)

    try:
        summary = asyncio.run(main())
    except BaseException:
        state.finish_run(run_id, "failed")
        state.close()
        raise
    stored = summary.to_dict()
    stored["failed_count"] = len(summary.failed)
    stored["failed"] = stored["failed"][:100]  # the full list stays in `ops` (status --json)
    stored["links_not_set"] = stored["links_not_set"][:100]
    state.finish_run(run_id, summary.status, stored)  # type: ignore[arg-type]
    state.close()
    return summary
