"""SearchEngines: the one search port (sync / search / face_meta / faces_meta / drop / maybe_snapshot) over two engines.

- `exact`: the warm in-memory VectorIndex (S3 snapshot + change-log delta), exact top-k;
- `vector`: VectorSearch on FacesTable's DynamoDB vector index, re-ranked exactly;
- `auto`: exact while a collection holds at most `auto_faces` faces, the vector index above.

Both answer (face id, cosine) lists on the same scale. A collection goes to the vector index only
once its faces are backfilled (vec_ready) and DynamoDB reports the index ACTIVE (VectorSearch.ready,
asked at most every READY_RECHECK_S until it is), so no search sees a half-filled index. Handing a
collection to the vector index shards its writes (FaceStore.shard_collection: counter shards, no
change log), which is one-way: a sharded collection is always served by the vector index, and a
SearchVectors that answers "not ready" for it is StoreUnavailable (retry), not the exact engine.
`engine_for` is what DescribeCollection reports.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from .errors import StoreUnavailable
from .model import DEFAULT_SHARDS, Collection, FaceMeta
from .port import FaceStore
from .vector_index import VectorIndex
from .vector_search import IndexNotReady, VectorSearch, check_collection

logger = logging.getLogger(__name__)

EXACT = "exact"
VECTOR = "vector"
AUTO = "auto"
MODES = (EXACT, VECTOR, AUTO)
DEFAULT_AUTO_FACES = 1_000_000  # README: memory and cold load of the exact engine per million faces
READY_RECHECK_S = 30.0


def engine_for(index: object, collection: Collection) -> str:
    """Which engine serves the collection behind this search port (`exact` for a bare VectorIndex)."""
    return index.engine_for(collection) if isinstance(index, SearchEngines) else EXACT


class SearchEngines:
    """Routes each collection's searches to the engine its size and the mode call for."""

    def __init__(self, store: FaceStore, exact: VectorIndex, vector: VectorSearch | None, *,
                 mode: str = EXACT, auto_faces: int = DEFAULT_AUTO_FACES, shards: int = DEFAULT_SHARDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if mode not in MODES:
            raise ValueError(f"search engine must be one of {', '.join(MODES)}, not {mode!r}")
        if mode != EXACT and vector is None:
            raise ValueError(f"search engine {mode!r} needs the vector index")
        self._store = store
        self.exact = exact
        self.vector = vector
        self.mode = mode
        self.auto_faces = auto_faces
        self.shards = shards
        self._clock = clock
        self._lock = threading.Lock()
        self._chosen: dict[tuple[str, str], str] = {}
        self._ready = False
        self._ready_checked: float | None = None

    def index_ready(self) -> bool:
        """Whether DynamoDB reports the vector index ACTIVE (DescribeTable; once it is, it stays so)."""
        if self.vector is None:
            return False
        with self._lock:
            if self._ready or (self._ready_checked is not None
                               and self._clock() - self._ready_checked < READY_RECHECK_S):
                return self._ready
        ready = self.vector.ready()
        with self._lock:
            self._ready, self._ready_checked = ready, self._clock()
        if not ready:
            logger.info("vector index not ready: the exact engine serves")
        return ready

    def engine_for(self, collection: Collection) -> str:
        """`exact` or `vector`: which engine serves this collection now."""
        if collection.shards and self.vector is not None:
            return VECTOR  # its writes keep no change log: only the vector index can serve it
        if self.mode == EXACT or self.vector is None or not collection.vector_ready:
            return EXACT  # not backfilled yet: the vector index would miss its older faces
        if self.mode == AUTO and collection.face_count <= self.auto_faces:
            return EXACT
        return VECTOR if self.index_ready() else EXACT

    def _chosen_for(self, customer_id: str, collection_id: str,
                    model_version: str | None) -> tuple[str, Collection | None]:
        """(the engine, the collection item read to choose it; None when there was no choice to make)."""
        if self.vector is None:
            return EXACT, None
        # without the shards' counts: a sharded collection is the vector index's whatever its size, and
        # an unsharded one's face_count is exact without them
        coll = check_collection(self._store.get_collection(customer_id, collection_id, counts=False), collection_id,
                                model_version)
        engine = self.engine_for(coll)
        if engine == VECTOR and not coll.shards:  # handed to the vector index: its writes go sharded
            self._store.shard_collection(customer_id, collection_id, self.shards)
            logger.info("collection moves to the vector index", extra={
                "customer_id": customer_id, "collection_id": collection_id, "faces": coll.face_count})
        with self._lock:
            self._chosen[(customer_id, collection_id)] = engine
        return engine, coll

    def sync(self, customer_id: str, collection_id: str, *, model_version: str | None = None) -> None:
        """Check the collection (CollectionNotFound, ModelVersionMismatch) and bring its engine up to date
        (the exact engine loads or applies a delta). One collection read per call: the item read to
        choose the engine (strongly consistent, this request's) is the one the exact engine checks its
        cache against, so a delete or erasure the read sees is seen by both."""
        engine, coll = self._chosen_for(customer_id, collection_id, model_version)
        if engine == EXACT:
            self.exact.sync(customer_id, collection_id, model_version=model_version, collection=coll)

    def search(self, customer_id: str, collection_id: str, query: npt.NDArray[np.float32], *,
               max_faces: int, min_cosine: float, synced: bool = False,
               model_version: str | None = None) -> list[tuple[str, float]]:
        with self._lock:
            engine = self._chosen.get((customer_id, collection_id)) if synced else None
        coll: Collection | None = None
        if engine is None:
            engine, coll = self._chosen_for(customer_id, collection_id, model_version)
        if engine == VECTOR and self.vector is not None:
            try:
                return self.vector.search(customer_id, collection_id, query, max_faces=max_faces,
                                          min_cosine=min_cosine, synced=True)
            except IndexNotReady as exc:  # a sharded collection has no change log for the exact engine
                logger.warning("vector index not ready", extra={
                    "customer_id": customer_id, "collection_id": collection_id})
                with self._lock:
                    self._ready, self._ready_checked = False, self._clock()
                raise StoreUnavailable("vector index not ready") from exc
        if coll is not None:  # the item just read to choose: the exact engine checks its cache against it (one read)
            self.exact.sync(customer_id, collection_id, model_version=model_version, collection=coll)
            synced = True
        return self.exact.search(customer_id, collection_id, query, max_faces=max_faces, min_cosine=min_cosine,
                                 synced=synced and engine == EXACT, model_version=model_version)

    def faces_meta(self, customer_id: str, collection_id: str, face_ids: Sequence[str]) -> list[FaceMeta | None]:
        """`face_meta` of each face, in order (the exact engine reads a search answer's together)."""
        with self._lock:
            engine = self._chosen.get((customer_id, collection_id), EXACT)
        if engine == VECTOR and self.vector is not None:
            return [self.vector.face_meta(customer_id, collection_id, face_id) for face_id in face_ids]
        return self.exact.faces_meta(customer_id, collection_id, face_ids)

    def face_meta(self, customer_id: str, collection_id: str, face_id: str) -> FaceMeta | None:
        with self._lock:
            engine = self._chosen.get((customer_id, collection_id), EXACT)
        if engine == VECTOR and self.vector is not None:
            return self.vector.face_meta(customer_id, collection_id, face_id)
        return self.exact.face_meta(customer_id, collection_id, face_id)

    def maybe_snapshot(self, customer_id: str, collection_id: str, *, force: bool = False) -> bool:
        """Snapshots serve the exact engine (auto keeps them, so a collection can be served by either)."""
        if self.mode == VECTOR:
            return False
        return self.exact.maybe_snapshot(customer_id, collection_id, force=force)

    def drop(self, customer_id: str, collection_id: str) -> None:
        with self._lock:
            self._chosen.pop((customer_id, collection_id), None)
        self.exact.drop(customer_id, collection_id)
        if self.vector is not None:
            self.vector.drop(customer_id, collection_id)

    def cached_bytes(self) -> int:
        return self.exact.cached_bytes()

