"""The uploads bucket as index_faces reads it: open an uploaded object, read it within the size limit,
purge a refused upload. The one place where botocore errors become the indexer's outcomes.

A missing object or version (facestore.uploads.object_missing) is `ObjectGone`; every other S3 or
connection error is `RetryableError` (the record is retried, and dead-lettered if it keeps failing);
an object above `max_bytes` is `ObjectTooLarge`, found from the event's size, the object's
Content-Length or the bytes read (never more than max_bytes + 1 of them), whichever comes first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from s3_notifications import ObjectEvent, text

from facestore.s3_purge import key_versions
from facestore.uploads import MAX_UPLOAD_BYTES, object_missing


class RetryableError(Exception):
    """A transient failure: the record must be retried (and end in the DLQ if it keeps failing)."""


class ObjectGone(Exception):
    """The object (version) no longer exists."""


class ObjectTooLarge(Exception):
    """The object exceeds the upload size limit (`size` None: found while reading)."""

    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(f"{size} bytes (max {limit})" if size is not None else f"more than {limit} bytes")
        self.size = size


@contextmanager
def _s3_errors(action: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        if object_missing(exc.response):
            raise ObjectGone(action) from exc
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        raise RetryableError(f"S3 {action} failed: {error.get('Code') or status}") from exc
    except BotoCoreError as exc:  # timeouts, connection errors
        raise RetryableError(f"S3 {action} failed: {type(exc).__name__}") from exc


@dataclass
class UploadObject:
    """An opened GetObject: its headers, and a body not read yet."""

    version_id: str | None
    etag: str
    metadata: Mapping[str, str]
    content_length: int | None
    body: Any
    max_bytes: int

    def read(self) -> bytes:
        """The whole body, or ObjectTooLarge (the stream is closed either way)."""
        try:
            check_size(self.content_length, self.max_bytes)
            with _s3_errors("GetObject body"):
                data: bytes = self.body.read(self.max_bytes + 1)  # a lying Content-Length cannot make us read more
            check_size(len(data), self.max_bytes, known=False)
            return data
        finally:
            self.body.close()

    def close(self) -> None:
        self.body.close()


def check_size(size: int | None, limit: int, *, known: bool = True) -> None:
    """The size limit (one rule for the event's size, Content-Length and the bytes read)."""
    if size is not None and size > limit:
        raise ObjectTooLarge(size if known else None, limit)


class UploadObjects:
    """The uploads bucket (`s3`: a low-level S3 client). Only keys of S3 events of this bucket are read."""

    def __init__(self, s3: Any, bucket: str, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.max_bytes = max_bytes

    def open(self, event: ObjectEvent) -> UploadObject:
        """GetObject (the event's version, or the current one); ObjectTooLarge before any request when
        the event says the size (real S3 does), ObjectGone, RetryableError."""
        check_size(event.size, self.max_bytes)
        with _s3_errors("GetObject"):
            response: dict[str, Any] = self.s3.get_object(**_object_args(event))
        length = response.get("ContentLength")
        return UploadObject(version_id=text(response.get("VersionId")), etag=str(response.get("ETag", "")).strip('"'),
                            metadata=response.get("Metadata") or {},
                            content_length=length if isinstance(length, int) else None,
                            body=response["Body"], max_bytes=self.max_bytes)

    def purge(self, event: ObjectEvent, version_id: str | None = None) -> int:
        """Permanently delete `version_id`, else the event's version, else (moto, an unversioned bucket)
        every version and delete marker of exactly this key; the number of versions deleted."""
        if version_id or event.version_id:
            versions = [version_id or event.version_id or ""]
        else:
            with _s3_errors("ListObjectVersions"):
                markers, versions = key_versions(self.s3, event.bucket, event.key)
            versions = [*versions, *markers] or ["null"]
        for version_id in versions:
            with _s3_errors("DeleteObject"):
                self.s3.delete_object(Bucket=event.bucket, Key=event.key, VersionId=version_id)
        return len(versions)


def _object_args(event: ObjectEvent) -> dict[str, Any]:
    args: dict[str, Any] = {"Bucket": event.bucket, "Key": event.key}
    if event.version_id:
        args["VersionId"] = event.version_id
    return args
