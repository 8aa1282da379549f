"""The face engine: safe decode, YuNet detection, ArcFace alignment, quality, SFace embeddings.

Imports numpy, Pillow and onnxruntime only (no AWS, no OpenCV). Build one engine per process:

    engine = FaceEngine.load()          # models from $FACESEARCH_MODEL_DIR, /opt/facesearch_models or the repo
    analysis = engine.analyze(image_bytes, max_faces=5, quality_filter="AUTO")
"""

from __future__ import annotations

from .errors import IMAGE_ERROR_CODES, ImageError, ModelError, NoFaceError
from .models import MODEL_VERSION
from .pipeline import FaceEngine
from .similarity import DEFAULT_THRESHOLD, SFACE_COSINE_THRESHOLD, cosine_to_similarity, similarity_to_cosine
from .types import (
    LANDMARK_TYPES,
    QUALITY_FILTERS,
    Analysis,
    BoundingBox,
    ComparedFace,
    Comparison,
    DetectedFace,
    Detection,
    EmbeddedFace,
    Landmark,
    Quality,
    UnindexedFace,
)
from .yunet import MAX_SIDE, SEARCH_MAX_SIDE, SEARCH_MIN_SIDE

__all__ = [
    "DEFAULT_THRESHOLD",
    "IMAGE_ERROR_CODES",
    "LANDMARK_TYPES",
    "MAX_SIDE",
    "MODEL_VERSION",
    "QUALITY_FILTERS",
    "SEARCH_MAX_SIDE",
    "SEARCH_MIN_SIDE",
    "SFACE_COSINE_THRESHOLD",
    "Analysis",
    "BoundingBox",
    "ComparedFace",
    "Comparison",
    "DetectedFace",
    "Detection",
    "EmbeddedFace",
    "FaceEngine",
    "ImageError",
    "Landmark",
    "ModelError",
    "NoFaceError",
    "Quality",
    "UnindexedFace",
    "cosine_to_similarity",
    "similarity_to_cosine",
]
