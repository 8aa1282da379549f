"""The uploads bucket's key layout — the tenant boundary of every uploaded image — and S3's answers
for an object that is not there. No AWS import: callers hand in a botocore error's `response` dict.

    uploads/{customer_id}/{collection_id}/{image_id}

face_api builds keys from the authorizer's customer id (never from a request body), and index_faces
reads the customer back from the key of each S3 event, so a customer can only ever name, read or
index its own objects. Each id is one non-empty segment of safe characters (no "/"), so no id can
reach into another customer's prefix; S3 keys are literal ("." and ".." are not resolved).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InvalidId

UPLOADS_PREFIX = "uploads/"
ID_PATTERN = re.compile(r"[a-zA-Z0-9_.\-]{1,255}")  # Rekognition's CollectionId alphabet
MAX_UPLOAD_BYTES = 15 * 1024 * 1024  # Rekognition's limit for images read from S3

# The object metadata (x-amz-meta-*, signed into the upload URL) naming the collection generation the
# upload was made for: the indexer refuses it once the collection was deleted and re-created.
GENERATION_METADATA = "collection-generation"

# A missing key, version or bucket; GetObject of a delete-marker version answers 405 MethodNotAllowed.
S3_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchBucket", "NotFound", "404",
                                "MethodNotAllowed", "405"})


@dataclass(frozen=True)
class UploadKey:
    customer_id: str
    collection_id: str
    image_id: str

    def __str__(self) -> str:
        return f"{UPLOADS_PREFIX}{self.customer_id}/{self.collection_id}/{self.image_id}"


def upload_key(customer_id: str, collection_id: str, image_id: str) -> str:
    """The object key of an image of this customer's collection; InvalidId for an id that is not one segment."""
    for name, value in (("customer_id", customer_id), ("collection_id", collection_id), ("image_id", image_id)):
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            raise InvalidId(f"{name} must match {ID_PATTERN.pattern}")
    return str(UploadKey(customer_id, collection_id, image_id))


def customer_prefix(customer_id: str) -> str:
    """The prefix of every upload of one customer (an erasure deletes everything under it)."""
    if not isinstance(customer_id, str) or not ID_PATTERN.fullmatch(customer_id):
        raise InvalidId(f"customer_id must match {ID_PATTERN.pattern}")
    return f"{UPLOADS_PREFIX}{customer_id}/"


def collection_prefix(customer_id: str, collection_id: str) -> str:
    """The prefix of every upload to one collection of one customer (deleting the collection deletes them)."""
    return upload_key(customer_id, collection_id, "x")[:-1]


def parse_upload_key(key: str) -> UploadKey | None:
    """The (customer, collection, image) of an upload key, or None for any other key."""
    if not key.startswith(UPLOADS_PREFIX):
        return None
    parts = key[len(UPLOADS_PREFIX):].split("/")
    if len(parts) != 3 or not all(ID_PATTERN.fullmatch(p) for p in parts):
        return None
    return UploadKey(*parts)


def object_missing(error_response: Mapping[str, Any]) -> bool:
    """Whether a botocore ClientError's `response` says the object (version, bucket) is not there."""
    code = str((error_response.get("Error") or {}).get("Code", ""))
    status = str((error_response.get("ResponseMetadata") or {}).get("HTTPStatusCode", ""))
    return code in S3_NOT_FOUND_CODES or status in ("404", "405")
