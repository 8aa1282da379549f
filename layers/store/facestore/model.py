"""Value types of the face store (collections, faces, images, users, matches); no AWS."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IMAGE_STATUSES = ("INDEXED", "NO_FACES", "INVALID_IMAGE", "REJECTED_POLICY", "REJECTED_COLLECTION")


@dataclass(frozen=True)
class Collection:
    customer_id: str
    collection_id: str
    created_at: str
    model_version: str
    face_count: int = 0
    user_count: int = 0
    version: int = 0  # bumped on every face add/delete: the vector index's freshness check
    defaults: dict[str, object] = field(default_factory=dict, compare=False)  # max_faces, quality_filter


@dataclass(frozen=True)
class Face:
    customer_id: str
    collection_id: str
    face_id: str
    image_id: str
    external_image_id: str | None
    box: dict[str, float]
    landmarks: tuple[dict[str, object], ...]
    confidence: float
    quality: dict[str, float]
    embedding: npt.NDArray[np.float32] = field(repr=False, compare=False)
    model_version: str = ""
    indexed_at: str = ""
    user_id: str | None = None


@dataclass(frozen=True)
class ImageStatus:
    customer_id: str
    collection_id: str
    image_id: str
    status: str  # one of IMAGE_STATUSES
    reason_code: str | None = None
    message: str | None = None
    face_ids: tuple[str, ...] = ()
    unindexed: tuple[dict[str, object], ...] = ()
    external_image_id: str | None = None
    version_id: str | None = None
    sequencer: str | None = None
    updated_at: str = ""


@dataclass(frozen=True)
class User:
    customer_id: str
    collection_id: str
    user_id: str
    face_ids: tuple[str, ...] = ()
    created_at: str = ""


@dataclass(frozen=True)
class FaceMatch:
    face_id: str
    similarity: float  # 0-100
    image_id: str
    external_image_id: str | None
    box: dict[str, float]
    user_id: str | None = None
