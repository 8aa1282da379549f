"""`facesearch collections create|list|describe|delete`."""

from __future__ import annotations

import argparse

from facesearch.client import Client
from facesearch.commands.common import connection_options, remote
from facesearch.output import print_json, show

COLUMNS = [
    ("collection", lambda c: c.get("collection_id")),
    ("faces", lambda c: c.get("face_count")),
    ("users", lambda c: c.get("user_count")),
    ("model", lambda c: c.get("face_model_version")),
    ("created", lambda c: c.get("created_at")),
]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    conn = connection_options()
    group = subparsers.add_parser("collections", help="create, list, describe and delete collections")
    sub = group.add_subparsers(dest="collections_command", required=True, metavar="SUBCOMMAND")
    create = sub.add_parser("create", parents=[conn], help="create a collection")
    create.add_argument("collection_id")
    create.add_argument("--max-faces", type=int, default=None, help="default faces indexed per image")
    create.add_argument("--quality-filter", choices=["NONE", "AUTO", "LOW", "MEDIUM", "HIGH"], default=None)
    create.set_defaults(func=remote(_create))
    sub.add_parser("list", parents=[conn], help="list collections").set_defaults(func=remote(_list))
    describe = sub.add_parser("describe", parents=[conn], help="face count, users, model version")
    describe.add_argument("collection_id")
    describe.set_defaults(func=remote(_describe))
    delete = sub.add_parser("delete", parents=[conn], help="delete a collection with its faces and users")
    delete.add_argument("collection_id")
    delete.set_defaults(func=remote(_delete))


def _create(args: argparse.Namespace, client: Client) -> int:
    defaults = {k: v for k, v in (("max_faces", args.max_faces), ("quality_filter", args.quality_filter))
                if v is not None}
    result = client.create_collection(args.collection_id, defaults or None)
    show(args.json, result, [result], COLUMNS)
    return 0


def _list(args: argparse.Namespace, client: Client) -> int:
    collections = client.list_collections()
    show(args.json, {"collections": collections}, collections, COLUMNS)
    return 0


def _describe(args: argparse.Namespace, client: Client) -> int:
    result = client.describe_collection(args.collection_id)
    show(args.json, result, [result], COLUMNS)
    return 0


def _delete(args: argparse.Namespace, client: Client) -> int:
    result = client.delete_collection(args.collection_id)
    if args.json:
        print_json(result)
    else:
        print(f"deleted collection {args.collection_id} and {result.get('deleted_photos', 0)} photo versions")
    return 0
