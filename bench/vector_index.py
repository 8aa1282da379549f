"""Benchmark of facestore's exact vector index (issue 5): warm search, cold load, memory, faiss ratio.

Synthetic L2-normalised 128-d float32 vectors at 10k, 100k and 1M faces; one BLAS thread (set
before numpy is imported). From 65,536 faces the index searches the compressed scan (4-bit codes, exact fp32
re-rank, facestore/scan.py); the 1M lines share one data set (random unit vectors with 400 planted
near-duplicates, built and snapshotted once): warm search, exactness against the fp32 scan (timed alternately),
cold load and resident memory (RSS growth + the local row file's page cache + mapped bytes). Warm search goes
through VectorIndex.search
(including its collection version check against the in-memory store); the cold load reads a 1M-face
snapshot from S3 in moto
(in-process mock_aws). faiss IndexFlatIP searches the same data in the same run.

    python -m bench.vector_index            (or through python -m bench)
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

import gc  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from facestore import InMemoryFaceStore, InMemorySnapshotStore, VectorIndex, face_id_for  # noqa: E402
from facestore.snapshots import MetaColumns, StrColumn  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000)
DIM = 128
C = "bench-customer"
MIN_COSINE = 0.363  # SFace's published threshold: the product's default
MAX_FACES = 10


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, MetaColumns]:
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, DIM), dtype=np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    ids = np.array([f"{i:08x}-0000-4000-8000-{i:012x}".encode() for i in range(n)], dtype="S36")
    images = StrColumn.of([f"photo-{i // 3:07d}.jpg" for i in range(n)])
    meta = MetaColumns(images, StrColumn.of([None] * n), StrColumn.of([None] * n),
                       np.tile(np.array([[10, 20, 100, 120]], dtype=np.float32), (n, 1)))
    return m, ids, meta


def _collection(store: InMemoryFaceStore, snaps: object, coll: str, m: np.ndarray, ids: np.ndarray,
                meta: MetaColumns, save: object) -> None:
    """A collection at version 1 whose snapshot (version 1) holds the synthetic faces."""
    from facestore import Face

    store.create_collection(C, coll, "bench")
    seed_face = Face(C, coll, face_id_for(C, coll, "seed", "v", 0), "seed", None, {}, (), 0.0, {}, m[0])
    store.put_faces(C, coll, [seed_face])
    store.delete_faces(C, coll, [seed_face.face_id])  # version 2, the collection is all snapshot
    save(C, coll, 2, ids, m, meta)  # type: ignore[operator]
    store.set_snapshot(C, coll, 2)


def _pct(samples: list[float], p: float) -> float:
    return float(np.percentile(np.array(samples), p))


def _warm(index: VectorIndex, coll: str, queries: np.ndarray, min_cosine: float) -> list[float]:
    index.search(C, coll, queries[0], max_faces=MAX_FACES, min_cosine=min_cosine)  # load
    index.wait_for_row_files()  # warm: a 1M base's rows are read from its local file, as once it is written
    times = []
    for q in queries:
        t = time.perf_counter()
        index.search(C, coll, q, max_faces=MAX_FACES, min_cosine=min_cosine)
        times.append((time.perf_counter() - t) * 1000)
    return times


def _faiss(m: np.ndarray, queries: np.ndarray) -> list[float] | None:
    try:
        import faiss
    except ImportError:
        return None
    faiss.omp_set_num_threads(1)
    flat = faiss.IndexFlatIP(DIM)
    flat.add(m)
    flat.search(queries[:1], MAX_FACES)
    times = []
    for q in queries:
        t = time.perf_counter()
        flat.search(q[None, :], MAX_FACES)
        times.append((time.perf_counter() - t) * 1000)
    return times


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _planted(n: int, n_planted: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n unit vectors in which rows 0..n_planted-1 have a near-duplicate (cosine ~0.90-0.995) planted at a
    random other row; returns (matrix, planted source rows, their duplicates' rows)."""
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, DIM), dtype=np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    sources = np.arange(n_planted)
    dups = rng.choice(np.arange(n_planted, n), size=n_planted, replace=False)
    noise = rng.standard_normal((n_planted, DIM)).astype(np.float32) * rng.uniform(0.01, 0.04, (n_planted, 1))
    near = m[sources] + noise.astype(np.float32)
    m[dups] = near / np.linalg.norm(near, axis=1, keepdims=True)
    return m, sources, dups


