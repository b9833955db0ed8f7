"""Mapping accuracy: does `pdmigrate map` find each column when its header is renamed?

For each system: synth exports (seeded), then every file rewritten with its headers
renamed by a seeded shuffle of realistic variants from bench/header_variants.yaml
(nothing under src/ reads that file). The proposal (offline, as `pdmigrate map`
makes it) is compared with the truth: renamed header -> documented column.

* precision = headers mapped to the right column / headers mapped to any column
* recall    = headers mapped to the right column / renamed headers with a truth

Each variant list is split: even positions are the TUNE half (may be used to tune
the synonym table), odd positions the HOLDOUT half (never used for tuning), reported
separately. Documented headers (no renaming) are measured too; target 1.0.

Usage: python bench/mapping_accuracy.py [--patients N] [--trials T] [--seed S]
Prints one line per system: ``SYSTEM precision: P recall: R``.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from pdmigrate.extract import open_table
from pdmigrate.mapping.gather import sample_exports
from pdmigrate.mapping.model import Settings
from pdmigrate.mapping.propose import propose
from pdmigrate.profiles import load_profile
from pdmigrate.records import Row
from pdmigrate.sources import discover
from pdmigrate.synth import synth

SYSTEMS = ("advancedpm", "corepractice", "practicebynumbers", "practicemaster", "visualpractice")
VARIANTS = Path(__file__).with_name("header_variants.yaml")


@dataclass
class Score:
    """Counts for precision and recall."""

    right: int = 0
    mapped: int = 0
    total: int = 0

    def add(self, other: Score) -> None:
        self.right += other.right
        self.mapped += other.mapped
        self.total += other.total

    @property
    def precision(self) -> float:
        return self.right / self.mapped if self.mapped else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.total if self.total else 1.0


def settings_of(system: str) -> Settings:
    profile = load_profile(system)
    order = {"DMY": "dmy", "MDY": "mdy", "YMD": "ymd"}.get(profile.system.date_order)
    return Settings(
        country=profile.system.country,
        timezone=profile.system.timezone,
        currency=profile.system.currency,
        date_order=order,
    )  # type: ignore[arg-type]


def rewrite(
    src: Path, out: Path, system: str, renames: dict[str, dict[str, str]]
) -> dict[str, str]:
    """Copy the exports with renamed headers (UTF-8 CSV); return {new header: column}."""
    profile = load_profile(system)
    truth: dict[str, str] = {}
    out.mkdir(parents=True, exist_ok=True)
    for source in discover(profile, src):
        if source.object is None:
            continue
        table_renames = renames.get(source.object, {})
        header = list(source.info.header)
        new = [table_renames.get(source.columns.get(h, ""), h) for h in header]
        for old, fresh in zip(header, new, strict=True):
            column = source.columns.get(old)
            if column is not None:
                truth[f"{source.object}\x1f{fresh}"] = column
        name = Path(source.name).with_suffix(".csv").name
        with open_table(source.path, name=source.name, encoding=source.info.encoding,
                        delimiter=source.info.delimiter, sheet=source.info.sheet) as table, \
                (out / name).open("w", newline="", encoding="utf-8") as fh:  # fmt: skip
            writer = csv.writer(fh)
            writer.writerow(new)
            for item in table:
                if isinstance(item, Row):
                    writer.writerow([item.values.get(h, "") for h in header])
    return truth


MISSES: list[str] = []


def score(system: str, exports: Path, truth: dict[str, str], only: set[str] | None,
          show: bool = False) -> Score:  # fmt: skip
    """Compare the proposal's header -> column map with the truth."""
    profile = load_profile(system)
    mapping = propose(profile, settings_of(system), sample_exports(profile, exports)).mapping
    result = Score()
    for key, column in truth.items():
        obj_name, header = key.split("\x1f")
        if only is not None and key not in only:
            continue
        result.total += 1
        source = mapping.sources.get(obj_name)
        if source is None:
            continue
        names = {c.name for c in profile.object(obj_name).columns}
        got = source.headers.get(header, header)
        if got in names:
            result.mapped += 1
            result.right += got == column
        if show and got != column:
            MISSES.append(
                f"{system}.{obj_name}: {header!r} -> {got if got in names else None}"
                f" (truth {column})"
            )
    return result


def choose(variants: dict[str, dict[str, list[str]]], half: int, rng: random.Random
           ) -> dict[str, dict[str, str]]:  # fmt: skip
    """A seeded pick of one variant (from ``half``: 0 tune, 1 holdout) per listed column."""
    out: dict[str, dict[str, str]] = {}
    for obj_name, columns in variants.items():
        picks: dict[str, str] = {}
        for column, names in columns.items():
            pool = names[half::2]
            if pool:
                picks[column] = rng.choice(pool)
        out[obj_name] = picks
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=60)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--show-tune-misses",
        action="store_true",
        help="list the TUNE half's misses (the holdout half is never shown)",
    )
    args = parser.parse_args(argv)
    variants = yaml.safe_load(VARIANTS.read_text(encoding="utf-8"))
    rows: dict[str, tuple[Score, Score, Score, Score]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for system in SYSTEMS:
            src = root / system / "orig"
            synth(system, src, patients=args.patients, seed=args.seed)
            documented = Score()
            truth = rewrite(src, root / system / "doc", system, {})
            documented.add(score(system, root / system / "doc", truth, None))
            halves = [Score(), Score()]
            for trial in range(args.trials):
                for half in (0, 1):
                    rng = random.Random(f"{args.seed}/{system}/{trial}/{half}")
                    picks = choose(variants.get(system, {}), half, rng)
                    folder = root / system / f"t{trial}h{half}"
                    truth = rewrite(src, folder, system, picks)
                    renamed = {f"{o}\x1f{n}" for o, cols in picks.items() for n in cols.values()}
                    show = args.show_tune_misses and half == 0
                    halves[half].add(score(system, folder, truth, renamed, show))
            both = Score()
            both.add(halves[0])
            both.add(halves[1])
            rows[system] = (both, halves[0], halves[1], documented)
    print("renamed headers (all variants):")
    for system, (both, _, _, _) in rows.items():
        print(f"{system} precision: {both.precision:.3f} recall: {both.recall:.3f}")
    print("holdout half (never used to tune the synonyms):")
    for system, (_, _, hold, _) in rows.items():
        print(f"{system} precision: {hold.precision:.3f} recall: {hold.recall:.3f}")
    print("tune half:")
    for system, (_, tune, _, _) in rows.items():
        print(f"{system} precision: {tune.precision:.3f} recall: {tune.recall:.3f}")
    print("documented headers:")
    for system, (_, _, _, doc) in rows.items():
        print(f"{system} precision: {doc.precision:.3f} recall: {doc.recall:.3f}")
    for miss in sorted(set(MISSES)):
        print("tune miss:", miss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
