"""S3 adapters of the erasure: delete every object version under a prefix (facestore.s3_purge); the ledger.

The ledger lives at `erasures/{customer_id}.json` in the index bucket: S3, so that restoring the
DynamoDB tables from a point-in-time backup does not undo the record of an erasure
(`facesearch admin erasures reapply` reads it after a restore). Backend errors become
`ErasureUnavailable` (retryable: the call can simply be repeated).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from erasure import MARGIN_SECONDS, ErasureRecord

from facestore.errors import StoreUnavailable
from facestore.s3_purge import purge_prefix

LEDGER_PREFIX = "erasures/"


class ErasureUnavailable(Exception):
    """S3 could not be read or written; retry the erasure (it resumes)."""


class S3ObjectPurger:
    """ObjectPurger on S3: a page of keys (or versions) at a time, 1000 per DeleteObjects."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def purge(self, bucket: str, prefix: str, *, versions: bool, time_left: Callable[[], float]) -> tuple[int, bool]:
        try:
            return purge_prefix(self._s3, bucket, prefix, versions=versions, time_left=time_left,
                                margin=MARGIN_SECONDS)
        except StoreUnavailable as exc:
            raise ErasureUnavailable(str(exc)) from exc


class S3Ledger:
    """Ledger on S3: one small JSON object per erased customer."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def get(self, customer_id: str) -> ErasureRecord | None:
        try:
            body = self._s3.get_object(Bucket=self._bucket, Key=f"{LEDGER_PREFIX}{customer_id}.json")["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise ErasureUnavailable(f"ledger read: {exc}") from exc
        except BotoCoreError as exc:
            raise ErasureUnavailable(f"ledger read: {exc}") from exc
        return ErasureRecord.from_json(body)

    def put(self, record: ErasureRecord) -> None:
        try:
            self._s3.put_object(Bucket=self._bucket, Key=f"{LEDGER_PREFIX}{record.customer_id}.json",
                                Body=record.to_json().encode(), ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            raise ErasureUnavailable(f"ledger write: {exc}") from exc

    def list(self) -> list[ErasureRecord]:
        out: list[ErasureRecord] = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=LEDGER_PREFIX):
                for obj in page.get("Contents", []):
                    body = self._s3.get_object(Bucket=self._bucket, Key=obj["Key"])["Body"].read()
                    out.append(ErasureRecord.from_json(body))
        except (ClientError, BotoCoreError) as exc:
            raise ErasureUnavailable(f"ledger list: {exc}") from exc
        return out
