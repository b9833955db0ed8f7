"""`pdmigrate map` and `pdmigrate confirm`: propose, review and lock mapping.yaml."""

from __future__ import annotations

from pathlib import Path

import click

from pdmigrate.cli.common import common_options, emit_json, err_console
from pdmigrate.errors import UsageError
from pdmigrate.workspace import load_workspace


@click.command(
    name="map",
    help=(
        "Propose mapping.yaml from the source system's landing rules and the exports "
        "themselves: headers matched to the profile (aliases, synonyms, fuzzy match), "
        "values sniffed (emails, phones, dates, money, yes/no, pick-lists), and the "
        "target account's existing fields reused by name. Every field line has a "
        "confidence; lines under 0.8 and pick-list values with no option are listed for "
        "review. Columns no rule uses become proposed custom fields, never dropped. "
        "Prints the compatibility summary (landing rules §7). Never writes to Pipedrive.\n\n"
        "\b\nExample:\n"
        "  pdmigrate map -w clinic\n"
        "  pdmigrate map -w clinic --force --offline --json"
    ),
)
@common_options
@click.option("--force", is_flag=True, help="Replace an existing mapping.yaml (kept as .bak).")
@click.option(
    "--offline", is_flag=True, help="Do not ask the target account for its existing fields."
)
@click.option(
    "--sample",
    type=click.IntRange(10, 100_000),
    default=200,
    show_default=True,
    help="Values sampled per column for sniffing.",
)
def map_command(workspace: Path, as_json: bool, force: bool, offline: bool, sample: int) -> None:
    """Propose mapping.yaml."""
    from pdmigrate.mapping.workflow import map_workspace

    ws = load_workspace(workspace)
    _, summary = map_workspace(ws, force=force, offline=offline, sample=sample)
    if as_json:
        emit_json(summary)
    err_console.print(f"wrote {summary['mapping']}", markup=False)
    err_console.print(summary["summary"], markup=False)
    review = summary["review"]
    if review:
        err_console.print(f"{len(review)} line(s) to review (confidence under 0.8):", markup=False)
        for item in review[:25]:
            err_console.print(
                f"  {item['object']}.{item['column']} -> {item['field']} "
                f"({item['confidence']:.2f}): {item['reason']}",
                markup=False,
            )
        if len(review) > 25:
            err_console.print(f"  ... and {len(review) - 25} more (see --json)", markup=False)
    if summary["unmapped_values"]:
        err_console.print(
            f"{summary['unmapped_values']} pick-list value(s) map to nothing: see value_maps",
            markup=False,
        )
    if summary["not_migrated"]:
        err_console.print(
            f"{len(summary['not_migrated'])} object(s) or column(s) not migrated, each with a "
            "reason: see not_migrated",
            markup=False,
        )
    for name in summary["unknown_files"]:
        err_console.print(f"not recognised, not read: {name}", markup=False)
    err_console.print(f"next: review it, then pdmigrate confirm -w {ws.root}", markup=False)


@click.command(
    name="confirm",
    help=(
        "Validate mapping.yaml against the profile, the exports and the target account's "
        "fields, then lock it: its sha256 goes into state.db. Errors name the line in "
        "mapping.yaml. Every later write command refuses an unconfirmed mapping or one "
        "edited since it was confirmed.\n\n"
        "\b\nExample:\n"
        "  pdmigrate confirm -w clinic\n"
        "  pdmigrate confirm -w clinic --yes --json"
    ),
)
@common_options
@click.option("--yes", is_flag=True, help="Do not ask; confirm if the mapping is valid.")
@click.option(
    "--offline", is_flag=True, help="Do not check the mapping against the account's fields."
)
def confirm_command(workspace: Path, as_json: bool, yes: bool, offline: bool) -> None:
    """Lock the reviewed mapping."""
    from pdmigrate.mapping.compat import sentence
    from pdmigrate.mapping.io import MAPPING_NAME
    from pdmigrate.mapping.workflow import confirm_workspace, preview

    ws = load_workspace(workspace)
    if not yes:
        mapping = preview(ws.root / MAPPING_NAME)
        if mapping.compatibility is not None:
            err_console.print(sentence(mapping.compatibility), markup=False)
        fields = sum(len(o.fields) for o in mapping.objects)
        question = f"Confirm {len(mapping.objects)} objects and {fields} field lines?"
        if not click.confirm(question, default=False, err=True):
            raise UsageError("not confirmed", hint="run `pdmigrate confirm --yes` when ready")
    summary = confirm_workspace(ws, offline=offline)
    if as_json:
        emit_json(summary)
    for warning in summary["warnings"]:
        err_console.print(f"warning: {warning}", markup=False)
    err_console.print(
        f"[green]mapping confirmed[/] ({summary['sha256'][:12]}); edits need a new confirm"
    )


COMMANDS: list[click.Command] = [map_command, confirm_command]
