"""VectorIndex: exact top-k cosine search per collection, warm-cached per container (no AWS).

State of a collection = a base segment (a snapshot: read-only float32 matrix, fixed-width ids,
metadata columns, loaded with one read) + a tail segment (faces added since, appended in place) +
dead-row masks (deleted or updated faces). Every search reads the collection item (one strongly
consistent GetItem); if its version moved, the change log delta (`changes_since`) is applied, so a
face indexed a moment ago is found and a deleted one is never returned. Snapshots are written and
the change log compacted by `maybe_snapshot` when the delta has grown.

Search is float32 `matrix @ query` (BLAS GEMV over a dimension-major base, see snapshots.py) then a
threshold cut and argpartition top-k. A base of at least `scan_min_rows` faces (65,536) is searched by the
compressed scan instead (scan.py): 4-bit codes scanned by onnxruntime's MatMulNBits (int8 query), a finer
8-bit code for the candidates, then fp32 for the rows that can be in the answer; the results and scores are the
fp32 scan's.
Such a base keeps its fp32 rows and result metadata in a local file (rowfile.py, under `spill_dir`, default
the temp directory: /tmp on Lambda), not in memory; if the file cannot be written it stays in memory. The file is
written on a worker thread, started when the base is loaded, so the first search does not wait for it (a 1M
cold load: ~1-2 s of writes and an fsync): until it is done, searches read the rows from the snapshot in memory,
and the first search after it is done lets the snapshot go (`wait_for_row_files` waits, for tests and benchmarks).

Memory per 1M faces of a large base: onnxruntime's 4-bit codes 61 MiB and its int8 kernels' scales and block sums
31 MiB, scales 15 MiB, fine code 122 MiB, error norms 8 MiB, ids 34 MiB (uuid, ASCII): about 270 MiB (under
300 MiB; the fp32 rows and metadata are on disk, out of the page cache). A small base (all in memory) costs about
600 MiB per 1M faces.
The cache budget is `cache_mb` (StoreSettings.vector_cache_mb, from VECTOR_CACHE_MB; default 1024):
least recently used collections are evicted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .errors import ChangeLogCompacted, CollectionNotFound, ModelVersionMismatch, StoreError
from .model import EMBEDDING_DIM, Collection, Face, FaceDelta, FaceMeta
from .port import FaceStore
from .rowfile import RowFile
from .scan import MIN_ROWS, Codes, CompressedScan, exact_top, norm_max, quantize
from .snapshots import MetaColumns, Snapshot, SnapshotStore, StrColumn, dim_major

logger = logging.getLogger(__name__)

DEFAULT_CACHE_MB = 1024
_RECENT_MAX = 20_000


def _empty_snapshot(version: int = 0) -> Snapshot:
    return Snapshot(version, np.zeros(0, dtype="S36"), np.zeros((0, EMBEDDING_DIM), dtype=np.float32),
                    MetaColumns.of([]))


class _PendingRowFile:
    """RowFile.write of a base's rows and metadata on a worker thread; `rows` once done, else `error`."""

    def __init__(self, matrix: npt.NDArray[np.float32], meta: MetaColumns, directory: str | None) -> None:
        self.rows: RowFile | None = None
        self.error = ""
        self._done = threading.Event()
        threading.Thread(target=self._write, args=(matrix, meta, directory), name="facestore-row-file",
                         daemon=True).start()

    def _write(self, matrix: npt.NDArray[np.float32], meta: MetaColumns, directory: str | None) -> None:
        try:
            self.rows = RowFile.write(matrix, meta, directory)
        except OSError as exc:  # no such directory, disk full: the rows stay in memory
            self.error = str(exc)
        except Exception as exc:  # a worker thread's failure must still end the wait (and be logged)
            logger.exception("local row file failed")
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._done.set()

    def wait(self, timeout: float | None) -> bool:
        """Whether the write is over (waiting up to `timeout` seconds; None: until it is)."""
        return self._done.wait(timeout) if timeout != 0.0 else self._done.is_set()