def _big(n: int = 1_000_000, n_planted: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                               MetaColumns]:
    """The 1M data set, built once for every 1M line: (matrix, planted sources, their duplicates, ids, meta)."""
    m, sources, dups = _planted(n, n_planted)
    ids = np.array([f"{i:08x}-0000-4000-8000-{i:012x}".encode() for i in range(n)], dtype="S36")
    meta = MetaColumns(StrColumn.of([f"photo-{i // 3:07d}.jpg" for i in range(n)]), StrColumn.of([None] * n),
                       StrColumn.of([None] * n), np.tile(np.array([[10, 20, 100, 120]], dtype=np.float32), (n, 1)))
    return m, sources, dups, ids, meta


def _exactness(compressed: VectorIndex, fp32: VectorIndex, m: np.ndarray, sources: np.ndarray, dups: np.ndarray,
               ids: np.ndarray, n_random: int = 200) -> None:
    """Top-k of the compressed scan against the fp32 scan (brute force: every row's cosine), same data, same
    process, alternating query by query: planted near-duplicates and random queries, with and without the
    threshold; and the warm p50 of both paths."""
    rng = np.random.default_rng(9)
    randoms = rng.standard_normal((n_random, DIM)).astype(np.float32)
    randoms /= np.linalg.norm(randoms, axis=1, keepdims=True)
    planted = [(m[s], int(d)) for s, d in zip(sources, dups, strict=True)]
    rounds = ((MIN_COSINE, [(q, None) for q in randoms] + planted),
              (-1.0, [(q, None) for q in randoms[:50]] + planted[:50]))
    same1 = same10 = planted_ok = total = 0
    t_ours: list[float] = []
    t_fp32: list[float] = []
    for threshold, queries in rounds:
        for q, dup in queries:
            t = time.perf_counter()
            ours = compressed.search(C, "planted", q, max_faces=MAX_FACES, min_cosine=threshold)
            t_ours.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            theirs = fp32.search(C, "planted", q, max_faces=MAX_FACES, min_cosine=threshold)
            t_fp32.append((time.perf_counter() - t) * 1000)
            total += 1
            same10 += ([f for f, _ in ours] == [f for f, _ in theirs]
                       and np.allclose([s for _, s in ours], [s for _, s in theirs], atol=1e-6))
            same1 += [f for f, _ in ours[:1]] == [f for f, _ in theirs[:1]]
            if dup is not None and threshold == MIN_COSINE:
                planted_ok += any(f == ids[dup].decode() for f, _ in ours)
    print(f"vector_index exactness n={len(m):,} ({n_random} random + {len(sources)} planted-near-duplicate queries at "
          f"{MIN_COSINE}, 50 + 50 with no threshold): recall@1 {same1 / total:.4f}, recall@10 (top-10 ids and cosines "
          f"equal to the fp32 scan's within 1e-6) {same10 / total:.4f}; planted duplicates found "
          f"{planted_ok}/{len(sources)}", flush=True)
    ratio = statistics.median(t_ours) / statistics.median(t_fp32)
    print(f"vector_index warm search n={len(m):,}, compressed scan + fine code + fp32 from the local file p50 "
          f"{_pct(t_ours, 50):.2f} ms p95 {_pct(t_ours, 95):.2f} ms vs fp32 scan p50 {_pct(t_fp32, 50):.2f} ms "
          f"(alternating, same run): ratio {ratio:.2f} (target <= 10 ms)", flush=True)


