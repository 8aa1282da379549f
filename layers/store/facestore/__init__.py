"""facestore: the face store (collections, faces, image statuses, users) and the exact vector index.

Import rules: model, ids, tokens, port, memory, snapshots and vector_index import no botocore; only the
adapters dynamodb (DynamoDBFaceStore) and s3_snapshots (S3SnapshotStore) do, and they are imported
lazily here so that domain code and unit tests never load it. No module imports boto3: the adapters take
low-level botocore clients, dynamodb with the policy layer's attribute-value codec (facepolicy.dynamodb_values;
the policy layer is global, every function carries it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    ChangeLogCompacted,
    CollectionExists,
    CollectionNotFound,
    FaceNotFound,
    InvalidId,
    InvalidToken,
    StaleEvent,
    StoreError,
    StoreUnavailable,
    UserExists,
    UserFaceLimitExceeded,
    UserNotFound,
)
from .ids import face_id_for, normalize_sequencer
from .memory import InMemoryFaceStore
from .model import (
    ASSOCIATED_TO_A_DIFFERENT_USER,
    ASSOCIATED_TO_AN_EXISTING_USER,
    EMBEDDING_DIM,
    FACE_NOT_FOUND,
    IMAGE_STATUSES,
    MAX_FACES_PER_USER,
    Collection,
    Face,
    FaceDelta,
    FaceMatch,
    FaceMeta,
    ImageStatus,
    User,
)
from .port import FaceStore

if TYPE_CHECKING:
    from .dynamodb import DynamoDBFaceStore
    from .s3_snapshots import S3SnapshotStore
    from .snapshots import InMemorySnapshotStore, Snapshot, SnapshotStore
    from .vector_index import VectorIndex

_LAZY = {
    "DynamoDBFaceStore": "dynamodb", "S3SnapshotStore": "s3_snapshots", "InMemorySnapshotStore": "snapshots",
    "Snapshot": "snapshots", "SnapshotStore": "snapshots", "MetaColumns": "snapshots",
    "VectorIndex": "vector_index",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)


__all__ = [
    "ASSOCIATED_TO_AN_EXISTING_USER", "ASSOCIATED_TO_A_DIFFERENT_USER", "EMBEDDING_DIM", "FACE_NOT_FOUND",
    "IMAGE_STATUSES", "MAX_FACES_PER_USER", "ChangeLogCompacted", "Collection", "CollectionExists",
    "CollectionNotFound", "DynamoDBFaceStore", "Face", "FaceDelta", "FaceMatch", "FaceMeta", "FaceNotFound",
    "FaceStore", "ImageStatus", "InMemoryFaceStore", "InMemorySnapshotStore", "InvalidId", "InvalidToken",
    "S3SnapshotStore", "Snapshot", "SnapshotStore", "StaleEvent", "StoreError", "StoreUnavailable", "User",
    "UserExists", "UserFaceLimitExceeded", "UserNotFound", "VectorIndex", "face_id_for", "normalize_sequencer",
]
