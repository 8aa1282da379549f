"""Compressed scan: 4-bit codes + onnxruntime scan + fp32 re-rank give exactly the fp32 scan's answers."""

from __future__ import annotations

import threading

import numpy as np
import onnx
import pytest

from facestore import InMemoryFaceStore, InMemorySnapshotStore, VectorIndex, snapshots, vector_index
from facestore.rowfile import RowFile
from facestore.scan import (
    BITS,
    BLOCK,
    Codes,
    CompressedScan,
    dequantize,
    exact_top,
    fine_dequantize,
    int8_query,
    norm_max,
    quantize,
    scan_model,
)
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
    assert attrs == {"K": 128, "N": 1000, "bits": BITS, "block_size": BLOCK, "accuracy_level": 4}
    assert list(node.input) == ["query", "codes", "scales", "", "", "residuals"]  # the residuals are the bias
    assert [i.name for i in model.graph.initializer] == ["codes", "scales", "residuals"]
    assert list(model.graph.initializer[0].dims) == [1000, 128 // BLOCK, BLOCK // 2]
    assert list(model.graph.initializer[2].dims) == [1000]


def test_residuals_bound_the_reconstruction_error(planted) -> None:
    matrix, _ = planted
    codes = quantize(matrix)
    error = np.linalg.norm(matrix.astype(np.float64) - dequantize(codes), axis=1)
    assert np.all(error <= codes.residuals) and codes.packed.nbytes == len(matrix) * 64
    fine_error = np.linalg.norm(matrix.astype(np.float64) - fine_dequantize(codes), axis=1)
    assert np.all(fine_error <= codes.fine_residuals) and codes.fine.nbytes == len(matrix) * 128
    assert float(codes.fine_residuals.max()) < float(codes.residuals.min())  # the finer code is finer


def test_the_session_keeps_its_own_copy_of_the_codes(planted) -> None:
    # Given a scan built from codes that are then overwritten (the scan drops its reference to them)
    matrix, _ = planted
    codes = quantize(matrix)
    expected = CompressedScan(quantize(matrix)).scores(matrix[5])
    packed = codes.packed.copy()
    scan = CompressedScan(Codes(packed, codes.scales, codes.residuals, codes.fine, codes.fine_residuals))
    packed[:] = 0x88
    # Then its scores are unchanged, and it holds no 4-bit codes of its own
    np.testing.assert_array_equal(scan.scores(matrix[5]), expected)
    assert scan.codes.packed.size == 0 and scan.nbytes == len(matrix) * (64 + 32 + 4 + 16 + 4 + 128 + 4)


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
            rows, scores = exact_top(scan, matrix.__getitem__, q.astype(np.float32), k, min_cosine, dead)
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


def test_row_file_reads_back_rows_and_metadata(tmp_path) -> None:
    # Given rows (a dimension-major view, as snapshots hold them) and metadata with absent and unicode values
    from facestore import FaceMeta

    matrix = unit_vectors(300, 4)
    metas = [FaceMeta(f"f{i}", f"img-{i}.jpg", None if i % 3 else f"ext-é-{i}",
                      {"left": 0.25 * i, "top": 1.5, "width": 3.0, "height": 4.0}, "u" if i % 2 else None)
             for i in range(300)]
    meta = MetaColumns.of(metas)
    # When written to a local row file
    rows = RowFile.write(np.ascontiguousarray(matrix.T).T, meta, str(tmp_path))
    # Then it is unlinked at once, and reads give the same rows and metadata
    assert list(tmp_path.iterdir()) == []
    picked = np.array([299, 0, 17])
    np.testing.assert_array_equal(rows.rows(picked), matrix[picked])
    assert [rows.meta(i, f"f{i}") for i in (0, 3, 101, 299)] == [metas[i] for i in (0, 3, 101, 299)]
    np.testing.assert_array_equal(rows.matrix(), matrix)
    back = rows.meta_columns()
    assert [back.meta(i, f"f{i}") for i in range(300)] == [meta.meta(i, f"f{i}") for i in range(300)]
    assert rows.nbytes == 0
    rows.close()


def test_row_file_leaves_the_page_cache(tmp_path) -> None:
    # Given a written row file of 4 MiB
    matrix = unit_vectors(8192, 5)
    rows = RowFile.write(matrix, _meta(8192), str(tmp_path))
    # When rows are read
    rows.rows(np.arange(0, 8192, 97))
    # Then (on a file system that honours DONTNEED) almost none of the file stays in the page cache
    assert rows.cached_bytes() <= 16 * 4096


def _spilled_index(tmp_path, seed: int) -> tuple[InMemoryFaceStore, VectorIndex, list]:
    """300 faces in a snapshot, searched by the compressed scan, whose rows go to a local file."""
    store, snaps = InMemoryFaceStore(), InMemorySnapshotStore()
    store.create_collection(C, K, "sface-1")
    faces = make_faces(C, K, "a.jpg", 300, seed=seed)
    store.put_faces(C, K, faces)
    index = VectorIndex(store, snaps, scan_min_rows=100, spill_dir=str(tmp_path))
    assert index.maybe_snapshot(C, K, force=True)
    return store, index, faces


def test_index_spills_a_large_base_to_a_local_file(tmp_path) -> None:
    # Given a collection searched by the compressed scan, whose rows go to a local file
    store, index, faces = _spilled_index(tmp_path, seed=5)
    q = np.asarray(faces[8].embedding, np.float32)
    hits = index.search(C, K, q, max_faces=3, min_cosine=-1.0)
    index.wait_for_row_files()
    state = index._cache[(C, K)]
    # Then the fp32 rows left memory, and results and metadata are served from the file
    assert state.spill is not None and state.base.matrix.size == 0 and state.pending is None
    assert index.search(C, K, q, max_faces=3, min_cosine=-1.0) == hits
    assert hits[0][0] == faces[8].face_id
    meta = index.face_meta(C, K, faces[8].face_id)
    assert meta is not None and meta.image_id == faces[8].image_id
    # And a snapshot written after deletes reads the rows back from the file
    store.delete_faces(C, K, [faces[8].face_id])
    assert index.maybe_snapshot(C, K, force=True)
    again = index.search(C, K, q, max_faces=3, min_cosine=-1.0)
    assert faces[8].face_id not in [h[0] for h in again] and again[0][0] == hits[1][0]
    np.testing.assert_allclose(again[0][1], hits[1][1], atol=1e-6)


def test_a_search_answers_metadata_is_read_together_from_the_local_file_as_one_by_one(tmp_path) -> None:
    # Given a spilled collection and a search answer
    _, index, faces = _spilled_index(tmp_path, seed=6)
    query = np.asarray(faces[3].embedding, np.float32)
    index.search(C, K, query, max_faces=6, min_cosine=-1.0)
    index.wait_for_row_files()
    hits = index.search(C, K, query, max_faces=6, min_cosine=-1.0)
    state = index._cache[(C, K)]
    assert state.spill is not None
    ids = [face_id for face_id, _ in hits]
    # When their metadata is read in one call, with a face of no answer and a missing one among them
    wanted = [*ids, faces[250].face_id, "missing"]
    together = index.faces_meta(C, K, wanted)
    # Then each is what face_meta gives for it, in order (None for the missing face)
    assert together == [index.face_meta(C, K, face_id) for face_id in wanted]
    first = together[0]
    assert first is not None and (first.face_id, first.image_id) == (faces[3].face_id, faces[3].image_id)
    assert together[-1] is None and all(meta is not None for meta in together[:-1])
    # and the file's pages left the page cache again (on a file system that honours DONTNEED)
    assert state.spill.cached_bytes() <= 16 * 4096


def test_index_keeps_rows_in_memory_when_the_local_file_fails(tmp_path) -> None:
    # Given a spill directory that does not exist
    _, index, faces = _spilled_index(tmp_path / "missing", seed=5)
    # When searched, Then the answer is still exact, from memory, before and after the failed write is seen
    q = np.asarray(faces[3].embedding, np.float32)
    hits = index.search(C, K, q, max_faces=1, min_cosine=0.5)
    index.wait_for_row_files()
    state = index._cache[(C, K)]
    assert hits[0][0] == faces[3].face_id and state.spill is None and state.pending is None
    assert state.base.codes is None and len(state.base.matrix) == 300
    assert index.search(C, K, q, max_faces=1, min_cosine=0.5) == hits


def test_the_first_search_does_not_wait_for_the_local_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a large base whose local row file is slow to write (held until released)
    _, index, faces = _spilled_index(tmp_path, seed=5)
    index._cache.clear()  # a cold load: from the snapshot
    release, started = threading.Event(), threading.Event()
    write = RowFile.write

    def held(*args: object, **kwargs: object) -> RowFile:
        started.set()
        if not release.wait(30):
            raise OSError("never released")
        return write(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(vector_index.RowFile, "write", held)
    q = np.asarray(faces[8].embedding, np.float32)
    # When searched while the file is being written
    hits = index.search(C, K, q, max_faces=3, min_cosine=-1.0)
    state = index._cache[(C, K)]
    # Then the answer is exact from the rows in memory, and the file is still pending
    assert started.wait(30) and hits[0][0] == faces[8].face_id
    assert state.pending is not None and state.spill is None and len(state.base.matrix) == 300
    meta = index.face_meta(C, K, faces[8].face_id)
    assert meta is not None and meta.image_id == faces[8].image_id
    # And once written, the next search takes the file and lets the rows in memory go, with the same answer
    release.set()
    state.pending.wait(30)
    assert index.search(C, K, q, max_faces=3, min_cosine=-1.0) == hits
    assert state.spill is not None and state.pending is None and state.base.matrix.size == 0


def _spiky_query(seed: int, dim: int = 128) -> np.ndarray:
    """A unit query with one large component: int8 rounding (step max|q| / 127) wipes out most of the others."""
    q = np.random.default_rng(seed).normal(scale=0.02, size=dim)
    q[5] = 1.0
    return (q / np.linalg.norm(q)).astype(np.float32)


@pytest.fixture(scope="module")
def crowded() -> tuple[np.ndarray, np.ndarray]:
    """3000 unit rows; 300 of them have cosines with a spiky query packed within +-2e-3 of 0.363 (far closer than
    the codes can tell apart), 30 more within +-2e-3 of 0.8 (a top-10 the codes cannot order)."""
    q = _spiky_query(21)
    rng = np.random.default_rng(22)
    matrix = unit_vectors(3000, 23).astype(np.float64)
    targets = np.concatenate([0.363 + rng.uniform(-2e-3, 2e-3, 300), 0.8 + rng.uniform(-2e-3, 2e-3, 30)])
    for row, cosine in enumerate(targets, start=100):
        w = matrix[row] - (matrix[row] @ q) * q  # a random direction orthogonal to q
        matrix[row] = cosine * q + np.sqrt(1 - cosine**2) * w / np.linalg.norm(w)
    return matrix.astype(np.float32), q


def test_the_int8_query_kernel_stays_within_the_query_margin(crowded) -> None:
    # Given the int8-query scan of crowded rows, and queries whose int8 rounding matters
    matrix, q = crowded
    codes = quantize(matrix)
    scan = CompressedScan(codes)
    assert scan.accuracy_level == 4
    recon = dequantize(codes).astype(np.float64)
    for query in (q, _spiky_query(3), matrix[150], -q):
        # When scored
        got = scan.scores(query).astype(np.float64)
        # Then the kernel scores the rounded query q^ (a fixed point of its own rounding) ...
        np.testing.assert_allclose(got, recon @ int8_query(query).astype(np.float64), atol=1e-5)
        # ... and stays within the margin the search adds for it
        assert np.abs(got - recon @ query.astype(np.float64)).max() <= scan.query_margin(query) + 1e-5
    assert np.abs(scan.scores(q).astype(np.float64) - recon @ q.astype(np.float64)).max() > 1e-4


@pytest.mark.parametrize("min_cosine", [-1.0, 0.362, 0.363, 0.364])
def test_exact_top_with_an_int8_query_near_the_bound(crowded, min_cosine: float) -> None:
    # Given rows crowding the threshold and the k-th best, searched with a spiky query through the int8 kernel
    matrix, q = crowded
    scan = CompressedScan(quantize(matrix))
    read: list[int] = []

    def rows(picked: np.ndarray) -> np.ndarray:
        read.append(picked.size)
        return matrix[picked]

    for k in (1, 10, 40):
        # When searched
        got_rows, got_scores = exact_top(scan, rows, q, k, min_cosine)
        # Then the answer is the fp32 scan's, ties of the codes resolved by fp32 rows
        want_rows, want_scores = fp32_top(matrix, q, k, min_cosine)
        assert got_rows.tolist() == want_rows.tolist()
        np.testing.assert_allclose(got_scores, want_scores, atol=1e-6)
    assert max(read) > 10  # the codes could not decide the crowd: fp32 rows were read


def test_a_kernel_outside_the_bound_falls_back_to_the_float_query(crowded, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a query rounding that is not the kernel's (100 levels: the kernel's own rounding moves it again)
    from facestore import scan as scan_module

    matrix, q = crowded
    monkeypatch.setattr(scan_module, "_QUERY_LEVELS", 100)
    # When the scan is built
    scan = CompressedScan(quantize(matrix))
    # Then its self-check refuses the int8 kernel, and the float-query scan is exact
    assert scan.accuracy_level == 0 and scan.query_margin(q) == 0.0
    recon = dequantize(quantize(matrix)).astype(np.float64)
    assert np.abs(scan.scores(q).astype(np.float64) - recon @ q.astype(np.float64)).max() <= 1e-5
    got_rows, _ = exact_top(scan, matrix.__getitem__, q, 10, 0.363)
    assert got_rows.tolist() == fp32_top(matrix, q, 10, 0.363)[0].tolist()


def _ternary_rows(n: int, seed: int, dim: int = 128) -> np.ndarray:
    """Rows of values in {-a, 0, a}, each block holding a +-a: both codes represent them exactly."""
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 0.0, 1.0]), p=[0.15, 0.7, 0.15], size=(n, dim))
    signs[:, ::BLOCK] = rng.choice(np.array([-1.0, 1.0]), size=(n, dim // BLOCK))
    return (signs / np.sqrt((signs != 0).sum(axis=1, keepdims=True))).astype(np.float32)


def test_exact_top_when_only_the_query_rounding_separates_rows() -> None:
    # Given rows both codes hold exactly (their error bounds ~0: only the int8 query's rounding makes the kernel's
    # scores differ from the true ones), with top scores closer together than that rounding moves them
    matrix = _ternary_rows(20_000, 31)
    scan = CompressedScan(quantize(matrix))
    assert float(scan.codes.residuals.max()) < 1e-5 and float(scan.codes.fine_residuals.max()) < 1e-5
    for query in (_spiky_query(32), _spiky_query(33), unit_vectors(1, 34)[0]):
        assert scan.query_margin(query) > 1e-3
        for min_cosine in (-1.0, 0.3):
            for k in (1, 10, 40):
                # When searched
                got_rows, got_scores = exact_top(scan, matrix.__getitem__, query, k, min_cosine)
                # Then the answer is the fp32 scan's
                want_rows, want_scores = fp32_top(matrix, query, k, min_cosine)
                assert got_rows.tolist() == want_rows.tolist()
                np.testing.assert_allclose(got_scores, want_scores, atol=1e-6)


@pytest.mark.parametrize("near", [0, 6000])
def test_exact_top_over_a_pool_and_past_it(near: int) -> None:
    # Given 40,000 rows (enough for the one-pass pool of a few thousand best approximate scores), and either none
    # or 6000 rows near the query (then every candidate cannot be in the pool: a second pass finds them)
    matrix = unit_vectors(40_000, 41)
    q = matrix[7].copy()
    rng = np.random.default_rng(42)
    noisy = q + rng.normal(scale=0.02, size=(near, 128)).astype(np.float32)
    matrix[100:100 + near] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    scan = CompressedScan(quantize(matrix))
    dead = np.zeros(len(matrix), dtype=bool)
    dead[[7, 150, 39_999]] = True
    for query in (q, unit_vectors(1, 43)[0], matrix[20_000]):
        for k, min_cosine in ((1, -1.0), (10, 0.363), (10, -1.0), (100, 0.5)):
            # When searched
            rows, scores = exact_top(scan, matrix.__getitem__, query, k, min_cosine, dead)
            # Then the answer is the fp32 scan's
            want_rows, want_scores = fp32_top(matrix, query, k, min_cosine, dead)
            assert rows.tolist() == want_rows.tolist()
            np.testing.assert_allclose(scores, want_scores, atol=1e-6)


def test_the_norm_bound_from_the_rows_covers_the_codes(crowded) -> None:
    # Given rows of several norms (a dimension-major view, as snapshots hold them)
    matrix, _ = crowded
    scaled = matrix * np.linspace(0.5, 3.0, len(matrix), dtype=np.float32)[:, None]
    codes = quantize(scaled)
    exact = float(np.linalg.norm(dequantize(codes).astype(np.float64), axis=1).max())
    # When the scan's bound on ||v'|| comes from the rows' norms, or from the codes
    from_rows = CompressedScan(codes, vector_norm_max=norm_max(np.ascontiguousarray(scaled.T).T)).code_norm_max
    from_codes = CompressedScan(codes).code_norm_max
    # Then both cover every reconstruction's norm
    assert norm_max(scaled) >= float(np.linalg.norm(scaled.astype(np.float64), axis=1).max())
    assert exact <= from_codes <= exact * (1 + 1e-6) and exact <= from_rows
