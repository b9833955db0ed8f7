"""``pdmigrate delta``: the workspace entry point around :func:`pdmigrate.delta.delta_migration`.

Reads the fresh exports (``--exports PATH``) with the confirmed mapping and the plan's
decisions (merges, skips, Contact Sync fallbacks), opens the workspace's client and
records the delta as a run (``runs`` kind ``delta``). Ctrl-C lets the write in flight
finish; a crashed or interrupted delta is resumed by running it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pdmigrate.delta import DeltaSummary, delta_migration
from pdmigrate.errors import ConfigError, UsageError
from pdmigrate.mapping.payload import Payload
from pdmigrate.state_ops import Ops

if TYPE_CHECKING:
    from pdmigrate.workspace import Workspace

__all__ = ["delta_payloads", "delta_workspace"]


def delta_payloads(workspace: Workspace, exports: Path) -> tuple[list[Payload], Any, str]:
    """``(payloads, plan, mapping sha256)`` of the fresh exports under the locked mapping."""
    try:
        from pdmigrate.plan.source import read_source
    except ImportError:  # an older layout: read_source lived in plan.build
        from pdmigrate.plan.build import read_source  # type: ignore[attr-defined]
    from pdmigrate.plan.payloads import run_payloads
    from pdmigrate.plan.store import load_plan

    if not exports.is_dir():
        raise UsageError(f"--exports {exports}: no such folder")
    plan = load_plan(workspace)
    fresh = replace(workspace, config=replace(workspace.config, exports=exports))
    source = read_source(fresh)
    if plan.mapping_sha256 and plan.mapping_sha256 != source.sha256:
        raise ConfigError(
            f"{workspace.root / 'plan.json'}: made for another mapping version",
            hint="run `pdmigrate plan` again",
        )
    payloads = run_payloads(
        source.payloads,
        profile=source.mapping.profile,
        merges=plan.merges,
        skips=plan.skips,
        contact_sync=plan.target.contact_sync,
    )
    return payloads, plan, source.sha256


def delta_workspace(
    workspace: Workspace,
    exports: Path,
    *,
    dry_run: bool = False,
    overwrite_edited: bool = False,
    delete_missing: bool = False,
    client_factory: Callable[[], Any] | None = None,
) -> DeltaSummary:
    """Run a delta over ``exports`` for ``workspace`` (see :mod:`pdmigrate.delta`)."""
    state = workspace.state()
    try:
        done_runs = [r for r in state.runs() if r.kind == "run"]
    finally:
        state.close()
    if not done_runs:
        raise UsageError(
            "no migration has run in this workspace yet",
            hint="run `pdmigrate run` first; delta picks up what changed after it",
        )
    payloads, plan, sha = delta_payloads(workspace, exports)
    if client_factory is None:
        from pdmigrate.plan.account import workspace_client

        client_factory = lambda: workspace_client(workspace)  # noqa: E731
    state = workspace.state()
    ops = Ops(state)
    run_id = state.start_run(
        "delta",
        profile=workspace.config.source,
        mapping_sha256=sha,
        inputs={"exports": str(exports), "dry_run": str(dry_run)},
    )
    stop = asyncio.Event()

    async def main() -> DeltaSummary:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, stop.set)
        async with client_factory() as client:
            return await delta_migration(
                client, ops, plan=plan, payloads=payloads, run_id=run_id,
                account=workspace.config.target, currency=workspace.config.currency,
                attachments=workspace.config.attachments, dry_run=dry_run,
                overwrite_edited=overwrite_edited, delete_missing=delete_missing, stop=stop,
            )  # fmt: skip

    try:
        summary = asyncio.run(main())
    except BaseException:
        state.finish_run(run_id, "failed")
        state.close()
        raise
    state.finish_run(run_id, summary.status, summary.to_dict())  # type: ignore[arg-type]
    state.close()
    return summary
