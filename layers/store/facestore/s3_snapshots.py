"""S3SnapshotStore: vector-index snapshots as S3 objects (IndexBucket).

Key: snapshots/{customer_id}/{collection_id}/{version:012d}.fsnap, one object per snapshot version
(never overwritten, so a reader always gets a complete, consistent file); the collection item in
DynamoDB says which version is current. A cold load is one GetObject.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt
from botocore.exceptions import BotoCoreError, ClientError

from .errors import StoreError, StoreUnavailable
from .ids import check_key_id
from .snapshots import MetaColumns, Snapshot, decode, encode

logger = logging.getLogger(__name__)

_TRANSIENT = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling",
                        "ThrottlingException", "RequestTimeTooSkewed"})


def customer_prefix(customer_id: str) -> str:
    """The prefix of every snapshot of one customer's collections (an erasure deletes everything under it)."""
    return f"snapshots/{check_key_id(customer_id, 'customer_id')}/"


def _prefix(customer_id: str, collection_id: str) -> str:
    return f"snapshots/{check_key_id(customer_id, 'customer_id')}/{check_key_id(collection_id, 'collection_id')}/"


class S3SnapshotStore:
    """SnapshotStore on S3 (see facestore.snapshots.SnapshotStore)."""

    def __init__(self, s3_client: Any, bucket: str) -> None:
        self._s3 = s3_client
        self._bucket = bucket

    def _translate(self, op: str, exc: Exception) -> StoreError:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
        if isinstance(exc, BotoCoreError) or code in _TRANSIENT or code.startswith("5"):
            logger.warning("s3 transient error", extra={"op": op, "code": code or type(exc).__name__})
            return StoreUnavailable(f"{op}: {code or type(exc).__name__}")
        logger.error("s3 error", extra={"op": op, "code": code})
        return StoreError(f"{op}: {code}")

    def save(self, customer_id: str, collection_id: str, version: int, ids: npt.NDArray[np.bytes_],
             matrix: npt.NDArray[np.float32], metadata: MetaColumns) -> None:
        key = f"{_prefix(customer_id, collection_id)}{version:012d}.fsnap"
        body = encode(Snapshot(version, ids, matrix, metadata))
        try:
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="application/octet-stream")
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("put_object", exc) from exc
        logger.info("snapshot saved", extra={"customer_id": customer_id, "collection_id": collection_id,
                                             "version": version, "faces": len(ids), "bytes": len(body)})

    def load(self, customer_id: str, collection_id: str, version: int) -> Snapshot | None:
        key = f"{_prefix(customer_id, collection_id)}{version:012d}.fsnap"
        try:
            data = self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._translate("get_object", exc) from exc
        except BotoCoreError as exc:
            raise self._translate("get_object", exc) from exc
        return decode(data)

    def delete(self, customer_id: str, collection_id: str, *, below: int | None = None) -> int:
        prefix = _prefix(customer_id, collection_id)
        doomed: list[str] = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    stem = obj["Key"][len(prefix):].split(".", 1)[0]
                    if below is None or (stem.isdigit() and int(stem) < below):
                        doomed.append(obj["Key"])
            for i in range(0, len(doomed), 1000):
                self._s3.delete_objects(Bucket=self._bucket, Delete={
                    "Objects": [{"Key": k} for k in doomed[i:i + 1000]], "Quiet": True})
        except (ClientError, BotoCoreError) as exc:
            raise self._translate("delete_objects", exc) from exc
        return len(doomed)
