"""The face store and vector index on moto DynamoDB + S3, as the Lambda functions use them."""

from __future__ import annotations

import logging
from typing import Any

import boto3
import numpy as np
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from facestore import (
    DynamoDBFaceStore,
    S3SnapshotStore,
    StoreError,
    StoreUnavailable,
    VectorIndex,
)
from tests.unit.store.store_helpers import SerializedClient, make_faces, unit_vectors

C, K = "cust-a", "coll-1"


@pytest.fixture
def stack(aws: dict[str, Any]) -> tuple[DynamoDBFaceStore, S3SnapshotStore]:
    from .conftest import BUCKET, TABLE

    store = DynamoDBFaceStore(SerializedClient(aws["dynamodb"]), TABLE, sleep=lambda _s: None)
    store.create_collection(C, K, "sface-1")
    return store, S3SnapshotStore(aws["s3"], BUCKET)


def test_face_item_stores_embedding_as_512_bytes(aws: dict[str, Any], stack: Any) -> None:
    store, _ = stack
    face = make_faces(C, K, "img", 1)[0]
    store.put_faces(C, K, [face])
    from .conftest import TABLE

    item = aws["dynamodb"].get_item(TableName=TABLE, Key={"pk": {"S": f"COLL#{C}#{K}"},
                                                          "sk": {"S": f"FACE#{face.face_id}"}})["Item"]
    assert len(item["emb"]["B"]) == 512
    assert np.array_equal(np.frombuffer(item["emb"]["B"], "<f4"), face.embedding)


def test_indexed_then_searched_then_deleted(stack: Any) -> None:
    store, snaps = stack
    index = VectorIndex(store, snaps)
    faces = make_faces(C, K, "img", 3, seed=1)
    store.put_faces(C, K, faces)
    hits = index.search(C, K, faces[2].embedding, max_faces=1, min_cosine=0.9)
    assert hits[0][0] == faces[2].face_id
    store.delete_faces(C, K, [faces[2].face_id])
    assert faces[2].face_id not in [h[0] for h in index.search(C, K, faces[2].embedding, max_faces=5,
                                                                  min_cosine=-1.0)]


def test_cold_load_from_s3_snapshot_equals_warm(aws: dict[str, Any], stack: Any) -> None:
    store, snaps = stack
    warm = VectorIndex(store, snaps, snapshot_min=3)
    for i in range(4):
        store.put_faces(C, K, make_faces(C, K, f"img{i}", 10, seed=i))
    assert warm.maybe_snapshot(C, K, force=True)
    store.put_faces(C, K, make_faces(C, K, "after", 2, seed=77))
    q = unit_vectors(1, 5)[0]
    expected = warm.search(C, K, q, max_faces=12, min_cosine=-1.0)
    keys = [o["Key"] for o in aws["s3"].list_objects_v2(Bucket="index-functional")["Contents"]]
    assert keys == [f"snapshots/{C}/{K}/000000000004.fsnap"]
    cold = VectorIndex(store, snaps)
    assert cold.search(C, K, q, max_faces=12, min_cosine=-1.0) == expected


def test_snapshot_compaction_on_dynamodb_and_s3(aws: dict[str, Any], stack: Any) -> None:
    store, snaps = stack
    index = VectorIndex(store, snaps, snapshot_min=2)
    for round_ in range(3):
        for i in range(3):
            store.put_faces(C, K, make_faces(C, K, f"r{round_}i{i}", 1, seed=10 * round_ + i))
        assert index.maybe_snapshot(C, K)
    meta = store.get_collection(C, K)
    assert (meta.snapshot_version, meta.log_floor) == (9, 6)
    from .conftest import TABLE

    changes = aws["dynamodb"].query(
        TableName=TABLE, KeyConditionExpression="pk = :pk AND begins_with(sk, :c)",
        ExpressionAttributeValues={":pk": {"S": f"COLL#{C}#{K}"}, ":c": {"S": "CHANGE#"}})["Items"]
    assert sorted(int(c["version"]["N"]) for c in changes) == [7, 8, 9]
    keys = sorted(o["Key"].rsplit("/", 1)[1] for o in aws["s3"].list_objects_v2(Bucket="index-functional")["Contents"])
    assert keys == ["000000000006.fsnap", "000000000009.fsnap"]
    index.drop(C, K)
    assert "Contents" not in aws["s3"].list_objects_v2(Bucket="index-functional")


def test_throttling_translates_to_store_unavailable(aws: dict[str, Any]) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    store = DynamoDBFaceStore(client, "faces-functional")
    with Stubber(client) as stub:
        stub.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=400)
        with pytest.raises(StoreUnavailable):
            store.get_collection(C, K)
        stub.add_client_error("get_item", "AccessDeniedException", http_status_code=400)
        with pytest.raises(StoreError) as info:
            store.get_collection(C, K)
        assert not isinstance(info.value, StoreUnavailable)


def test_unreachable_dynamodb_is_store_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=0.5, read_timeout=0.5))
    store = DynamoDBFaceStore(client, "faces")
    face = make_faces(C, K, "img", 1)[0]
    with caplog.at_level(logging.DEBUG, logger="facestore"), pytest.raises(StoreUnavailable):
        store.put_faces(C, K, [face])
    # the failure is logged with structured fields, and the embedding never reaches the logs
    assert any(getattr(r, "op", None) in ("get_item", "batch_get_item") for r in caplog.records)
    assert f"{face.embedding[0]:.6f}"[:7] not in caplog.text
    assert not any(hasattr(r, "emb") or hasattr(r, "embedding") for r in caplog.records)


def test_transaction_conflicts_are_retried_then_unavailable(aws: dict[str, Any], stack: Any) -> None:
    store, _ = stack
    client = boto3.client("dynamodb", region_name="us-east-1")
    flaky = DynamoDBFaceStore(client, "faces-functional", max_attempts=3, sleep=lambda _s: None)
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_response("get_item", {"Item": {
                "pk": {"S": f"CUST#{C}"}, "sk": {"S": f"COLL#{K}"}, "customer_id": {"S": C},
                "collection_id": {"S": K}, "created_at": {"S": "t"}, "model_version": {"S": "m"},
                "version": {"N": "0"}}})
            stub.add_client_error("transact_write_items", "TransactionCanceledException",
                                  response_meta={}, modeled_fields={"CancellationReasons": [
                                      {"Code": "TransactionConflict"}] * 4})
        with pytest.raises(StoreUnavailable):
            flaky.put_faces(C, K, make_faces(C, K, "img", 1))
    assert store.get_collection(C, K).face_count == 0
