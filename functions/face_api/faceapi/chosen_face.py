"""Search with a face the caller picked in the query photo (the console boxes every face, the user
picks one), rather than only the largest.

The picked face is named by its bounding box, as POST /detect returned it; the face detected in the
photo that overlaps it best (intersection over union ≥ MIN_IOU) is embedded and searched. Detection
runs at the indexing size, so that small faces the user can see can be picked. No face at the box is
not an error, as for a search by image without a face: nothing is searched and the result is empty.
"""

from __future__ import annotations

from pydantic import Field

from faceapi import models as m
from faceapi.deps import Deps
from faceapi.search import FacePicker, SearchedFace
from faceengine import DetectedFace

MIN_IOU = 0.3


class FaceBox(m.Request):
    """A face box in pixels of the upright image (as /detect returns it)."""

    left: float = Field(ge=-1e6, le=1e6)
    top: float = Field(ge=-1e6, le=1e6)
    width: float = Field(gt=0, le=1e6)
    height: float = Field(gt=0, le=1e6)


class SearchChosenFaceRequest(m.ImageSource):
    bounding_box: FaceBox = Field(description="The face to search: its box as POST /detect returned it.")
    max_faces: m.Integer = Field(default=m.DEFAULT_SEARCH_FACES, ge=1, le=m.MAX_SEARCH_FACES)
    threshold: m.Threshold = Field(default=80.0, description="Minimum similarity 0-100 (default 80).")


def iou(a: FaceBox, face: DetectedFace) -> float:
    """Intersection over union of a requested box and a detected face's box."""
    b = face.box
    x1, y1 = max(a.left, b.left), max(a.top, b.top)
    x2, y2 = min(a.left + a.width, b.left + b.width), min(a.top + a.height, b.top + b.height)
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def chosen_face(d: Deps, data: bytes, box: FaceBox, *, max_bytes: int) -> SearchedFace:
    """Detect every face, keep the one at `box`, embed only that one (none: an empty SearchedFace)."""
    engine = d.engine
    image = engine.decode(data, max_bytes=max_bytes)
    faces = engine.detect_image(image).faces
    scored = sorted(((iou(box, f), i) for i, f in enumerate(faces)), reverse=True)
    if not scored or scored[0][0] < MIN_IOU:
        return SearchedFace(None, None, len(faces))
    face = faces[scored[0][1]]
    embedding = engine.embed_faces(image, [face])[0]
    return SearchedFace(face, embedding, len(faces) - 1)


def picker(d: Deps, box: FaceBox) -> FacePicker:
    """The face picker of search_by_image for the face at `box`."""
    return lambda data, max_bytes: chosen_face(d, data, box, max_bytes=max_bytes)
