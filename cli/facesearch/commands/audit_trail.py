"""`facesearch admin audit seal|verify` and `facesearch admin report`: the verifiable audit trail (IAM-signed)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from facepolicy import AuditUnavailable
from facepolicy.seal import AuditVerifier, DigestUnavailable, parse_anchor, resolve_since
from facesearch.client import Client
from facesearch.commands.common import fail, remote
from facesearch.output import print_json, table
from facesearch.transparency import render_csv, render_html

FINDING_COLUMNS = [
    ("finding", lambda f: f.get("kind")),
    ("digest", lambda f: f.get("digest_key")),
    ("record", lambda f: f"{f.get('pk')} {f.get('sk')}".strip()),
    ("detail", lambda f: f.get("detail")),
]
SEAL_COLUMNS = [
    ("period start", lambda d: d.get("start")),
    ("end", lambda d: d.get("end")),
    ("records", lambda d: d.get("record_count")),
    ("digest", lambda d: d.get("key")),
    ("version", lambda d: d.get("version_id")),
]


def register(audit: argparse.ArgumentParser, groups: argparse._SubParsersAction[argparse.ArgumentParser],
             conn: argparse.ArgumentParser) -> None:
    """Add `seal` and `verify` under `admin audit` (which keeps listing records without one) and `admin report`."""
    sub = audit.add_subparsers(dest="audit_command", required=False, metavar="[seal|verify]")
    seal = sub.add_parser("seal", parents=[conn], help="seal every closed audit period now (what the schedule does)")
    seal.set_defaults(func=remote(_seal))
    verify = sub.add_parser("verify", parents=[conn],
                            help="recompute the audit's hashes and the digest chain; exit 1 on any finding")
    verify.add_argument("--since", default="", help="30d, 12h, or an ISO 8601 time (default: every digest)")
    verify.add_argument("--anchor", default="",
                        help="KEY@VERSION#SHA256: a head digest printed by an earlier verify, checked unchanged")
    verify.add_argument("--table", default="", help="with --bucket: verify directly with your AWS credentials "
                                                     "(the AuditTableName output), not through the admin API")
    verify.add_argument("--bucket", default="", help="the AuditDigestBucketName output (with --table)")
    verify.set_defaults(func=_verify_entry)
    report = groups.add_parser("report", parents=[conn], help="the transparency report of a period")
    report.add_argument("--since", default="30d", help="30d (default), 12h, or an ISO 8601 time")
    report.add_argument("--until", default="", help="default: now")
    report.add_argument("--format", choices=("json", "csv", "html"), default="json")
    report.add_argument("--output", "-o", default="", help="write to this file (default: standard output)")
    report.set_defaults(func=remote(_report))


def _seal(args: argparse.Namespace, client: Client) -> int:
    result = client.seal_audit()
    if args.json:
        print_json(result)
        return 0
    if result["sealed"]:
        print(table(result["sealed"], SEAL_COLUMNS))
    print(f"sealed through {result['sealed_through'] or '(nothing yet)'}; periods close for sealing at "
          f"{result['cutoff']}" + ("" if result["complete"] else "; more to seal, run again"))
    return 0


def _verify_entry(args: argparse.Namespace) -> int:
    if bool(args.table) != bool(args.bucket):
        return fail(args, "BAD_REQUEST", "--table and --bucket go together")
    if args.table:
        try:
            return _show_verify(args, verify_directly(args.table, args.bucket, since=args.since, anchor=args.anchor))
        except ValueError as exc:
            return fail(args, "BAD_REQUEST", str(exc))
        except (AuditUnavailable, DigestUnavailable) as exc:
            return fail(args, "SERVICE_UNAVAILABLE", str(exc))
    return remote(_verify)(args)


def verify_directly(table: str, bucket: str, *, since: str = "", anchor: str = "") -> dict[str, Any]:
    """The same verification as the admin route, run here against the table and bucket (read-only)."""
    import boto3

    from facepolicy.dynamodb import DynamoDBAuditLog
    from facepolicy.s3digests import S3DigestStore

    audit = DynamoDBAuditLog(boto3.resource("dynamodb").Table(table))
    verifier = AuditVerifier(audit, S3DigestStore(boto3.client("s3"), bucket))
    start = resolve_since(since, time.time()) if since else ""
    return verifier.verify(start, anchor=parse_anchor(anchor)).as_dict()


def _verify(args: argparse.Namespace, client: Client) -> int:
    return _show_verify(args, client.verify_audit(since=args.since, anchor=args.anchor))


def _show_verify(args: argparse.Namespace, report: dict[str, Any]) -> int:
    if args.json:
        print_json(report)
    else:
        head = report.get("head")
        print(f"{'OK' if report['ok'] else 'FAILED'}: {report['digests_checked']} digests "
              f"({report['sealed_from'] or '-'} to {report['sealed_through'] or '-'}), "
              f"{report['records_sealed']} sealed records: {report['records_intact']} intact, "
              f"{report['records_expired']} expired (TTL); {report['records_unsealed']} unsealed recent records")
        if head:
            print(f"head (anchor for the next verify): {head['key']}@{head['version_id']}#{head['sha256']}")
        if report["findings"]:
            print()
            print(table(report["findings"], FINDING_COLUMNS))
    return 0 if report["ok"] else 1


def _report(args: argparse.Namespace, client: Client) -> int:
    document = client.transparency_report(since=args.since, until=args.until)
    text = {"json": lambda d: json.dumps(d, indent=2) + "\n", "csv": render_csv, "html": render_html}[args.format](
        document)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
