"""The vector-index engine (facestore.vector_search), the engine router (facestore.engines) and the local
SearchVectors emulation (facesearch.local.search_vectors), over moto's DynamoDB."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from facesearch.local import search_vectors
from facestore import DynamoDBFaceStore, Face, InMemorySnapshotStore, VectorIndex
from facestore.dynamodb import collection_pk
from facestore.engines import READY_RECHECK_S, SearchEngines, engine_for
from facestore.errors import CollectionNotFound, StoreUnavailable
from facestore.vector_search import (
    MAX_CANDIDATES,
    MIN_CANDIDATES,
    IndexNotReady,
    VectorSearch,
    candidates,
    vector_numbers,
)
from tests.support.fakes import FakeClock
from tests.support.vector_table import faces_table, faces_with

TABLE = "faces-vec-test"
CUST, COLL = "cust1", "coll1"


@pytest.fixture
def client() -> Iterator[Any]:
    with faces_table(TABLE) as ddb:
        yield ddb


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 128)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _faces(vectors: np.ndarray, start: int = 0) -> list[Face]:
    return faces_with(CUST, COLL, vectors, start)


@pytest.fixture
def seeded(client: Any) -> tuple[DynamoDBFaceStore, np.ndarray]:
    store = DynamoDBFaceStore(client, TABLE, sleep=lambda _s: None)
    store.create_collection(CUST, COLL, "m")
    vectors = _unit(np.random.default_rng(7), 60)
    store.put_faces(CUST, COLL, _faces(vectors))
    return store, vectors


def test_vector_numbers_round_trip_float32_exactly() -> None:
    v = _unit(np.random.default_rng(1), 1)[0]
    numbers = vector_numbers(v)
    assert all(isinstance(n, Decimal) for n in numbers) and len(numbers) == 128
    assert np.array_equal(np.array([float(n) for n in numbers], dtype=np.float32), v)
    with pytest.raises(ValueError):
        vector_numbers(np.full(128, np.nan, dtype=np.float32))
    with pytest.raises(ValueError):
        vector_numbers(np.zeros(64, dtype=np.float32))


def test_candidates_over_fetch_within_bounds() -> None:
    assert candidates(1) == MIN_CANDIDATES and candidates(50) == 200 and candidates(4096) == MAX_CANDIDATES


def test_vector_engine_matches_the_exact_engine(seeded: tuple[DynamoDBFaceStore, np.ndarray], client: Any) -> None:
    store, vectors = seeded
    vector = VectorSearch(client, TABLE, store, collection_pk)
    exact = VectorIndex(store, InMemorySnapshotStore())
    for q in (vectors[3], _unit(np.random.default_rng(2), 1)[0]):
        want = exact.search(CUST, COLL, q, max_faces=5, min_cosine=-1.0)
        got = vector.search(CUST, COLL, q, max_faces=5, min_cosine=-1.0)
        assert [f for f, _ in got] == [f for f, _ in want]
        assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-6)
    # a threshold cuts the same way; the metadata of a hit comes without another read
    got = vector.search(CUST, COLL, vectors[3], max_faces=5, min_cosine=0.9)
    assert got == [("f0003", pytest.approx(1.0, abs=1e-6))]
    meta = vector.face_meta(CUST, COLL, "f0003")
    assert meta is not None and meta.image_id == "img3"
    with pytest.raises(CollectionNotFound):
        vector.search(CUST, "nope", vectors[0], max_faces=1, min_cosine=0.0)


class _StaleIndex:
    """A client whose SearchVectors still returns faces deleted from the table (replication lag)."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.requests: list[dict[str, Any]] = []

    def search_vectors(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"SearchResults": [{"Item": {"pk": {"S": "x"}, "sk": {"S": f"FACE#{i}"}}, "Score": 0.0}
                                  for i in self.ids]}


def test_deleted_faces_are_never_returned(seeded: tuple[DynamoDBFaceStore, np.ndarray]) -> None:
    store, vectors = seeded
    stale = _StaleIndex(["f0003", "f0004", "f0005"])
    vector = VectorSearch(stale, TABLE, store, collection_pk)
    store.delete_faces(CUST, COLL, ["f0003"])
    got = vector.search(CUST, COLL, vectors[3], max_faces=3, min_cosine=-1.0)
    assert "f0003" not in [f for f, _ in got] and {f for f, _ in got} == {"f0004", "f0005"}
    request = stale.requests[0]
    assert request["TopK"] == MIN_CANDIDATES and request["IndexName"] == "faces-vec"
    assert request["ExpressionAttributeValues"] == {":pk": {"S": collection_pk(CUST, COLL)}}


