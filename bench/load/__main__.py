"""`python -m bench.load [--seconds N] [--users N] [--storm-seconds N] [--faults SPEC]`: load, then a storm.

Prints per-route p50/p95 and the invariants of each run; exits 1 if any invariant is violated.
"""

from __future__ import annotations

import argparse
import sys

from bench.load.run import STORM_SPEC, LoadOptions, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--users", type=int, default=6, help="media customers (one locust user each)")
    parser.add_argument("--seconds", type=int, default=45, help="traffic time of the plain load run (0: skip)")
    parser.add_argument("--storm-seconds", type=int, default=60, help="traffic time of the storm (0: skip)")
    parser.add_argument("--faults", default=STORM_SPEC, help=f"the storm's fault spec (default {STORM_SPEC})")
    args = parser.parse_args(argv)
    failed = False
    runs = [LoadOptions(users=args.users, seconds=args.seconds)] if args.seconds else []
    if args.storm_seconds:
        runs.append(LoadOptions(users=args.users, seconds=args.storm_seconds, faults=args.faults, drain_seconds=180))
    for options in runs:
        result = run(options)
        print("\n".join(result.lines()), flush=True)
        failed = failed or bool(result.summary.violations)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
