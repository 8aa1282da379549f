"""The SQS poller (Lambda's event source mapping) and the S3 notifications moto leaves out, against a moto server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from facesearch.local import s3events
from facesearch.local.poller import SqsMapping, SqsPoller, read_sqs_mappings
from facesearch.local.stack import free_port
from facesearch.local.template import load_template

pytestmark = pytest.mark.e2e

ARN = "arn:aws:sqs:us-east-1:123456789012:{}"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def client(endpoint: str, name: str) -> Any:
    return boto3.client(name, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def queues(sqs: Any, name: str, max_receive: int = 5) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    url = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": "360",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": ARN.format(f"{name}-dlq"),
                                     "maxReceiveCount": max_receive})})["QueueUrl"]
    return url, dlq


def wait_for(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_mapping_is_read_from_the_template() -> None:
    (mapping,) = read_sqs_mappings(load_template())
    assert mapping == SqsMapping("IndexFacesFunction", "IndexQueue", 10, 1.0, True)


def test_partial_batch_failure_retries_only_the_failed_message_then_redrives_it(moto_endpoint: str) -> None:
    # Given a queue with a DLQ after 5 receives, one good and one poisoned message
    sqs = client(moto_endpoint, "sqs")
    url, dlq = queues(sqs, "partial")
    sqs.send_message(QueueUrl=url, MessageBody="good")
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    seen: list[tuple[str, str]] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        for r in event["Records"]:
            seen.append((r["body"], r["attributes"]["ApproximateReceiveCount"]))
            assert r["eventSource"] == "aws:sqs" and r["eventSourceARN"] == ARN.format("partial")
            assert r["awsRegion"] == "us-east-1" and r["receiptHandle"] and r["messageId"]
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]}
                                      for r in event["Records"] if r["body"] == "poison"]}

    # When the poller drives the handler (batch window 0 to keep the test short)
    poller = SqsPoller(sqs, url, ARN.format("partial"), handler, SqsMapping("F", "Q", 10, 0, True),
                       region="us-east-1").start()
    try:
        # Then the poisoned message lands in the DLQ after 5 receives, the good one ran once
        moved = wait_for(lambda: int(sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
            ["ApproximateNumberOfMessages"]) == 1)
    finally:
        poller.stop()
    assert moved
    assert [c for b, c in seen if b == "good"] == ["1"]
    assert [c for b, c in seen if b == "poison"] == ["1", "2", "3", "4", "5"]
    assert sqs.receive_message(QueueUrl=dlq)["Messages"][0]["Body"] == "poison"
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)


def test_a_crashing_handler_fails_the_whole_batch_into_the_dlq(moto_endpoint: str) -> None:
    sqs = client(moto_endpoint, "sqs")
    url, dlq = queues(sqs, "crash", max_receive=2)
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    calls: list[int] = []

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        raise RuntimeError("always fails")

    poller = SqsPoller(sqs, url, ARN.format("crash"), handler, SqsMapping("F", "Q", 10, 0, True),
                       region="us-east-1").start()
    try:
        moved = wait_for(lambda: int(sqs.get_queue_attributes(
            QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
            ["ApproximateNumberOfMessages"]) == 3)
    finally:
        poller.stop()
    assert moved and sum(calls) == 6


def test_versioned_bucket_deletes_are_notified_with_version_and_sequencer(moto_endpoint: str) -> None:
    # Given a versioned bucket notifying a queue of creations and removals
    s3, sqs = client(moto_endpoint, "s3"), client(moto_endpoint, "sqs")
    url = sqs.create_queue(QueueName="s3events")["QueueUrl"]
    s3.create_bucket(Bucket="versioned")
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(Bucket="versioned", NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": ARN.format("s3events"), "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
    s3events.install()
    try:
        # When an object is put, deleted (a delete marker), and its version permanently deleted
        version = s3.put_object(Bucket="versioned", Key="uploads/a b.jpg", Body=b"x")["VersionId"]
        marker = s3.delete_object(Bucket="versioned", Key="uploads/a b.jpg")["VersionId"]
        s3.delete_object(Bucket="versioned", Key="uploads/a b.jpg", VersionId=version)
    finally:
        s3events.uninstall()
    records = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for m in messages:
            records.extend(json.loads(m["Body"]).get("Records", []))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    # Then S3's three records arrive, each with a versionId and increasing sequencers
    names = [(r["eventName"], r["s3"]["object"].get("versionId")) for r in records]
    assert names == [("ObjectCreated:Put", version), ("ObjectRemoved:DeleteMarkerCreated", marker),
                     ("ObjectRemoved:Delete", version)]
    sequencers = [r["s3"]["object"]["sequencer"] for r in records]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == 3
    assert [r["s3"]["object"]["key"] for r in records] == ["uploads/a+b.jpg"] * 3