def test_emulation_follows_the_service_shapes_and_errors(seeded: tuple[DynamoDBFaceStore, np.ndarray],
                                                         client: Any) -> None:
    _, vectors = seeded
    query = [{"N": str(n)} for n in vector_numbers(vectors[0])]
    pk = {":pk": {"S": collection_pk(CUST, COLL)}}
    resp = client.search_vectors(TableName=TABLE, IndexName="faces-vec", SearchVector=query, TopK=3,
                                 SearchConditionExpression="pk = :pk", ExpressionAttributeValues=pk)
    results = resp["SearchResults"]
    assert results[0]["Item"]["sk"]["S"] == "FACE#f0000" and len(results) == 3
    assert set(results[0]["Item"]) == {"pk", "sk"}  # KEYS_ONLY, as the template projects
    assert results[0]["Score"] == pytest.approx(0.0, abs=1e-6) and results[1]["Score"] <= results[2]["Score"]
    described = client.describe_table(TableName=TABLE)["Table"]["VectorIndexes"][0]
    assert (described["IndexName"], described["IndexStatus"], described["Dimensions"]) == ("faces-vec", "ACTIVE", 128)
    for bad in ({"SearchVector": query[:5]}, {"SearchConditionExpression": None}, {"IndexName": "other-index"}):
        kwargs = {"TableName": TABLE, "IndexName": "faces-vec", "SearchVector": query, "TopK": 3,
                  "SearchConditionExpression": "pk = :pk", "ExpressionAttributeValues": pk, **bad}
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        with pytest.raises(ClientError) as err:
            client.search_vectors(**kwargs)
        assert err.value.response["Error"]["Code"] == "ValidationException"


def test_emulated_replication_lag_delays_new_faces(seeded: tuple[DynamoDBFaceStore, np.ndarray],
                                                   client: Any) -> None:
    store, _ = seeded
    vector = VectorSearch(client, TABLE, store, collection_pk)
    fresh = _unit(np.random.default_rng(3), 1)
    search_vectors.set_lag(0.3)
    try:
        store.put_faces(CUST, COLL, _faces(fresh, start=500))
        assert "f0500" not in [f for f, _ in vector.search(CUST, COLL, fresh[0], max_faces=1, min_cosine=0.0)]
        time.sleep(0.35)
        assert [f for f, _ in vector.search(CUST, COLL, fresh[0], max_faces=1, min_cosine=0.0)] == ["f0500"]
    finally:
        search_vectors.set_lag(0.0)


class _Backfilling:
    """A client of a table whose vector index DynamoDB is still building (after an in-place update)."""

    def __init__(self) -> None:
        self.described = 0

    def describe_table(self, **_request: Any) -> dict[str, Any]:
        self.described += 1
        return {"Table": {"VectorIndexes": [{"IndexName": "faces-vec", "IndexStatus": "CREATING",
                                             "Backfilling": True}]}}

    def search_vectors(self, **_request: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "ValidationException",
                                     "Message": "The vector index is backfilling"}}, "SearchVectors")


def test_router_picks_by_mode_and_size(seeded: tuple[DynamoDBFaceStore, np.ndarray], client: Any) -> None:
    store, vectors = seeded
    exact = VectorIndex(store, InMemorySnapshotStore())
    coll = store.get_collection(CUST, COLL)
    assert coll is not None and coll.face_count == 60 and coll.shards == 0
    vector = VectorSearch(client, TABLE, store, collection_pk)
    assert vector.ready()  # the emulation describes the index ACTIVE, as DynamoDB does once it is built
    assert SearchEngines(store, exact, vector, mode="auto", auto_faces=60).engine_for(coll) == "exact"
    assert SearchEngines(store, exact, vector, mode="auto", auto_faces=59).engine_for(coll) == "vector"
    assert SearchEngines(store, exact, vector, mode="exact").engine_for(coll) == "exact"
    assert engine_for(exact, coll) == "exact"
    with pytest.raises(ValueError):
        SearchEngines(store, exact, None, mode="vector")
    with pytest.raises(ValueError):
        SearchEngines(store, exact, vector, mode="fastest")
    # Handing the collection to the vector index shards its writes, for good: it stays there below the threshold
    auto = SearchEngines(store, exact, vector, mode="auto", auto_faces=59, shards=4)
    assert auto.search(CUST, COLL, vectors[9], max_faces=1, min_cosine=0.5)[0][0] == "f0009"
    coll = store.get_collection(CUST, COLL)
    assert coll is not None and coll.shards == 4 and coll.face_count == 60
    store.delete_faces(CUST, COLL, ["f0001", "f0002"])
    coll = store.get_collection(CUST, COLL)
    assert coll is not None and coll.face_count == 58
    assert SearchEngines(store, exact, vector, mode="auto", auto_faces=59).engine_for(coll) == "vector"
    # and with SearchEngine=exact again it stays on the vector index (the exact engine has no log for it)
    back = SearchEngines(store, exact, vector, mode="exact")
    assert back.engine_for(coll) == "vector"
    assert back.search(CUST, COLL, vectors[9], max_faces=1, min_cosine=0.5)[0][0] == "f0009"


