"""`pdmigrate synth`: write realistic, messy, deterministic exports for a source system."""

from __future__ import annotations

import time
from pathlib import Path

import click

from pdmigrate.cli.common import common_options, emit_json, err_console
from pdmigrate.synth import GENERATORS, MAX_PATIENTS, synth


@click.command(
    name="synth",
    help=(
        "Write realistic, messy sample exports for a source system.\n\n"
        "The files follow the system's own conventions (encoding, date order, title rows, "
        "XLSX reports) and carry the mess real exports have: missing and placeholder "
        "emails, duplicates, families sharing an email, free-text phones, HTML notes, "
        "orphan references, null dates and a formula-looking cell. OUT also gets "
        "users.json (the Pipedrive users a sandbox is seeded with) and "
        "synth_manifest.json (exact counts and every deliberate defect). The same seed "
        "writes the same bytes.\n\n"
        "\b\nExample:\n"
        "  pdmigrate synth corepractice ./exports --patients 500 --seed 7"
    ),
)
@click.argument("system", type=click.Choice(sorted(GENERATORS)))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--patients",
    type=click.IntRange(1, MAX_PATIENTS),
    default=200,
    show_default=True,
    help="Patients (clients) to generate; other files scale with it.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
@common_options
def synth_command(
    system: str, out: Path, patients: int, seed: int, workspace: Path, as_json: bool
) -> None:
    """Generate the exports and print a summary."""
    started = time.perf_counter()
    manifest = synth(system, out, patients=patients, seed=seed)
    seconds = time.perf_counter() - started
    rows = sum(manifest.objects.values())
    summary = {
        "system": system,
        "out": str(out),
        "seed": seed,
        "patients": patients,
        "files": len(manifest.files),
        "rows": rows,
        "objects": manifest.objects,
        "defects": manifest.defect_counts,
        "users": manifest.extra.get("users", {}).get("count", 0),
        "seconds": round(seconds, 2),
    }
    if as_json:
        emit_json(summary)
        return
    err_console.print(
        f"[bold]{system}[/]: {rows:,} rows in {len(manifest.files)} files "
        f"written to {out} in {seconds:.1f} s",
        markup=True,
        highlight=False,
    )
    for name, count in manifest.objects.items():
        err_console.print(f"  {name:<22} {count:>10,}", markup=False)
    defects = ", ".join(f"{k} {v}" for k, v in manifest.defect_counts.items())
    err_console.print(f"  defects: {defects}", markup=False)
    err_console.print("  see synth_manifest.json and users.json", markup=False)


COMMANDS: list[click.Command] = [synth_command]
