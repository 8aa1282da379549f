"""Permanently delete the objects under an S3 prefix, a page (1000) at a time, within a time budget;
and every version of exactly one key.

Deleting a collection removes its uploaded photos (face_api) and erasing a customer removes all of its
uploads (erase_customer) with this. With `versions`, every version and delete marker goes, so nothing stays
recoverable in a versioned bucket. A call that runs out of time answers done=False and the next call resumes:
what was deleted stays deleted, and listing starts again from what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .errors import StoreUnavailable

PAGE_SIZE = 1000  # DeleteObjects' maximum per request


def purge_prefix(s3: Any, bucket: str, prefix: str, *, versions: bool, time_left: Callable[[], float],
                 margin: float) -> tuple[int, bool]:
    """Delete objects under `prefix` while time_left() > margin: (objects or versions deleted, True when
    none is left). StoreUnavailable when S3 fails or refuses a delete; repeating the call resumes."""
    deleted = 0
    try:
        while time_left() > margin:
            if versions:
                page = s3.list_object_versions(Bucket=bucket, Prefix=prefix, MaxKeys=PAGE_SIZE)
                # delete markers first: moto 5.2 fails to notify when a key's last version is a marker
                doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                          for v in [*page.get("DeleteMarkers", []), *page.get("Versions", [])]]
            else:
                page = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=PAGE_SIZE)
                doomed = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if not doomed:
                return deleted, True
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True})
            errors = answer.get("Errors") or []
            if errors:
                raise StoreUnavailable(f"{len(errors)} objects not deleted, e.g. {errors[0].get('Code')}")
            deleted += len(doomed)
            if not page.get("IsTruncated"):
                return deleted, True  # that was the last page: no need to list again
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"s3 {type(exc).__name__}: {exc}") from exc
    return deleted, False


def key_versions(s3: Any, bucket: str, key: str) -> tuple[list[str], list[str]]:
    """The version ids of exactly `key` (not of the keys it is a prefix of), over all pages: (its delete
    markers, its versions); S3's own errors propagate."""
    markers: list[str] = []
    versions: list[str] = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        markers += [v["VersionId"] for v in page.get("DeleteMarkers", []) if v.get("Key") == key and v.get("VersionId")]
        versions += [v["VersionId"] for v in page.get("Versions", []) if v.get("Key") == key and v.get("VersionId")]
    return markers, versions


def delete_key_versions(s3: Any, bucket: str, key: str) -> int:
    """Delete every version and delete marker of exactly `key`: how many versions there were (0 without the
    bucket). StoreUnavailable when S3 fails or refuses any delete, so no caller reports gone what is not."""
    try:
        markers, versions = key_versions(s3, bucket, key)
        doomed = [{"Key": key, "VersionId": v} for v in [*markers, *versions]]
        for start in range(0, len(doomed), PAGE_SIZE):
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start:start + PAGE_SIZE],
                                                              "Quiet": True})
            errors = answer.get("Errors") or []
            if errors:
                raise StoreUnavailable(f"{len(errors)} versions not deleted, e.g. {errors[0].get('Code')}")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return 0
        raise StoreUnavailable(f"s3 {type(exc).__name__}: {exc}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"s3 {type(exc).__name__}: {exc}") from exc
    return len(versions)
