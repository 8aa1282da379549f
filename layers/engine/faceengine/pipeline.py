"""FaceEngine: decode -> detect (YuNet) -> align -> quality -> embed (SFace); sessions built once."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from PIL import Image

from . import quality
from .align import align
from .decode import MAX_BYTES, decode_image, decode_reduced
from .errors import NoFaceError
from .models import MODEL_VERSION, locate_models, private_cache_dir
from .session_cache import cached_session
from .sface import EMBEDDING_SIZE, Embedder
from .similarity import DEFAULT_THRESHOLD, cosine_matrix, cosine_to_similarity
from .types import (
    LANDMARK_TYPES,
    Analysis,
    BoundingBox,
    ComparedFace,
    Comparison,
    DetectedFace,
    Detection,
    EmbeddedFace,
    Landmark,
    UnindexedFace,
)
from .yunet import FIRST_MIN_SIDE, MAX_SIDE, Detector

logger = logging.getLogger(__name__)

FaceAndCrop = tuple[DetectedFace, npt.NDArray[np.uint8]]
MAX_COMPARE_TARGET_FACES = 100  # as Rekognition's CompareFaces
# A face found in an image decoded at reduced scale is aligned from it when it is at least this wide there
# (the aligned crop's size: the warp then downsamples); a smaller one is aligned from the full-resolution image.
ALIGN_MIN_FACE = 112.0


def session_options(threads: int) -> ort.SessionOptions:
    """Both models' session options. Weight prepacking is off: it made SFace's session creation (a cold
    start's model load) 2.5x slower (69 vs 28 ms here) for no measurable gain per run (16.5 vs 16.2 ms per
    face, one thread), and the embeddings are bit-identical either way."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.disable_prepacking", "1")
    options.log_severity_level = 3
    return options


def landmark_array(face: DetectedFace) -> npt.NDArray[np.float64]:
    """(5, 2) landmark coordinates in ArcFace template order."""
    return np.array([[lm.x, lm.y] for lm in face.landmarks], dtype=np.float64)