def test_router_waits_for_the_index_to_be_active(seeded: tuple[DynamoDBFaceStore, np.ndarray]) -> None:
    store, vectors = seeded
    exact = VectorIndex(store, InMemorySnapshotStore())
    filling = _Backfilling()
    clock = FakeClock()
    engines = SearchEngines(store, exact, VectorSearch(filling, TABLE, store, collection_pk), mode="vector",
                            clock=clock)
    # While DynamoDB builds the index, the exact engine answers (never a half-filled index) ...
    engines.sync(CUST, COLL)
    got = engines.search(CUST, COLL, vectors[9], max_faces=1, min_cosine=0.5, synced=True)
    assert got == [("f0009", pytest.approx(1.0, abs=1e-6))]
    assert engines.face_meta(CUST, COLL, "f0009") is not None
    coll = store.get_collection(CUST, COLL)
    assert coll is not None and coll.shards == 0  # ... and the collection keeps its change log
    # DescribeTable is asked again only after READY_RECHECK_S
    engines.search(CUST, COLL, vectors[9], max_faces=1, min_cosine=0.5)
    assert filling.described == 1
    clock.advance(READY_RECHECK_S + 1)
    assert engines.engine_for(coll) == "exact" and filling.described == 2
    with pytest.raises(IndexNotReady):
        VectorSearch(filling, TABLE, store, collection_pk).search(CUST, COLL, vectors[0], max_faces=1,
                                                                  min_cosine=0.0)
    # A sharded collection has no change log for the exact engine: a not-ready index is a retry (503)
    store.shard_collection(CUST, COLL)
    with pytest.raises(StoreUnavailable):
        engines.search(CUST, COLL, vectors[9], max_faces=1, min_cosine=0.5)


class _CountingStore:
    """A store that counts its collection reads (the rest is the real store's)."""

    def __init__(self, store: DynamoDBFaceStore) -> None:
        self._store = store
        self.collection_reads = 0

    def get_collection(self, *args: Any, **kwargs: Any) -> Any:
        self.collection_reads += 1
        return self._store.get_collection(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_router_sync_reads_the_collection_once_and_still_sees_deletes(
        seeded: tuple[DynamoDBFaceStore, np.ndarray], client: Any) -> None:
    store, vectors = seeded
    counting = _CountingStore(store)
    exact = VectorIndex(counting, InMemorySnapshotStore())  # type: ignore[arg-type]
    engines = SearchEngines(counting, exact, VectorSearch(client, TABLE, store, collection_pk),  # type: ignore[arg-type]
                            mode="auto", auto_faces=1000)
    # Given a collection the exact engine serves, a search's freshness check reads the collection item once
    engines.sync(CUST, COLL)
    assert counting.collection_reads == 1
    assert engines.search(CUST, COLL, vectors[9], max_faces=1, min_cosine=0.5, synced=True)[0][0] == "f0009"
    assert counting.collection_reads == 1
    # When the face is deleted, the next request's check (that one read) brings the delete in: never returned
    store.delete_faces(CUST, COLL, ["f0009"])
    engines.sync(CUST, COLL)
    assert counting.collection_reads == 2
    got = engines.search(CUST, COLL, vectors[9], max_faces=3, min_cosine=0.0, synced=True)
    assert got and "f0009" not in [face_id for face_id, _ in got]
    # And a search without a sync of its own (search by face) also reads it once, and sees the delete
    got = engines.search(CUST, COLL, vectors[9], max_faces=3, min_cosine=0.0)
    assert counting.collection_reads == 3 and got and "f0009" not in [face_id for face_id, _ in got]
    # And a deleted collection is CollectionNotFound
    store.delete_collection(CUST, COLL)
    with pytest.raises(CollectionNotFound):
        engines.sync(CUST, COLL)
    with pytest.raises(CollectionNotFound):
        engines.search(CUST, COLL, vectors[1], max_faces=1, min_cosine=0.0)
