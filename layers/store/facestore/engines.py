"""SearchEngines: the one search port (sync / search / face_meta / drop / maybe_snapshot) over two engines.

- `exact`: the warm in-memory VectorIndex (S3 snapshot + change-log delta), exact top-k;
- `vector`: VectorSearch on FacesTable's DynamoDB vector index, re-ranked exactly;
- `auto`: exact while a collection holds at most `auto_faces` faces, the vector index above.

Both answer (face id, cosine) lists on the same scale. Whenever the vector index cannot answer yet
(being created or backfilled: IndexNotReady), the exact engine serves, so no search sees a
half-filled index. `engine_for` is what DescribeCollection reports.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import numpy.typing as npt

from .model import Collection, FaceMeta
from .port import FaceStore
from .vector_index import VectorIndex
from .vector_search import IndexNotReady, VectorSearch, check_collection

logger = logging.getLogger(__name__)

EXACT = "exact"
VECTOR = "vector"
AUTO = "auto"
MODES = (EXACT, VECTOR, AUTO)
DEFAULT_AUTO_FACES = 2_000_000


def engine_for(index: object, collection: Collection) -> str:
    """Which engine serves the collection behind this search port (`exact` for a bare VectorIndex)."""
    return index.engine_for(collection) if isinstance(index, SearchEngines) else EXACT


class SearchEngines:
    """Routes each collection's searches to the engine its size and the mode call for."""

    def __init__(self, store: FaceStore, exact: VectorIndex, vector: VectorSearch | None, *,
                 mode: str = EXACT, auto_faces: int = DEFAULT_AUTO_FACES) -> None:
        if mode not in MODES:
            raise ValueError(f"search engine must be one of {', '.join(MODES)}, not {mode!r}")
        if mode != EXACT and vector is None:
            raise ValueError(f"search engine {mode!r} needs the vector index")
        self._store = store
        self.exact = exact
        self.vector = vector
        self.mode = mode
        self.auto_faces = auto_faces
        self._lock = threading.Lock()
        self._chosen: dict[tuple[str, str], str] = {}

    def engine_for(self, collection: Collection) -> str:
        """`exact` or `vector`: which engine serves this collection now."""
        if self.mode == EXACT or self.vector is None or not collection.vector_ready:
            return EXACT  # not backfilled yet: the vector index would miss its older faces
        if self.mode == AUTO and collection.face_count <= self.auto_faces:
            return EXACT
        return VECTOR

    def _choose(self, customer_id: str, collection_id: str, model_version: str | None) -> str:
        if self.mode == EXACT:
            return EXACT
        coll = check_collection(self._store.get_collection(customer_id, collection_id), collection_id, model_version)
        engine = self.engine_for(coll)
        with self._lock:
            self._chosen[(customer_id, collection_id)] = engine
        return engine

    def sync(self, customer_id: str, collection_id: str, *, model_version: str | None = None) -> None:
        """Check the collection (CollectionNotFound, ModelVersionMismatch) and bring its engine up to date
        (the exact engine loads or applies a delta)."""
        if self._choose(customer_id, collection_id, model_version) == EXACT:
            self.exact.sync(customer_id, collection_id, model_version=model_version)

    def search(self, customer_id: str, collection_id: str, query: npt.NDArray[np.float32], *,
               max_faces: int, min_cosine: float, synced: bool = False,
               model_version: str | None = None) -> list[tuple[str, float]]:
        with self._lock:
            chosen = self._chosen.get((customer_id, collection_id)) if synced else None
        engine = chosen or self._choose(customer_id, collection_id, model_version)
        if engine == VECTOR and self.vector is not None:
            try:
                return self.vector.search(customer_id, collection_id, query, max_faces=max_faces,
                                          min_cosine=min_cosine, synced=True)
            except IndexNotReady:
                logger.warning("vector index not ready: exact engine serves", extra={
                    "customer_id": customer_id, "collection_id": collection_id})
                synced = False
        return self.exact.search(customer_id, collection_id, query, max_faces=max_faces, min_cosine=min_cosine,
                                 synced=synced and engine == EXACT, model_version=model_version)

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

