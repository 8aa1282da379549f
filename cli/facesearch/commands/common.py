"""Shared plumbing of the remote commands: connection options, the client, errors as exit codes."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable
from typing import Any

from facesearch.client import ApiError, Client, ConfigError

Command = Callable[[argparse.Namespace, Client], int]


def connection_options() -> argparse.ArgumentParser:
    """--endpoint, --api-key and --json, shared by every remote command."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--endpoint", default=None,
                        help="API base URL (default: $FACESEARCH_ENDPOINT, else the running local stack)")
    parent.add_argument("--api-key", default=None, help="customer API key (default: $FACESEARCH_API_KEY)")
    parent.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    return parent


def fail(args: argparse.Namespace, code: str, message: str, extra: dict[str, Any] | None = None) -> int:
    """Report an error: {"code","message"} on stdout with --json, else a line on stderr; exit status 1."""
    if getattr(args, "json", False):
        print(json.dumps({"code": code, "message": message, **(extra or {})}))
    else:
        print(f"error {code}: {message}", file=sys.stderr)
    return 1


def remote(func: Command) -> Callable[[argparse.Namespace], int]:
    """Wrap a command: build the client from the options, map errors to output and exit status."""

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        try:
            client = Client.from_settings(args.endpoint, args.api_key)
            return func(args, client)
        except ApiError as exc:
            extra = {"rule_id": exc.to_dict()["rule_id"]} if "rule_id" in exc.to_dict() else None
            return fail(args, exc.code, exc.message, extra)
        except ConfigError as exc:
            return fail(args, "CONFIGURATION", str(exc))

    return run
