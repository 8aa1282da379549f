"""S3 event notifications (as delivered through SQS) -> validated `ObjectEvent`s. Pure parsing: no I/O.

A message body carries S3's `Records` (or S3's TestEvent); each record is an ObjectCreated or an
ObjectRemoved event of a key in the uploads layout (facestore.uploads). Anything else is a reason
code for the indexer to skip it (UNSUPPORTED_EVENT, MALFORMED_RECORD, INVALID_KEY, INVALID_SEQUENCER),
and a body that is no S3 notification at all raises MalformedMessage (retried, then dead-lettered).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from facestore.uploads import parse_upload_key

# S3 documents the sequencer as a hexadecimal string, compared after left-padding with zeros.
SEQUENCER_PATTERN = re.compile(r"\s*[0-9A-Fa-f]{1,64}\s*")


class MalformedMessage(Exception):
    """The message is not an S3 notification; kept (retried, then dead-lettered) for inspection."""


@dataclass(frozen=True)
class ObjectEvent:
    """One S3 record, parsed and validated."""

    kind: str  # "created" | "removed"
    event_name: str
    bucket: str
    key: str
    customer_id: str
    collection_id: str
    image_id: str
    version_id: str | None
    sequencer: str | None
    size: int | None


def s3_records(body: str) -> list[dict[str, Any]]:
    """The S3 records of an SQS message body; [] for S3's TestEvent. Raises MalformedMessage."""
    try:
        message = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise MalformedMessage("message body is not JSON") from exc
    if not isinstance(message, dict):
        raise MalformedMessage("message body is not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise MalformedMessage("message carries no S3 Records")
    return records


def parse_record(record: Mapping[str, Any]) -> ObjectEvent | str:
    """An ObjectEvent, or the reason (a string) why the record is skipped."""
    name = str(record.get("eventName", ""))
    if name.startswith("ObjectCreated:"):
        kind = "created"
    elif name.startswith("ObjectRemoved:"):
        kind = "removed"
    else:
        return "UNSUPPORTED_EVENT"
    s3 = record.get("s3")
    if not isinstance(s3, dict) or not isinstance(s3.get("object"), dict) or not isinstance(s3.get("bucket"), dict):
        return "MALFORMED_RECORD"
    obj, bucket = s3["object"], s3["bucket"]
    key = unquote_plus(str(obj.get("key", "")))  # S3 URL-encodes keys in notifications
    upload = parse_upload_key(key)
    if upload is None:
        return "INVALID_KEY"
    sequencer = text(obj.get("sequencer"))
    if sequencer is not None and not SEQUENCER_PATTERN.fullmatch(sequencer):
        return "INVALID_SEQUENCER"
    size = obj.get("size")
    return ObjectEvent(
        kind=kind, event_name=name, bucket=str(bucket.get("name", "")), key=key,
        customer_id=upload.customer_id, collection_id=upload.collection_id, image_id=upload.image_id,
        version_id=text(obj.get("versionId")), sequencer=sequencer,
        size=size if isinstance(size, int) else None,
    )


def text(value: object) -> str | None:
    """A non-empty string field of an event or response ("null" counts as absent), else None."""
    return value if isinstance(value, str) and value and value != "null" else None
