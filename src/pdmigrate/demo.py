"""`make demo`: the whole flow against the embedded sandbox (grows with each issue)."""

from __future__ import annotations

import sys


def main() -> int:
    """Run the demo and return the exit code."""
    print("pdmigrate demo: not available yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
