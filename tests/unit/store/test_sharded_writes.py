"""Writes scale with the collection (issue 12, point 4): a sharded collection's writes never meet on one
item. Many parallel writers into one collection, against moto: nothing is lost, the count is exact,
and no write transaction touches the collection item."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

from facestore import CollectionNotFound, DynamoDBFaceStore, ImageStatus
from tests.unit.store.conftest import TABLE
from tests.unit.store.store_helpers import SerializedClient, make_faces

C, K = "cust-a", "big"
WRITERS, IMAGES, FACES = 6, 3, 2


class _Recording(SerializedClient):
    """SerializedClient that records the keys of every item each write transaction touches."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.transactions: list[list[tuple[str, str]]] = []

    def transact_write_items(self, **kwargs: Any) -> Any:
        keys = []
        for op in kwargs["TransactItems"]:
            body = next(iter(op.values()))
            key = body.get("Key") or body["Item"]
            keys.append((key["pk"]["S"], key["sk"]["S"]))
        self.transactions.append(keys)
        return self.__getattr__("transact_write_items")(**kwargs)


def _write(store: DynamoDBFaceStore, writer: int, generation: str, barrier: threading.Barrier,
           errors: list[BaseException]) -> None:
    try:
        barrier.wait()
        for i in range(IMAGES):
            image = f"w{writer}-img{i}"
            faces = make_faces(C, K, image, FACES, seed=writer * 100 + i)
            store.put_faces(C, K, faces, sequencer=f"{writer:02d}{i:04d}", generation=generation)
            store.put_image_status(ImageStatus(C, K, image, "INDEXED", face_ids=tuple(f.face_id for f in faces)),
                                   generation=generation)
            if i % 3 == 2:  # and now and then a face deleted, as DeleteFaces does
                store.delete_faces(C, K, [faces[0].face_id])
    except BaseException as exc:  # reported by the test
        errors.append(exc)


def _run_writers(store: DynamoDBFaceStore, generation: str, midway: Any = None) -> None:
    barrier = threading.Barrier(WRITERS + (1 if midway else 0))
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_write, args=(store, w, generation, barrier, errors)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    if midway:
        barrier.wait()
        midway()
    for t in threads:
        t.join()
    assert errors == []


def _stored_faces(store: DynamoDBFaceStore) -> int:
    count, token = 0, None
    while True:
        page, token = store.list_faces(C, K, 1000, token)
        count += len(page)
        if token is None:
            return count


EXPECTED = WRITERS * IMAGES * FACES - WRITERS * (IMAGES // 3)


def test_parallel_writers_into_a_sharded_collection_lose_nothing(moto_dynamodb: Any) -> None:
    # Given a collection born sharded
    client = _Recording(moto_dynamodb)
    store = DynamoDBFaceStore(client, TABLE, sleep=lambda _s: None, shards=6)
    created = store.create_collection(C, K, "sface-1")
    assert created.shards == 6
    # When six writers index images and delete faces into it at once
    _run_writers(store, created.generation)
    # Then every face is stored once and the count (collection item + shards) is exact
    meta = store.get_collection(C, K)
    assert meta is not None and meta.face_count == EXPECTED == _stored_faces(store)
    assert [c.face_count for c in store.list_collections(C, 10, None)[0]] == [EXPECTED]
    uncounted = store.get_collection(C, K, counts=False)  # one read: the engines need no count for it
    assert uncounted is not None and uncounted.shards == 6 and uncounted.face_count == 0
    # and no write transaction touched the collection item: they met on no single item
    collection_item = (f"CUST#{C}", f"COLL#{K}")
    writes = client.transactions[1:]  # [0] created the collection and its shards
    assert writes and all(collection_item not in keys for keys in writes)
    shard_hits = Counter(pk for keys in writes for pk, sk in keys if sk == "SHARD")
    assert len(shard_hits) >= 4 and max(shard_hits.values()) < len(writes) / 2
    # and no change item was written (the vector engine needs none)
    assert not any(sk.startswith("CHANGE#") for keys in writes for _, sk in keys)


def test_sharding_while_writers_run_keeps_the_count_exact(moto_dynamodb: Any) -> None:
    # Given a versioned collection (the exact engine's) with writers running
    store = DynamoDBFaceStore(SerializedClient(moto_dynamodb), TABLE, sleep=lambda _s: None)
    created = store.create_collection(C, K, "sface-1")
    assert created.shards == 0
    # When it is sharded in the middle of their writes (as the engines do when the vector index takes over)
    _run_writers(store, created.generation, midway=lambda: store.shard_collection(C, K, 4))
    # Then nothing is lost and the count is exact; sharding again changes nothing
    meta = store.get_collection(C, K)
    assert meta is not None and meta.shards == 4 and meta.face_count == EXPECTED == _stored_faces(store)
    assert store.shard_collection(C, K, 9).shards == 4


def test_deleting_a_sharded_collection_removes_its_shards_and_refuses_old_writes(moto_dynamodb: Any) -> None:
    store = DynamoDBFaceStore(SerializedClient(moto_dynamodb), TABLE, sleep=lambda _s: None, shards=4)
    old = store.create_collection(C, K, "sface-1")
    store.put_faces(C, K, make_faces(C, K, "a", 2), generation=old.generation)
    store.delete_collection(C, K)
    items = moto_dynamodb.scan(TableName=TABLE)["Items"]
    assert items == []  # the shards went with the collection
    # A re-created collection gets new shards; the old incarnation's events are refused
    new = store.create_collection(C, K, "sface-1")
    with pytest.raises(CollectionNotFound):
        store.put_faces(C, K, make_faces(C, K, "late", 1), generation=old.generation)
    assert not store.put_image_status(ImageStatus(C, K, "late", "INDEXED"), generation=old.generation)
    assert store.put_faces(C, K, make_faces(C, K, "b", 1, seed=3), generation=new.generation)
    meta = store.get_collection(C, K)
    assert meta is not None and meta.face_count == 1


def test_shard_count_is_bounded(moto_dynamodb: Any) -> None:
    with pytest.raises(ValueError):
        DynamoDBFaceStore(moto_dynamodb, TABLE, shards=100)
    store = DynamoDBFaceStore(moto_dynamodb, TABLE)
    store.create_collection(C, K, "sface-1")
    with pytest.raises(ValueError):
        store.shard_collection(C, K, 0)