class FaceEngine:
    """The face engine; build once per process with `FaceEngine.load()` and share it."""

    def __init__(self, detector: Detector, embedder: Embedder, *, model_version: str = MODEL_VERSION) -> None:
        self.detector = detector
        self.embedder = embedder
        self._model_version = model_version

    @classmethod
    def load(cls, model_dir: str | Path | None = None, threads: int = 1, *, verify: bool = True,
             detector_threads: int = 1, session_cache: bool = False) -> FaceEngine:
        """Build both inference sessions from the prepared, manifest-checked model files.

        `threads` is the embedder's intra-op thread count; the detector keeps `detector_threads` (1):
        measured here on 2 cores, a search's analyze took 52 ms on one thread, 40 ms with SFace on two
        and YuNet on one, but 89 ms with both on two (YuNet's small convolutions lose to the overhead).

        `session_cache` (the command-line client; needs `verify`): the sessions' optimised graphs are kept in a
        private cache directory for the next process on this machine (session_cache.py).
        """
        files = locate_models(model_dir, verify=verify)
        cache_dir = private_cache_dir("sessions") if session_cache and verify else None
        # an entry's key covers every file the manifest pins: sface.onnx's weights are in sface.data, which a
        # retrained model could change without changing the graph's bytes
        pinned = sorted(f"{m['file']}:{m['sha256']}" for m in files.manifest["models"])  # type: ignore[attr-defined]
        model_set = hashlib.sha256("\n".join(pinned).encode()).hexdigest()

        def session(path: Path, n_threads: int) -> ort.InferenceSession:
            return cached_session(path, model_set, lambda: session_options(n_threads),
                                  f"session_options(threads={n_threads})", cache_dir)

        detector = Detector(session(files.detector, detector_threads))
        embedder = Embedder(session(files.embedder, threads))
        logger.info("face engine loaded", extra={"model_dir": str(files.directory), "threads": threads})
        return cls(detector, embedder)

    @property
    def model_version(self) -> str:
        return self._model_version

    def decode(self, data: bytes, *, max_bytes: int = MAX_BYTES) -> Image.Image:
        """Upright RGB image from untrusted bytes; raises ImageError."""
        return decode_image(data, max_bytes=max_bytes)

    def _detect(self, image: Image.Image, max_side: int | None = None, *, min_side: int | None = None,
                full_size: tuple[int, int] | None = None,
                full_image: Callable[[], Image.Image] | None = None) -> list[FaceAndCrop]:
        """Faces of `image`, largest first, each with its aligned crop, in pixels of the full-resolution image.

        `image` may be a reduced decode of a `full_size` image (see decode_reduced): boxes and landmarks are
        scaled up, and faces narrower than ALIGN_MIN_FACE there are aligned from `full_image()` instead.
        `min_side` lets the detector take a cheaper input between it and max_side (Detector.preprocess).
        """
        raw = self.detector.detect(image, max_side, min_side=min_side)
        scale = np.ones(2, dtype=np.float64)
        if full_size is not None and full_size != image.size:
            scale = np.array([full_size[0] / image.width, full_size[1] / image.height])
        source, source_scale = image, np.ones(2, dtype=np.float64)
        if len(raw) and scale[0] != 1.0 and full_image is not None and float(raw.boxes[:, 2].min()) < ALIGN_MIN_FACE:
            source, source_scale = full_image(), scale
        found = []
        for box, points, score in zip(raw.boxes, raw.landmarks, raw.scores, strict=True):
            crop = align(source, points * source_scale)
            box, points = box * np.tile(scale, 2), points * scale
            face = DetectedFace(
                box=BoundingBox(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                landmarks=tuple(Landmark(t, float(x), float(y)) for t, (x, y) in zip(LANDMARK_TYPES, points,
                                                                                       strict=True)),
                confidence=float(score) * 100.0,
                quality=quality.measure(crop, points),
            )
            found.append((face, crop))
        found.sort(key=lambda item: -item[0].box.area)
        return found

    def detect_image(self, image: Image.Image) -> Detection:
        return Detection(image.width, image.height, tuple(face for face, _ in self._detect(image)))

    def detect(self, data: bytes, *, max_bytes: int = MAX_BYTES) -> Detection:
        """All faces, largest first, in pixels of the upright original image."""
        return self.detect_image(self.decode(data, max_bytes=max_bytes))

    def analyze_image(self, image: Image.Image, *, max_faces: int | None = None,
                      quality_filter: str = "NONE", detect_max_side: int | None = None,
                      detect_min_side: int | None = None, full_size: tuple[int, int] | None = None,
                      full_image: Callable[[], Image.Image] | None = None) -> Analysis:
        if max_faces is not None and max_faces < 1:
            raise ValueError("max_faces must be at least 1")
        if detect_max_side is None and quality_filter != "NONE":
            # The filter's pose limits were set on landmarks found at MAX_SIDE; a turned head's yaw estimate
            # moves by ~20 degrees between input sizes (t1.jpg: -55 at 640, -76 at 960), so keep that size.
            detect_max_side = self.detector.max_side
        kept: list[tuple[DetectedFace, npt.NDArray[np.uint8]]] = []
        unindexed: list[UnindexedFace] = []
        for face, crop in self._detect(image, detect_max_side, min_side=detect_min_side, full_size=full_size,
                                       full_image=full_image):
            reasons = quality.rejection_reasons(face, quality_filter)
            if reasons:
                unindexed.append(UnindexedFace(face, reasons))
            elif max_faces is not None and len(kept) >= max_faces:
                unindexed.append(UnindexedFace(face, ("EXCEEDS_MAX_FACES",)))
            else:
                kept.append((face, crop))
        crops = (np.stack([crop for _, crop in kept]) if kept
                 else np.zeros((0, 112, 112, 3), dtype=np.uint8))
        vectors = self.embedder.embed(crops)
        faces = tuple(EmbeddedFace(face, vectors[i]) for i, (face, _) in enumerate(kept))
        width, height = full_size or image.size
        return Analysis(width, height, faces, tuple(unindexed))

    def analyze(self, data: bytes, *, max_faces: int | None = None, quality_filter: str = "NONE",
                max_bytes: int = MAX_BYTES, detect_max_side: int | None = None,
                detect_min_side: int | None = None, reduced_decode: bool = False) -> Analysis:
        """Detect, drop faces the quality filter rejects, keep the largest max_faces, embed in one batch.

        `detect_max_side` fixes the detector's input size for this call: a search, which uses only the
        largest face, can detect at SEARCH_MAX_SIDE, and with `detect_min_side` (SEARCH_MIN_SIDE) at any input
        between the two that a box reduce alone reaches. Without it detection is adaptive (640, then 960 when
        faces are tiny or none is found), except under a quality filter, which detects at MAX_SIDE.

        `reduced_decode`: a JPEG of twice MAX_SIDE or more is decoded at a reduced scale that keeps every
        input size the detector may use (decode_reduced), and faces are aligned from it when they are large
        there (ALIGN_MIN_FACE), else from the image decoded again whole. Coordinates stay in full-resolution
        pixels. Compare uses it; indexing and search decode whole, so stored vectors keep their pipeline.
        """
        if not reduced_decode:
            return self.analyze_image(self.decode(data, max_bytes=max_bytes), max_faces=max_faces,
                                      quality_filter=quality_filter, detect_max_side=detect_max_side,
                                      detect_min_side=detect_min_side)
        image, full_size = decode_reduced(data, long_side=max(MAX_SIDE, detect_max_side or 0), max_bytes=max_bytes)
        return self.analyze_image(image, max_faces=max_faces, quality_filter=quality_filter,
                                  detect_max_side=detect_max_side, detect_min_side=detect_min_side,
                                  full_size=full_size,
                                  full_image=lambda: self.decode(data, max_bytes=max_bytes))

    def embed_faces(self, image: Image.Image, faces: Sequence[DetectedFace]) -> npt.NDArray[np.float32]:
        """(n, 128) L2-normalised float32 embeddings of the given faces of `image`."""
        if not faces:
            return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        return self.embedder.embed(np.stack([align(rgb, landmark_array(face)) for face in faces]))

    def source_face(self, data: bytes, *, max_bytes: int = MAX_BYTES) -> EmbeddedFace:
        """The largest face of an image, embedded (CompareFaces' source); raises NoFaceError."""
        analysis = self.analyze(data, max_faces=1, max_bytes=max_bytes, reduced_decode=True,
                                detect_min_side=FIRST_MIN_SIDE)
        if not analysis.faces:
            raise NoFaceError()
        return analysis.faces[0]

    def compare(self, source: EmbeddedFace, target: bytes, *, threshold: float = DEFAULT_THRESHOLD,
                max_bytes: int = MAX_BYTES) -> Comparison:
        """The source face against (up to 100 of) the largest faces of the target image."""
        analysis = self.analyze(target, max_faces=MAX_COMPARE_TARGET_FACES, max_bytes=max_bytes, reduced_decode=True,
                                detect_min_side=FIRST_MIN_SIDE)
        if not analysis.faces:
            return Comparison(source.face, (), ())
        vectors = np.stack([f.embedding for f in analysis.faces])
        sims = cosine_to_similarity(cosine_matrix(source.embedding[None, :], vectors)[0])
        compared = [ComparedFace(f.face, float(s)) for f, s in zip(analysis.faces, sims, strict=True)]
        matches = sorted((c for c in compared if c.similarity >= threshold), key=lambda c: -c.similarity)
        unmatched = [c for c in compared if c.similarity < threshold]
        return Comparison(source.face, tuple(matches), tuple(unmatched))
