"""Fill the gaps in moto's S3 event notifications, so the local stack sees what S3 would send.

moto 5.2 (in-process, behind the ThreadedMotoServer) sends ObjectCreated records without
`versionId` and `sequencer` (and encodes "/" in keys as %2F), and, for a versioned bucket such as
the uploads bucket, sends nothing for a DeleteObject (S3: `ObjectRemoved:DeleteMarkerCreated`) nor
for a DeleteObjectVersion while other versions remain (S3: `ObjectRemoved:Delete`). `install()`
wraps moto's record builder and its `delete_object` to add exactly those; `uninstall()` restores
moto. Both are process-wide, so only the local stack (which owns its process, or restores on stop)
should call them.
"""

from __future__ import annotations

import itertools
import threading
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote_plus

from moto.s3 import models as s3_models
from moto.s3 import notifications

_lock = threading.Lock()
_counter = itertools.count(1)
_originals: dict[str, Any] = {}


def _sequencer() -> str:
    """Monotonic, fixed-width upper-case hex, as S3's per-key sequencer (compare as strings)."""
    with _lock:
        return f"{next(_counter):016X}"


def _get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, list[dict[str, Any]]]:
    original = _originals["_get_s3_event"]
    if getattr(key, "is_delete_marker", False):  # our stand-in for a delete marker: no size, no eTag
        stand_in = SimpleNamespace(name=key.name, etag="", size=0)
        event = original(event_name, bucket, stand_in, notification_id)
        obj = event["Records"][0]["s3"]["object"]
        obj.pop("size", None)
        obj.pop("eTag", None)
    else:
        event = original(event_name, bucket, key, notification_id)
        obj = event["Records"][0]["s3"]["object"]
    obj["key"] = quote_plus(key.name, safe="/")  # S3 leaves "/" as is; moto encodes it as %2F
    version = getattr(key, "version_id", None)
    if version and str(version) != "null":
        obj["versionId"] = str(version)
    obj["sequencer"] = _sequencer()
    return event


def _delete_object(self: Any, bucket_name: str, key_name: str, version_id: str | None = None,
                   bypass: bool = False) -> tuple[bool, dict[str, Any]]:
    original = _originals["delete_object"]
    bucket = self.get_bucket(bucket_name)
    if not getattr(bucket, "is_versioned", False):
        result: tuple[bool, dict[str, Any]] = original(self, bucket_name, key_name, version_id, bypass)
        return result
    target = None
    if version_id is not None:
        target = next((k for k in bucket.keys.getlist(key_name, []) if str(k.version_id) == str(version_id)), None)
    result = original(self, bucket_name, key_name, version_id, bypass)
    ok, meta = result
    if not ok:
        return result
    if version_id is None:  # a delete marker was created
        marker = SimpleNamespace(name=key_name, version_id=meta.get("version-id"), is_delete_marker=True)
        event = notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_MARKER_CREATED_EVENT
        notifications.send_event(self.account_id, event, bucket, marker)
    elif key_name in bucket.keys and target is not None:  # moto only notifies when the last version goes
        deleted = SimpleNamespace(name=key_name, version_id=version_id,
                                  is_delete_marker=isinstance(target, s3_models.FakeDeleteMarker),
                                  etag=getattr(target, "etag", ""), size=getattr(target, "size", 0))
        notifications.send_event(self.account_id, notifications.S3NotificationEvent.OBJECT_REMOVED_DELETE_EVENT,
                                 bucket, deleted)
    return result


def install() -> None:
    """Patch moto (idempotent)."""
    with _lock:
        if _originals:
            return
        _originals["_get_s3_event"] = notifications._get_s3_event
        _originals["delete_object"] = s3_models.S3Backend.delete_object
        notifications._get_s3_event = _get_s3_event
        s3_models.S3Backend.delete_object = _delete_object  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore moto's own functions."""
    with _lock:
        if not _originals:
            return
        notifications._get_s3_event = _originals.pop("_get_s3_event")
        s3_models.S3Backend.delete_object = _originals.pop("delete_object")  # type: ignore[method-assign]
