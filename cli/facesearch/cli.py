"""`facesearch`: the command-line client. A thin registry: each command group is a module under
`facesearch.commands` exposing `register(subparsers)`; add yours to COMMAND_MODULES.

Every failure ends as one line (or `{"code", "message"}` with --json) and an exit status by class
(facesearch.errors.ExitCode); no traceback reaches the user (-v logs it, with the retries).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from facesearch.commands.common import report
from facesearch.errors import EXIT_CODES_HELP, ExitCode, FacesearchError, UsageError

log = logging.getLogger("facesearch")

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

EPILOG = f"""environment:
  FACESEARCH_ENDPOINT           the API's base URL (default: the running local stack)
  FACESEARCH_API_KEY            the customer API key
  FACESEARCH_MAX_ATTEMPTS       attempts per request, retries included (default 5; --max-attempts)
  FACESEARCH_MAX_RETRY_SECONDS  time a request may spend retrying (default 60)
  FACESEARCH_TIMEOUT            seconds to wait for an answer (default 60)

retries: GET, DELETE, searches, compare, detect, uploads (by content name) are retried on connection
errors, timeouts, 429, 502, 503 and 504, waiting as Retry-After says or with jittered exponential
backoff; other requests only when they certainly were not acted on (no connection, 429). Never
retried: 400, 401, 403 (SECTOR_DISALLOWED...), 404, 409, 413.

{EXIT_CODES_HELP}
"""


class UsageExit(SystemExit):
    """A usage error found by argparse: exit status 2, as argparse's own, with the message kept."""

    def __init__(self, message: str) -> None:
        super().__init__(int(ExitCode.USAGE))
        self.message = message


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors print `usage` and `error USAGE: ...` on stderr, or nothing when main
    answers `{"code": "USAGE", "message"}` on stdout (--json)."""

    json_errors = False  # set by main for the command line being parsed

    def error(self, message: str) -> NoReturn:
        message = f"{self.prog}: {message}"
        if not Parser.json_errors:
            self.print_usage(sys.stderr)
            print(f"error USAGE: {message}", file=sys.stderr)
        raise UsageExit(message)


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
    parser = Parser(prog="facesearch", description="Face search with a conscience.", epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr (retries, error details)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in modules_for(argv):
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    if not argv:
        parser.print_help()
        return int(ExitCode.OK)
    as_json = "--json" in argv
    verbose = False
    try:
        Parser.json_errors = as_json
        args = parser.parse_args(argv)
        verbose = bool(args.verbose)
        logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
        logging.getLogger("urllib3").setLevel(logging.INFO if args.verbose else logging.ERROR)  # ours say it
        return int(args.func(args))
    except UsageExit as exc:  # already on stderr without --json
        return _report(UsageError(exc.message), as_json) if as_json else int(ExitCode.USAGE)
    except UsageError as exc:
        if not as_json:
            parser.print_usage(sys.stderr)
        return _report(exc, as_json)
    except FacesearchError as exc:
        return _report(exc, as_json)
    except BrokenPipeError:  # `facesearch ... | head`: the reader left; end quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return int(ExitCode.ERROR)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # a bug of ours: one line for the user, the traceback only with -v
        if verbose:  # -v itself, not a log level an earlier call in this process left behind
            log.error("unexpected error", exc_info=True)
        return _report(FacesearchError(f"{type(exc).__name__}: {exc} (run with -v for details)",
                                       code="INTERNAL_ERROR"), as_json)
    finally:
        Parser.json_errors = False


def _report(exc: FacesearchError, as_json: bool) -> int:
    return report(argparse.Namespace(json=as_json), exc)


# Commands that leave nothing behind when they return (no child process, temporary file or atexit work): the
# program ends them without the interpreter's teardown.
QUICK_EXIT_MODULES = ("facesearch.commands.engine",)


def run() -> NoReturn:
    """The `facesearch` program (console script): main() on sys.argv, then exit with its status.

    After a command of QUICK_EXIT_MODULES (detect, compare) the process flushes stdout, stderr and the log
    handlers and ends with os._exit: the interpreter's teardown (freeing every module, both inference sessions
    and their memory, which the OS reclaims anyway) cost ~40 ms of every `facesearch compare` here. Other
    commands exit normally."""
    argv = sys.argv[1:]
    status = main(argv)
    if modules_for(argv) != [*QUICK_EXIT_MODULES]:
        sys.exit(status)
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left: as main's quiet exit on a closed pipe
        status = int(ExitCode.ERROR)
    try:
        sys.stderr.flush()
    except OSError:
        pass
    logging.shutdown()
    os._exit(status)


if __name__ == "__main__":
    run()
