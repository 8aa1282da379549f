"""Deterministic face ids, id validation and S3 sequencer ordering; no AWS."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from .errors import InvalidId
from .model import EMBEDDING_DIM, Face

FACE_ID_NAMESPACE = uuid.UUID("6f1c1d2e-4b7a-5c3e-9a51-0f6a2c9b7e41")
MAX_ID_LENGTH = 255
SEQUENCER_WIDTH = 64  # S3 sequencers are hex strings of varying length; compare after left-padding to this


def face_id_for(
    customer_id: str, collection_id: str, image_id: str, version_id_or_etag: str, face_index: int
) -> str:
    """The deterministic face id (uuid5) of face number `face_index` of one object version.

    The same object version (S3 version id, or ETag where versioning is off) always yields the same
    ids, so redelivered events write nothing new (conditional puts on these ids).
    """
    name = "\x1f".join((customer_id, collection_id, image_id, version_id_or_etag, str(int(face_index))))
    return str(uuid.uuid5(FACE_ID_NAMESPACE, name))


def check_key_id(value: str, what: str) -> str:
    """Return `value` if it can be a key component (1-255 chars, no '#', no control chars)."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_ID_LENGTH:
        raise InvalidId(f"{what} must be a string of 1-{MAX_ID_LENGTH} characters")
    if "#" in value or any(ord(ch) < 32 for ch in value):
        raise InvalidId(f"{what} must not contain '#' or control characters")
    return value


def check_last_id(value: str, what: str) -> str:
    """Like check_key_id but '#' is allowed: for ids that are always the last key component (image ids)."""
    if not isinstance(value, str) or not 0 < len(value) <= 1024:
        raise InvalidId(f"{what} must be a string of 1-1024 characters")
    return value


def normalize_sequencer(sequencer: str) -> str:
    """An S3 event sequencer made comparable as a string: upper-case hex, left-padded with zeros.

    S3 documents that sequencers of the same key are compared as hex strings after padding the shorter
    with leading zeros.
    """
    s = sequencer.strip().upper()
    if not s or len(s) > SEQUENCER_WIDTH or any(ch not in "0123456789ABCDEF" for ch in s):
        raise ValueError("sequencer must be a hex string of at most 64 digits")
    return s.rjust(SEQUENCER_WIDTH, "0")


def new_generation() -> str:
    """A collection's generation: random, so a re-created collection never matches an old one."""
    return uuid.uuid4().hex[:16]


def utc_now_iso() -> str:
    """Now, as an ISO-8601 UTC timestamp with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def check_limit(limit: int) -> int:
    """A page size: an int from 1 to 4096."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 4096:
        raise ValueError("limit must be an integer from 1 to 4096")
    return limit


def embedding_bytes(embedding: object) -> bytes:
    """The embedding as EMBEDDING_DIM little-endian float32 values (raises ValueError otherwise)."""
    arr = np.asarray(embedding)
    if arr.shape != (EMBEDDING_DIM,) or not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"embedding must be a float vector of shape ({EMBEDDING_DIM},)")
    arr = arr.astype("<f4", copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError("embedding must be finite")
    return arr.tobytes()


def embedding_from_bytes(raw: bytes) -> npt.NDArray[np.float32]:
    """The inverse of embedding_bytes (a fresh writable float32 array)."""
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def check_faces(customer_id: str, collection_id: str, faces: Sequence[Face]) -> list[Face]:
    """Validate faces for put_faces (scope, ids, embedding); drop repeated face ids, keep order."""
    out: dict[str, Face] = {}
    for face in faces:
        if face.customer_id != customer_id or face.collection_id != collection_id:
            raise ValueError("face belongs to another customer or collection")
        check_key_id(face.face_id, "face_id")
        check_last_id(face.image_id, "image_id")
        embedding_bytes(face.embedding)
        out.setdefault(face.face_id, face)
    return list(out.values())
