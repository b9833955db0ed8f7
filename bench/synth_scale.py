"""How fast `pdmigrate synth` writes large exports: seconds and rows/s per system.

Usage: python bench/synth_scale.py [--patients 100000] [--systems corepractice,practicemaster]

The target is under 60 s for --patients 100000 on every system. Each run writes into a
temporary folder that is removed afterwards; the figures are printed one line per system.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pdmigrate.synth import GENERATORS, synth

TARGET_SECONDS = 60.0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one line per system; exit 1 if any misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--systems", default=",".join(sorted(GENERATORS)))
    args = parser.parse_args(argv)
    missed = 0
    for system in args.systems.split(","):
        root = Path(tempfile.mkdtemp(prefix=f"synth-{system}-"))
        try:
            started = time.perf_counter()
            manifest = synth(system, root / "out", patients=args.patients, seed=args.seed)
            seconds = time.perf_counter() - started
            size = sum(p.stat().st_size for p in (root / "out").rglob("*") if p.is_file())
        finally:
            shutil.rmtree(root, ignore_errors=True)
        rows = sum(manifest.objects.values())
        ok = seconds < TARGET_SECONDS
        missed += not ok
        print(
            f"{system}: {seconds:.1f} s, {rows:,} rows in {len(manifest.files)} files "
            f"({size / 1e6:.0f} MB), {rows / seconds:,.0f} rows/s "
            f"(target < {TARGET_SECONDS:.0f} s for {args.patients:,} patients: "
            f"{'ok' if ok else 'MISSED'})",
            flush=True,
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak_rss: {peak:.0f} MB (largest single system run)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
