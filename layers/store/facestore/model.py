"""Value types of the face store (collections, faces, images, users, matches); no AWS."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

EMBEDDING_DIM = 128
MAX_FACES_PER_USER = 100
DEFAULT_SHARDS = 16  # counter shards of a collection whose writes are sharded (README: the ceiling they give)
# Rekognition's reasons for UnsuccessfulFaceDeletions / UnsuccessfulFaceAssociations / ...Disassociations.
FACE_NOT_FOUND = "FACE_NOT_FOUND"
ASSOCIATED_TO_AN_EXISTING_USER = "ASSOCIATED_TO_AN_EXISTING_USER"
ASSOCIATED_TO_A_DIFFERENT_USER = "ASSOCIATED_TO_A_DIFFERENT_USER"

IMAGE_STATUSES = ("INDEXED", "NO_FACES", "INVALID_IMAGE", "REJECTED_POLICY", "REJECTED_COLLECTION", "REJECTED_QUOTA")


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
    snapshot_version: int = 0  # version of the newest S3 snapshot of the vector index (0: none)
    log_floor: int = 0  # changes_since(v) needs v >= log_floor (older change items may be compacted)
    # A new random token each time the id is (re)created: events of an older incarnation are refused.
    generation: str = field(default="", compare=False)
    vector_ready: bool = True  # every face carries `vec` (False: faces from before the vector index, not backfilled)
    shards: int = 0  # counter shards (> 0: writes not serialised, no change log: served by the vector engine)


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


@dataclass(frozen=True)
class FaceMeta:
    """What a search result needs about a face, kept by the vector index (no embedding, no DynamoDB read)."""

    face_id: str
    image_id: str
    external_image_id: str | None
    box: dict[str, float]
    user_id: str | None = None

    @classmethod
    def of(cls, face: Face) -> FaceMeta:
        return cls(face.face_id, face.image_id, face.external_image_id, dict(face.box), face.user_id)


@dataclass(frozen=True)
class FaceDelta:
    """Net changes of a collection after a version: faces to upsert (current state) and ids to drop.

    `added` and `removed_ids` are disjoint; `version` is the collection version the delta brings you to.
    An added face may already be in the index (its user association changed): upsert it.
    """

    added: list[Face]
    removed_ids: list[str]
    version: int
