"""``pdmigrate rollback``: the workspace entry point around :mod:`pdmigrate.rollback`.

Chooses the runs (``--run ID`` or ``--all``), reads ``--records FILE`` (one source
key a line; blank lines and ``#`` comments ignored), plans the reversal from the
audit log, and runs it as a ``rollback`` run. Without ``yes`` (or with ``dry_run``)
it only reports what would be deleted, restored and kept: no write anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pdmigrate.errors import UsageError
from pdmigrate.rollback import RollbackSummary, rollback_migration
from pdmigrate.rollback_plan import plan_rollback, selected_runs
from pdmigrate.state_ops import Ops

if TYPE_CHECKING:
    from pdmigrate.workspace import Workspace

__all__ = ["read_records", "rollback_workspace"]


def read_records(path: Path) -> set[str]:
    """Source keys listed in ``path`` (one a line; ``#`` comments and blanks skipped)."""
    if not path.is_file():
        raise UsageError(f"--records {path}: no such file")
    keys = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            keys.add(text)
    if not keys:
        raise UsageError(f"--records {path}: lists no source keys")
    return keys


def rollback_workspace(
    workspace: Workspace,
    *,
    run_id: int | None = None,
    all_runs: bool = False,
    objects: tuple[str, ...] = (),
    records: Path | None = None,
    schema: bool = False,
    dry_run: bool = True,
    force: bool = False,
    client_factory: Callable[[], Any] | None = None,
) -> RollbackSummary:
    """Plan and run (or only report) a rollback for ``workspace``."""
    if run_id is None and not all_runs:
        raise UsageError("say what to roll back", hint="pass --run ID or --all")
    if run_id is not None and all_runs:
        raise UsageError("--run and --all exclude each other")
    if schema and (objects or records):
        raise UsageError("--schema removes fields every record uses: not with --object/--records")
    keys = read_records(records) if records is not None else set()
    state = workspace.state()
    ops = Ops(state)
    try:
        runs = selected_runs(ops, run_id, all_runs)
        if run_id is not None and not runs:
            raise UsageError(f"--run {run_id}: no such run that wrote to Pipedrive",
                             hint="see `pdmigrate status` for the run ids")  # fmt: skip
        actions = plan_rollback(ops, runs, account=workspace.config.target, objects=set(objects),
                                records=keys, schema=schema)  # fmt: skip
    except BaseException:
        state.close()
        raise
    if client_factory is None:
        from pdmigrate.plan.account import workspace_client

        client_factory = lambda: workspace_client(workspace)  # noqa: E731
    this_run = None
    if not dry_run:
        this_run = state.start_run(
            "rollback",
            profile=workspace.config.source,
            inputs={"runs": ",".join(str(r) for r in runs), "schema": str(schema),
                    "objects": ",".join(objects), "records": str(records or "")},
        )  # fmt: skip
    stop = asyncio.Event()

    async def main() -> RollbackSummary:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, stop.set)
        async with client_factory() as client:
            return await rollback_migration(
                client, ops, actions, run_id=this_run, dry_run=dry_run, force=force, stop=stop
            )

    try:
        summary = asyncio.run(main())
    except BaseException:
        if this_run is not None:
            state.finish_run(this_run, "failed")
        state.close()
        raise
    if this_run is not None:
        state.finish_run(this_run, summary.status, summary.to_dict()["counts"])  # type: ignore[arg-type]
    state.close()
    return summary
