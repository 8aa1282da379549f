"""`facesearch index PATH... --collection C`: upload photos through presigned URLs, optionally wait for indexing."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from facesearch.client import Client, UploadResult, image_files
from facesearch.commands.common import connection_options, fail, remote
from facesearch.output import Progress, print_json, table

COLUMNS = [
    ("file", lambda r: r["path"]),
    ("image id", lambda r: r["image_id"]),
    ("status", lambda r: r["status"]),
    ("faces", lambda r: len(r["face_ids"])),
    ("reason", lambda r: r["code"]),
]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = subparsers.add_parser("index", parents=[connection_options()], help="upload photos to a collection",
                                description="Upload JPEG/PNG files (folders are expanded) to a collection; "
                                            "the service indexes them asynchronously.")
    cmd.add_argument("paths", nargs="+", metavar="PATH")
    cmd.add_argument("--collection", required=True)
    cmd.add_argument("--external-id", default=None,
                     help="external image id (one file only; default: the file name)")
    cmd.add_argument("--wait", action="store_true", help="wait until every upload is indexed")
    cmd.add_argument("--timeout", type=float, default=120.0, help="seconds to wait with --wait (default 120)")
    cmd.add_argument("--workers", type=int, default=4, help="concurrent uploads (default 4)")
    cmd.set_defaults(func=remote(run_index))


def summary(results: list[UploadResult]) -> dict[str, int]:
    """Counts by outcome: indexed, no face, invalid, refused, failed, pending."""
    counts: Counter[str] = Counter()
    for r in results:
        if r.status == "INDEXED":
            counts["indexed"] += 1
        elif r.status == "NO_FACES":
            counts["no_face"] += 1
        elif r.status == "INVALID_IMAGE":
            counts["invalid"] += 1
        elif r.status == "REFUSED" or r.status.startswith("REJECTED"):
            counts["refused"] += 1
        elif r.status == "PENDING":
            counts["pending"] += 1
        else:
            counts["failed"] += 1
    return {k: counts[k] for k in ("indexed", "no_face", "invalid", "refused", "failed", "pending")}


def run_index(args: argparse.Namespace, client: Client) -> int:
    paths = image_files(args.paths)
    if not paths:
        return fail(args, "NO_FILES", "no JPEG or PNG files found")
    if args.external_id and len(paths) > 1:
        return fail(args, "BAD_ARGUMENTS", "--external-id names one file; with several, file names are used")

    def external_id(path: Path) -> str:
        return str(args.external_id or path.name)

    upload_bar = Progress(len(paths), "uploading")
    results = client.upload_many(args.collection, paths, external_id=external_id, workers=args.workers,
                                 on_done=lambda _: upload_bar.advance())
    upload_bar.close()
    refused = [r for r in results if r.status == "REFUSED"]
    if refused and len(refused) == len(results):  # the policy said no: one message, not one per file
        first = refused[0]
        return fail(args, first.code or "FORBIDDEN", first.message or "refused")
    complete = True
    if args.wait:
        uploaded = [r for r in results if r.status == "PENDING"]
        index_bar = Progress(len(uploaded), "indexing ")
        complete = client.wait_indexed(args.collection, uploaded, timeout=args.timeout,
                                       on_done=lambda _: index_bar.advance())
        index_bar.close()
    counts = summary(results)
    rows = [vars(r) for r in results]
    if args.json:
        print_json({"results": rows, "summary": counts})
    else:
        print(table(rows, COLUMNS))
        print("\n" + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if v))
        if not complete:
            print(f"some images were still pending after {args.timeout:g}s", file=sys.stderr)
    bad = counts["refused"] + counts["failed"] + (counts["pending"] if args.wait else 0)
    return 1 if bad else 0
