"""`facesearch local serve`: the whole stack on this machine (moto + HTTP API adapter + SQS pollers)."""

from __future__ import annotations

import argparse

from facesearch.local.serve import add_arguments, serve


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    local = subparsers.add_parser("local", help="run the service locally (no AWS account, no Docker)")
    sub = local.add_subparsers(dest="local_command", required=True, metavar="SUBCOMMAND")
    run = sub.add_parser("serve", help="serve the HTTP API until Ctrl-C; writes .facesearch/local.json",
                         description="Start moto, provision template.yaml, serve its HTTP API and SQS pollers.")
    add_arguments(run)
    run.set_defaults(func=serve)
