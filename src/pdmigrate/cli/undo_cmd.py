"""`pdmigrate delta` and `pdmigrate rollback`: pick up changes during cutover, and undo."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from pdmigrate.cli.common import common_options, emit_json, err_console
from pdmigrate.errors import EXIT_ATTENTION, EXIT_BUDGET, EXIT_FAILED, EXIT_INTERRUPTED
from pdmigrate.workspace import load_workspace

#: Run status -> exit code.
EXIT_BY_STATUS = {
    "done": 0,
    "attention": EXIT_ATTENTION,
    "stopped": EXIT_BUDGET,
    "interrupted": EXIT_INTERRUPTED,
    "failed": EXIT_FAILED,
}


@click.command(
    name="delta",
    help=(
        "Pick up what changed in fresh exports since the migration: new records are created "
        "through the normal engine, changed records get only the fields that changed (and "
        "only fields the mapping owns; old values go to the audit log), unchanged records "
        "cost nothing, records gone from the source are reported (deleted only with "
        "--delete-missing). A record edited in Pipedrive since pdmigrate's last write (later "
        "update_time, or a note/activity staff added) is not overwritten unless "
        "--overwrite-edited, and is listed. A delta is a run: resumable, and a second delta "
        "on the same exports writes nothing.\n\n"
        "Exit codes: 0 done; 3 done with edited records kept or failed records; 4 daily token "
        "budget used up (run it again after the reset); 130 interrupted; 2 usage or "
        "configuration error.\n\n"
        "\b\nExample:\n"
        "  pdmigrate delta -w clinic --exports ./exports-friday --dry-run\n"
        "  pdmigrate delta -w clinic --exports ./exports-friday --json"
    ),
)
@common_options
@click.option(
    "--exports",
    "exports",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the fresh exports (same system and layout as the first run).",
)
@click.option("--dry-run", is_flag=True, help="Report what would be written; write nothing.")
@click.option(
    "--overwrite-edited", is_flag=True, help="Also update records edited in Pipedrive since."
)
@click.option(
    "--delete-missing", is_flag=True, help="Delete records that are gone from the source."
)
def delta_command(
    workspace: Path,
    as_json: bool,
    exports: Path,
    dry_run: bool,
    overwrite_edited: bool,
    delete_missing: bool,
) -> None:
    """Run a delta."""
    from pdmigrate.delta_run import delta_workspace

    ws = load_workspace(workspace)
    summary = delta_workspace(
        ws,
        exports,
        dry_run=dry_run,
        overwrite_edited=overwrite_edited,
        delete_missing=delete_missing,
    )
    data = summary.to_dict()
    _render_delta(data)
    if as_json:
        emit_json(data)
    sys.exit(EXIT_BY_STATUS.get(summary.status, EXIT_FAILED))


def _counts(bucket: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(bucket.items())) or "nothing"


def _render_delta(data: dict[str, Any]) -> None:
    would = " (would be)" if data["dry_run"] else ""
    err_console.print(f"Delta {data['run_id']}: {data['status']}{' (dry run)' if would else ''}.")
    err_console.print(f"Created{would}: {_counts(data['created'])}.")
    err_console.print(f"Updated{would}: {_counts(data['updated'])}.")
    if data["deleted"]:
        err_console.print(f"Deleted{would}: {_counts(data['deleted'])}.")
    err_console.print(f"Unchanged: {data['unchanged']}. Gone from the source: {len(data['gone'])}.")
    for g in data["gone"][:20]:
        err_console.print(f"  gone {g['entity']} {g['source_key']} (id {g['pipedrive_id']})")
    if data["edited"]:
        err_console.print(
            f"{len(data['edited'])} record(s) edited in Pipedrive were kept "
            "(--overwrite-edited writes them):"
        )
        for e in data["edited"][:50]:
            err_console.print(f"  kept {e['entity']} {e['where'] or e['source_key']}: {e['why']}")
    for f in data["failed"][:50]:
        err_console.print(f"  failed {f['where'] or f['source_key']} ({f['stage']}): {f['error']}")
    err_console.print(f"Tokens spent: {data['tokens']} in {data['requests']} request(s).")


@click.command(
    name="rollback",
    help=(
        "Reverse migrated writes from the audit log, children first: delete the records the "
        "runs created, restore the old values of fields they updated, and with --schema remove "
        "the custom fields, options, stages, pipelines and activity types pdmigrate created "
        "(never reused ones). People matched to existing account records are never deleted; "
        "only the fields pdmigrate filled are cleared. Records edited in Pipedrive after "
        "migration are kept and reported unless --force. --object/--records roll back a "
        "subset so the next `run` creates it again.\n\n"
        "Without --yes this is a dry run: it prints exactly what would be deleted, restored "
        "and kept, and writes nothing. A rollback is itself a run: resumable after a crash "
        "(run it again), audited, and running it twice is harmless.\n\n"
        "Exit codes: 0 done (or dry run); 3 records kept or errors (listed); 4 daily token "
        "budget used up; 130 interrupted; 2 usage error (neither --run nor --all, unknown "
        "run, missing --records file).\n\n"
        "\b\nExample:\n"
        "  pdmigrate rollback -w clinic --all --schema\n"
        "  pdmigrate rollback -w clinic --all --schema --yes --json\n"
        "  pdmigrate rollback -w clinic --run 3 --records keys.txt --yes"
    ),
)
@common_options
@click.option("--run", "run_id", type=int, metavar="ID", help="Reverse this run's writes.")
@click.option("--all", "all_runs", is_flag=True, help="Reverse every run's writes.")
@click.option(
    "--object",
    "objects",
    multiple=True,
    metavar="NAME",
    help="Only records of this source object (or Pipedrive entity); repeatable.",
)
@click.option(
    "--records",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Only these source keys (one a line).",
)
@click.option("--schema", is_flag=True, help="Also remove fields, options, stages, pipelines, "
              "activity types pdmigrate created.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Only report (the default without --yes).")
@click.option("--yes", is_flag=True, help="Really reverse (without it: a dry run).")
@click.option("--force", is_flag=True, help="Also reverse records edited in Pipedrive since.")
def rollback_command(
    workspace: Path,
    as_json: bool,
    run_id: int | None,
    all_runs: bool,
    objects: tuple[str, ...],
    records: Path | None,
    schema: bool,
    dry_run: bool,
    yes: bool,
    force: bool,
) -> None:
    """Roll back."""
    from pdmigrate.rollback_run import rollback_workspace

    ws = load_workspace(workspace)
    summary = rollback_workspace(
        ws,
        run_id=run_id,
        all_runs=all_runs,
        objects=objects,
        records=records,
        schema=schema,
        dry_run=dry_run or not yes,
        force=force,
    )
    data = summary.to_dict()
    _render_rollback(data)
    if as_json:
        emit_json(data)
    if summary.dry_run:
        sys.exit(0)
    sys.exit(EXIT_BY_STATUS.get(summary.status, EXIT_FAILED))


def _ident(r: dict[str, Any]) -> str:
    text = f"{r['entity']} {r['pipedrive_id']}"
    if r.get("source_key"):
        text += f" ({r['source_key']})"
    if r.get("name"):
        text += f" {r['name']!r}"
    return text


def _render_rollback(data: dict[str, Any]) -> None:
    dry = data["dry_run"]
    head = "Rollback dry run (nothing written; --yes to do it)" if dry else "Rollback"
    err_console.print(f"{head}: {data['status']}.")
    verbs = (
        ("deleted", "would delete" if dry else "deleted"),
        ("restored", "would restore" if dry else "restored"),
        ("schema", "would remove" if dry else "removed"),
    )
    for key, verb in verbs:
        for r in data[key]:
            extra = f" fields {', '.join(r['fields'])}" if r.get("fields") else ""
            if r.get("not_nulled"):
                extra += f" (Pipedrive takes no null for {', '.join(r['not_nulled'])})"
            err_console.print(f"  {verb} {_ident(r)}{extra}")
    for r in data["kept"]:
        err_console.print(f"  kept {_ident(r)}: {r['why']}")
    for r in data["errors"]:
        err_console.print(f"  error {_ident(r)}: {r['error']}")
    c = data["counts"]
    err_console.print(
        f"{c['deleted']} deleted, {c['restored']} restored, {c['schema']} schema item(s), "
        f"{c['kept']} kept, {c['errors']} error(s)."
    )


COMMANDS: list[click.Command] = [delta_command, rollback_command]
