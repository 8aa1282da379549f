"""Similarity 0-100 from SFace cosine: a documented, strictly monotone, piecewise-linear mapping.

Knots (cosine -> similarity): (-1, 0), (0, 5), (0.363, 80), (1, 100). SFace's published cosine threshold
0.363 maps to DEFAULT_THRESHOLD = 80, Rekognition's default FaceMatchThreshold, so "similarity >= 80"
means "same person at SFace's operating point". Unrelated faces (cosine about 0-0.2 on the test photos)
land at 5-50, the same person (cosine 0.5-0.8) at 84-94. The inverse is exact.
"""

from __future__ import annotations

from typing import overload

import numpy as np
import numpy.typing as npt

SFACE_COSINE_THRESHOLD = 0.363
DEFAULT_THRESHOLD = 80.0
_COSINE_KNOTS = np.array([-1.0, 0.0, SFACE_COSINE_THRESHOLD, 1.0])
_SIMILARITY_KNOTS = np.array([0.0, 5.0, DEFAULT_THRESHOLD, 100.0])


@overload
def cosine_to_similarity(cos: float) -> float: ...
@overload
def cosine_to_similarity(cos: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]: ...
def cosine_to_similarity(cos: float | npt.NDArray[np.floating]) -> float | npt.NDArray[np.float64]:
    """Cosine in [-1, 1] (clipped) -> similarity in [0, 100]."""
    out = np.interp(np.clip(cos, -1.0, 1.0), _COSINE_KNOTS, _SIMILARITY_KNOTS)
    return float(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.float64)


@overload
def similarity_to_cosine(similarity: float) -> float: ...
@overload
def similarity_to_cosine(similarity: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]: ...
def similarity_to_cosine(similarity: float | npt.NDArray[np.floating]) -> float | npt.NDArray[np.float64]:
    """Similarity in [0, 100] (clipped) -> cosine; the inverse of cosine_to_similarity."""
    out = np.interp(np.clip(similarity, 0.0, 100.0), _SIMILARITY_KNOTS, _COSINE_KNOTS)
    return float(out) if np.ndim(out) == 0 else np.asarray(out, dtype=np.float64)


def cosine_matrix(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Pairwise cosines of L2-normalised rows, shape (len(a), len(b))."""
    return np.asarray(a @ b.T, dtype=np.float32)
