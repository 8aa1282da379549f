"""`facesearch search IMAGE --collection C` and `facesearch faces list|delete`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from facesearch.client import Client
from facesearch.commands.common import connection_options, remote, usage
from facesearch.output import box, print_json, show, table

MATCH_COLUMNS = [
    ("similarity", lambda m: m["similarity"]),
    ("external image id", lambda m: m["face"].get("external_image_id")),
    ("box", lambda m: box(m["face"].get("bounding_box"))),
    ("face id", lambda m: m["face"].get("face_id")),
    ("image id", lambda m: m["face"].get("image_id")),
]
FACE_COLUMNS = [
    ("face id", lambda f: f.get("face_id")),
    ("image id", lambda f: f.get("image_id")),
    ("external image id", lambda f: f.get("external_image_id")),
    ("box", lambda f: box(f.get("bounding_box"))),
    ("confidence", lambda f: f.get("confidence")),
    ("user", lambda f: f.get("user_id")),
]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    conn = connection_options()
    search = subparsers.add_parser("search", parents=[conn], help="search a collection with the face in a photo",
                                   description="Searches with the largest face of IMAGE; prints the matches.")
    search.add_argument("image", metavar="IMAGE")
    search.add_argument("--collection", required=True)
    search.add_argument("--threshold", type=float, default=None, help="minimum similarity 0-100 (service default 80)")
    search.add_argument("--max-faces", type=int, default=None, help="at most this many matches (default 10)")
    search.set_defaults(func=remote(run_search))

    faces = subparsers.add_parser("faces", help="list and delete indexed faces")
    sub = faces.add_subparsers(dest="faces_command", required=True, metavar="SUBCOMMAND")
    lst = sub.add_parser("list", parents=[conn], help="the faces of a collection")
    lst.add_argument("--collection", required=True)
    lst.set_defaults(func=remote(_list))
    delete = sub.add_parser("delete", parents=[conn], help="delete faces by id, or every face of an uploaded image")
    delete.add_argument("face_ids", nargs="*", metavar="FACE_ID")
    delete.add_argument("--collection", required=True)
    delete.add_argument("--image-id", default=None, help="delete every face indexed from this image")
    delete.set_defaults(func=remote(_delete))


def print_matches(result: dict[str, Any]) -> None:
    """The searched face and the matches table."""
    searched = result.get("searched_face_bounding_box")
    if searched is None:
        print("no usable face in the image")
        return
    others = result.get("unsearched_face_count", 0)
    print(f"searched face at {box(searched)}" + (f" ({others} other face(s) not searched)" if others else ""))
    print(table(result.get("face_matches", []), MATCH_COLUMNS))


def run_search(args: argparse.Namespace, client: Client) -> int:
    try:
        image = Path(args.image).read_bytes()
    except OSError as exc:
        return usage(args, "FILE_NOT_READABLE", f"{args.image}: {exc.strerror or exc}")
    result = client.search(args.collection, image, threshold=args.threshold, max_faces=args.max_faces)
    if args.json:
        print_json(result)
    else:
        print_matches(result)
    return 0


def _list(args: argparse.Namespace, client: Client) -> int:
    faces = client.list_faces(args.collection)
    show(args.json, {"faces": faces}, faces, FACE_COLUMNS)
    return 0


def _delete(args: argparse.Namespace, client: Client) -> int:
    if bool(args.face_ids) == bool(args.image_id):
        return usage(args, "BAD_ARGUMENTS", "give face ids or --image-id (one of them)")
    if args.image_id:
        result = client.delete_image_faces(args.collection, args.image_id)
    else:
        result = client.delete_faces(args.collection, list(args.face_ids))
    if args.json:
        print_json(result)
        return 0
    print(f"deleted {len(result.get('deleted_faces', []))} face(s)")
    for failure in result.get("unsuccessful_face_deletions", []):
        print(f"  not deleted {failure['face_id']}: {', '.join(failure.get('reasons', []))}")
    return 1 if result.get("unsuccessful_face_deletions") else 0
