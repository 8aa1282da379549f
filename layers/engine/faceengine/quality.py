"""Per-face quality measures and the Rekognition-style quality filter (pure functions).

- brightness: mean luminance of the aligned 112x112 crop, 0-100.
- sharpness: variance of the 4-neighbour Laplacian of the aligned crop's luminance, mapped to 0-100 by
  100·(1 - exp(-var / 200)) (a soft-focus face scores under 20, a sharp portrait over 80).
- pose (degrees) from the five landmarks: roll = angle of the eye line; yaw = arcsin of the nose's
  horizontal offset from the eye midpoint over half the eye distance (roll removed); pitch = how far the
  nose sits from its frontal position between the eye line and the mouth line (positive: nose raised).
These are estimates for filtering, not a head-pose model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .types import QUALITY_FILTERS, DetectedFace, Quality

# Where YuNet's nose point sits between the eye line (0) and the mouth line (1) on frontal faces: 0.56,
# the median over the frontal test photos (the ArcFace template's own ratio, 0.495, reads as -12 deg).
_FRONTAL_NOSE = 0.56
_SHARPNESS_SCALE = 200.0


@dataclass(frozen=True)
class QualityThresholds:
    min_confidence: float  # detector score, 0-100
    min_box: float  # pixels, shorter side of the box
    min_sharpness: float
    min_brightness: float
    max_pose: float  # degrees, |yaw| and |pitch|


# AUTO is MEDIUM. Chosen on the test photos: every frontal face in them passes HIGH; blurred, dark,
# tiny or profile faces are dropped by MEDIUM (see tests/unit/engine/test_quality.py).
THRESHOLDS: dict[str, QualityThresholds] = {
    "LOW": QualityThresholds(60.0, 20.0, 5.0, 5.0, 75.0),
    "MEDIUM": QualityThresholds(75.0, 40.0, 15.0, 15.0, 60.0),
    "HIGH": QualityThresholds(85.0, 60.0, 30.0, 25.0, 45.0),
}
THRESHOLDS["AUTO"] = THRESHOLDS["MEDIUM"]


def luminance(crop: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    rgb = crop.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def brightness(crop: npt.NDArray[np.uint8]) -> float:
    return _brightness(luminance(crop))


def sharpness(crop: npt.NDArray[np.uint8]) -> float:
    return _sharpness(luminance(crop))


def _brightness(y: npt.NDArray[np.float64]) -> float:
    return float(y.mean() / 255.0 * 100.0)


def _sharpness(y: npt.NDArray[np.float64]) -> float:
    lap = (y[:-2, 1:-1] + y[2:, 1:-1] + y[1:-1, :-2] + y[1:-1, 2:]) - 4.0 * y[1:-1, 1:-1]
    return float(100.0 * (1.0 - math.exp(-float(lap.var()) / _SHARPNESS_SCALE)))


def pose(landmarks: npt.ArrayLike) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from five landmarks in ArcFace template order (scalar arithmetic: ten
    numbers do not pay for numpy's per-call cost)."""
    (elx, ely), (erx, ery), (nx, ny), (mlx, mly), (mrx, mry) = np.asarray(landmarks, dtype=np.float64).tolist()
    roll = math.degrees(math.atan2(ery - ely, erx - elx))
    c, s = math.cos(-math.radians(roll)), math.sin(-math.radians(roll))

    def turned(x: float, y: float) -> tuple[float, float]:  # rotated by -roll: the eye line level
        return c * x - s * y, s * x + c * y

    (elx, ely), (erx, ery), (nx, ny), (mlx, mly), (mrx, mry) = (
        turned(x, y) for x, y in ((elx, ely), (erx, ery), (nx, ny), (mlx, mly), (mrx, mry)))
    eye_x, eye_y = (elx + erx) / 2, (ely + ery) / 2
    mouth_y = (mly + mry) / 2
    half_eye = max(math.hypot(erx - elx, ery - ely) / 2, 1e-6)
    yaw = math.degrees(math.asin(min(1.0, max(-1.0, (nx - eye_x) / half_eye))))
    span = mouth_y - eye_y
    t = (ny - eye_y) / span if abs(span) > 1e-6 else _FRONTAL_NOSE
    pitch = min(90.0, max(-90.0, (_FRONTAL_NOSE - t) * 180.0))
    return yaw, pitch, roll


def measure(crop: npt.NDArray[np.uint8], landmarks: npt.ArrayLike) -> Quality:
    yaw, pitch, roll = pose(landmarks)
    y = luminance(crop)  # once for both measures
    return Quality(brightness=_brightness(y), sharpness=_sharpness(y), yaw=yaw, pitch=pitch, roll=roll)


def rejection_reasons(face: DetectedFace, quality_filter: str) -> tuple[str, ...]:
    """Reasons (Rekognition's UnindexedFaces vocabulary) why the filter drops the face; () keeps it."""
    if quality_filter not in QUALITY_FILTERS:
        raise ValueError(f"quality_filter must be one of {QUALITY_FILTERS}, not {quality_filter!r}")
    if quality_filter == "NONE":
        return ()
    limits = THRESHOLDS[quality_filter]
    q = face.quality
    reasons = []
    if face.confidence < limits.min_confidence:
        reasons.append("LOW_CONFIDENCE")
    if min(face.box.width, face.box.height) < limits.min_box:
        reasons.append("SMALL_BOUNDING_BOX")
    if q.sharpness < limits.min_sharpness:
        reasons.append("LOW_SHARPNESS")
    if q.brightness < limits.min_brightness:
        reasons.append("LOW_BRIGHTNESS")
    if abs(q.yaw) > limits.max_pose or abs(q.pitch) > limits.max_pose:
        reasons.append("EXTREME_POSE")
    return tuple(reasons)