def run() -> None:
    """Print the benchmark lines (see the module docstring)."""
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(f"{i.get('internal_api')} {i.get('architecture', '')} threads={i.get('num_threads')}"
                         for i in threadpool_info())
    except ImportError:
        blas = "threadpoolctl not installed"
    print(f"vector_index: numpy {np.__version__}, BLAS: {blas}; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}", flush=True)
    store, snaps = InMemoryFaceStore(), InMemorySnapshotStore()
    index = VectorIndex(store, snaps, cache_mb=4096)
    rng = np.random.default_rng(1)
    for n in SIZES[:-1]:
        m, ids, meta = _data(n)
        coll = f"c{n}"
        _collection(store, snaps, coll, m, ids, meta, snaps.save)
        queries = rng.standard_normal((200, DIM)).astype(np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        _line(n, _warm(index, coll, queries, MIN_COSINE), _faiss(m, queries))
        index.drop(C, coll)
    # 1M: one data set (random unit vectors with planted near-duplicates), one snapshot, every line
    m, sources, dups, ids, meta = _big()
    _collection(store, snaps, "planted", m, ids, meta, snaps.save)
    compressed = VectorIndex(store, snaps, cache_mb=4096)
    queries = rng.standard_normal((60, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    _line(len(m), _warm(compressed, "planted", queries, MIN_COSINE), _faiss(m, queries))
    _stages(compressed, queries)
    worst = _warm(compressed, "planted", queries[:20], -1.0)
    print(f"vector_index warm search n={len(m):>9,}, no threshold (top-k over all): p50 "
          f"{_pct(worst, 50):6.2f} ms  p95 {_pct(worst, 95):6.2f} ms", flush=True)
    fp32 = VectorIndex(store, snaps, cache_mb=4096, scan_min_rows=10**12)
    fp32.search(C, "planted", m[0], max_faces=MAX_FACES, min_cosine=MIN_COSINE)
    _exactness(compressed, fp32, m, sources, dups, ids)
    state_bytes = compressed.cached_bytes()
    del compressed, fp32
    snaps.objects.clear()
    gc.collect()
    print(f"vector_index memory per 1M faces: {state_bytes / 2**20:,.0f} MiB in the cache's own count (codes, ids; "
          f"fp32 rows {m.nbytes / 2**20:,.0f} MiB and metadata {meta.nbytes / 2**20:,.0f} MiB in the "
          f"local file); Lambda max 10,240 MB", flush=True)
    _cold(m, ids, meta)


def _line(n: int, ours: list[float], theirs: list[float] | None) -> None:
    line = (f"vector_index warm search n={n:>9,}: p50 {_pct(ours, 50):6.2f} ms  p95 {_pct(ours, 95):6.2f} ms"
            f"  (max_faces={MAX_FACES}, min_cosine={MIN_COSINE}, 1 thread)")
    if theirs is not None:
        line += (f"; faiss IndexFlatIP p50 {_pct(theirs, 50):6.2f} ms -> faiss/ours "
                 f"{statistics.median(theirs) / statistics.median(ours):.2f}x")
    print(line, flush=True)


def _stages(index: VectorIndex, queries: np.ndarray) -> None:
    """Where one warm 1M query's time goes: the scan kernel, the selection of candidates, the fine code's
    refinement, the fp32 rows read from the local file (medians over the queries)."""
    from facestore.scan import exact_top

    state = index._cache[(C, "planted")]
    scan = state.base_scan(index.scan_min_rows, index.spill_dir)
    if scan is None:
        return
    runs: list[dict[str, float]] = []
    for q in queries:
        stages: dict[str, float] = {}
        exact_top(scan, state.base_rows_fp32, q, MAX_FACES, MIN_COSINE, state.base_dead if state.dead_count else None,
                  stages=stages)
        runs.append(stages)

    def med(key: str, scale: float = 1000.0) -> float:
        return statistics.median(r[key] for r in runs) * scale

    print(f"vector_index one warm query n={len(scan):,} at {MIN_COSINE} (median of {len(runs)}): scan kernel "
          f"{med('scan'):.2f} ms (MatMulNBits 4-bit, accuracy_level {scan.accuracy_level}: int8 query), selection "
          f"{med('select'):.2f} ms (pool of the best upper bounds + the guess's fine bounds), fine refinement "
          f"{med('fine'):.2f} ms ({med('fine_rows', 1):.0f} rows), fp32 rows read {med('read'):.2f} ms "
          f"({med('read_rows', 1):.0f} rows, pread); the rest of the p50 above is VectorIndex.search's own "
          f"(version check, ids)", flush=True)


def _mapped_mib(marker: str) -> float:
    """Resident MiB of this process's mappings whose path contains `marker` (/proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as handle:
        for line in handle:
            head = line.split()
            if head and "-" in head[0] and len(head) >= 5:
                inside = marker in line
            elif inside and head[:1] == ["Rss:"]:
                total += int(head[1])
    return total / 1024


def _cold(m: np.ndarray, ids: np.ndarray, meta: MetaColumns) -> None:
    import boto3
    from moto import mock_aws

    from facestore import S3SnapshotStore

    with mock_aws():
        from botocore.config import Config

        # no flexible checksum on the upload: botocore's aws-chunked body through moto costs minutes at 800 MiB
        s3 = boto3.client("s3", region_name="us-east-1",
                          config=Config(request_checksum_calculation="when_required"))
        s3.create_bucket(Bucket="bench-index")
        s3snaps = S3SnapshotStore(s3, "bench-index")
        store = InMemoryFaceStore()
        _collection(store, s3snaps, "cold", m, ids, meta, s3snaps.save)
        size = s3.head_object(Bucket="bench-index", Key=f"snapshots/{C}/cold/000000000002.fsnap")["ContentLength"]
        q = m[12345]
        times, written, resident, cached, mapped = [], [], [], [], []
        for _ in range(2):
            gc.collect()
            before = _rss_mib()
            cold = VectorIndex(store, s3snaps, cache_mb=4096)
            t = time.perf_counter()
            hits = cold.search(C, "cold", q, max_faces=MAX_FACES, min_cosine=MIN_COSINE)
            times.append(time.perf_counter() - t)
            cold.wait_for_row_files()
            written.append(time.perf_counter() - t)
            if hits[0][0] != ids[12345].decode():
                raise RuntimeError("cold load returned a wrong best match")
            for i in range(20):  # warm queries read fp32 rows and metadata from the file
                cold.search(C, "cold", m[i * 997], max_faces=MAX_FACES, min_cosine=-1.0)
                cold.face_meta(C, "cold", ids[i * 997].decode())
            gc.collect()
            resident.append(_rss_mib() - before)
            spill = cold._cache[(C, "cold")].spill
            cached.append(spill.cached_bytes() / 2**20 if spill is not None else 0.0)
            mapped.append(_mapped_mib("facestore-rows"))
            del cold, hits, spill
        print(f"vector_index cold load n=1,000,000 from the S3 snapshot (moto, {size / 2**20:,.0f} MiB, one "
              f"GetObject; the snapshot's codes, scan session) + first search: median {statistics.median(times):.2f} "
              f"s, best {min(times):.2f} s (target <= 3 s); the local row file, written on a worker thread from the "
              f"load on, done after {statistics.median(written):.2f} s (median)", flush=True)
        rss, page, maps = statistics.median(resident), statistics.median(cached), statistics.median(mapped)
        print(f"vector_index resident memory per 1M faces after a cold load, its row file and 21 searches: "
              f"{rss + page + maps:,.0f} MiB "
              f"(target <= 300 MiB) = process RSS growth {rss:,.0f} MiB (onnxruntime's 4-bit codes 61 and int8 "
              f"kernels' scales + block sums 31, scales 15, "
              f"fine code 122, error norms 8, ids 34) + the row file's page cache {page:,.1f} MiB "
              f"+ mapped {maps:,.0f} MiB", flush=True)


def main() -> int:
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
