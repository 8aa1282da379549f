"""`facesearch remote detect|compare`: the service's stateless routes (the top-level detect/compare run locally)."""

from __future__ import annotations

import argparse
from pathlib import Path

from facesearch.client import Client
from facesearch.commands.common import connection_options, remote, usage
from facesearch.errors import ExitCode
from facesearch.output import box, print_json, table


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    conn = connection_options()
    group = subparsers.add_parser("remote", help="detect and compare through the service (POST /detect, /compare)")
    sub = group.add_subparsers(dest="remote_command", required=True, metavar="SUBCOMMAND")
    detect = sub.add_parser("detect", parents=[conn], help="detect faces in an image, remotely")
    detect.add_argument("image", metavar="IMAGE")
    detect.set_defaults(func=remote(_detect))
    compare = sub.add_parser("compare", parents=[conn], help="compare the largest face of SOURCE with TARGET's faces")
    compare.add_argument("source", metavar="SOURCE")
    compare.add_argument("target", metavar="TARGET")
    compare.add_argument("--threshold", type=float, default=None, help="similarity 0-100 (service default 80)")
    compare.set_defaults(func=remote(_compare))


def _read(args: argparse.Namespace, path: str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        usage(args, "FILE_NOT_READABLE", f"{path}: {exc.strerror or exc}")
        return None


def _detect(args: argparse.Namespace, client: Client) -> int:
    image = _read(args, args.image)
    if image is None:
        return int(ExitCode.USAGE)
    result = client.detect(image)
    if args.json:
        print_json(result)
        return 0
    size = result.get("image", {})
    faces = result.get("faces", [])
    print(f"{args.image}: {size.get('width')}x{size.get('height')}, {len(faces)} face(s)")
    print(table(faces, [("box", lambda f: box(f.get("bounding_box"))), ("confidence", lambda f: f.get("confidence")),
                        ("yaw", lambda f: f.get("quality", {}).get("yaw")),
                        ("sharpness", lambda f: f.get("quality", {}).get("sharpness"))]))
    return 0


def _compare(args: argparse.Namespace, client: Client) -> int:
    source, target = _read(args, args.source), _read(args, args.target)
    if source is None or target is None:
        return int(ExitCode.USAGE)
    result = client.compare(source, target, threshold=args.threshold)
    if args.json:
        print_json(result)
        return 0
    matches = result.get("face_matches", [])
    unmatched = result.get("unmatched_faces", [])
    print(f"{len(matches)} match(es), {len(unmatched)} other face(s)")
    rows = [{"similarity": m.get("similarity"), "box": box((m.get("face") or m).get("bounding_box")), "match": "yes"}
            for m in matches]
    rows += [{"similarity": u.get("similarity"), "box": box((u.get("face") or u).get("bounding_box")), "match": ""}
             for u in unmatched]
    print(table(rows, [("similarity", lambda r: r["similarity"]), ("box", lambda r: r["box"]),
                       ("match", lambda r: r["match"])]))
    return 0
