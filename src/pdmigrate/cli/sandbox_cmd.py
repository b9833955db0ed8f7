"""`pdmigrate sandbox`: serve the local Pipedrive-compatible server, or dump its state.

Thin: options become a :class:`~pdmigrate.sandbox.config.SandboxConfig`; the
library serves it (:mod:`pdmigrate.sandbox.server`) or dumps it
(:mod:`pdmigrate.sandbox.dump`). File mistakes (``--users``, ``--tokens``,
``--faults``, a missing ``--db``) are usage errors: a message with file:line,
exit 2, no traceback.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import click

from pdmigrate.cli.common import common_options, emit_json, err_console
from pdmigrate.errors import UsageError
from pdmigrate.sandbox.config import PLANS, SandboxConfig


@click.group(
    name="sandbox",
    help=(
        "The local Pipedrive-compatible server (always on 127.0.0.1).\n\n\b\nExample:\n"
        "  pdmigrate sandbox serve --port 8765 --plan growth\n"
        "  pdmigrate sandbox dump --db sandbox.db"
    ),
)
def sandbox() -> None:
    """Sandbox command group."""


def workspace_sandbox(workspace: Path) -> tuple[Path, dict[str, int], str, int]:
    """A workspace's own sandbox: (db file, {its token: company id}, plan, max file bytes).

    For ``-w DIR`` without ``--db``: serve or dump the sandbox account that
    ``pdmigrate init --target sandbox`` created, accepting only that workspace's token.
    """
    from pdmigrate.sandbox.store import Store
    from pdmigrate.workspace import load_workspace

    ws = load_workspace(workspace)
    path = ws.sandbox_path
    token = ws.config.sandbox_token
    if path is None or not token:
        raise UsageError(
            f"{ws.config_path}: the target is not the local sandbox, so there is none to use",
            hint="pass --db FILE",
        )
    if not path.is_file():
        raise UsageError(f"{path}: the workspace's sandbox file is missing")
    store = Store(path)
    try:
        company = store.company_for_token(token)
    finally:
        store.close()
    if company is None:
        raise UsageError(f"{path}: has no account for the token in {ws.config_path} [sandbox]")
    return path, {token: company}, ws.config.sandbox_plan, ws.config.max_file_mb * 1024 * 1024


def _explicit(name: str) -> bool:
    ctx = click.get_current_context()
    return ctx.get_parameter_source(name) not in (
        click.core.ParameterSource.DEFAULT,
        click.core.ParameterSource.DEFAULT_MAP,
        None,
    )


def build_config(
    *,
    db: Path | None,
    plan: str,
    seats: int,
    latency_ms: int,
    faults: str | None,
    tokens: Path | None,
    users: Path | None,
    contact_sync: str,
    fair_use: bool,
    token_map: dict[str, int] | None = None,
    max_file_bytes: int | None = None,
) -> SandboxConfig:
    """The sandbox settings the `serve` options describe (files are read and validated)."""
    from pdmigrate.sandbox import seed
    from pdmigrate.sandbox.faults import FaultSpec

    fault_spec = None
    if faults is not None:
        fault_spec = FaultSpec.parse(faults)
        if latency_ms:
            if fault_spec.latency_ms:
                raise UsageError("give the latency in --faults or in --latency-ms, not both")
            fault_spec = dataclasses.replace(fault_spec, latency_ms=float(latency_ms))
    if tokens is not None:
        token_map = seed.load_tokens(tokens)
    config = SandboxConfig(
        plan=plan,
        seats=seats,
        db_path=db,
        tokens=token_map,
        users=seed.load_users(users) if users is not None else None,
        contact_sync=contact_sync == "on",
        fair_use=fair_use,
        latency_ms=latency_ms,
        faults=fault_spec,
    )
    if max_file_bytes is not None:
        config.max_file_bytes = max_file_bytes
    return config


@sandbox.command(
    name="serve",
    help=(
        "Serve a sandbox Pipedrive company account on 127.0.0.1 until Ctrl-C.\n\n"
        "State is in memory unless --db names a SQLite file (it survives restarts). "
        "Any API token opens its own account on first use, unless --tokens lists the "
        "allowed ones. With -w DIR and no --db it serves that workspace's sandbox "
        "(`init --target sandbox`), for the workspace's token only. The URL goes to "
        "stderr (and with --json, as JSON on stdout).\n\n"
        "\b\nExample:\n"
        "  pdmigrate sandbox serve --port 8765 --plan growth\n"
        "  curl -H 'x-api-token: demo' 127.0.0.1:8765/api/v2/persons\n"
        "  pdmigrate sandbox serve -w clinic\n"
        "  pdmigrate sandbox serve --db sandbox.db --users users.json \\\n"
        "      --faults 'seed=7,5xx=0.05,lost=0.02' --latency-ms 120"
    ),
)
@common_options
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Keep the sandbox in this SQLite file (created if absent). Default: in memory.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="TCP port on 127.0.0.1 (0 picks a free one).",
)
@click.option(
    "--plan",
    type=click.Choice(PLANS),
    default="growth",
    show_default=True,
    help="Pipedrive plan: sets burst limits and the daily token budget multiplier.",
)
@click.option(
    "--seats",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Paid seats: the daily token budget is 30,000 x plan multiplier x seats.",
)
@click.option(
    "--latency-ms",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Mean latency added to every request, in ms (jitter: --faults latency=M+-J).",
)
@click.option(
    "--faults",
    metavar="SPEC",
    default=None,
    help="Fault injection, e.g. 'seed=7,5xx=0.05,lost=0.02,fail-nth-write=25'.",
)
@click.option(
    "--tokens",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Only these API tokens are accepted: lines of 'TOKEN [COMPANY_ID]'.",
)
@click.option(
    "--users",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help='Users seeded in every new account: JSON list of {"name", "email"}.',
)
@click.option(
    "--max-file-mb",
    type=click.IntRange(min=1),
    default=None,
    help="Largest file POST /v1/files accepts, in MB (default 50; larger gets a 413).",
)
@click.option(
    "--contact-sync",
    type=click.Choice(["on", "off"]),
    default="off",
    show_default=True,
    help="Contact Sync: person birthday and postal_address exist only when on.",
)
@click.option(
    "--no-fair-use",
    "no_fair_use",
    is_flag=True,
    help="Turn off the fair-use cap of 10,000 POST/PUT requests per user per day.",
)
def serve(
    workspace: Path,
    as_json: bool,
    db: Path | None,
    port: int,
    plan: str,
    seats: int,
    latency_ms: int,
    faults: str | None,
    tokens: Path | None,
    users: Path | None,
    max_file_mb: int | None,
    contact_sync: str,
    no_fair_use: bool,
) -> None:
    """Serve the sandbox."""
    from pdmigrate.sandbox.app import create_app
    from pdmigrate.sandbox.server import HOST, bind, serve_forever

    token_map: dict[str, int] | None = None
    max_file_bytes: int | None = None
    if db is None and _explicit("workspace"):
        db, token_map, ws_plan, max_file_bytes = workspace_sandbox(workspace)
        if not _explicit("plan"):
            plan = ws_plan
    if max_file_mb is not None:
        max_file_bytes = max_file_mb * 1024 * 1024
    config = build_config(
        db=db,
        plan=plan,
        seats=seats,
        latency_ms=latency_ms,
        faults=faults,
        tokens=tokens,
        users=users,
        contact_sync=contact_sync,
        fair_use=not no_fair_use,
        token_map=token_map,
        max_file_bytes=max_file_bytes,
    )
    app = create_app(config)
    sock = bind(port)
    actual = sock.getsockname()[1]
    url = f"http://{HOST}:{actual}"
    err_console.print(
        f"sandbox ({plan}, {seats} seat{'s' if seats != 1 else ''}, "
        f"{'SQLite ' + str(db) if db else 'in memory'}) listening on [bold]{url}[/]"
        " - Ctrl-C stops it",
        markup=True,
    )
    if as_json:
        emit_json({"url": url, "port": actual, "plan": plan, "seats": seats, "db": db})
    serve_forever(app, sock)


@sandbox.command(
    name="dump",
    help=(
        "Print every account in a sandbox SQLite file as JSON (stdout).\n\n"
        "Accounts, token counts (tokens themselves are never stored) and every record, "
        "soft-deleted ones included; uploaded file contents appear as size and SHA-256.\n\n"
        "With -w DIR and no --db: the workspace's own sandbox.\n\n"
        "\b\nExample:\n"
        "  pdmigrate sandbox dump --db sandbox.db > before.json\n"
        "  pdmigrate sandbox dump -w clinic > after.json"
    ),
)
@common_options
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="The sandbox SQLite file (as given to `sandbox serve --db`).",
)
def dump(workspace: Path, as_json: bool, db: Path | None) -> None:
    """Dump a sandbox file."""
    from pdmigrate.sandbox.dump import dump_db

    if db is None:
        if not _explicit("workspace"):
            raise UsageError("say which sandbox to dump: --db FILE (or -w DIR)")
        db = workspace_sandbox(workspace)[0]

    state = dump_db(db)
    if as_json:
        emit_json(state)
        return
    sys.stdout.write(json.dumps(state, indent=2, sort_keys=True, ensure_ascii=False))
    sys.stdout.write("\n")
    sys.stdout.flush()


COMMANDS: list[click.Command] = [sandbox]
