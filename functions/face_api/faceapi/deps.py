"""The function's expensive collaborators, built once per container and injectable for tests.

    deps.current()            # lazily built from the environment on first use, then reused
    deps.override(Deps(...))  # tests hand in moto-backed or fake adapters; deps.reset() undoes it

The face engine (two ONNX sessions) is loaded on the first route that needs it, so listing
collections never pays for it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from faceengine import MODEL_VERSION, FaceEngine
from facepolicy.gate import PolicyGate
from facestore.port import FaceStore

UPLOAD_EXPIRY_SECONDS = 300  # presigned upload URLs: short-lived (≤ 900 s)


@dataclass(frozen=True)
class Settings:
    uploads_bucket: str
    upload_expiry_seconds: int = UPLOAD_EXPIRY_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        expiry = int(env.get("UPLOAD_URL_EXPIRY_SECONDS", "") or UPLOAD_EXPIRY_SECONDS)
        return cls(uploads_bucket=env["UPLOADS_BUCKET"], upload_expiry_seconds=min(max(expiry, 60), 900))


@dataclass
class Deps:
    """Everything a route may use. `engine_factory` defers loading the models to first use."""

    settings: Settings
    store: FaceStore
    index: Any  # facestore.VectorIndex: search / face_meta / drop
    gate: PolicyGate
    s3: Any  # boto3 S3 client (SigV4, for presigned URLs and reading uploads)
    engine_factory: Callable[[], FaceEngine] = field(
        default=lambda: FaceEngine.load(threads=int(os.environ.get("ENGINE_THREADS", "1"))))
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


def s3_client(region: str | None = None) -> Any:
    """An S3 client that signs with SigV4, so presigned PUTs sign Content-Length, Content-Type and metadata."""
    import boto3
    from botocore.config import Config

    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("s3", region_name=region,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"},
                                      retries={"mode": "standard", "max_attempts": 3}))


def from_env(metrics: Any = None) -> Deps:
    """The production wiring: DynamoDB face store, S3-snapshot vector index, policy gate, S3 client."""
    import boto3

    from facepolicy.env import gate_from_env
    from facestore import DynamoDBFaceStore, S3SnapshotStore, VectorIndex

    env = os.environ
    s3 = s3_client()
    store = DynamoDBFaceStore(boto3.client("dynamodb"), env["FACES_TABLE"])
    index = VectorIndex(store, S3SnapshotStore(s3, env["INDEX_BUCKET"]))
    return Deps(settings=Settings.from_env(), store=store, index=index, gate=gate_from_env(metrics=metrics),
                s3=s3)


_current: Deps | None = None
_factory: Callable[[], Deps] = from_env
_build_lock = threading.Lock()


def configure(factory: Callable[[], Deps]) -> None:
    """Set how the container is built on first use (app.py passes one that shares its Metrics)."""
    global _factory
    _factory = factory


def current() -> Deps:
    global _current
    if _current is None:
        with _build_lock:
            if _current is None:
                _current = _factory()
    return _current


def override(deps: Deps) -> None:
    """Use `deps` for every following request (tests)."""
    global _current
    _current = deps


def reset() -> None:
    global _current
    _current = None


def gate() -> PolicyGate:
    """The policy gate, for `requires(operation, deps.gate)` (resolved per request)."""
    return current().gate
