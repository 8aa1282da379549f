"""Lambda's SQS event source mapping, locally: poll a queue, invoke a handler with batches.

Batch size and batching window come from the template's SQS event. With ReportBatchItemFailures
the handler's `batchItemFailures` are left on the queue and the rest deleted; a handler that raises
(or returns a malformed response) fails the whole batch. Failed messages are made visible again
after `retry_delay` seconds (Lambda waits for the queue's visibility timeout, six minutes here;
locally retries are prompt). The queue's RedrivePolicy moves a message to the dead-letter queue
once it has been received maxReceiveCount times; if the backend does not, the poller does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

SqsHandler = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class SqsMapping:
    """An SQS event of a template function."""

    function_id: str
    queue_logical_id: str
    batch_size: int = 10
    window_seconds: float = 0.0
    report_failures: bool = False


def read_sqs_mappings(template: Mapping[str, Any]) -> list[SqsMapping]:
    """Every `Type: SQS` event of every function in the template."""
    out: list[SqsMapping] = []
    for lid, res in template["Resources"].items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        for event in res.get("Properties", {}).get("Events", {}).values():
            if event.get("Type") != "SQS":
                continue
            props = event["Properties"]
            queue = props["Queue"]
            queue_id = queue["Fn::GetAtt"][0] if isinstance(queue, dict) and "Fn::GetAtt" in queue else None
            if queue_id is None:
                raise ValueError(f"{lid}: SQS event Queue must be !GetAtt <Queue>.Arn")
            out.append(SqsMapping(
                function_id=lid, queue_logical_id=str(queue_id), batch_size=int(props.get("BatchSize", 10)),
                window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            ))
    return out


def to_lambda_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS message (ReceiveMessage shape) as a record of Lambda's SQS event."""
    attributes = {k: str(v) for k, v in message.get("Attributes", {}).items()}
    msg_attrs: dict[str, Any] = {}
    for name, attr in message.get("MessageAttributes", {}).items():
        msg_attrs[name] = {"stringValue": attr.get("StringValue"), "binaryValue": attr.get("BinaryValue"),
                           "stringListValues": [], "binaryListValues": [], "dataType": attr.get("DataType")}
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": msg_attrs,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_ids(response: Any, records: list[dict[str, Any]], report_failures: bool) -> set[str]:
    """Message ids to retry, by Lambda's rules for a (partial) batch response."""
    every = {r["messageId"] for r in records}
    if not report_failures or response is None:
        return set()
    if isinstance(response, str):
        try:
            response = json.loads(response)
        except ValueError:
            return every
    if not isinstance(response, dict):
        return set()
    items = response.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return every
    ids: set[str] = set()
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in every:  # Lambda: an invalid identifier fails the whole batch
            return every
        ids.add(str(ident))
    return ids


class SqsPoller:
    """One event source mapping: a daemon thread receiving batches and invoking `handler`."""

    def __init__(self, sqs: Any, queue_url: str, queue_arn: str, handler: SqsHandler, mapping: SqsMapping, *,
                 region: str, retry_delay: int = 1, wait_seconds: int = 1,
                 dlq_url: str | None = None, max_receive_count: int | None = None,
                 visibility_timeout: int | None = None) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.mapping = mapping
        self.region = region
        self.retry_delay = retry_delay
        self.wait_seconds = wait_seconds
        self.dlq_url = dlq_url
        self.max_receive_count = max_receive_count
        self.visibility_timeout = visibility_timeout  # None: the queue's own
        self.batches = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqs-poller-{mapping.function_id}", daemon=True)

    def start(self) -> SqsPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _receive(self, limit: int, wait: int) -> list[dict[str, Any]]:
        extra = {} if self.visibility_timeout is None else {"VisibilityTimeout": self.visibility_timeout}
        result = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=max(1, min(10, limit)),
                                          WaitTimeSeconds=wait, AttributeNames=["All"],
                                          MessageAttributeNames=["All"], **extra)
        messages: list[dict[str, Any]] = result.get("Messages", [])
        return messages

    def _gather(self) -> list[dict[str, Any]]:
        batch = self._receive(self.mapping.batch_size, self.wait_seconds)
        if not batch:
            return batch
        deadline = time.monotonic() + self.mapping.window_seconds
        while len(batch) < self.mapping.batch_size and time.monotonic() < deadline and not self._stop.is_set():
            more = self._receive(self.mapping.batch_size - len(batch), 0)
            if not more:
                time.sleep(0.05)
            batch.extend(more)
        return batch

    def _redrive_overdue(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Move messages past maxReceiveCount to the DLQ ourselves (only if the backend did not)."""
        if self.dlq_url is None or self.max_receive_count is None:
            return messages
        keep: list[dict[str, Any]] = []
        for message in messages:
            count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            if count > self.max_receive_count:
                self.sqs.send_message(QueueUrl=self.dlq_url, MessageBody=message["Body"])
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                log.warning("moved message %s to the dead-letter queue after %d receives",
                            message["MessageId"], count)
            else:
                keep.append(message)
        return keep

    def poll_once(self) -> int:
        """Receive one batch and process it; returns the number of messages handled."""
        messages = self._redrive_overdue(self._gather())
        if not messages:
            return 0
        records = [to_lambda_record(m, self.queue_arn, self.region) for m in messages]
        try:
            response = self.handler({"Records": records})
            failures = failed_ids(response, records, self.mapping.report_failures)
        except Exception:
            log.exception("%s failed a batch of %d", self.mapping.function_id, len(records))
            failures = {r["messageId"] for r in records}
        self.batches += 1
        done = [r for r in records if r["messageId"] not in failures]
        for start in range(0, len(done), 10):
            chunk = done[start:start + 10]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)])
        retry = [r for r in records if r["messageId"] in failures]
        for start in range(0, len(retry), 10):
            chunk = retry[start:start + 10]
            self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": self.retry_delay}
                for i, r in enumerate(chunk)])
        if retry:
            log.info("%s: %d of %d messages will be retried", self.mapping.function_id, len(retry), len(records))
        return len(records)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:  # the backend going away at shutdown, or a transient error
                if self._stop.is_set():
                    break
                log.exception("poller %s: receive failed; retrying", self.mapping.function_id)
                self._stop.wait(1)
