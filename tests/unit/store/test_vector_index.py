"""VectorIndex over the in-memory store and snapshot store: exact results, freshness, snapshots."""

from __future__ import annotations

import numpy as np
import pytest

from facestore import CollectionNotFound, InMemoryFaceStore, InMemorySnapshotStore, VectorIndex
from facestore.snapshots import MetaColumns, Snapshot, decode, encode
from tests.unit.store.store_helpers import make_faces, unit_vectors

C, K = "cust-a", "coll-1"


@pytest.fixture
def world() -> tuple[InMemoryFaceStore, InMemorySnapshotStore, VectorIndex]:
    store = InMemoryFaceStore()
    store.create_collection(C, K, "sface-1")
    snaps = InMemorySnapshotStore()
    return store, snaps, VectorIndex(store, snaps, snapshot_min=5)


def brute_force(store: InMemoryFaceStore, q: np.ndarray, k: int) -> list[str]:
    faces = store.list_faces(C, K, 4096, None)[0]
    scored = sorted(((float(f.embedding @ q), f.face_id) for f in faces), reverse=True)
    return [fid for _, fid in scored[:k]]


def test_indexed_face_is_found_by_the_next_search(world) -> None:
    store, _, index = world
    store.put_faces(C, K, make_faces(C, K, "a", 3, seed=1))
    assert len(index.search(C, K, unit_vectors(1, 7)[0], max_faces=10, min_cosine=-1.0)) == 3
    # Given a warm index, when a face is indexed
    new = make_faces(C, K, "b", 1, seed=2)
    store.put_faces(C, K, new)
    # Then the next search finds it as the best match of its own embedding
    hits = index.search(C, K, new[0].embedding, max_faces=1, min_cosine=0.5)
    assert hits[0][0] == new[0].face_id and hits[0][1] == pytest.approx(1.0, abs=1e-5)


def test_results_equal_brute_force_sorted_and_thresholded(world) -> None:
    store, _, index = world
    for i in range(5):
        store.put_faces(C, K, make_faces(C, K, f"img{i}", 20, seed=i))
    q = unit_vectors(1, 99)[0]
    hits = index.search(C, K, q, max_faces=7, min_cosine=-1.0)
    assert [h[0] for h in hits] == brute_force(store, q, 7)
    assert [h[1] for h in hits] == sorted((h[1] for h in hits), reverse=True)
    above = index.search(C, K, q, max_faces=100, min_cosine=0.1)
    assert all(s >= 0.1 for _, s in above)
    assert len(above) == sum(1 for f in store.list_faces(C, K, 4096, None)[0] if f.embedding @ q >= 0.1)


def test_deleted_face_is_never_returned(world) -> None:
    store, _, index = world
    faces = make_faces(C, K, "a", 4, seed=3)
    store.put_faces(C, K, faces)
    index.maybe_snapshot(C, K, force=True)  # some faces in the base segment
    extra = make_faces(C, K, "b", 2, seed=4)
    store.put_faces(C, K, extra)  # some in the tail
    index.search(C, K, faces[0].embedding, max_faces=10, min_cosine=-1.0)
    # When one base face and one tail face are deleted (one directly, one by image removal)
    store.delete_faces(C, K, [faces[0].face_id])
    store.delete_image(C, K, "b", sequencer=None)
    # Then neither comes back, even when searched with its own embedding
    for gone in (faces[0], extra[0], extra[1]):
        ids = [h[0] for h in index.search(C, K, gone.embedding, max_faces=10, min_cosine=-1.0)]
        assert gone.face_id not in ids
        assert len(ids) == 3


def test_face_meta_comes_from_memory_and_follows_user_association(world) -> None:
    store, _, index = world
    faces = make_faces(C, K, "img", 2, seed=5, external="ext-1")
    store.put_faces(C, K, faces)
    hits = index.search(C, K, faces[1].embedding, max_faces=1, min_cosine=0.0)
    meta = index.face_meta(C, K, hits[0][0])
    assert (meta.image_id, meta.external_image_id, meta.user_id) == ("img", "ext-1", None)
    assert meta.box == faces[1].box
    store.create_user(C, K, "u1")
    store.associate_faces(C, K, "u1", [faces[1].face_id])
    hits = index.search(C, K, faces[1].embedding, max_faces=1, min_cosine=0.0)
    assert index.face_meta(C, K, hits[0][0]).user_id == "u1"
    assert index.face_meta(C, K, "missing") is None


