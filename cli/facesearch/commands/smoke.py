"""`facesearch smoke`: the post-deploy check (see facesearch.smoke); exit 0 only if every step held."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facesearch.client import Client
from facesearch.commands.common import connection_options, remote
from facesearch.output import print_json
from facesearch.smoke import Smoke, SmokeOptions, Step

DEFAULT_PHOTOS = Path(__file__).resolve().parents[3] / "tests" / "data" / "photos"  # fetched by `make setup`


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "smoke", parents=[connection_options()],
        help="a short self-cleaning story against a deployment (index, search, compare, delete, police refused)")
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTOS / "obama.jpg",
                        help="the photo to index (one face; default: the test photos of `make setup`)")
    parser.add_argument("--query", type=Path, default=DEFAULT_PHOTOS / "obama2.jpg",
                        help="another photo of the same person, to search with")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for indexing")
    parser.add_argument("--no-admin", dest="admin", action="store_false",
                        help="skip the admin story (temporary police customer refused and audited)")
    parser.set_defaults(func=remote(_smoke))


def _smoke(args: argparse.Namespace, client: Client) -> int:
    for path in (args.photo, args.query):
        if not path.is_file():
            print(f"error PHOTO_MISSING: {path} (run `make setup`, or pass --photo/--query)", file=sys.stderr)
            return 2

    def progress(step: Step) -> None:
        if not args.json:
            mark = "ok  " if step.ok else "FAIL"
            print(f"{mark} {step.seconds:6.2f}s  {step.name}{'  ' + step.detail if step.detail else ''}", flush=True)

    report = Smoke(client, SmokeOptions(photo=args.photo, query=args.query, timeout=args.timeout,
                                        admin=args.admin), on_step=progress).run()
    if args.json:
        print_json(report.to_dict())
    else:
        for note in report.notes:
            print(f"note: {note}")
        print(f"smoke {'passed' if report.ok else 'FAILED'} against {report.endpoint}")
    return 0 if report.ok else 1
