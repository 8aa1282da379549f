"""VectorSearch: the search engine on FacesTable's DynamoDB vector index (`faces-vec`, SearchVectors).

The same search surface as the exact VectorIndex (sync / search / face_meta / drop / maybe_snapshot),
so facestore.engines can put either behind one port. A query is:

1. SearchVectors on the index, partitioned by the collection (HASH = the face items' `pk`), asking
   for `candidates(max_faces)` neighbours (over-fetch: the index is approximate, ANN);
2. one strongly consistent BatchGetItem of those face items: a face deleted after the index last saw
   it is not in the answer, so it is never returned (the index is replicated asynchronously);
3. an exact re-rank: cosine of the query with each stored float32 embedding, the same arithmetic as
   the exact engine, so thresholds and similarities mean the same on both engines.

Freshness: a face is searchable once the index has replicated its item (asynchronous, typically
within a second on AWS; the local emulation can add a lag, facesearch.local.search_vectors); a
deleted face leaves results at once (step 2).

Face items carry the embedding twice: `emb` (512 B binary: the exact engine's snapshots and deltas
decode it with one frombuffer) and `vec`, the list of 128 numbers the vector index requires
(`vector_numbers`: the shortest decimal that round-trips each float32).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .errors import CollectionNotFound, ModelVersionMismatch, StoreError, StoreUnavailable
from .model import EMBEDDING_DIM, Collection, Face, FaceMeta

logger = logging.getLogger(__name__)

VECTOR_INDEX_NAME = "faces-vec"
VECTOR_ATTRIBUTE = "vec"
OVERFETCH = 4
MIN_CANDIDATES = 50
MAX_CANDIDATES = 400  # one consistent BatchGetItem round per 100; keeps a query's reads bounded
_RECENT_MAX = 20_000
_TRANSIENT = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
                        "InternalServerError", "ServiceUnavailable", "LimitExceededException"})


class IndexNotReady(StoreError):
    """The vector index cannot answer yet (being created or backfilled): serve with the exact engine."""


class VectorStore(Protocol):
    """What the engine needs of the face store (DynamoDBFaceStore provides it)."""

    def get_collection(self, customer_id: str, collection_id: str, *, counts: bool = True) -> Collection | None: ...

    def get_face(self, customer_id: str, collection_id: str, face_id: str) -> Face | None: ...

    def live_faces(self, customer_id: str, collection_id: str, face_ids: Sequence[str]) -> list[Face]: ...


def vector_numbers(embedding: object) -> list[Decimal]:
    """The embedding as DynamoDB numbers: the shortest decimal that round-trips each float32 value."""
    arr = np.asarray(embedding, dtype=np.float32)
    if arr.shape != (EMBEDDING_DIM,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"embedding must be a finite ({EMBEDDING_DIM},) vector")
    return [Decimal(np.format_float_positional(v, unique=True, trim="0")) for v in arr]


def candidates(max_faces: int) -> int:
    """How many neighbours to ask the approximate index for, to return `max_faces` exactly re-ranked."""
    return min(MAX_CANDIDATES, max(MIN_CANDIDATES, OVERFETCH * max_faces))


def search_request(table: str, pk: str, query: npt.NDArray[np.float32], top_k: int) -> dict[str, Any]:
    """SearchVectors' parameters (botocore 1.44 shapes): the query in the collection's partition."""
    return {
        "TableName": table, "IndexName": VECTOR_INDEX_NAME, "TopK": top_k,
        "SearchVector": [{"N": str(n)} for n in vector_numbers(query)],
        "SearchConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": "pk"},
        "ExpressionAttributeValues": {":pk": {"S": pk}},
    }


def check_collection(coll: Collection | None, collection_id: str, model_version: str | None) -> Collection:
    """The collection, if it exists (CollectionNotFound) and records the query's face model or none
    (ModelVersionMismatch: its vectors and the query's would not be comparable)."""
    if coll is None:
        raise CollectionNotFound(collection_id)
    if model_version and coll.model_version and coll.model_version != model_version:
        raise ModelVersionMismatch(collection_id, coll.model_version, model_version)
    return coll


class VectorSearch:
    """Top-k search on the DynamoDB vector index, re-ranked exactly (see the module docstring).

    `client`: a boto3 DynamoDB client; `pk_of(customer, collection)`: the face items' partition key.
    """

    def __init__(self, client: Any, table: str, store: VectorStore, pk_of: Any) -> None:
        self._client = client
        self._table = table
        self._store = store
        self._pk_of = pk_of
        self._lock = threading.Lock()
        self._recent: OrderedDict[tuple[str, str, str], FaceMeta] = OrderedDict()

    def ready(self) -> bool:
        """Whether DynamoDB reports the index ACTIVE and not backfilling (DescribeTable)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            table = self._client.describe_table(TableName=self._table)["Table"]
        except (ClientError, BotoCoreError) as exc:
            logger.warning("describe_table failed", extra={"error": type(exc).__name__})
            return False
        for index in table.get("VectorIndexes", []):
            if index.get("IndexName") == VECTOR_INDEX_NAME:
                return index.get("IndexStatus", "ACTIVE") == "ACTIVE" and not index.get("Backfilling", False)
        return False

    def sync(self, customer_id: str, collection_id: str, *, model_version: str | None = None) -> None:
        """Nothing is cached: only check that the collection exists (CollectionNotFound) and was indexed
        with the query's face model (ModelVersionMismatch)."""
        check_collection(self._store.get_collection(customer_id, collection_id, counts=False), collection_id,
                         model_version)

    def _neighbours(self, customer_id: str, collection_id: str, query: npt.NDArray[np.float32],
                    top_k: int) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        request = search_request(self._table, self._pk_of(customer_id, collection_id), query, top_k)
        try:
            resp = self._client.search_vectors(**request)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code, message = error.get("Code", ""), str(error.get("Message", ""))
            if code == "ValidationException" and ("backfill" in message.lower() or "not active" in message.lower()):
                raise IndexNotReady(message) from exc
            if code in _TRANSIENT:
                raise StoreUnavailable(f"search_vectors: {code}") from exc
            logger.error("search_vectors failed", extra={"code": code})
            raise StoreError(f"search_vectors: {code}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"search_vectors: {type(exc).__name__}") from exc
        ids: list[str] = []
        for result in resp.get("SearchResults", []):
            sk = result.get("Item", {}).get("sk", {}).get("S", "")
            if sk.startswith("FACE#"):
                ids.append(sk[5:])
        return ids

    def search(self, customer_id: str, collection_id: str, query: npt.NDArray[np.float32], *,
               max_faces: int, min_cosine: float, synced: bool = False,
               model_version: str | None = None) -> list[tuple[str, float]]:
        """Top `max_faces` (face id, cosine) with cosine >= min_cosine, best first (as VectorIndex.search).
        Raises CollectionNotFound, ModelVersionMismatch, IndexNotReady, StoreUnavailable."""
        q = np.asarray(query, dtype=np.float32)
        if q.shape != (EMBEDDING_DIM,) or not np.all(np.isfinite(q)):
            raise ValueError(f"query must be a finite ({EMBEDDING_DIM},) vector")
        if max_faces < 1:
            raise ValueError("max_faces must be at least 1")
        if not synced:
            self.sync(customer_id, collection_id, model_version=model_version)
        ids = self._neighbours(customer_id, collection_id, q, candidates(max_faces))
        faces = self._store.live_faces(customer_id, collection_id, ids) if ids else []
        return self.rerank(customer_id, collection_id, q, faces, max_faces=max_faces, min_cosine=min_cosine)

    def rerank(self, customer_id: str, collection_id: str, q: npt.NDArray[np.float32], faces: Sequence[Face], *,
               max_faces: int, min_cosine: float) -> list[tuple[str, float]]:
        """Exact cosine of the live candidates, cut at min_cosine, best first; remembers their metadata."""
        if not faces:
            return []
        matrix = np.stack([np.asarray(f.embedding, dtype=np.float32) for f in faces])
        scores = matrix @ q
        order = [int(i) for i in np.argsort(-scores, kind="stable") if scores[i] >= min_cosine][:max_faces]
        with self._lock:
            for i in order:
                key = (customer_id, collection_id, faces[i].face_id)
                self._recent[key] = FaceMeta.of(faces[i])
                self._recent.move_to_end(key)
            while len(self._recent) > _RECENT_MAX:
                self._recent.popitem(last=False)
        return [(faces[i].face_id, float(scores[i])) for i in order]

    def face_meta(self, customer_id: str, collection_id: str, face_id: str) -> FaceMeta | None:
        """Metadata of a face this engine just returned, else one store read; None if it does not exist."""
        with self._lock:
            meta = self._recent.get((customer_id, collection_id, face_id))
        if meta is not None:
            return meta
        face = self._store.get_face(customer_id, collection_id, face_id)
        return FaceMeta.of(face) if face is not None else None

    def maybe_snapshot(self, customer_id: str, collection_id: str, *, force: bool = False) -> bool:
        """No snapshots: DynamoDB keeps the index."""
        return False

    def drop(self, customer_id: str, collection_id: str) -> None:
        """Forget a deleted collection's remembered metadata."""
        with self._lock:
            for key in [k for k in self._recent if k[:2] == (customer_id, collection_id)]:
                del self._recent[key]

    def cached_bytes(self) -> int:
        return 0
