"""Compressed scan: 4-bit codes + onnxruntime scan + fp32 re-rank give exactly the fp32 scan's answers."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from facestore import InMemoryFaceStore, InMemorySnapshotStore, VectorIndex, snapshots
from facestore.scan import BITS, BLOCK, CompressedScan, dequantize, exact_top, quantize, scan_model
from facestore.snapshots import MetaColumns, Snapshot, decode, encode
from tests.unit.store.store_helpers import make_faces, unit_vectors

C, K = "cust-a", "coll-1"


def fp32_top(matrix: np.ndarray, q: np.ndarray, k: int, min_cosine: float,
             dead: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    scores = matrix @ q
    if dead is not None:
        scores[dead] = -np.inf
    rows = np.flatnonzero(scores >= min_cosine)
    rows = rows[np.argsort(-scores[rows], kind="stable")][:k]
    return rows, scores[rows]


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, np.ndarray]:
    """5000 random unit vectors, 40 of them near-duplicates (cosine ~0.95-0.999) of 10 others."""
    rng = np.random.default_rng(11)
    matrix = unit_vectors(5000, 3)
    for i in range(40):
        source = matrix[i % 10]
        noisy = source + rng.normal(scale=0.02 + 0.01 * (i % 4), size=128).astype(np.float32)
        matrix[100 + i] = noisy / np.linalg.norm(noisy)
    return matrix, rng.normal(size=(60, 128)).astype(np.float32)


def test_the_hand_written_model_is_valid_onnx() -> None:
    model = onnx.load_from_string(scan_model(1000, 128))
    node = model.graph.node[0]
    assert (node.op_type, node.domain) == ("MatMulNBits", "com.microsoft")
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs == {"K": 128, "N": 1000, "bits": BITS, "block_size": BLOCK, "accuracy_level": 0}
    assert [i.name for i in model.graph.initializer] == ["codes", "scales"]
    assert list(model.graph.initializer[0].dims) == [1000, 128 // BLOCK, BLOCK // 2]


def test_residuals_bound_the_reconstruction_error(planted) -> None:
    matrix, _ = planted
    codes = quantize(matrix)
    error = np.linalg.norm(matrix.astype(np.float64) - dequantize(codes), axis=1)
    assert np.all(error <= codes.residuals) and codes.packed.nbytes == len(matrix) * 64


@pytest.mark.parametrize("min_cosine", [-1.0, 0.0, 0.363, 0.9])
def test_exact_top_equals_the_fp32_scan(planted, min_cosine: float) -> None:
    # Given the compressed scan of vectors with planted near-duplicates, some rows deleted
    matrix, noise = planted
    scan = CompressedScan(quantize(matrix))
    dead = np.zeros(len(matrix), dtype=bool)
    dead[[3, 104, 4000]] = True
    queries = [matrix[i] for i in (0, 1, 5, 9, 100, 2500)] + [n / np.linalg.norm(n) for n in noise[:20]]
    for q in queries:
        for k in (1, 10):
            # When searched for the top k above the threshold
            rows, scores = exact_top(scan, matrix, q.astype(np.float32), k, min_cosine, dead)
            want_rows, want_scores = fp32_top(matrix, q, k, min_cosine, dead)
            # Then the rows and cosines are the fp32 scan's
            assert rows.tolist() == want_rows.tolist()
            np.testing.assert_allclose(scores, want_scores, atol=1e-6)


def test_index_uses_the_scan_and_matches_fp32_with_deletes_and_a_tail() -> None:
    # Given a collection whose snapshot is searched by the compressed scan (threshold lowered for the test)
    store, snaps = InMemoryFaceStore(), InMemorySnapshotStore()
    store.create_collection(C, K, "sface-1")
    faces = make_faces(C, K, "a.jpg", 300, seed=5)
    store.put_faces(C, K, faces)
    index = VectorIndex(store, snaps, scan_min_rows=100)
    assert index.maybe_snapshot(C, K, force=True)
    store.delete_faces(C, K, [faces[7].face_id])  # a dead base row
    store.put_faces(C, K, make_faces(C, K, "b.jpg", 5, seed=6))  # a tail
    live = {f.face_id: f.embedding for f in store.list_faces(C, K, 4096, None)[0]}
    for q in (faces[7].embedding, faces[8].embedding, unit_vectors(1, 9)[0]):
        # When searched
        hits = index.search(C, K, np.asarray(q, np.float32), max_faces=10, min_cosine=-1.0)
        # Then the results are the brute-force fp32 ones, and the deleted face is absent
        want = sorted(((float(np.asarray(v) @ q), fid) for fid, v in live.items()), reverse=True)[:10]
        assert [h[0] for h in hits] == [fid for _, fid in want]
        np.testing.assert_allclose([h[1] for h in hits], [s for s, _ in want], atol=1e-6)
    assert index._cache[(C, K)].scan is not None


def test_large_snapshots_carry_their_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshots, "MIN_ROWS", 50)
    matrix = unit_vectors(64, 2)
    ids = np.array([f"f{i}".encode() for i in range(64)])
    back = decode(encode(Snapshot(3, ids, matrix, _meta(64))))
    assert back.codes is not None
    np.testing.assert_array_equal(back.codes.packed, quantize(matrix).packed)
    small = decode(encode(Snapshot(3, ids[:10], matrix[:10], _meta(10))))
    assert small.codes is None


def _meta(n: int) -> MetaColumns:
    from facestore import FaceMeta

    return MetaColumns.of([FaceMeta(f"f{i}", "img", None, {}, None) for i in range(n)])
