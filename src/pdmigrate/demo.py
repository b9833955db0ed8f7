"""`make demo` / `pdmigrate demo`: the whole flow on synthetic exports against the sandbox.

For each source system, non-interactively: ``synth`` (small, seeded exports), ``init``
(a workspace whose target is the embedded sandbox), ``audit``, ``map``, ``confirm``,
``plan`` (the sandbox's admin as fallback owner), ``sample``, ``run``, ``verify`` and
``report``; then it prints where the HTML report is. The data is synthetic. Exit 0
when every profile's verification matched every field and accounted for every
source record; 3 otherwise; the usual codes on errors.

``python -m pdmigrate.demo`` runs all six profiles in a temporary folder.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from pdmigrate.errors import EXIT_ATTENTION, PdmigrateError

__all__ = ["SYSTEMS", "DemoResult", "main", "run_demo", "run_system"]

SYSTEMS = (
    "advancedpm",
    "corepractice",
    "practicebynumbers",
    "practicemaster",
    "visualpractice",
    "generic",
)
#: Patients per synth export: enough for every stratum, small enough to stay quick.
PATIENTS = 60
SAMPLE_SIZE = 50


@dataclass
class DemoResult:
    """One profile's run through the flow."""

    system: str
    workspace: Path
    report: Path | None = None
    sample: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    verify: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def accounted(self) -> bool:
        """Every source row is in a bucket of each target, the buckets add up, none is left."""
        from pdmigrate.verify import BUCKETS

        objects = self.verify.get("objects") or {}
        rows = self.verify.get("rows") or {}
        return (
            bool(objects)
            and all(
                o.get("source", 0) == sum(o.get(b, 0) for b in BUCKETS) for o in objects.values()
            )
            and rows.get("total", -1) == rows.get("accounted")
        )

    @property
    def ok(self) -> bool:
        """Verify passed and every record is accounted for."""
        return bool(self.verify.get("ok")) and self.accounted

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "system": self.system,
            "workspace": str(self.workspace),
            "report": None if self.report is None else str(self.report),
            "ok": self.ok,
            "accounted": self.accounted,
            "sample": {k: self.sample.get(k) for k in ("run_id", "status", "diff", "strata")},
            "run": {k: self.run.get(k) for k in ("run_id", "status", "created", "failed")},
            "verify": {
                k: self.verify.get(k)
                for k in ("ok", "fields", "accuracy", "tokens", "rows", "objects")
            },
            "seconds": round(self.seconds, 2),
        }


def _admin_email(workspace: Any) -> str:
    from pdmigrate.plan.account import workspace_client

    async def me() -> str:
        async with workspace_client(workspace) as client:
            return str((await client.users.me())["email"])

    return asyncio.run(me())


def _audit(workspace: Any) -> None:
    from pdmigrate.cli import audit_cmd

    try:
        audit_cmd.COMMANDS[0].main(["-w", str(workspace.root), "--json"], standalone_mode=False)
    except SystemExit as exc:  # the audit exits 3 when it has findings: expected here
        if exc.code not in (0, None, EXIT_ATTENTION):
            raise


def run_system(
    system: str,
    root: Path,
    *,
    patients: int = PATIENTS,
    seed: int = 1,
    say: Callable[[str], None] = lambda _: None,
) -> DemoResult:
    """The whole flow for one source system in ``root/system`` (see the module docstring)."""
    import contextlib
    import io

    from pdmigrate.mapping.workflow import confirm_workspace, map_workspace
    from pdmigrate.pipeline import run_workspace
    from pdmigrate.plan.build import plan_workspace
    from pdmigrate.reports.build import build_reports
    from pdmigrate.sample import sample_workspace
    from pdmigrate.synth import synth
    from pdmigrate.verify import verify_workspace
    from pdmigrate.workspace import create_workspace, load_workspace

    started = time.monotonic()
    base = root / system
    exports = base / "exports"
    say(f"[{system}] synth {patients} patients")
    synth(system, exports, patients=patients, seed=seed)
    attachments = exports / "attachments"
    ws = create_workspace(
        base / "workspace",
        source=system,
        exports=exports,
        attachments=attachments if attachments.is_dir() else None,
    )
    result = DemoResult(system, ws.root)
    say(f"[{system}] audit, map, confirm")
    with contextlib.redirect_stdout(io.StringIO()):
        _audit(ws)
    map_workspace(ws)
    confirm_workspace(ws)
    ws = load_workspace(ws.root)
    owner = _admin_email(ws)
    say(f"[{system}] plan (fallback owner {owner})")
    plan_workspace(ws, fallback_owner=owner)
    say(f"[{system}] sample")
    result.sample = sample_workspace(ws, size=SAMPLE_SIZE, seed=seed, fallback_owner=owner)
    say(f"[{system}] run")
    result.run = run_workspace(ws, fallback_owner=owner).to_dict()
    say(f"[{system}] verify")
    result.verify = verify_workspace(ws)
    say(f"[{system}] report")
    build_reports(ws)
    index = ws.reports_dir / "index.html"
    result.report = index if index.is_file() else None
    result.seconds = time.monotonic() - started
    return result


def run_demo(
    systems: Sequence[str], root: Path, *, patients: int = PATIENTS, console: Console | None = None
) -> list[DemoResult]:
    """Run :func:`run_system` for each system; print a line per profile."""
    out: list[DemoResult] = []
    say: Callable[[str], None] = (
        (lambda m: console.print(m, markup=False)) if console else (lambda _: None)
    )
    for system in systems:
        res = run_system(system, root, patients=patients, say=say)
        out.append(res)
        if console is not None:
            _render(res, console)
    return out


def _render(res: DemoResult, console: Console) -> None:
    v = res.verify
    fields = v.get("fields") or {}
    diff = res.sample.get("diff") or {}
    console.print(
        f"[bold]{res.system}[/]: sample {diff.get('records', 0)} records "
        f"({diff.get('mismatch', 0)} mismatched fields); run {res.run.get('status')}; verify "
        f"{fields.get('checked', 0)} fields, {fields.get('mismatched', 0)} mismatched, accuracy "
        f"{v.get('accuracy')}%, {v.get('tokens')} tokens; every source record accounted for: "
        f"{'yes' if res.accounted else 'NO'} ({res.seconds:.1f} s)"
    )
    if res.report is not None:
        console.print(f"  HTML report: {res.report}", markup=False)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pdmigrate.demo [SYSTEM ...] [--keep DIR]``: every profile by default."""
    args = list(sys.argv[1:] if argv is None else argv)
    keep: Path | None = None
    if "--keep" in args:
        i = args.index("--keep")
        keep = Path(args[i + 1])
        del args[i : i + 2]
    systems = args or list(SYSTEMS)
    console = Console(stderr=True, highlight=False)
    try:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            results = run_demo(systems, keep, console=console)
        else:
            root = Path(tempfile.mkdtemp(prefix="pdmigrate-demo-"))
            results = run_demo(systems, root, console=console)
    except PdmigrateError as exc:
        console.print(f"[bold red]error:[/] {exc.message}")
        return exc.exit_code
    bad = [r.system for r in results if not r.ok]
    if bad:
        console.print(f"[bold red]not verified:[/] {', '.join(bad)}")
        return EXIT_ATTENTION
    console.print(f"[green]all {len(results)} profiles migrated and verified[/]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
