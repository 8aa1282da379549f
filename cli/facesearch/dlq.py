"""The indexing dead-letter queue: look at what is in it, and send it back to the index queue.

`facesearch admin dlq list|redrive` uses this with an SQS client (your AWS credentials, or the local
stack's moto). A message lands in the DLQ after index_faces failed it maxReceiveCount (5) times; the
indexer is idempotent, so redriving a message that was in fact processed does no harm.

- `peek` receives messages with a short visibility timeout and makes each visible again at once, so
  listing moves nothing (SQS has no true peek: a message listed is counted as received once more).
- `redrive` moves messages in batches of ten: send to the index queue, then delete from the DLQ
  (a crash between the two leaves a duplicate, never a loss).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class DeadLetter:
    """One message of the DLQ, with what it says about the upload it concerns."""

    message_id: str
    receive_count: int
    sent_at: str
    keys: tuple[str, ...]  # the S3 keys of its records (uploads/{customer}/{collection}/{image})
    events: tuple[str, ...]
    body: str

    def to_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "receive_count": self.receive_count, "sent_at": self.sent_at,
                "keys": list(self.keys), "events": list(self.events)}


def describe(message: dict[str, Any]) -> DeadLetter:
    """A DeadLetter from an SQS ReceiveMessage entry (a body that is not an S3 event is kept as is)."""
    keys: list[str] = []
    events: list[str] = []
    try:
        body = json.loads(message.get("Body", ""))
        records = body.get("Records", []) if isinstance(body, dict) else []
    except ValueError:
        records = []
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict):
            events.append(str(record.get("eventName", "")))
            keys.append(unquote_plus(str(((record.get("s3") or {}).get("object") or {}).get("key", ""))))
    attributes = message.get("Attributes", {})
    return DeadLetter(message_id=str(message.get("MessageId", "")),
                      receive_count=int(attributes.get("ApproximateReceiveCount", "0")),
                      sent_at=str(attributes.get("SentTimestamp", "")), keys=tuple(keys), events=tuple(events),
                      body=str(message.get("Body", "")))


def depth(sqs: Any, queue_url: str) -> int:
    """Messages visible plus in flight."""
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs.get("ApproximateNumberOfMessages", 0)) + int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0))


def _receive(sqs: Any, queue_url: str, visibility: int) -> list[dict[str, Any]]:
    answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                 VisibilityTimeout=visibility, AttributeNames=["All"])
    messages: list[dict[str, Any]] = answer.get("Messages", [])
    return messages


def peek(sqs: Any, dlq_url: str, limit: int = 100) -> list[DeadLetter]:
    """Up to `limit` messages of the DLQ, left in it."""
    seen: dict[str, DeadLetter] = {}
    handles: list[str] = []
    try:
        while len(seen) < limit:
            batch = _receive(sqs, dlq_url, visibility=30)
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh[: limit - len(seen)]:
                seen[message["MessageId"]] = describe(message)
            handles.extend(m["ReceiptHandle"] for m in batch)
    finally:
        for start in range(0, len(handles), 10):
            sqs.change_message_visibility_batch(QueueUrl=dlq_url, Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start:start + 10])])
    return list(seen.values())


def redrive(sqs: Any, dlq_url: str, target_url: str, limit: int | None = None) -> Iterator[DeadLetter]:
    """Move messages from the DLQ to the index queue; yields each one moved."""
    moved = 0
    while limit is None or moved < limit:
        batch = _receive(sqs, dlq_url, visibility=60)
        if limit is not None:
            batch = batch[: limit - moved]
        if not batch:
            return
        sent = sqs.send_message_batch(QueueUrl=target_url, Entries=[
            {"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(batch)])
        ok = {int(e["Id"]) for e in sent.get("Successful", [])}
        done = [m for i, m in enumerate(batch) if i in ok]
        if done:
            sqs.delete_message_batch(QueueUrl=dlq_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        for message in done:
            moved += 1
            yield describe(message)
        if len(done) < len(batch):
            failed = [e.get("Message", "") for e in sent.get("Failed", [])]
            raise RuntimeError(f"could not send {len(batch) - len(done)} messages to the index queue: {failed}")
