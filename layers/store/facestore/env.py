"""The store layer's settings, read from the Lambda environment in this one place, and the builders
that turn them (with AWS clients the composition root hands in) into adapters.

    settings = StoreSettings.from_env()                       # FACES_TABLE, INDEX_BUCKET, ... once
    store = face_store(settings, dynamodb_client)
    index = vector_index(settings, store, s3_client)          # None without INDEX_BUCKET

No other module of the layer reads the environment; the clients (and their one botocore Config)
come from the function's composition root.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .engines import DEFAULT_AUTO_FACES
from .tokens import DEFAULT_TOKEN_KEY
from .vector_index import DEFAULT_CACHE_MB, VectorIndex

if TYPE_CHECKING:
    from .dynamodb import DynamoDBFaceStore
    from .port import FaceStore


@dataclass(frozen=True)
class StoreSettings:
    """FACES_TABLE, INDEX_BUCKET (snapshots), VECTOR_CACHE_MB, FACESTORE_TOKEN_KEY (pagination MACs),
    SEARCH_ENGINE (exact | vector | auto) and SEARCH_ENGINE_AUTO_FACES (facestore.engines)."""

    faces_table: str
    token_key: bytes = field(default=DEFAULT_TOKEN_KEY, repr=False)  # a secret: never in a log line
    index_bucket: str = ""
    vector_cache_mb: int = DEFAULT_CACHE_MB
    search_engine: str = "auto"
    search_engine_auto_faces: int = DEFAULT_AUTO_FACES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StoreSettings:
        get = (os.environ if environ is None else environ).get
        return cls(faces_table=get("FACES_TABLE", ""), index_bucket=get("INDEX_BUCKET", ""),
                   vector_cache_mb=int(get("VECTOR_CACHE_MB", "") or DEFAULT_CACHE_MB),
                   token_key=get("FACESTORE_TOKEN_KEY", "").encode() or DEFAULT_TOKEN_KEY,
                   search_engine=get("SEARCH_ENGINE", "") or "auto",
                   search_engine_auto_faces=int(get("SEARCH_ENGINE_AUTO_FACES", "") or DEFAULT_AUTO_FACES))


def face_store(settings: StoreSettings, dynamodb: Any) -> DynamoDBFaceStore:
    """The DynamoDB face store over FACES_TABLE (`dynamodb`: a low-level DynamoDB client). With
    SEARCH_ENGINE=vector the collections it creates are born sharded (facestore.dynamodb)."""
    from .dynamodb import DynamoDBFaceStore
    from .model import DEFAULT_SHARDS

    if not settings.faces_table:
        raise KeyError("FACES_TABLE is not set: the function's environment lacks the faces table")
    shards = DEFAULT_SHARDS if settings.search_engine == "vector" else 0
    return DynamoDBFaceStore(dynamodb, settings.faces_table, token_key=settings.token_key, shards=shards)


def vector_index(settings: StoreSettings, store: FaceStore, s3: Any) -> VectorIndex | None:
    """The exact vector index with its snapshots in INDEX_BUCKET (`s3`: a low-level S3 client); None without one."""
    if not settings.index_bucket:
        return None
    from .s3_snapshots import S3SnapshotStore

    return VectorIndex(store, S3SnapshotStore(s3, settings.index_bucket), cache_mb=settings.vector_cache_mb)


def search_index(settings: StoreSettings, store: DynamoDBFaceStore, s3: Any, dynamodb: Any) -> Any:
    """The search port for face_api: both engines behind facestore.engines.SearchEngines, in the mode
    SEARCH_ENGINE names (with `exact`, collections already handed to the vector index stay on it:
    their writes keep no change log for the exact engine). None without INDEX_BUCKET."""
    exact = vector_index(settings, store, s3)
    if exact is None:
        return None
    from .dynamodb import collection_pk
    from .engines import SearchEngines
    from .vector_search import VectorSearch

    vector = VectorSearch(dynamodb, settings.faces_table, store, collection_pk)
    return SearchEngines(store, exact, vector, mode=settings.search_engine,
                         auto_faces=settings.search_engine_auto_faces)
