"""`facesearch index PATH... --collection C`: upload photos through presigned URLs, optionally wait for indexing.

Each file is uploaded named by the SHA-256 of its bytes, so uploading it again (a retry, a second
run) lands on the same image. Progress goes to stderr; the table (or JSON) and a summary always
follow, also when files failed, the service went away midway, or Ctrl-C stopped the run: run the
same command with --skip-existing to resume without uploading what the collection already has.
"""

from __future__ import annotations

import argparse
import sys

from facesearch.client import Client, IndexReport, UploadResult, image_files
from facesearch.commands.common import connection_options, remote, report, usage
from facesearch.errors import ExitCode
from facesearch.output import Progress, print_json, table

COLUMNS = [
    ("file", lambda r: r["path"]),
    ("image id", lambda r: r["image_id"]),
    ("status", lambda r: r["status"] + (" (skipped)" if r["skipped"] else "")),
    ("faces", lambda r: len(r["face_ids"])),
    ("reason", lambda r: r["code"]),
]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = subparsers.add_parser("index", parents=[connection_options()], help="upload photos to a collection",
                                description="Upload JPEG/PNG files (folders are expanded) to a collection; "
                                            "the service indexes them asynchronously. Files are named by their "
                                            "content (SHA-256): uploading one again never makes a second image.")
    cmd.add_argument("paths", nargs="+", metavar="PATH")
    cmd.add_argument("--collection", required=True)
    cmd.add_argument("--external-id", default=None,
                     help="external image id (one file only; default: the file name)")
    cmd.add_argument("--wait", action="store_true", help="wait until every upload is indexed")
    cmd.add_argument("--skip-existing", action="store_true",
                     help="do not upload files the collection already has (resume an interrupted run)")
    cmd.add_argument("--timeout", type=float, default=120.0, help="seconds to wait with --wait (default 120)")
    cmd.add_argument("--workers", type=int, default=4, help="concurrent uploads (default 4)")
    cmd.set_defaults(func=remote(run_index))


def summary(results: list[UploadResult]) -> dict[str, int]:
    """Counts by outcome: indexed, no face, invalid, refused, failed, pending, not started, skipped."""
    return IndexReport(results=list(results)).summary


def summary_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if v) or "nothing to do"


class _Bars:
    """The progress bars of a run (stderr): uploads, then indexing once the number to wait for is known."""

    def __init__(self, total: int) -> None:
        self.current = Progress(total, "uploading")
        self.finished: dict[str, UploadResult] = {}

    def uploaded(self, result: UploadResult) -> None:
        self.finished[result.path] = result
        self.current.advance()

    def waiting(self, count: int) -> None:
        self.current.close()
        self.current = Progress(count, "indexing ")

    def indexed(self, _: UploadResult) -> None:
        self.current.advance()


def run_index(args: argparse.Namespace, client: Client) -> int:
    paths = image_files(args.paths)
    if not paths:
        return usage(args, "NO_FILES", "no JPEG or PNG files found")
    if args.external_id and len(paths) > 1:
        return usage(args, "BAD_ARGUMENTS", "--external-id names one file; with several, file names are used")
    bars = _Bars(len(paths))
    interrupted = False
    try:
        result = client.index(args.collection, paths, wait=args.wait, skip_existing=args.skip_existing,
                              timeout=args.timeout, workers=args.workers,
                              external_id=lambda p: str(args.external_id or p.name),
                              on_uploaded=bars.uploaded, on_waiting=bars.waiting, on_indexed=bars.indexed)
    except KeyboardInterrupt:  # what finished is reported; the rest is NOT_STARTED (or PENDING if uploaded)
        interrupted = True
        result = IndexReport(results=[bars.finished.get(str(p)) or UploadResult(path=str(p), status="NOT_STARTED")
                                      for p in paths], complete=False)
    bars.current.close()
    return _print(args, result, interrupted)


def _print(args: argparse.Namespace, result: IndexReport, interrupted: bool) -> int:
    counts = result.summary
    refused = [r for r in result.results if r.status == "REFUSED"]
    if refused and counts["refused"] + counts["not_started"] == len(result.results) and result.error is not None:
        return report(args, result.error)  # the caller was refused: one message, not one per file
    if args.json:
        print_json({**result.to_dict(), "interrupted": interrupted})
    else:
        print(table([r.to_dict() for r in result.results], COLUMNS))
        print("\n" + summary_line(counts))
        if result.error is not None:
            print(f"stopped: {result.error.code}: {result.error.message}", file=sys.stderr)
        elif args.wait and not result.complete and not interrupted:
            print(f"some images were still pending after {args.timeout:g}s", file=sys.stderr)
    if interrupted or result.error is not None:
        if counts["not_started"] or counts["pending"] or interrupted:
            print("run the same command with --skip-existing to resume", file=sys.stderr)
    if interrupted:
        return int(ExitCode.INTERRUPTED)
    if result.error is not None:
        return int(result.error.exit_code)
    bad = counts["refused"] + counts["failed"] + counts["invalid"] + (counts["pending"] if args.wait else 0)
    return int(ExitCode.ERROR) if bad else int(ExitCode.OK)