@dataclass
class _State:
    """One collection in memory (see the module docstring)."""

    created_at: str
    version: int
    base: Snapshot
    base_dead: npt.NDArray[np.bool_]
    tail_matrix: npt.NDArray[np.float32] = field(
        default_factory=lambda: np.zeros((16, EMBEDDING_DIM), dtype=np.float32))
    tail_n: int = 0
    tail_ids: list[str] = field(default_factory=list)
    tail_meta: list[FaceMeta] = field(default_factory=list)
    tail_index: dict[str, int] = field(default_factory=dict)
    tail_dead: set[int] = field(default_factory=set)
    dead_count: int = 0
    recent: dict[str, tuple[int, int]] = field(default_factory=dict)  # face id -> (segment, row)
    scan: CompressedScan | None = None  # of the base segment, built at its first search
    spill: RowFile | None = None  # the base's fp32 rows and metadata on local disk, once it has a scan
    pending: _PendingRowFile | None = None  # the row file being written, until a search takes it (settle)
    model_version: str = ""  # the collection's face-model version ("" if it predates recording one)

    def check_model(self, collection_id: str, model_version: str | None) -> None:
        """Raise ModelVersionMismatch if the caller's face model is not the collection's."""
        if model_version and self.model_version and model_version != self.model_version:
            raise ModelVersionMismatch(collection_id, self.model_version, model_version)

    @property
    def nbytes(self) -> int:
        return (self.base.nbytes + (self.scan.nbytes if self.scan else 0) + (self.spill.nbytes if self.spill else 0)
                + int(self.base_dead.nbytes + self.tail_matrix.nbytes) + 300 * self.tail_n)

    def base_scan(self, min_rows: int, spill_dir: str | None) -> CompressedScan | None:
        """The compressed scan of a large base (the snapshot's codes, or quantised now for an old snapshot).
        The base's fp32 rows and metadata move to a local file written on a worker thread (started before the
        scan's session is built, which it overlaps); the first call after the file is done lets the snapshot's
        bytes go (settle)."""
        if self.scan is None and len(self.base.ids) >= min_rows:
            self.pending = _PendingRowFile(self.base.matrix, self.base.meta, spill_dir)
            codes = self.base.codes or quantize(self.base.matrix)
            # copies: the snapshot's arrays are views of its whole object, which is freed once nothing views it
            self.scan = CompressedScan(Codes(codes.packed, codes.scales.copy(), codes.residuals.copy(),
                                             codes.fine.copy(), codes.fine_residuals.copy()),
                                       vector_norm_max=norm_max(self.base.matrix))
            del codes
        self.settle()
        return self.scan

    def settle(self, timeout: float | None = 0.0) -> None:
        """Take the row file once written (waiting up to `timeout` seconds, None: until done): the base's rows
        and metadata are then read from it and the snapshot's bytes are let go; if it could not be written they
        stay in memory (and the snapshot's codes, copied into the scan, are let go)."""
        pending = self.pending
        if pending is None or not pending.wait(timeout):
            return
        self.pending = None
        if pending.rows is None:
            logger.warning("vector rows kept in memory: local file not written",
                           extra={"error": pending.error, "faces": len(self.base.ids)})
            self.base = Snapshot(self.base.version, self.base.ids, self.base.matrix, self.base.meta)
            return
        self.spill = pending.rows
        self.base = Snapshot(self.base.version, self.base.ids.copy(),
                             np.zeros((0, EMBEDDING_DIM), dtype=np.float32), MetaColumns.of([]))

    def base_rows_fp32(self, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
        """The base's fp32 vectors at these rows (from the local file once spilled)."""
        return self.spill.rows(rows) if self.spill is not None else self.base.matrix[rows]

    def base_matrix(self) -> npt.NDArray[np.float32]:
        return self.spill.matrix() if self.spill is not None else self.base.matrix

    def base_meta(self) -> MetaColumns:
        return self.spill.meta_columns() if self.spill is not None else self.base.meta

    @property
    def live_count(self) -> int:
        return len(self.base.ids) + self.tail_n - self.dead_count

    def base_rows(self, face_ids: Sequence[str]) -> dict[str, int]:
        """Rows of the base segment holding these ids (live or not)."""
        if not face_ids or len(self.base.ids) == 0:
            return {}
        wanted = np.array([f.encode() for f in face_ids])
        if len(face_ids) <= 16:
            rows = {f: np.flatnonzero(self.base.ids == w) for f, w in zip(face_ids, wanted, strict=True)}
            return {f: int(r[0]) for f, r in rows.items() if r.size}
        hits = np.flatnonzero(np.isin(self.base.ids, wanted))
        return {self.base.ids[r].decode(): int(r) for r in hits}

    def kill(self, face_ids: Sequence[str]) -> None:
        for face_id, row in self.base_rows(face_ids).items():
            if not self.base_dead[row]:
                self.base_dead[row] = True
                self.dead_count += 1
            self.recent.pop(face_id, None)
        for face_id in face_ids:
            if face_id not in self.tail_index:
                continue
            tail_row = self.tail_index.pop(face_id)
            if tail_row not in self.tail_dead:
                self.tail_dead.add(tail_row)
                self.dead_count += 1
                self.recent.pop(face_id, None)

    def append(self, faces: Sequence[Face]) -> None:
        need = self.tail_n + len(faces)
        if need > len(self.tail_matrix):
            grown = np.zeros((max(need, 2 * len(self.tail_matrix)), EMBEDDING_DIM), dtype=np.float32)
            grown[:self.tail_n] = self.tail_matrix[:self.tail_n]
            self.tail_matrix = grown
        for face in faces:
            row = self.tail_n
            self.tail_matrix[row] = np.asarray(face.embedding, dtype=np.float32)
            self.tail_ids.append(face.face_id)
            self.tail_meta.append(FaceMeta.of(face))
            self.tail_index[face.face_id] = row
            self.tail_n += 1

    def apply(self, delta: FaceDelta) -> None:
        self.kill([*delta.removed_ids, *(f.face_id for f in delta.added)])
        self.append(delta.added)
        self.version = delta.version

    def meta_of(self, segment: int, row: int) -> FaceMeta:
        if segment == 0:
            if self.spill is not None:
                return self.spill.meta(row, self.base.ids[row].decode())
            return self.base.meta.meta(row, self.base.ids[row].decode())
        return self.tail_meta[row]

    def compacted(self) -> Snapshot:
        """The live faces as one snapshot at this version (base rows first, then the tail)."""
        keep = np.flatnonzero(~self.base_dead)
        tail_rows = [r for r in range(self.tail_n) if r not in self.tail_dead]
        tail_ids = [self.tail_ids[r] for r in tail_rows]
        width = max([self.base.ids.dtype.itemsize, *(len(i) for i in tail_ids), 1])
        ids = np.concatenate([self.base.ids[keep].astype(f"S{width}"),
                              np.array([i.encode() for i in tail_ids], dtype=f"S{width}")])
        # dimension-major, as a decoded snapshot is: the fast layout for the search's matrix-vector product
        base_matrix, base_meta = self.base_matrix(), self.base_meta()
        matrix = dim_major(np.concatenate([base_matrix[keep], self.tail_matrix[tail_rows]])).T
        del base_matrix
        base_meta = base_meta if keep.size == len(self.base.ids) else base_meta.take(keep)
        tail_meta = MetaColumns.of([self.tail_meta[r] for r in tail_rows])
        meta = MetaColumns(
            _concat(base_meta.image_ids, tail_meta.image_ids),
            _concat(base_meta.external_image_ids, tail_meta.external_image_ids),
            _concat(base_meta.user_ids, tail_meta.user_ids),
            np.concatenate([base_meta.boxes, tail_meta.boxes]).astype(np.float32),
        )
        return Snapshot(self.version, ids, matrix, meta)


def _concat(a: StrColumn, b: StrColumn) -> StrColumn:
    return StrColumn(np.concatenate([a.blob, b.blob]),
                     np.concatenate([a.offsets[:-1], b.offsets + (a.offsets[-1] if len(a.offsets) else 0)]),
                     np.concatenate([a.present, b.present]))


def _top(scores: npt.NDArray[np.float32], k: int, min_cosine: float) -> npt.NDArray[np.intp]:
    idx = np.flatnonzero(scores >= min_cosine)
    if idx.size > k:
        idx = idx[np.argpartition(-scores[idx], k - 1)[:k]]
    return idx


class VectorIndex:
    """Exact top-k search over a collection's faces, cached per container (see module docstring).

    `snapshot_every` / `snapshot_min` / `snapshot_fraction`: maybe_snapshot writes a snapshot when the
    versions since the last one are >= snapshot_every, or >= snapshot_min and > fraction x face count.
    """

    def __init__(self, store: FaceStore, snapshots: SnapshotStore, *,
                 clock: Callable[[], float] = time.monotonic, cache_mb: int = DEFAULT_CACHE_MB,
                 snapshot_every: int = 1000, snapshot_min: int = 20, snapshot_fraction: float = 0.1,
                 scan_min_rows: int = MIN_ROWS, spill_dir: str | None = None) -> None:
        self._store = store
        self._snapshots = snapshots
        self._clock = clock
        self._budget = cache_mb * 2**20
        self._cache: OrderedDict[tuple[str, str], _State] = OrderedDict()
        self._lock = threading.RLock()
        self.snapshot_every = snapshot_every
        self.snapshot_min = snapshot_min
        self.snapshot_fraction = snapshot_fraction
        self.scan_min_rows = scan_min_rows
        self.spill_dir = spill_dir

    # -------------------------------------------------------------- state
    def _load(self, coll: Collection) -> _State:
        started = self._clock()
        for _ in range(3):
            snap: Snapshot | None = None
            if coll.snapshot_version:
                snap = self._snapshots.load(coll.customer_id, coll.collection_id, coll.snapshot_version)
            if snap is None:
                snap = _empty_snapshot()
            state = _State(coll.created_at, snap.version, snap, np.zeros(len(snap.ids), dtype=bool),
                           model_version=coll.model_version)
            try:
                state.apply(self._store.changes_since(coll.customer_id, coll.collection_id, snap.version))
            except ChangeLogCompacted:
                fresh = self._store.get_collection(coll.customer_id, coll.collection_id)
                if fresh is None:
                    raise CollectionNotFound(coll.collection_id) from None
                coll = fresh
                continue
            logger.info("collection loaded", extra={
                "customer_id": coll.customer_id, "collection_id": coll.collection_id,
                "snapshot_version": snap.version, "version": state.version, "faces": state.live_count,
                "ms": round((self._clock() - started) * 1000, 1)})
            return state
        raise StoreError(f"{coll.collection_id}: snapshot missing or log compacted while loading")

    def _sync(self, customer_id: str, collection_id: str, coll: Collection | None = None) -> _State:
        key = (customer_id, collection_id)
        if coll is None:
            coll = self._store.get_collection(customer_id, collection_id)
        if coll is None:
            self._cache.pop(key, None)
            raise CollectionNotFound(collection_id)
        state = self._cache.get(key)
        if state is not None and (state.created_at != coll.created_at or state.version > coll.version):
            state = None
        if state is None:
            state = self._load(coll)
        elif state.version < coll.version:
            try:
                state.apply(self._store.changes_since(customer_id, collection_id, state.version))
            except ChangeLogCompacted:
                state = self._load(coll)
        self._cache[key] = state
        self._cache.move_to_end(key)
        self._evict(keep=key)
        return state

    def _evict(self, keep: tuple[str, str]) -> None:
        total = sum(s.nbytes for s in self._cache.values())
        for key in list(self._cache):
            if total <= self._budget:
                break
            if key == keep:
                continue
            total -= self._cache.pop(key).nbytes
            logger.info("collection evicted", extra={"customer_id": key[0], "collection_id": key[1]})
        if total > self._budget:
            logger.warning("collection exceeds vector cache budget", extra={
                "customer_id": keep[0], "collection_id": keep[1], "bytes": total, "budget": self._budget})

    # -------------------------------------------------------------- public API
    def sync(self, customer_id: str, collection_id: str, *, model_version: str | None = None,
             collection: Collection | None = None) -> None:
        """Bring the cached collection up to date now (version check, delta or load); raises
        CollectionNotFound. A caller can overlap this round trip with its own work (the query's
        embedding) and then `search(..., synced=True)`. `collection`: the collection item the caller has
        just read (strongly consistent) for this request, used instead of reading it again."""
        with self._lock:
            self._sync(customer_id, collection_id, collection).check_model(collection_id, model_version)

    def search(self, customer_id: str, collection_id: str, query: npt.NDArray[np.float32], *,
               max_faces: int, min_cosine: float, synced: bool = False,
               model_version: str | None = None) -> list[tuple[str, float]]:
        """Top `max_faces` (face id, cosine) with cosine >= min_cosine, best first; query is the
        L2-normalised (128,) float32 embedding. Raises CollectionNotFound, and ModelVersionMismatch when
        `model_version` (the query's face model) is given and the collection records another one.

        `synced=True`: the caller has just called `sync` for this request, so the cached state is
        used as it is (faces indexed before the request started are in it)."""
        q = np.asarray(query, dtype=np.float32)
        if q.shape != (EMBEDDING_DIM,) or not np.all(np.isfinite(q)):
            raise ValueError(f"query must be a finite ({EMBEDDING_DIM},) vector")
        if max_faces < 1:
            raise ValueError("max_faces must be at least 1")
        with self._lock:
            cached = self._cache.get((customer_id, collection_id)) if synced else None
            state = cached if cached is not None else self._sync(customer_id, collection_id)
            state.check_model(collection_id, model_version)
            hits: list[tuple[float, int, int]] = []
            scan = state.base_scan(self.scan_min_rows, self.spill_dir) if len(state.base.ids) else None
            if scan is not None:
                rows, exact = exact_top(scan, state.base_rows_fp32, q, max_faces, min_cosine,
                                        state.base_dead if state.dead_count else None)
                hits += [(float(s), 0, int(r)) for r, s in zip(rows, exact, strict=True)]
            elif len(state.base.ids):
                scores = state.base.matrix @ q
                if state.dead_count:
                    scores[state.base_dead] = -np.inf
                hits += [(float(scores[r]), 0, int(r)) for r in _top(scores, max_faces, min_cosine)]
            if state.tail_n:
                scores = state.tail_matrix[:state.tail_n] @ q
                if state.tail_dead:
                    scores[list(state.tail_dead)] = -np.inf
                hits += [(float(scores[r]), 1, int(r)) for r in _top(scores, max_faces, min_cosine)]
            hits.sort(key=lambda h: -h[0])
            hits = hits[:max_faces]
            if len(state.recent) > _RECENT_MAX:
                state.recent.clear()
            out: list[tuple[str, float]] = []
            for score, segment, row in hits:
                face_id = state.base.ids[row].decode() if segment == 0 else state.tail_ids[row]
                state.recent[face_id] = (segment, row)
                out.append((face_id, score))
            return out

    def faces_meta(self, customer_id: str, collection_id: str, face_ids: Sequence[str]) -> list[FaceMeta | None]:
        """`face_meta` of each face, in order: a search answer's. The rows of the local file among them are read
        together (their reads overlap, see RowFile.metas); the rest as `face_meta` does."""
        found: dict[str, FaceMeta] = {}
        with self._lock:
            state = self._cache.get((customer_id, collection_id))
            if state is not None and state.spill is not None:
                spilled = [(face_id, hit[1]) for face_id in face_ids
                           if (hit := state.recent.get(face_id)) is not None and hit[0] == 0]
                if spilled:
                    metas = state.spill.metas([row for _, row in spilled], [face_id for face_id, _ in spilled])
                    found = {meta.face_id: meta for meta in metas}
        return [found.get(face_id) or self.face_meta(customer_id, collection_id, face_id) for face_id in face_ids]

    def face_meta(self, customer_id: str, collection_id: str, face_id: str) -> FaceMeta | None:
        """Metadata of a face for a search result: from memory for faces this index returned or holds,
        else one store read. None if the face does not exist."""
        with self._lock:
            state = self._cache.get((customer_id, collection_id))
            if state is not None:
                hit = state.recent.get(face_id)
                if hit is not None:
                    return state.meta_of(*hit)
                row = state.tail_index.get(face_id)
                if row is not None:
                    return state.tail_meta[row]
                rows = state.base_rows([face_id])
                if face_id in rows and not state.base_dead[rows[face_id]]:
                    return state.meta_of(0, rows[face_id])
        face = self._store.get_face(customer_id, collection_id, face_id)
        return FaceMeta.of(face) if face is not None else None

    def maybe_snapshot(self, customer_id: str, collection_id: str, *, force: bool = False) -> bool:
        """Write a snapshot and compact the change log if the delta has grown; True if written."""
        coll = self._store.get_collection(customer_id, collection_id)
        if coll is None or coll.shards:  # sharded: the vector index serves it, no log to snapshot
            return False
        pending = coll.version - coll.snapshot_version
        due = pending >= self.snapshot_every or (
            pending >= self.snapshot_min and pending > self.snapshot_fraction * coll.face_count)
        if pending <= 0 or not (due or force):
            return False
        with self._lock:
            state = self._sync(customer_id, collection_id)
            snap = state.compacted()
            self._snapshots.save(customer_id, collection_id, snap.version, snap.ids, snap.matrix, snap.meta)
            if self._store.set_snapshot(customer_id, collection_id, snap.version):
                removed = self._store.compact_changes(customer_id, collection_id)
                fresh = self._store.get_collection(customer_id, collection_id)
                if fresh is not None and fresh.log_floor:
                    self._snapshots.delete(customer_id, collection_id, below=fresh.log_floor)
                logger.info("snapshot written", extra={
                    "customer_id": customer_id, "collection_id": collection_id, "version": snap.version,
                    "faces": len(snap.ids), "changes_compacted": removed})
            self._cache[(customer_id, collection_id)] = _State(
                state.created_at, snap.version, snap, np.zeros(len(snap.ids), dtype=bool),
                model_version=state.model_version)
            return True

    def drop(self, customer_id: str, collection_id: str) -> None:
        """Forget a deleted collection: its cached matrix and its snapshots."""
        with self._lock:
            self._cache.pop((customer_id, collection_id), None)
        self._snapshots.delete(customer_id, collection_id)

    def wait_for_row_files(self, timeout: float | None = None) -> None:
        """Wait until the local row files being written are done and take them (for tests and benchmarks;
        searches take them by themselves once written)."""
        with self._lock:
            for state in self._cache.values():
                state.settle(timeout)

    def cached_bytes(self) -> int:
        """Memory held by cached collections (for metrics and the benchmark)."""
        with self._lock:
            return sum(s.nbytes for s in self._cache.values())
