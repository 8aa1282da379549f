"""Shared plumbing of the remote commands: connection options, the client, errors as one line and an exit status."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from facesearch.errors import ExitCode, FacesearchError

if TYPE_CHECKING:  # the client (urllib3) is imported when a remote command runs, not by `facesearch compare`
    from facesearch.client import Client

Command = Callable[[argparse.Namespace, "Client"], int]


def connection_options() -> argparse.ArgumentParser:
    """--endpoint, --api-key, --max-attempts and --json, shared by every remote command."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--endpoint", default=None,
                        help="API base URL (default: $FACESEARCH_ENDPOINT, else the running local stack)")
    parent.add_argument("--api-key", default=None, help="customer API key (default: $FACESEARCH_API_KEY)")
    parent.add_argument("--max-attempts", type=int, default=None, metavar="N",
                        help="attempts per request, retries included (default: $FACESEARCH_MAX_ATTEMPTS, else 5)")
    parent.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    return parent


def fail(args: argparse.Namespace, code: str, message: str, extra: dict[str, Any] | None = None,
         exit_code: int = ExitCode.ERROR) -> int:
    """Report an error: {"code","message"} on stdout with --json, else one line on stderr; returns the exit status."""
    if getattr(args, "json", False):
        print(json.dumps({"code": code, "message": message, **(extra or {})}))
    else:
        print(f"error {code}: {' '.join(message.split())}", file=sys.stderr)
    return int(exit_code)


def report(args: argparse.Namespace, exc: FacesearchError) -> int:
    """A client error as output and exit status (its class decides the status)."""
    details = exc.to_dict()
    extra = {k: v for k, v in details.items() if k not in ("code", "message")}
    return fail(args, exc.code, exc.message, extra, exc.exit_code)


def usage(args: argparse.Namespace, code: str, message: str) -> int:
    """A usage error (wrong arguments): exit status 2."""
    return fail(args, code, message, exit_code=ExitCode.USAGE)


def remote(func: Command) -> Callable[[argparse.Namespace], int]:
    """Wrap a command: build the client from the options, map errors to output and exit status."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        from facesearch.client import Client
        from facesearch.transport import RetrySettings

        try:
            retry = RetrySettings.from_env(max_attempts=getattr(args, "max_attempts", None))
            client = Client.from_settings(args.endpoint, args.api_key, retry=retry)
            return func(args, client)
        except FacesearchError as exc:
            return report(args, exc)

    return run
