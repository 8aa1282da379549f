"""`python -m facesearch.local`: the same as `facesearch local serve` (used to run a stack as a child process)."""

from __future__ import annotations

import argparse
import sys

from facesearch.local.serve import add_arguments, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facesearch.local", description="Run the local stack.")
    add_arguments(parser)
    return serve(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
