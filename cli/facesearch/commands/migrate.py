"""`facesearch admin migrate`: give faces stored before the vector index their `vec` (facestore.vector_backfill).

It talks to FacesTable directly with your AWS credentials (an operator's one-off job, like a table
restore), not through the API: `--table` is the stack's FacesTable, `--endpoint-url` a local moto
server. Resumable (re-run it after an interruption) and idempotent; safe while indexing continues.
Run it once every function runs the new code.
"""

from __future__ import annotations

import argparse
from typing import Any

from facesearch.commands.common import fail
from facesearch.output import print_json, show

COLUMNS = [
    ("customer id", lambda r: r["customer_id"]),
    ("collection id", lambda r: r["collection_id"]),
    ("faces read", lambda r: r["scanned"]),
    ("faces given vec", lambda r: r["updated"]),
    ("ready", lambda r: "yes" if r["complete"] else "no"),
]


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = groups.add_parser("migrate", help="backfill the vector index's attribute on existing faces (resumable)")
    migrate.add_argument("--table", required=True, help="the stack's FacesTable name")
    migrate.add_argument("--region", default=None, help="AWS region (default: your configuration's)")
    migrate.add_argument("--endpoint-url", default=None, help="DynamoDB endpoint (a local moto server)")
    migrate.add_argument("--customer", default=None, help="only this customer's collections")
    migrate.add_argument("--collection", default=None, help="only this collection (with --customer)")
    migrate.add_argument("--json", action="store_true", help="machine-readable output")
    migrate.set_defaults(func=_migrate)


def _migrate(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from facepolicy.env import CLIENT_CONFIG
    from facestore.errors import CollectionNotFound
    from facestore.vector_backfill import VectorBackfill

    if args.collection and not args.customer:
        return fail(args, "INVALID_PARAMETER", "--collection needs --customer")
    client = boto3.client("dynamodb", region_name=args.region, endpoint_url=args.endpoint_url, config=CLIENT_CONFIG)
    backfill = VectorBackfill(client, args.table)
    rows: list[dict[str, Any]] = []
    try:
        targets = ([(args.customer, args.collection)] if args.collection
                   else [t for t in backfill.collections() if args.customer in (None, t[0])])
        for customer_id, collection_id in targets:
            result = backfill.run(customer_id, collection_id)
            rows.append({"customer_id": customer_id, "collection_id": collection_id, "scanned": result.scanned,
                         "updated": result.updated, "complete": result.complete})
    except CollectionNotFound as exc:
        return fail(args, "RESOURCE_NOT_FOUND", f"collection not found: {exc}")
    except (ClientError, BotoCoreError) as exc:
        return fail(args, "MIGRATION_FAILED", f"{type(exc).__name__}: {exc} (re-run to resume)")
    if args.json:
        print_json({"collections": rows})
    else:
        show(False, {"collections": rows}, rows, COLUMNS)
    return 0
