"""face_api's composition root: the function's expensive collaborators, built once per container.

    compose()                           # settings (this function's, the store's, the policy's) -> Deps
    d: deps.Container                   # a route parameter: Powertools' Depends(get_deps)
    app.dependency_overrides[deps.get_deps] = lambda: fake   # tests hand in moto-backed or fake adapters

The face engine (two ONNX sessions) is loaded on the first route that needs it, so listing
collections never pays for it. With SnapStart it is loaded before the snapshot instead
(`load_before_snapshot`), and a restored container renews everything else (`renew_after_restore`).
"""

from __future__ import annotations

import functools
import os
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.depends import Depends

from faceengine import MODEL_VERSION, FaceEngine
from facepolicy import runtime
from facepolicy.gate import PolicyGate
from facestore.port import FaceStore

UPLOAD_EXPIRY_SECONDS = 300  # presigned upload URLs: short-lived (≤ 900 s)


@dataclass(frozen=True)
class Settings:
    """face_api's own variables: UPLOADS_BUCKET, UPLOAD_URL_EXPIRY_SECONDS (60..900), ENGINE_THREADS."""

    uploads_bucket: str
    upload_expiry_seconds: int = UPLOAD_EXPIRY_SECONDS
    engine_threads: int = 1

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        expiry = int(env.get("UPLOAD_URL_EXPIRY_SECONDS", "") or UPLOAD_EXPIRY_SECONDS)
        return cls(uploads_bucket=env["UPLOADS_BUCKET"], upload_expiry_seconds=min(max(expiry, 60), 900),
                   engine_threads=int(env.get("ENGINE_THREADS", "") or 1))


@dataclass
class Deps:
    """Everything a route may use. `engine_factory` defers loading the models to first use."""

    settings: Settings
    store: FaceStore
    index: Any  # facestore.VectorIndex: search / sync / face_meta / faces_meta / drop
    gate: PolicyGate
    s3: Any  # a low-level S3 client (SigV4, for presigned URLs and reading uploads)
    engine_factory: Callable[[], FaceEngine] = field(default=lambda: FaceEngine.load(threads=1))
    _engine: FaceEngine | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def engine_model_version(self) -> str:
        """The face model version of results (known without loading the engine)."""
        return self._engine.model_version if self._engine is not None else MODEL_VERSION

    @property
    def engine(self) -> FaceEngine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self.engine_factory()
        return self._engine


def s3_client() -> Any:
    """An S3 client that signs with SigV4, so presigned PUTs sign Content-Length, Content-Type and metadata."""
    from botocore.config import Config

    from facepolicy.env import CLIENT_CONFIG, botocore_client

    return botocore_client("s3", CLIENT_CONFIG.merge(
        Config(signature_version="s3v4", s3={"addressing_style": "virtual"})))


def compose(environ: Mapping[str, str] | None = None, *, metrics: Any = None) -> Deps:
    """The production wiring: DynamoDB face store, S3-snapshot vector index, policy gate, S3 client. Two
    low-level botocore clients of one lean session (facepolicy.env), shared by the store, the index and
    the gate; no boto3 (its import with s3transfer, and its resource layer, cost a cold start ~0.05-0.1 s).
    The S3 client is built on first use (facepolicy.env.LazyClient): the DynamoDB one serves every request."""
    from facepolicy.env import LazyClient, botocore_client, gate_from_env
    from facestore.env import StoreSettings, face_store, search_index

    settings, store_settings = Settings.from_env(environ), StoreSettings.from_env(environ)
    s3 = LazyClient(s3_client)  # built by the first request that reads or signs for S3, not by ListCollections'
    dynamodb = botocore_client("dynamodb")
    store = face_store(store_settings, dynamodb)
    index = search_index(store_settings, store, s3, dynamodb)
    if index is None:
        raise KeyError("INDEX_BUCKET is not set: face_api searches the collections' snapshots")
    return Deps(settings=settings, store=store, index=index,
                gate=gate_from_env(environ, dynamodb, metrics=metrics), s3=s3,
                engine_factory=functools.partial(load_engine, settings.engine_threads))


@functools.cache
def load_engine(threads: int) -> FaceEngine:
    """The face engine, loaded once per container (kept across a SnapStart restore)."""
    return FaceEngine.load(threads=threads)


@functools.cache
def get_deps() -> Deps:
    """This container's Deps (a Powertools dependency): composed on first use, then shared."""
    from aws_lambda_powertools import Metrics

    with runtime.init_phase():
        return compose(metrics=Metrics())  # Metrics instances share one metric set, flushed by the handler


Container = Annotated[Deps, Depends(get_deps)]


def gate(d: Container) -> PolicyGate:
    """The policy gate, for `requires(operation, deps.gate)` (a dependency of the route's middleware)."""
    return d.gate


@runtime.before_snapshot
def load_before_snapshot() -> None:
    """SnapStart: compose and load the models before the snapshot, so a restored container's first
    search does not load them."""
    get_deps().engine  # noqa: B018 - loading is the point


@runtime.after_restore
def renew_after_restore() -> None:
    """SnapStart: what restored containers must not share is made anew: the AWS clients (their
    connections and credentials), the policy decision cache and the vector index (times and data of
    before the snapshot; the lean botocore session with its resolved credentials), the random seed. The
    loaded models are kept (load_engine)."""
    from facepolicy.env import lean_session

    random.seed()
    lean_session(renew=True)  # a new session: credentials resolved after the restore, not in the snapshot
    get_deps.cache_clear()
    get_deps()
