"""Benchmark: read + audit of 100,000-patient synthetic exports (rows/s and peak RSS).

    python bench/extract.py                      # practicemaster and corepractice, 100k
    python bench/extract.py --patients 20000 --systems corepractice

Each system's exports are generated first (``pdmigrate synth``, not timed), then a
fresh child process reads every export and runs the full audit on it, as
``pdmigrate audit`` does, and reports rows per second and its own peak RSS, so the
synth's memory never counts. Targets: >= 20,000 rows/s and peak RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_ROWS_PER_S = 20_000
TARGET_RSS_MB = 300


def peak_rss_kb() -> int:
    """This process's peak resident set size in KB.

    ``VmHWM`` belongs to the process image, so it starts fresh at exec; ``ru_maxrss``
    does not on Linux (a child started by a big parent inherits the parent's peak).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(system: str, folder: Path) -> dict[str, float]:
    """Read and audit ``folder`` in this process; return rows, seconds and peak RSS."""
    from pdmigrate.audit import audit_exports
    from pdmigrate.audit_model import AuditOptions
    from pdmigrate.profiles import load_profile

    profile = load_profile(system)
    meta = profile.system
    options = AuditOptions(
        country=meta.country,
        timezone=meta.timezone,
        currency=meta.currency,
        date_order=meta.date_order,
        attachments=folder,
    )
    started = time.perf_counter()
    cpu_started = time.process_time()
    result = audit_exports(profile, folder, options)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    rows = sum(s.rows for s in result.objects.values())
    peak_kb = peak_rss_kb()
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "cpu_seconds": round(cpu, 2),
        "rows_per_cpu_s": round(rows / cpu),
        "load": round(os.getloadavg()[0], 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "findings": sum(result.codes.values()),
        "duplicate_groups": len(result.duplicates),
    }


def main() -> int:
    """Generate, measure in a child process, print the figures; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--systems", nargs="+", default=["practicemaster", "corepractice"])
    parser.add_argument("--measure", nargs=2, metavar=("SYSTEM", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return 0
    ok = True
    with tempfile.TemporaryDirectory(prefix="pdmigrate-bench-") as tmp:
        for system in args.systems:
            folder = Path(tmp) / system
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "pdmigrate", "synth", system, str(folder),
                 "--patients", str(args.patients), "--seed", str(args.seed)],
                check=True,
                capture_output=True,
            )  # fmt: skip
            synth_s = time.perf_counter() - started
            size_mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
            child = subprocess.run(
                [sys.executable, __file__, "--measure", system, str(folder)],
                capture_output=True,
                text=True,
                check=True,
            )
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            fast = figures["rows_per_s"] >= TARGET_ROWS_PER_S
            small = figures["peak_rss_mb"] < TARGET_RSS_MB
            ok = ok and fast and small
            print(
                f"{system:<15} patients={args.patients} files={size_mb:.0f} MB "
                f"(synth {synth_s:.0f} s) | read+audit: {figures['rows']} rows in "
                f"{figures['seconds']} s = {figures['rows_per_s']} rows/s "
                f"[{'ok' if fast else 'MISS'} >= {TARGET_ROWS_PER_S}] "
                f"(CPU {figures['cpu_seconds']} s = {figures['rows_per_cpu_s']} rows/CPU-s; "
                f"load avg {figures['load']} on {os.cpu_count()} CPUs) | peak RSS "
                f"{figures['peak_rss_mb']} MB [{'ok' if small else 'MISS'} < {TARGET_RSS_MB}] "
                f"| {figures['findings']} findings, {figures['duplicate_groups']} duplicate groups"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
