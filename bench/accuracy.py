"""Detection recall on group photos and verification on every same/different pair of the pinned photos.

What any detection-side speed-up (input size, adaptive re-detection, decode) must not make worse:

- recall: t1.jpg (six people, faces ~100 px) and mosaics of it shrunk 2x2, 3x3, 4x4 and 6x6 into the same
  1280x886 frame (24, 54, 96 and 216 faces of ~50, ~33, ~25 and ~17 px). The truth is t1's six faces found at native
  resolution, scaled into each tile; a face counts as found when a detection overlaps it with IoU >= 0.4.
- verification: the largest face of each identified portrait (obama x5, biden, Tom Hanks) and t1's six
  people; every pair is same or different person; cosine at SFace's threshold 0.363.
- search verification: each portrait searched as face_api searches it (largest face, detection at
  SEARCH_MAX_SIDE or down to SEARCH_MIN_SIDE by a box reduce, whole decode) against every other photo's face
  as indexing stores it: the pairs a search by image actually scores; and the same before the box reduce.

Uses only the engine's public API, so an older build can be measured the same way (PYTHONPATH).

    python -m bench.accuracy
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
from PIL import Image

from faceengine import SEARCH_MAX_SIDE, SEARCH_MIN_SIDE, SFACE_COSINE_THRESHOLD, FaceEngine

PHOTOS = Path(__file__).resolve().parents[1] / "tests" / "data" / "photos"
IDENTITY = {"obama.jpg": "obama", "obama2.jpg": "obama", "obama3.jpg": "obama",
            "obama_partial_face.jpg": "obama", "obama_partial_face2.jpg": "obama", "biden.jpg": "biden",
            "Tom_Hanks_54745.png": "hanks"}
MOSAICS = (1, 2, 3, 4, 6)
IOU_FOUND = 0.4


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (left, top, width, height) boxes."""
    w = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = w * h
    return float(inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1e-9))


def mosaic(image: Image.Image, n: int) -> Image.Image:
    """n x n copies of `image`, each shrunk by n, in a frame of the original size."""
    if n == 1:
        return image
    tile = image.resize((image.width // n, image.height // n), Image.Resampling.LANCZOS)
    frame = Image.new("RGB", image.size, (128, 128, 128))
    for row, col in itertools.product(range(n), range(n)):
        frame.paste(tile, (col * tile.width, row * tile.height))
    return frame


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def boxes(engine: FaceEngine, data: bytes) -> np.ndarray:
    faces = engine.detect(data).faces
    return np.array([[f.box.left, f.box.top, f.box.width, f.box.height] for f in faces]).reshape(-1, 4)


def recall(engine: FaceEngine) -> list[tuple[int, int, int]]:
    """(n, expected, found) per mosaic of t1.jpg."""
    t1 = Image.open(PHOTOS / "t1.jpg").convert("RGB")
    truth = _native_truth(engine, t1)
    rows = []
    for n in MOSAICS:
        tile_w, tile_h = (t1.width // n, t1.height // n) if n > 1 else t1.size
        sx, sy = tile_w / t1.width, tile_h / t1.height
        expected = [np.array([c * tile_w + b[0] * sx, r * tile_h + b[1] * sy, b[2] * sx, b[3] * sy])
                    for r, c in itertools.product(range(n), range(n)) for b in truth]
        found = boxes(engine, png(mosaic(t1, n)))
        hits = sum(any(iou(e, f) >= IOU_FOUND for f in found) for e in expected)
        rows.append((n, len(expected), hits))
    return rows


def _native_truth(engine: FaceEngine, image: Image.Image) -> np.ndarray:
    """t1's faces at native resolution (the detector without any downscaling)."""
    raw = engine.detector.detect(image, max(image.size))
    return np.asarray(raw.boxes, dtype=np.float64)


def verification(engine: FaceEngine) -> tuple[np.ndarray, np.ndarray]:
    """(same-person cosines, different-person cosines)."""
    vectors: list[tuple[str, np.ndarray]] = []
    for name, who in IDENTITY.items():
        vectors.append((who, engine.source_face((PHOTOS / name).read_bytes()).embedding))
    for i, face in enumerate(engine.analyze((PHOTOS / "t1.jpg").read_bytes()).faces):
        vectors.append((f"t1-person{i}", face.embedding))
    same: list[float] = []
    diff: list[float] = []
    for (a, va), (b, vb) in itertools.combinations(vectors, 2):
        (same if a == b else diff).append(float(va @ vb))
    return np.array(same), np.array(diff)


def search_verification(engine: FaceEngine, detect_max_side: int = SEARCH_MAX_SIDE,
                        detect_min_side: int | None = SEARCH_MIN_SIDE) -> tuple[np.ndarray, np.ndarray]:
    """(same-person, different-person) cosines of each portrait's searched face against the stored faces of the
    other photos (portraits and t1's people, analysed as indexing does)."""
    stored = [(who, name, engine.analyze((PHOTOS / name).read_bytes(), max_faces=1).faces[0].embedding)
              for name, who in IDENTITY.items()]
    stored += [(f"t1-person{i}", "t1.jpg", face.embedding)
               for i, face in enumerate(engine.analyze((PHOTOS / "t1.jpg").read_bytes()).faces)]
    same: list[float] = []
    diff: list[float] = []
    for name, who in IDENTITY.items():
        query = engine.analyze((PHOTOS / name).read_bytes(), max_faces=1, detect_max_side=detect_max_side,
                               detect_min_side=detect_min_side)
        for other, other_name, vector in stored:
            if other_name != name:
                (same if other == who else diff).append(float(query.faces[0].embedding @ vector))
    return np.array(same), np.array(diff)


def _verification_line(label: str, same: np.ndarray, diff: np.ndarray) -> str:
    t = SFACE_COSINE_THRESHOLD
    return (f"{label}: same-person pairs n={same.size} cosine min {same.min():.3f} mean {same.mean():.3f}; "
            f"different-person n={diff.size} max {diff.max():.3f} mean {diff.mean():.3f}; at {t}: "
            f"false non-matches {int((same < t).sum())}, false matches {int((diff >= t).sum())}")


def run() -> None:
    engine = FaceEngine.load(threads=1)
    rows = recall(engine)
    total, hits = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print("recall: t1.jpg mosaics " + ", ".join(f"{n}x{n} {h}/{e}" for n, e, h in rows)
          + f"; total {hits}/{total} = {hits / total:.3f}")
    print(_verification_line("verification", *verification(engine)))
    print(_verification_line(f"search verification (query detected at {SEARCH_MIN_SIDE}-{SEARCH_MAX_SIDE} px vs "
                             "stored faces)", *search_verification(engine)))
    print(_verification_line(f"search verification, query always resized to {SEARCH_MAX_SIDE} px (before)",
                             *search_verification(engine, detect_min_side=None)))


if __name__ == "__main__":
    run()