def test_cold_load_from_snapshot_equals_warm_result(world) -> None:
    store, snaps, warm = world
    for i in range(4):
        store.put_faces(C, K, make_faces(C, K, f"img{i}", 25, seed=10 + i))
    assert warm.maybe_snapshot(C, K, force=True)
    store.put_faces(C, K, make_faces(C, K, "late", 3, seed=20))  # after the snapshot
    store.delete_faces(C, K, [store.list_faces(C, K, 1, None)[0][0].face_id])
    q = unit_vectors(1, 42)[0]
    expected = warm.search(C, K, q, max_faces=15, min_cosine=-1.0)
    # When a new container (cold index) searches
    cold = VectorIndex(store, snaps)
    loads_before = snaps.loads
    got = cold.search(C, K, q, max_faces=15, min_cosine=-1.0)
    # Then it read the snapshot once and returns the same results
    assert snaps.loads == loads_before + 1
    assert [h[0] for h in got] == [h[0] for h in expected]
    assert np.allclose([h[1] for h in got], [h[1] for h in expected])


def test_snapshot_compacts_the_change_log_and_old_snapshots(world) -> None:
    store, snaps, index = world
    for i in range(6):
        store.put_faces(C, K, make_faces(C, K, f"a{i}", 1, seed=i))
    assert index.maybe_snapshot(C, K)  # 6 versions >= snapshot_min and > 10% of 6 faces
    assert store.get_collection(C, K).snapshot_version == 6
    assert index.maybe_snapshot(C, K) is False  # nothing new
    for i in range(6):
        store.put_faces(C, K, make_faces(C, K, f"b{i}", 1, seed=50 + i))
    assert index.maybe_snapshot(C, K)
    meta = store.get_collection(C, K)
    assert (meta.snapshot_version, meta.log_floor) == (12, 6)
    assert store.changes_since(C, K, 6).version == 12
    for i in range(6):
        store.put_faces(C, K, make_faces(C, K, f"c{i}", 1, seed=80 + i))
    assert index.maybe_snapshot(C, K)
    # then the log below the floor is gone, and only the two newest snapshots are kept
    assert sorted(k[2] for k in snaps.objects) == [12, 18]
    cold = VectorIndex(store, snaps)
    assert len(cold.search(C, K, unit_vectors(1, 1)[0], max_faces=100, min_cosine=-1.0)) == 18


def test_stale_warm_index_reloads_after_compaction(world) -> None:
    store, snaps, index = world
    store.put_faces(C, K, make_faces(C, K, "a", 1, seed=1))
    other = VectorIndex(store, snaps, snapshot_min=1)
    index.search(C, K, unit_vectors(1)[0], max_faces=5, min_cosine=-1.0)  # warm at v1
    for i in range(3):  # another container snapshots three times: the log below v3 is compacted
        store.put_faces(C, K, make_faces(C, K, f"x{i}", 1, seed=30 + i))
        assert other.maybe_snapshot(C, K, force=True)
    assert len(index.search(C, K, unit_vectors(1)[0], max_faces=10, min_cosine=-1.0)) == 4


def test_deleted_and_recreated_collection(world) -> None:
    store, _, index = world
    old = make_faces(C, K, "a", 2, seed=1)
    store.put_faces(C, K, old)
    index.search(C, K, old[0].embedding, max_faces=5, min_cosine=-1.0)
    store.delete_collection(C, K)
    index.drop(C, K)
    with pytest.raises(CollectionNotFound):
        index.search(C, K, old[0].embedding, max_faces=5, min_cosine=-1.0)
    store.create_collection(C, K, "m")
    assert index.search(C, K, old[0].embedding, max_faces=5, min_cosine=-1.0) == []


