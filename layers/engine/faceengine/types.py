"""Value types that cross the engine's boundary (frozen dataclasses, pixels of the original image)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

LANDMARK_TYPES = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")
QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")


@dataclass(frozen=True)
class BoundingBox:
    """A face box in pixels of the (orientation-corrected) original image."""

    left: float
    top: float
    width: float
    height: float

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def to_dict(self) -> dict[str, float]:
        return {"left": round(self.left, 2), "top": round(self.top, 2),
                "width": round(self.width, 2), "height": round(self.height, 2)}


@dataclass(frozen=True)
class Landmark:
    type: str  # one of LANDMARK_TYPES
    x: float
    y: float

    def to_dict(self) -> dict[str, float | str]:
        return {"type": self.type, "x": round(self.x, 2), "y": round(self.y, 2)}


@dataclass(frozen=True)
class Quality:
    """Per-face quality measures; brightness and sharpness 0-100, pose angles in degrees."""

    brightness: float
    sharpness: float
    yaw: float
    pitch: float
    roll: float

    def to_dict(self) -> dict[str, float]:
        return {k: round(float(v), 2) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class DetectedFace:
    box: BoundingBox
    landmarks: tuple[Landmark, ...]  # five, in LANDMARK_TYPES order
    confidence: float  # detector score 0-100
    quality: Quality

    def to_dict(self) -> dict[str, object]:
        return {"bounding_box": self.box.to_dict(), "confidence": round(self.confidence, 3),
                "landmarks": [lm.to_dict() for lm in self.landmarks], "quality": self.quality.to_dict()}


@dataclass(frozen=True)
class EmbeddedFace:
    face: DetectedFace
    embedding: npt.NDArray[np.float32] = field(repr=False)  # (128,), L2-normalised


@dataclass(frozen=True)
class UnindexedFace:
    face: DetectedFace
    reasons: tuple[str, ...]  # LOW_CONFIDENCE, SMALL_BOUNDING_BOX, LOW_SHARPNESS, ... EXCEEDS_MAX_FACES


@dataclass(frozen=True)
class Detection:
    width: int
    height: int
    faces: tuple[DetectedFace, ...]  # largest first


@dataclass(frozen=True)
class Analysis:
    """Detect + quality filter + max faces + embed: what indexing and searching need."""

    width: int
    height: int
    faces: tuple[EmbeddedFace, ...]  # kept faces, largest first
    unindexed: tuple[UnindexedFace, ...]


@dataclass(frozen=True)
class ComparedFace:
    """A target face and its similarity (0-100) to the source face."""

    face: DetectedFace
    similarity: float

    def to_dict(self) -> dict[str, object]:
        return {"similarity": round(self.similarity, 3), "face": self.face.to_dict()}


@dataclass(frozen=True)
class Comparison:
    """CompareFaces: the source face against every face of one target, split by the threshold."""

    source_face: DetectedFace
    matches: tuple[ComparedFace, ...]  # similarity >= threshold, most similar first
    unmatched: tuple[ComparedFace, ...]  # the rest, largest first
