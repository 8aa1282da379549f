"""`facesearch`: the command-line client. A thin registry: each command group is a module under
`facesearch.commands` exposing `register(subparsers)`; add yours to COMMAND_MODULES."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

COMMAND_MODULES: list[str] = [
    "facesearch.commands.engine",  # detect, compare (the local face engine)
    "facesearch.commands.local",  # local serve (the stack on this machine)
    "facesearch.commands.admin",  # admin customers|keys|audit (IAM-signed)
    "facesearch.commands.collections",  # collections create|list|describe|delete
    "facesearch.commands.index",  # index PATH... (presigned uploads, --wait)
    "facesearch.commands.search",  # search IMAGE, faces list|delete
    "facesearch.commands.remote",  # remote detect|compare (the service's stateless routes)
    "facesearch.commands.smoke",  # smoke (the post-deploy check)
]


# The commands each module registers: a command line naming one imports only its module (start-up time:
# `facesearch compare` need not import the local stack's moto, ~0.5 s). Help and unknown commands import all.
MODULE_COMMANDS: dict[str, tuple[str, ...]] = {
    "facesearch.commands.engine": ("detect", "compare"),
    "facesearch.commands.local": ("local",),
}


def modules_for(argv: Sequence[str]) -> list[str]:
    """The command modules to import for this command line (all of them unless the command is known)."""
    words = [w for w in argv if not w.startswith("-")]
    if words and "-h" not in argv and "--help" not in argv:
        for module, commands in MODULE_COMMANDS.items():
            if words[0] in commands:
                return [module]
    return COMMAND_MODULES


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser; given the command line, only the modules it needs are imported."""
    parser = argparse.ArgumentParser(prog="facesearch", description="Face search with a conscience.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in modules_for(argv):
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `facesearch ... | head`: the reader left; end quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
