"""The digest store on S3: a versioned bucket with Object Lock (template.yaml's AuditDigestBucket).

Each digest is written once with `If-None-Match: *` (two concurrent seals cannot both write a period);
the bucket's default retention locks every version. botocore errors become the seal module's exceptions.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from facepolicy.audit import iso_time
from facepolicy.seal import (
    DIGEST_PREFIX,
    Digest,
    DigestConflict,
    DigestError,
    DigestRef,
    DigestUnavailable,
    DigestVersion,
    StoredDigest,
    digest_key,
    sha256_hex,
)

HEAD_LOOKBACK_DAYS = 8  # where the latest digest is looked for first (a full listing if none is there)


def _when(entry: dict[str, Any]) -> str:
    modified = entry.get("LastModified")
    return modified.isoformat() if modified else ""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3DigestStore:
    def __init__(self, client: Any, bucket: str, clock: Any = time.time) -> None:
        self.client = client
        self.bucket = bucket
        self.clock = clock

    def _latest_key(self) -> str:
        recent = datetime.fromtimestamp(self.clock(), tz=UTC) - timedelta(days=HEAD_LOOKBACK_DAYS)
        for start_after in (digest_key(iso_time(recent.timestamp())), ""):
            last = ""
            for page in self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=DIGEST_PREFIX, StartAfter=start_after or DIGEST_PREFIX):
                for obj in page.get("Contents", []):
                    last = max(last, str(obj["Key"]))
            if last:
                return last
        return ""

    def head(self) -> StoredDigest | None:
        try:
            key = self._latest_key()
            if not key:
                return None
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            data = response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise DigestUnavailable(f"digest bucket read failed: {exc}") from exc
        try:
            digest = Digest.from_bytes(data)
        except DigestError as exc:
            raise DigestUnavailable(f"the latest digest {key} is unreadable ({exc}); run verify") from exc
        return StoredDigest(DigestRef(key, str(response.get("VersionId") or ""), sha256_hex(data)), digest)

    def put_new(self, key: str, data: bytes) -> str:
        try:
            response = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*",
                                              ContentType="application/json", ChecksumAlgorithm="SHA256")
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise DigestConflict(f"{key} was written by another seal") from exc
            raise DigestUnavailable(f"digest write failed: {exc}") from exc
        except BotoCoreError as exc:
            raise DigestUnavailable(f"digest write failed: {exc}") from exc
        return str(response.get("VersionId") or "")

    def versions(self, start_after: str = "") -> list[DigestVersion]:
        """S3 lists a key's versions newest first; this returns them oldest first, then its delete markers."""
        objects: dict[str, list[dict[str, Any]]] = {}
        markers: dict[str, list[dict[str, Any]]] = {}
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": DIGEST_PREFIX}
        if start_after:
            kwargs["KeyMarker"] = start_after
        try:
            for page in self.client.get_paginator("list_object_versions").paginate(**kwargs):
                for entry in page.get("Versions", []):
                    objects.setdefault(str(entry["Key"]), []).append(entry)
                for entry in page.get("DeleteMarkers", []):
                    markers.setdefault(str(entry["Key"]), []).append(entry)
        except (ClientError, BotoCoreError) as exc:
            raise DigestUnavailable(f"digest listing failed: {exc}") from exc
        out: list[DigestVersion] = []
        for key in sorted(set(objects) | set(markers)):
            if key <= start_after:
                continue
            out.extend(DigestVersion(key, str(v["VersionId"]), False, _when(v)) for v in reversed(objects.get(key, [])))
            out.extend(DigestVersion(key, str(m["VersionId"]), True, _when(m)) for m in markers.get(key, []))
        return out

    def get(self, key: str, version_id: str) -> bytes | None:
        try:
            data: bytes = self.client.get_object(Bucket=self.bucket, Key=key, VersionId=version_id)["Body"].read()
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "NoSuchVersion", "InvalidArgument", "404", "MethodNotAllowed"):
                return None
            raise DigestUnavailable(f"digest read failed: {exc}") from exc
        except BotoCoreError as exc:
            raise DigestUnavailable(f"digest read failed: {exc}") from exc
        return data

    def lock(self, key: str, version_id: str) -> tuple[str, str]:
        """From HeadObject (moto does not implement GetObjectRetention; HeadObject carries the same)."""
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key, VersionId=version_id)
        except (ClientError, BotoCoreError) as exc:
            raise DigestUnavailable(f"digest head failed: {exc}") from exc
        until = head.get("ObjectLockRetainUntilDate")
        return str(head.get("ObjectLockMode") or ""), iso_time(until.timestamp()) if until else ""
