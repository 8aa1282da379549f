"""The FaceStore contract, run over InMemoryFaceStore and DynamoDBFaceStore (moto) so the fake cannot drift."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from facestore import (
    ASSOCIATED_TO_A_DIFFERENT_USER,
    ASSOCIATED_TO_AN_EXISTING_USER,
    FACE_NOT_FOUND,
    ChangeLogCompacted,
    CollectionExists,
    CollectionNotFound,
    ImageStatus,
    InvalidId,
    InvalidToken,
    StaleEvent,
    UserExists,
    UserFaceLimitExceeded,
    UserNotFound,
)
from tests.unit.store.store_helpers import make_faces

C, K = "cust-a", "coll-1"


@pytest.fixture
def coll(store: Any) -> Any:
    store.create_collection(C, K, "sface-1", {"max_faces": 5, "quality_filter": "AUTO"})
    return store


def _versioned(store: Any) -> bool:
    """Whether the collection keeps a version and change log (not a sharded one: the vector engine's)."""
    return not store.get_collection(C, K).shards


# ------------------------------------------------------------------ collections
def test_create_get_collection_roundtrip(store: Any) -> None:
    # Given / When
    created = store.create_collection(C, K, "sface-1", {"max_faces": 5})
    # Then
    got = store.get_collection(C, K)
    assert got == created
    assert (got.face_count, got.user_count, got.version, got.defaults) == (0, 0, 0, {"max_faces": 5})


def test_create_twice_raises_collection_exists(coll: Any) -> None:
    with pytest.raises(CollectionExists):
        coll.create_collection(C, K, "sface-1")


def test_ids_with_key_separator_are_rejected(store: Any) -> None:
    with pytest.raises(InvalidId):
        store.create_collection("a#b", K, "m")


def test_list_collections_paginates_with_opaque_tokens(store: Any) -> None:
    # Given five collections
    for i in range(5):
        store.create_collection(C, f"c{i}", "m")
    # When paging two at a time
    seen, token, pages = [], None, 0
    while True:
        page, token = store.list_collections(C, 2, token)
        seen += [c.collection_id for c in page]
        pages += 1
        if token is None:
            break
    # Then every collection appears once, in order, and the last page says so
    assert seen == [f"c{i}" for i in range(5)]
    assert pages == 3


def test_exact_page_has_no_next_token(store: Any) -> None:
    for i in range(2):
        store.create_collection(C, f"c{i}", "m")
    page, token = store.list_collections(C, 2, None)
    assert len(page) == 2 and token is None


def test_tampered_and_foreign_tokens_are_rejected(store: Any) -> None:
    for i in range(3):
        store.create_collection(C, f"c{i}", "m")
        store.create_collection("cust-b", f"c{i}", "m")
    _, token = store.list_collections(C, 1, None)
    assert token is not None
    # a token edited by hand
    with pytest.raises(InvalidToken):
        store.list_collections(C, 1, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with pytest.raises(InvalidToken):
        store.list_collections(C, 1, "not-a-token")
    # a valid token of another customer's listing
    with pytest.raises(InvalidToken):
        store.list_collections("cust-b", 1, token)


def test_tenant_isolation_same_collection_id(store: Any) -> None:
    # Given two customers with the same collection id, each with one image
    store.create_collection("cust-a", K, "m")
    store.create_collection("cust-b", K, "m")
    a = make_faces("cust-a", K, "img", 1, seed=1)
    b = make_faces("cust-b", K, "img", 2, seed=2)
    store.put_faces("cust-a", K, a)
    store.put_faces("cust-b", K, b)
    # Then each sees only its own
    assert [f.face_id for f in store.list_faces("cust-a", K, 10, None)[0]] == [a[0].face_id]
    assert store.get_collection("cust-a", K).face_count == 1
    assert store.get_face("cust-a", K, b[0].face_id) is None
    deleted, failed = store.delete_faces("cust-a", K, [b[0].face_id])
    assert deleted == [] and failed == [(b[0].face_id, FACE_NOT_FOUND)]
    assert store.get_collection("cust-b", K).face_count == 2
    assert store.list_collections("cust-c", 10, None) == ([], None)
    with pytest.raises(CollectionNotFound):
        store.put_faces("cust-c", K, make_faces("cust-c", K, "img", 1))


def test_delete_collection_removes_everything(coll: Any) -> None:
    # Given faces, a user, an association and an image status
    faces = make_faces(C, K, "img", 2)
    coll.put_faces(C, K, faces)
    coll.put_image_status(ImageStatus(C, K, "img", "INDEXED", face_ids=tuple(f.face_id for f in faces)))
    coll.create_user(C, K, "u1")
    coll.associate_faces(C, K, "u1", [faces[0].face_id])
    # When
    coll.delete_collection(C, K)
    # Then nothing is left, and a re-created collection starts empty
    assert coll.get_collection(C, K) is None
    coll.create_collection(C, K, "m")
    assert coll.list_faces(C, K, 10, None) == ([], None)
    assert coll.get_image_status(C, K, "img") is None
    assert coll.get_user(C, K, "u1") is None
    assert coll.faces_of_image(C, K, "img") == []
    assert coll.get_collection(C, K).face_count == 0
    with pytest.raises(CollectionNotFound):
        coll.delete_collection(C, "nope")


# ------------------------------------------------------------------ faces
def test_put_faces_roundtrip_keeps_embedding_bits(coll: Any) -> None:
    faces = make_faces(C, K, "img-1", 2)
    assert coll.put_faces(C, K, faces) == [f.face_id for f in faces]
    got = coll.get_face(C, K, faces[0].face_id)
    assert got.embedding.dtype == np.float32
    assert np.array_equal(got.embedding, faces[0].embedding)
    assert (got.box, got.landmarks, got.quality) == (faces[0].box, faces[0].landmarks, faces[0].quality)
    assert (got.image_id, got.external_image_id, got.user_id) == ("img-1", "ext", None)
    assert sorted(f.face_id for f in coll.faces_of_image(C, K, "img-1")) == sorted(f.face_id for f in faces)


def test_put_faces_three_deliveries_give_one_set(coll: Any) -> None:
    faces = make_faces(C, K, "img", 3)
    results = [coll.put_faces(C, K, faces) for _ in range(3)]
    assert results[0] == [f.face_id for f in faces] and results[1] == [] and results[2] == []
    meta = coll.get_collection(C, K)
    assert meta.face_count == 3 and meta.version == (1 if _versioned(coll) else 0)
    assert len(coll.list_faces(C, K, 100, None)[0]) == 3


def test_put_faces_partial_redelivery_creates_only_new(coll: Any) -> None:
    faces = make_faces(C, K, "img", 3)
    coll.put_faces(C, K, faces[:1])
    assert coll.put_faces(C, K, faces) == [f.face_id for f in faces[1:]]
    assert coll.get_collection(C, K).face_count == 3


def test_concurrent_deliveries_give_one_set_and_exact_count(coll: Any) -> None:
    # Given the same event delivered by four workers at once, and another image meanwhile
    faces = make_faces(C, K, "img", 4)
    other = make_faces(C, K, "other", 2, seed=9)
    results: list[list[str]] = []
    barrier = threading.Barrier(5)

    def deliver(batch: Any) -> None:
        barrier.wait()
        results.append(coll.put_faces(C, K, batch))

    threads = [threading.Thread(target=deliver, args=(faces,)) for _ in range(4)]
    threads.append(threading.Thread(target=deliver, args=(other,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then the faces exist once and the count is exact
    created = sorted(i for r in results for i in r)
    assert created == sorted(f.face_id for f in faces + other)
    assert coll.get_collection(C, K).face_count == 6
    assert len(coll.list_faces(C, K, 100, None)[0]) == 6


def test_many_faces_split_into_transactions(coll: Any) -> None:
    faces = make_faces(C, K, "crowd", 130)
    assert len(coll.put_faces(C, K, faces)) == 130
    meta = coll.get_collection(C, K)
    assert meta.face_count == 130
    assert len(coll.faces_of_image(C, K, "crowd")) == 130


def test_list_faces_pagination(coll: Any) -> None:
    faces = make_faces(C, K, "img", 7)
    coll.put_faces(C, K, faces)
    seen, token = [], None
    while True:
        page, token = coll.list_faces(C, K, 3, token)
        seen += [f.face_id for f in page]
        if token is None:
            break
    assert seen == sorted(f.face_id for f in faces)
    with pytest.raises(InvalidToken):
        coll.list_users(C, K, 3, coll.list_faces(C, K, 3, None)[1])


def test_delete_faces_reasons_and_exact_counts(coll: Any) -> None:
    faces = make_faces(C, K, "img", 3)
    coll.put_faces(C, K, faces)
    coll.create_user(C, K, "u1")
    coll.associate_faces(C, K, "u1", [faces[2].face_id])
    # When deleting one free face, one associated face and an unknown id
    deleted, failed = coll.delete_faces(C, K, [faces[0].face_id, faces[2].face_id, "missing-id"])
    # Then
    assert deleted == [faces[0].face_id]
    assert failed == [(faces[2].face_id, ASSOCIATED_TO_AN_EXISTING_USER), ("missing-id", FACE_NOT_FOUND)]
    assert coll.get_collection(C, K).face_count == 2
    assert coll.get_face(C, K, faces[0].face_id) is None
    # and deleting again is FACE_NOT_FOUND, count unchanged
    assert coll.delete_faces(C, K, [faces[0].face_id]) == ([], [(faces[0].face_id, FACE_NOT_FOUND)])
    assert coll.get_collection(C, K).face_count == 2


# ------------------------------------------------------------------ images and ordering
def test_image_status_roundtrip_and_ordering(coll: Any) -> None:
    newer = ImageStatus(C, K, "img", "INDEXED", face_ids=("f1",), external_image_id="e", version_id="v2",
                        sequencer="0A1B", unindexed=({"reason": "LOW_QUALITY", "box": {"left": 1.5}},))
    assert coll.put_image_status(newer) is True
    got = coll.get_image_status(C, K, "img")
    assert (got.status, got.face_ids, got.sequencer, got.unindexed) == (
        "INDEXED", ("f1",), "0A1B", ({"reason": "LOW_QUALITY", "box": {"left": 1.5}},))
    # an older event (shorter hex, smaller once padded) does not overwrite
    older = ImageStatus(C, K, "img", "NO_FACES", sequencer="FF")
    assert coll.put_image_status(older) is False
    assert coll.get_image_status(C, K, "img").status == "INDEXED"
    # unless asked
    assert coll.put_image_status(older, only_if_newer=False) is True
    assert coll.get_image_status(C, K, "img").status == "NO_FACES"


def test_status_for_missing_collection_is_recorded(store: Any) -> None:
    status = ImageStatus(C, "ghost", "img", "REJECTED_COLLECTION", reason_code="COLLECTION_NOT_FOUND")
    assert store.put_image_status(status) is True
    assert store.get_image_status(C, "ghost", "img").reason_code == "COLLECTION_NOT_FOUND"
    assert store.get_collection(C, "ghost") is None


def test_delete_image_removes_faces_status_and_associations(coll: Any) -> None:
    faces = make_faces(C, K, "img", 2)
    keep = make_faces(C, K, "keep", 1, seed=3)
    coll.put_faces(C, K, faces + keep, )
    coll.put_image_status(ImageStatus(C, K, "img", "INDEXED", sequencer="10"))
    coll.create_user(C, K, "u1")
    coll.associate_faces(C, K, "u1", [faces[0].face_id, keep[0].face_id])
    # When the object is removed
    deleted = coll.delete_image(C, K, "img", sequencer="20")
    # Then its faces (associated or not) and its status are gone, the rest stays
    assert sorted(deleted) == sorted(f.face_id for f in faces)
    assert coll.get_image_status(C, K, "img") is None
    assert coll.faces_of_image(C, K, "img") == []
    assert coll.get_collection(C, K).face_count == 1
    assert coll.get_user(C, K, "u1").face_ids == (keep[0].face_id,)
    # and a redelivered remove is harmless
    assert coll.delete_image(C, K, "img", sequencer="20") == []


def test_late_create_after_delete_cannot_resurrect(coll: Any) -> None:
    # Given an image created (seq 10) then deleted (seq 30)
    faces = make_faces(C, K, "img", 2)
    coll.put_faces(C, K, faces, sequencer="10")
    coll.delete_image(C, K, "img", sequencer="30")
    # When the create event is redelivered late (seq 10), or an older create (seq 2F) arrives
    with pytest.raises(StaleEvent):
        coll.put_faces(C, K, faces, sequencer="10")
    with pytest.raises(StaleEvent):
        coll.put_faces(C, K, make_faces(C, K, "img", 1, version="v0"), sequencer="2F")
    assert coll.put_image_status(ImageStatus(C, K, "img", "INDEXED", sequencer="10")) is False
    # Then nothing came back
    assert coll.faces_of_image(C, K, "img") == []
    assert coll.get_image_status(C, K, "img") is None
    assert coll.get_collection(C, K).face_count == 0
    # but a newer create (seq 40) indexes again
    again = make_faces(C, K, "img", 1, version="v3")
    assert coll.put_faces(C, K, again, sequencer="40") == [again[0].face_id]


def test_stale_delete_does_not_remove_newer_faces(coll: Any) -> None:
    faces = make_faces(C, K, "img", 1, version="v2")
    coll.put_faces(C, K, faces, sequencer="50")
    assert coll.delete_image(C, K, "img", sequencer="40") == []
    assert len(coll.faces_of_image(C, K, "img")) == 1


def test_list_images_pages_statuses_and_skips_deleted_and_unprocessed(coll: Any) -> None:
    # Given three images with a status, one deleted and one whose faces were written before its status
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        coll.put_image_status(ImageStatus(C, K, name, "INDEXED", sequencer="10"))
    coll.delete_image(C, K, "b.jpg", sequencer="20")
    coll.put_faces(C, K, make_faces(C, K, "e.jpg", 1), sequencer="10")
    # When listed two at a time
    first, token = coll.list_images(C, K, 2, None)
    rest: list[Any] = []
    while token:
        page, token = coll.list_images(C, K, 2, token)
        rest.extend(page)
    # Then each image with a status is listed once, in id order; deleted and unprocessed ones are not
    assert [s.image_id for s in first + rest] == ["a.jpg", "c.jpg", "d.jpg"]
    assert all(s.status == "INDEXED" for s in first + rest)


def test_list_images_is_scoped_to_the_customer(coll: Any) -> None:
    coll.put_image_status(ImageStatus(C, K, "a.jpg", "INDEXED"))
    with pytest.raises(CollectionNotFound):
        coll.list_images("cust-b", K, 10, None)
    _, token = coll.list_images(C, K, 1, None)
    coll.create_collection("cust-b", K, "m")
    with pytest.raises(InvalidToken):
        coll.list_images("cust-b", K, 1, token or "x")


# ------------------------------------------------------------------ erasure stays erased
def test_faces_deleted_through_the_api_stay_deleted_when_their_event_is_replayed(coll: Any) -> None:
    # Given an image's three faces, two of them deleted (DELETE /faces)
    faces = make_faces(C, K, "img", 3)
    coll.put_faces(C, K, faces, sequencer="10")
    deleted, _ = coll.delete_faces(C, K, [faces[0].face_id, faces[1].face_id])
    assert len(deleted) == 2
    # When the image's create event is redelivered, duplicated or arrives late (with or without sequencer)
    for sequencer in ("10", "10", None, "0F"):
        try:
            assert coll.put_faces(C, K, faces, sequencer=sequencer) == []
        except StaleEvent:
            pass
    # Then the deleted faces never come back and the count stays exact
    assert [f.face_id for f in coll.faces_of_image(C, K, "img")] == [faces[2].face_id]
    assert coll.get_face(C, K, faces[0].face_id) is None
    assert coll.get_collection(C, K).face_count == 1


def test_faces_of_an_image_removed_from_the_bucket_stay_deleted_without_a_sequencer(coll: Any) -> None:
    # Given an image removed from the bucket by an event that carries no sequencer
    faces = make_faces(C, K, "img", 2)
    coll.put_faces(C, K, faces)
    assert sorted(coll.delete_image(C, K, "img", sequencer=None)) == sorted(f.face_id for f in faces)
    # When its create event is replayed (nothing to order it by)
    assert coll.put_faces(C, K, faces) == []
    # Then nothing came back; a new upload of the key (a new version, new face ids) indexes as usual
    assert coll.faces_of_image(C, K, "img") == [] and coll.get_collection(C, K).face_count == 0
    again = make_faces(C, K, "img", 1, version="v2")
    assert coll.put_faces(C, K, again) == [again[0].face_id]


def test_a_recreated_collection_never_receives_the_old_ones_faces_or_statuses(coll: Any) -> None:
    # Given a collection deleted and re-created under the same id
    old = coll.get_collection(C, K).generation
    coll.delete_collection(C, K)
    coll.create_collection(C, K, "sface-1")
    new = coll.get_collection(C, K).generation
    assert old and new and old != new
    # When an event of the old collection is replayed
    faces = make_faces(C, K, "img", 2)
    with pytest.raises(CollectionNotFound):
        coll.put_faces(C, K, faces, sequencer="10", generation=old)
    assert coll.put_image_status(ImageStatus(C, K, "img", "INDEXED", sequencer="10"), generation=old) is False
    # Then the new collection has nothing of it; its own events index as usual
    assert coll.get_collection(C, K).face_count == 0 and coll.get_image_status(C, K, "img") is None
    assert coll.put_faces(C, K, faces, sequencer="10", generation=new) == [f.face_id for f in faces]
    assert coll.put_image_status(ImageStatus(C, K, "img", "INDEXED", sequencer="10"), generation=new) is True


def test_a_deleted_user_is_not_brought_back_by_replayed_events(coll: Any) -> None:
    # Given a user with a face, then deleted (its faces stay, unassociated)
    faces = make_faces(C, K, "img", 2)
    coll.put_faces(C, K, faces, sequencer="10")
    coll.create_user(C, K, "u1")
    coll.associate_faces(C, K, "u1", [faces[0].face_id])
    coll.delete_user(C, K, "u1")
    # When the image's create event is replayed
    assert coll.put_faces(C, K, faces, sequencer="10") == []
    # Then the user stays deleted and no association reappears
    assert coll.get_user(C, K, "u1") is None
    assert all(f.user_id is None for f in coll.faces_of_image(C, K, "img"))
    assert coll.get_collection(C, K).user_count == 0


def test_the_tombstone_check_is_inside_the_write_transaction(store: Any) -> None:
    """A face deleted between the store's tombstone read and its write is still refused (DynamoDB)."""
    if not hasattr(store, "_batch_get"):
        pytest.skip("the in-memory store is atomic under one lock")
    store.create_collection(C, K, "sface-1")
    faces = make_faces(C, K, "img", 2)
    store.put_faces(C, K, faces)
    store.delete_faces(C, K, [faces[0].face_id])
    real = store._batch_get
    # Given a read that misses the tombstones (the delete lands right after it)
    store._batch_get = lambda pk, sks: {} if all(k.startswith("ERASED#") for k in sks) else real(pk, sks)
    # When the replayed event writes
    assert store.put_faces(C, K, faces) == []
    # Then the ConditionCheck in the transaction refused the deleted face
    assert store.get_face(C, K, faces[0].face_id) is None and store.get_collection(C, K).face_count == 1


def test_delete_image_of_missing_collection_is_a_noop(store: Any) -> None:
    assert store.delete_image(C, "nope", "img", sequencer="01") == []


# ------------------------------------------------------------------ users
def test_users_create_list_delete(coll: Any) -> None:
    for u in ("u2", "u1", "u3"):
        coll.create_user(C, K, u)
    with pytest.raises(UserExists):
        coll.create_user(C, K, "u1")
    page, token = coll.list_users(C, K, 2, None)
    assert [u.user_id for u in page] == ["u1", "u2"]
    assert [u.user_id for u in coll.list_users(C, K, 2, token)[0]] == ["u3"]
    assert coll.get_collection(C, K).user_count == 3
    coll.delete_user(C, K, "u2")
    assert coll.get_collection(C, K).user_count == 2
    with pytest.raises(UserNotFound):
        coll.delete_user(C, K, "u2")
    with pytest.raises(CollectionNotFound):
        coll.create_user(C, "nope", "u1")


def test_associate_and_disassociate_reasons(coll: Any) -> None:
    faces = make_faces(C, K, "img", 3)
    coll.put_faces(C, K, faces)
    coll.create_user(C, K, "u1")
    coll.create_user(C, K, "u2")
    f0, f1, f2 = (f.face_id for f in faces)
    assert coll.associate_faces(C, K, "u1", [f0, f1]) == ([f0, f1], [])
    # again: idempotent; f1 belongs to u1 so u2 cannot take it
    assert coll.associate_faces(C, K, "u1", [f0]) == ([f0], [])
    assert coll.associate_faces(C, K, "u2", [f1, f2, "nope"]) == (
        [f2], [(f1, ASSOCIATED_TO_A_DIFFERENT_USER), ("nope", FACE_NOT_FOUND)])
    assert coll.get_face(C, K, f1).user_id == "u1"
    assert sorted(coll.get_user(C, K, "u1").face_ids) == sorted([f0, f1])
    assert coll.disassociate_faces(C, K, "u1", [f1, f2, "nope"]) == (
        [f1], [(f2, ASSOCIATED_TO_A_DIFFERENT_USER), ("nope", FACE_NOT_FOUND)])
    assert coll.get_face(C, K, f1).user_id is None
    # deleting a user frees its faces, which stay in the collection
    coll.delete_user(C, K, "u2")
    assert coll.get_face(C, K, f2).user_id is None
    assert coll.get_collection(C, K).face_count == 3
    with pytest.raises(UserNotFound):
        coll.associate_faces(C, K, "ghost", [f0])


def test_user_face_limit_is_100(coll: Any) -> None:
    faces = make_faces(C, K, "crowd", 101)
    coll.put_faces(C, K, faces)
    coll.create_user(C, K, "u1")
    ids = [f.face_id for f in faces]
    assert len(coll.associate_faces(C, K, "u1", ids[:60])[0]) == 60
    assert len(coll.associate_faces(C, K, "u1", ids[60:100])[0]) == 40
    with pytest.raises(UserFaceLimitExceeded):
        coll.associate_faces(C, K, "u1", ids[100:])
    assert len(coll.get_user(C, K, "u1").face_ids) == 100
    assert coll.get_face(C, K, ids[100]).user_id is None


# ------------------------------------------------------------------ change log
def test_changes_since_gives_the_net_delta(coll: Any) -> None:
    if not _versioned(coll):
        coll.put_faces(C, K, make_faces(C, K, "a", 2))
        with pytest.raises(ChangeLogCompacted):  # no log is kept: the exact engine cannot serve it
            coll.changes_since(C, K, 0)
        return
    a = make_faces(C, K, "a", 2)
    b = make_faces(C, K, "b", 1, seed=5)
    coll.put_faces(C, K, a)  # v1
    v1 = coll.get_collection(C, K).version
    coll.put_faces(C, K, b)  # v2
    coll.delete_faces(C, K, [a[0].face_id])  # v3
    coll.create_user(C, K, "u1")
    coll.associate_faces(C, K, "u1", [b[0].face_id])  # v4
    delta = coll.changes_since(C, K, v1)
    assert delta.version == coll.get_collection(C, K).version == 4
    assert [f.face_id for f in delta.added] == [b[0].face_id]
    assert delta.added[0].user_id == "u1"
    assert delta.removed_ids == [a[0].face_id]
    full = coll.changes_since(C, K, 0)
    assert sorted(f.face_id for f in full.added) == sorted([a[1].face_id, b[0].face_id])
    assert coll.changes_since(C, K, 4).added == []


def test_snapshot_marks_and_compaction(coll: Any) -> None:
    if not _versioned(coll):
        pytest.skip("a sharded collection keeps no change log, so no snapshot marks")
    for i in range(4):
        coll.put_faces(C, K, make_faces(C, K, f"img{i}", 1, seed=i))
    assert coll.set_snapshot(C, K, 2) is True
    assert coll.set_snapshot(C, K, 2) is False
    assert coll.set_snapshot(C, K, 9) is False  # beyond the collection's version
    assert coll.set_snapshot(C, K, 3) is True
    meta = coll.get_collection(C, K)
    assert (meta.snapshot_version, meta.log_floor) == (3, 2)
    assert coll.compact_changes(C, K) == 2
    with pytest.raises(ChangeLogCompacted):
        coll.changes_since(C, K, 1)
    assert len(coll.changes_since(C, K, 2).added) == 2


# ------------------------------------------------------------------ erasure
def _stock(store: Any, customer: str) -> None:
    """Two collections with faces, a user and statuses, plus a status recorded for a missing collection."""
    for collection in ("k1", "k2"):
        store.create_collection(customer, collection, "m")
        faces = make_faces(customer, collection, "img1", n=3)
        store.put_faces(customer, collection, faces)
        store.put_image_status(ImageStatus(customer, collection, "img1", "INDEXED",
                                           face_ids=tuple(f.face_id for f in faces)))
        store.create_user(customer, collection, "u1")
    store.put_image_status(ImageStatus(customer, "gone", "img9", "NO_FACES"))


def test_purge_customer_removes_everything_of_one_customer_only(store: Any) -> None:
    # Given two customers with collections, faces, users and statuses (one orphaned)
    _stock(store, "cust-x")
    _stock(store, "cust-y")
    # When one customer is purged, page by page
    totals: dict[str, int] = {}
    cursor: str | None = None
    for _ in range(100):
        counts, cursor = store.purge_customer("cust-x", cursor=cursor, max_items=5)
        for kind, n in counts.items():
            totals[kind] = totals.get(kind, 0) + n
        if cursor is None:
            break
    # Then nothing of it is left, and the counts say what went
    assert cursor is None
    assert (totals["collections"], totals["faces"], totals["users"], totals["images"]) == (2, 6, 2, 3)
    assert store.list_collections("cust-x", 10, None) == ([], None)
    assert store.get_image_status("cust-x", "gone", "img9") is None
    assert store.get_image_status("cust-x", "k1", "img1") is None
    # And the other customer is untouched
    assert [c.collection_id for c in store.list_collections("cust-y", 10, None)[0]] == ["k1", "k2"]
    assert store.get_collection("cust-y", "k1").face_count == 3
    assert store.get_image_status("cust-y", "gone", "img9") is not None
    # And purging again finds nothing (idempotent)
    again, done = store.purge_customer("cust-x")
    assert done is None and sum(again.values()) == 0


def test_purge_customer_finds_what_an_interrupted_collection_delete_left(moto_dynamodb: Any) -> None:
    # Given (DynamoDB only: the fake deletes atomically) a collection whose item is gone but whose faces
    # remain, as a delete_collection cut short leaves it
    from facestore import DynamoDBFaceStore
    from tests.unit.store.conftest import TABLE

    store = DynamoDBFaceStore(moto_dynamodb, TABLE, sleep=lambda _s: None)
    _stock(store, "cust-x")
    store._call("delete_item", Key={"pk": {"S": "CUST#cust-x"}, "sk": {"S": "COLL#k1"}})
    assert [c.collection_id for c in store.list_collections("cust-x", 10, None)[0]] == ["k2"]
    # When the customer is purged, Then the orphaned faces go too
    counts, _ = store.purge_customer("cust-x")
    assert counts["faces"] == 6 and counts["collections"] == 1
