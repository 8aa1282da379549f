"""The `vec` backfill (facestore.vector_backfill): resumable, idempotent, safe beside writes, and the
engines serve a collection from the vector index only once it is complete."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from facestore import DynamoDBFaceStore, Face, InMemorySnapshotStore, VectorIndex
from facestore.dynamodb import collection_pk
from facestore.engines import SearchEngines
from facestore.errors import CollectionNotFound
from facestore.vector_backfill import VectorBackfill
from facestore.vector_search import VectorSearch
from tests.support.vector_table import faces_table, faces_with, unit_rows

TABLE = "faces-backfill-test"
CUST, COLL = "cust1", "legacy"


@pytest.fixture
def client() -> Iterator[Any]:
    with faces_table(TABLE) as ddb:
        yield ddb


def _faces(n: int, start: int = 0) -> list[Face]:
    return faces_with(CUST, COLL, unit_rows(n, start), start)


@pytest.fixture
def legacy(client: Any) -> DynamoDBFaceStore:
    """A collection as stored before the vector index: faces without `vec`, collection not ready."""
    store = DynamoDBFaceStore(client, TABLE, sleep=lambda _s: None)
    store.create_collection(CUST, COLL, "m")
    store.put_faces(CUST, COLL, _faces(25))
    pk = collection_pk(CUST, COLL)
    for page in client.get_paginator("query").paginate(
            TableName=TABLE, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}):
        for item in page["Items"]:
            if "vec" in item:
                client.update_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]},
                                   UpdateExpression="REMOVE vec")
    client.update_item(TableName=TABLE, Key={"pk": {"S": f"CUST#{CUST}"}, "sk": {"S": f"COLL#{COLL}"}},
                       UpdateExpression="REMOVE vec_ready")
    return store


def _with_vec(client: Any) -> int:
    pk = collection_pk(CUST, COLL)
    items = client.query(TableName=TABLE, KeyConditionExpression="pk = :pk AND begins_with(sk, :f)",
                         ExpressionAttributeValues={":pk": {"S": pk}, ":f": {"S": "FACE#"}})["Items"]
    return sum("vec" in i for i in items)


def test_new_collections_are_born_ready(client: Any) -> None:
    store = DynamoDBFaceStore(client, TABLE, sleep=lambda _s: None)
    store.create_collection(CUST, "fresh", "m")
    coll = store.get_collection(CUST, "fresh")
    assert coll is not None and coll.vector_ready
    assert VectorBackfill(client, TABLE).run(CUST, "fresh").complete


def test_backfill_resumes_and_is_idempotent_beside_writes(client: Any, legacy: DynamoDBFaceStore) -> None:
    coll = legacy.get_collection(CUST, COLL)
    assert coll is not None and not coll.vector_ready and _with_vec(client) == 0
    backfill = VectorBackfill(client, TABLE, page=10)
    # A first run stopped after one page
    first = backfill.run(CUST, COLL, max_pages=1)
    assert (first.scanned, first.updated, first.complete) == (10, 10, False) and _with_vec(client) == 10
    # Meanwhile a face is deleted and new ones are indexed (with vec, as the new code writes them)
    legacy.delete_faces(CUST, COLL, ["f0015"])
    legacy.put_faces(CUST, COLL, _faces(3, start=100))
    # The next run resumes after the cursor, skips what has vec, does not bring the deleted face back
    rest = backfill.run(CUST, COLL)
    assert rest.complete and rest.updated == 14 and rest.scanned == 17
    assert _with_vec(client) == 27 and legacy.get_face(CUST, COLL, "f0015") is None
    coll = legacy.get_collection(CUST, COLL)
    assert coll is not None and coll.vector_ready
    # A third run changes nothing
    assert backfill.run(CUST, COLL) == type(rest)(CUST, COLL, 0, 0, True)
    assert list(backfill.collections()) == [(CUST, COLL)]
    with pytest.raises(CollectionNotFound):
        backfill.run(CUST, "missing")


def test_engines_wait_for_the_backfill(client: Any, legacy: DynamoDBFaceStore) -> None:
    exact = VectorIndex(legacy, InMemorySnapshotStore())
    engines = SearchEngines(legacy, exact, VectorSearch(client, TABLE, legacy, collection_pk), mode="vector")
    query = np.asarray(_faces(25)[7].embedding, dtype=np.float32)
    coll = legacy.get_collection(CUST, COLL)
    assert coll is not None and engines.engine_for(coll) == "exact"
    assert engines.search(CUST, COLL, query, max_faces=1, min_cosine=0.5)[0][0] == "f0007"
    VectorBackfill(client, TABLE).run(CUST, COLL)
    coll = legacy.get_collection(CUST, COLL)
    assert coll is not None and engines.engine_for(coll) == "vector"
    assert engines.search(CUST, COLL, query, max_faces=1, min_cosine=0.5)[0][0] == "f0007"