def test_lru_budget_evicts_least_recently_used(world) -> None:
    store, snaps, _ = world
    index = VectorIndex(store, snaps, cache_mb=0)
    store.create_collection(C, "other", "m")
    store.put_faces(C, K, make_faces(C, K, "a", 2))
    store.put_faces(C, "other", make_faces(C, "other", "a", 2))
    index.search(C, K, unit_vectors(1)[0], max_faces=1, min_cosine=-1.0)
    index.search(C, "other", unit_vectors(1)[0], max_faces=1, min_cosine=-1.0)
    assert list(index._cache) == [(C, "other")]


def test_query_validation(world) -> None:
    _, _, index = world
    with pytest.raises(ValueError):
        index.search(C, K, np.zeros(64, np.float32), max_faces=1, min_cosine=0.0)
    with pytest.raises(ValueError):
        index.search(C, K, unit_vectors(1)[0], max_faces=0, min_cosine=0.0)


def test_snapshot_codec_roundtrip() -> None:
    from facestore import FaceMeta

    metas = [FaceMeta("f1", "img/é#1", None, {"left": 1.5, "top": 2.0, "width": 3.0, "height": 4.0}, "u"),
             FaceMeta("f2", "img2", "ext", {"left": 0.0, "top": 0.0, "width": 1.0, "height": 1.0}, None)]
    snap = Snapshot(7, np.array([b"f1", b"f2"]), unit_vectors(2), MetaColumns.of(metas))
    back = decode(encode(snap))
    assert back.version == 7 and list(back.ids) == [b"f1", b"f2"]
    assert np.array_equal(back.matrix, snap.matrix)
    assert back.meta.meta(0, "f1") == metas[0] and back.meta.meta(1, "f2") == metas[1]
    with pytest.raises(ValueError):
        decode(b"garbage")


def test_snapshots_keep_the_matrix_dimension_major_for_fast_scans(world) -> None:
    # Given faces indexed and a snapshot written (compacted base) and read back (cold load)
    store, snaps, index = world
    store.put_faces(C, K, make_faces(C, K, "group.jpg", 12))
    assert index.maybe_snapshot(C, K, force=True)
    snap = decode(snaps.objects[max(snaps.objects)])
    # Then the (n x dim) matrix is a view of a C-contiguous (dim x n) array, whose scan BLAS streams
    assert snap.matrix.shape == (12, 128) and snap.matrix.T.flags["C_CONTIGUOUS"]
    assert snap.matrix.base is not None  # a view of the object's bytes, not a copy
    # and the warm state after compaction has the same layout
    fresh = VectorIndex(store, snaps)
    q = snap.matrix[3].copy()
    assert fresh.search(C, K, q, max_faces=1, min_cosine=-1.0)[0][0] == snap.ids[3].decode()


def test_sync_then_search_synced_uses_the_state_of_the_sync(world) -> None:
    # Given a collection synced at the start of a request
    store, _, index = world
    first = make_faces(C, K, "a.jpg", 1, seed=1)
    store.put_faces(C, K, first)
    index.sync(C, K)
    # When a face is indexed while the request embeds its query
    later = make_faces(C, K, "b.jpg", 1, seed=2)
    store.put_faces(C, K, later)
    q = np.asarray(later[0].embedding)
    # Then the synced search answers from the request-start state; a plain search sees the new face
    assert later[0].face_id not in [f for f, _ in index.search(C, K, q, max_faces=5, min_cosine=-1.0, synced=True)]
    assert index.search(C, K, q, max_faces=1, min_cosine=-1.0)[0][0] == later[0].face_id
    with pytest.raises(CollectionNotFound):
        index.sync(C, "no-such-collection")


def test_a_search_with_another_face_model_is_refused(world) -> None:
    from facestore.errors import ModelVersionMismatch

    # Given a collection recorded with face model "sface-1"
    store, _, index = world
    store.put_faces(C, K, make_faces(C, K, "a.jpg", 2, seed=1))
    q = unit_vectors(1, 3)[0]
    # Then a query of the same model is answered and one of another model is refused, also after a sync
    assert index.search(C, K, q, max_faces=1, min_cosine=-1.0, model_version="sface-1")
    with pytest.raises(ModelVersionMismatch, match="sface-2"):
        index.search(C, K, q, max_faces=1, min_cosine=-1.0, model_version="sface-2")
    with pytest.raises(ModelVersionMismatch):
        index.sync(C, K, model_version="sface-2")
