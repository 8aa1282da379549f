"""Policy first, collections checked, transient failures retried alone, odd messages never crash."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from tests.support.events import load_event

from .conftest import COLLECTION, CUSTOMER, OTHER, POLICE, Stack, failures, photo

KEY = f"uploads/{CUSTOMER}/{COLLECTION}"
POLICE_KEY = f"uploads/{POLICE}/suspects/lineup.jpg"


def audit_of(stack: Stack, customer_id: str) -> list[Any]:
    from facepolicy.env import audit_from_env

    return list(audit_from_env(stack.env).list_records(customer_id=customer_id).items)


def test_police_upload_is_refused_purged_and_never_decoded(stack: Stack) -> None:
    # Given a law-enforcement customer's upload, the event carrying its version id (real S3)
    event = stack.put_event(POLICE_KEY, photo("obama.jpg"))
    # When it is processed
    response = stack.invoke(event)
    # Then the record is final, the object version is permanently gone, the status says why,
    # the decision is audited, and the image was never read nor decoded
    assert failures(response) == []
    assert stack.versions(POLICE_KEY) == []
    status = stack.status("lineup.jpg", customer=POLICE, collection="suspects")
    assert (status.status, status.reason_code) == ("REJECTED_POLICY", "SECTOR_DISALLOWED")
    assert stack.engine.calls == 0
    assert "get_object" not in stack.s3.calls and "head_object" not in stack.s3.calls
    assert [r.allowed for r in audit_of(stack, POLICE) if r.operation == "index"] == [False]
    assert stack.face_count(POLICE, "suspects") == 0


def test_police_upload_without_version_id_purges_every_version(stack: Stack) -> None:
    # moto's own events carry no versionId: every version of the key is found and deleted
    stack.upload(POLICE_KEY, photo("obama.jpg"))
    stack.upload(POLICE_KEY, photo("biden.jpg"))
    response = stack.invoke(stack.sqs_event(stack.s3_message(POLICE_KEY)))
    assert failures(response) == []
    assert stack.versions(POLICE_KEY) == []
    assert stack.engine.calls == 0 and "get_object" not in stack.s3.calls


def test_the_sample_police_event_is_refused(stack: Stack) -> None:
    event = load_event("sqs_s3_police_put")
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["bucket"]["name"] = stack.bucket
    version = stack.upload(POLICE_KEY, photo("obama.jpg"))
    body["Records"][0]["s3"]["object"]["versionId"] = version
    event["Records"][0]["body"] = json.dumps(body)
    assert failures(stack.invoke(event)) == []
    assert stack.versions(POLICE_KEY) == [] and stack.engine.calls == 0


def test_registry_outage_is_retried_and_the_object_kept(stack: Stack) -> None:
    # Given a registry that cannot be read
    from facepolicy.env import gate_from_env

    broken = gate_from_env({**stack.env, "REGISTRY_TABLE": "no-such-table"})
    module = stack.fresh_module(gate=broken)
    event = stack.put_event(POLICE_KEY, photo("obama.jpg"))
    # When the upload is processed
    response = stack.invoke(event, module)
    # Then the record is reported failed (SQS retries it, then the DLQ), nothing is deleted or decided
    assert failures(response) == [event["Records"][0]["messageId"]]
    assert len(stack.versions(POLICE_KEY)) == 1
    assert stack.status("lineup.jpg", customer=POLICE, collection="suspects") is None
    assert stack.engine.calls == 0


def test_unknown_collection_is_rejected_and_its_upload_purged(stack: Stack) -> None:
    # an upload URL issued before its collection was deleted: the photo must not outlive the collection
    key = f"uploads/{CUSTOMER}/nope/obama.jpg"
    response = stack.invoke(stack.put_event(key, photo("obama.jpg")))
    assert failures(response) == []
    status = stack.status("obama.jpg", collection="nope")
    assert (status.status, status.reason_code) == ("REJECTED_COLLECTION", "COLLECTION_NOT_FOUND")
    assert stack.engine.calls == 0 and stack.versions(key) == []


def test_another_customers_collection_is_rejected(stack: Stack) -> None:
    # "theirs" belongs to other-co: for acme-photos it does not exist
    response = stack.invoke(stack.put_event(f"uploads/{CUSTOMER}/theirs/obama.jpg", photo("obama.jpg")))
    assert failures(response) == []
    assert stack.status("obama.jpg", collection="theirs").status == "REJECTED_COLLECTION"
    assert stack.face_count(OTHER, "theirs") == 0 and stack.engine.calls == 0


class FlakyDynamoDB:
    """A DynamoDB client that throttles every write transaction touching one image."""

    def __init__(self, client: Any, image_id: str) -> None:
        self._client = client
        self.image_id = image_id

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name != "transact_write_items":
            return attr

        def transact(**kwargs: Any) -> Any:
            if f"IMG#{self.image_id}" in json.dumps(kwargs, default=str):
                raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                                  "TransactWriteItems")
            return attr(**kwargs)
        return transact


def test_a_dynamodb_failure_mid_batch_reports_only_that_record(stack: Stack) -> None:
    # Given a batch of three uploads where DynamoDB throttles the second one's writes
    store = stack.store
    flaky_client = FlakyDynamoDB(store._client, "b.jpg")
    events = [stack.put_event(f"{KEY}/{name}.jpg", photo(src))
              for name, src in (("a", "obama.jpg"), ("b", "obama2.jpg"), ("c", "biden.jpg"))]
    batch = {"Records": [e["Records"][0] for e in events]}
    store._client = flaky_client
    try:
        response = stack.invoke(batch)
    finally:
        store._client = flaky_client._client
    # Then only the second record is reported back; the others are indexed
    assert failures(response) == [batch["Records"][1]["messageId"]]
    assert stack.status("a.jpg").status == "INDEXED" and stack.status("c.jpg").status == "INDEXED"
    assert stack.status("b.jpg") is None
    # and its redelivery succeeds
    assert failures(stack.invoke(events[1])) == []
    assert stack.status("b.jpg").status == "INDEXED" and stack.face_count() == 3


def test_test_event_is_acknowledged(stack: Stack) -> None:
    assert failures(stack.invoke(load_event("sqs_s3_test_event"))) == []


def test_hostile_keys_are_skipped_and_a_non_json_body_goes_to_the_dlq(stack: Stack) -> None:
    event = load_event("sqs_s3_hostile_key")
    for record in event["Records"][:-1]:
        body = json.loads(record["body"])
        body["Records"][0]["s3"]["bucket"]["name"] = stack.bucket
        record["body"] = json.dumps(body)
    response = stack.invoke(event)
    # the unparseable message is kept (retried, then dead-lettered); every hostile key is a final skip
    assert failures(response) == [event["Records"][-1]["messageId"]]
    assert stack.engine.calls == 0
    assert "get_object" not in stack.s3.calls and "delete_object" not in stack.s3.calls


def test_events_of_another_bucket_are_ignored(stack: Stack) -> None:
    event = load_event("sqs_s3_put")  # names the deployed bucket, not this stack's
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["bucket"]["name"] = "somebody-elses-bucket"
    event["Records"][0]["body"] = json.dumps(body)
    assert failures(stack.invoke(event)) == []
    assert stack.s3.calls == [] and stack.engine.calls == 0


def test_end_to_end_through_moto_notifications(stack: Stack) -> None:
    # Given a real upload into the provisioned bucket (moto sends its notification to the queue)
    sqs = stack.session.client("sqs")
    queue = stack.provisioned.queues["IndexQueue"]
    stack.upload(f"{KEY}/obama.jpg", photo("obama.jpg"))
    # When the messages on the queue are handed to the handler as Lambda's SQS poller would
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs", "eventSourceARN": stack.provisioned.queue_arns["IndexQueue"],
                "awsRegion": "us-east-1"} for m in messages]
    response = stack.invoke({"Records": records})
    # Then the test event is acknowledged and the photo is indexed
    assert failures(response) == []
    assert any("s3:TestEvent" in m["Body"] for m in messages)
    assert stack.status("obama.jpg").status == "INDEXED" and stack.face_count() == 1


def test_a_collection_of_another_face_model_is_not_indexed(stack: Stack) -> None:
    # Given a collection recorded as indexed with another face-model version
    stack.store.create_collection(CUSTOMER, "legacy", "yunet-2023mar+sface-2021dec/fp32-v0")
    # When a photo is uploaded to it
    response = stack.invoke(stack.put_event(f"uploads/{CUSTOMER}/legacy/obama.jpg", photo("obama.jpg")))
    # Then it is rejected with a clear reason and nothing is decoded or stored
    assert failures(response) == []
    status = stack.status("obama.jpg", collection="legacy")
    assert (status.status, status.reason_code) == ("REJECTED_COLLECTION", "MODEL_VERSION_MISMATCH")
    assert "fp32-v0" in (status.message or "")
    assert stack.engine.calls == 0


class FailingStatusWrite:
    """A DynamoDB client whose first status write (UpdateItem of one image's IMG# item) is throttled."""

    def __init__(self, client: Any, image_id: str) -> None:
        self._client = client
        self.image_id = image_id
        self.failed = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name != "update_item":
            return attr

        def update(**kwargs: Any) -> Any:
            if not self.failed and f"IMG#{self.image_id}" in json.dumps(kwargs, default=str):
                self.failed = True
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")
            return attr(**kwargs)
        return update


def test_a_refusal_whose_status_write_fails_still_ends_rejected_after_the_purges_events(stack: Stack) -> None:
    # Given a police upload whose first REJECTED_POLICY status write is throttled
    event = stack.put_event(POLICE_KEY, photo("obama.jpg"))
    before = {v["VersionId"] for v in stack.versions(POLICE_KEY)}
    store = stack.store
    store._client = FailingStatusWrite(store._client, "lineup.jpg")
    try:
        first = stack.invoke(event)
    finally:
        store._client = store._client._client
    assert failures(first) == [event["Records"][0]["messageId"]]  # retried by SQS

    def removed_events() -> None:  # S3 notifies ObjectRemoved:Delete for every version the purge deleted
        gone = before - {v["VersionId"] for v in stack.versions(POLICE_KEY)}
        for version in sorted(gone):
            body = stack.s3_message(POLICE_KEY, name="ObjectRemoved:Delete", version_id=version,
                                    sequencer=stack.next_sequencer())
            assert failures(stack.invoke(stack.sqs_event(body))) == []
            before.discard(version)

    # When the purge's own events arrive before the retry, and then the retry
    removed_events()
    assert failures(stack.invoke(event)) == []
    removed_events()
    # Then the upload ends REJECTED_POLICY with every version gone, not without any status
    status = stack.status("lineup.jpg", customer=POLICE, collection="suspects")
    assert status is not None and (status.status, status.reason_code) == ("REJECTED_POLICY", "SECTOR_DISALLOWED")
    assert stack.versions(POLICE_KEY) == [] and stack.face_count(POLICE, "suspects") == 0
