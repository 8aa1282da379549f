"""`facesearch detect` and `facesearch compare`: the face engine run locally on image files.

Exit status 0 when every input was read and decoded, 1 otherwise (error lines are still printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from faceengine import DEFAULT_THRESHOLD, DetectedFace, FaceEngine, ImageError, NoFaceError

_engine: FaceEngine | None = None


def get_engine(args: argparse.Namespace) -> FaceEngine:
    """One engine per process (sessions are expensive; their optimised graphs are cached on this machine)."""
    global _engine
    if _engine is None:
        _engine = FaceEngine.load(args.model_dir, threads=args.threads, session_cache=True)
    return _engine


def read_image(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ImageError("FILE_NOT_READABLE", f"{path}: {exc.strerror or exc}") from exc


def error_dict(exc: ImageError | NoFaceError) -> dict[str, str]:
    return {"code": exc.code, "message": exc.message}


def emit(line: dict[str, Any]) -> None:
    print(json.dumps(line), flush=True)


def similarity_threshold(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError("the threshold is a similarity between 0 and 100")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="one JSON object per line")
    common.add_argument("--model-dir", default=None, help="prepared models (default: the models layer)")
    common.add_argument("--threads", type=int, default=1, help="inference threads (default 1)")

    detect = subparsers.add_parser("detect", parents=[common], help="detect faces in images",
                                   description="Detect faces: boxes, confidence, landmarks, quality.")
    detect.add_argument("images", nargs="+", metavar="IMAGE")
    detect.set_defaults(func=run_detect)

    compare = subparsers.add_parser("compare", parents=[common], help="compare a face with the faces of images",
                                    description="The largest face of SOURCE against every face of each TARGET.")
    compare.add_argument("source", metavar="SOURCE")
    compare.add_argument("targets", nargs="+", metavar="TARGET")
    compare.add_argument("--threshold", type=similarity_threshold, default=DEFAULT_THRESHOLD,
                         help=f"match threshold, similarity 0-100 (default {DEFAULT_THRESHOLD:g})")
    compare.set_defaults(func=run_compare)


def _face_row(index: int, face: DetectedFace, similarity: float | None = None) -> str:
    b, q = face.box, face.quality
    sim = f"{similarity:6.1f}  " if similarity is not None else ""
    return (f"  {index:>2}  {sim}{b.left:7.1f} {b.top:7.1f} {b.width:6.1f} {b.height:6.1f}  "
            f"{face.confidence:5.1f}  {q.brightness:5.1f} {q.sharpness:5.1f} "
            f"{q.yaw:6.1f} {q.pitch:6.1f} {q.roll:6.1f}")


_HEADER = "   #  {sim}   left     top  width height   conf  brigh sharp    yaw  pitch   roll"


def run_detect(args: argparse.Namespace) -> int:
    engine = get_engine(args)
    status = 0
    for path in args.images:
        try:
            detection = engine.detect(read_image(path))
        except ImageError as exc:
            status = 1
            if args.json:
                emit({"image": path, "error": error_dict(exc)})
            else:
                print(f"{path}: error {exc.code}: {exc.message}")
            continue
        if args.json:
            emit({"image": path, "faces": [face.to_dict() for face in detection.faces]})
            continue
        print(f"{path}: {detection.width}x{detection.height}, {len(detection.faces)} face(s)")
        if detection.faces:
            print(_HEADER.format(sim=""))
            for i, face in enumerate(detection.faces, 1):
                print(_face_row(i, face))
    return status


def run_compare(args: argparse.Namespace) -> int:
    engine = get_engine(args)
    try:
        source = engine.source_face(read_image(args.source))
    except (ImageError, NoFaceError) as exc:
        if args.json:
            emit({"source": args.source, "error": error_dict(exc)})
        else:
            print(f"{args.source}: error {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    status = 0
    if not args.json:
        b = source.face.box
        print(f"source {args.source}: face at {b.left:.0f},{b.top:.0f} {b.width:.0f}x{b.height:.0f}; "
              f"threshold {args.threshold:g}")
    for path in args.targets:
        try:
            result = engine.compare(source, read_image(path), threshold=args.threshold)
        except ImageError as exc:
            status = 1
            if args.json:
                emit({"target": path, "error": error_dict(exc)})
            else:
                print(f"{path}: error {exc.code}: {exc.message}")
            continue
        if args.json:
            emit({"target": path, "source_face": result.source_face.to_dict(),
                  "face_matches": [m.to_dict() for m in result.matches],
                  "unmatched_faces": [u.face.to_dict() for u in result.unmatched]})
            continue
        print(f"{path}: {len(result.matches)} match(es), {len(result.unmatched)} other face(s)")
        rows = [(m, "match") for m in result.matches] + [(u, "") for u in result.unmatched]
        if rows:
            print(_HEADER.format(sim="   sim") + "  match")
            for i, (c, tag) in enumerate(rows, 1):
                print(_face_row(i, c.face, c.similarity) + f"  {tag}")
    return status
