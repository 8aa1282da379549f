"""Test helpers for the face store: faces with random unit embeddings, a moto-safe client wrapper."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from facestore import EMBEDDING_DIM, Face, face_id_for


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, EMBEDDING_DIM)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def make_faces(customer: str, collection: str, image_id: str, n: int = 2, *, version: str = "v1",
               seed: int = 0, external: str | None = "ext") -> list[Face]:
    vecs = unit_vectors(n, seed)
    return [
        Face(customer_id=customer, collection_id=collection,
             face_id=face_id_for(customer, collection, image_id, version, i), image_id=image_id,
             external_image_id=external, box={"left": 1.5 + i, "top": 2.0, "width": 30.25, "height": 40.0},
             landmarks=({"type": "eyeLeft", "x": 10.5, "y": 12.0},), confidence=99.5,
             quality={"brightness": 50.0, "sharpness": 70.0}, embedding=vecs[i], model_version="sface-1")
        for i in range(n)
    ]


class SerializedClient:
    """Wraps a moto-backed boto3 client so each API call is atomic, as in DynamoDB itself.

    moto applies a transaction step by step (and restores a deep copy of the table when it fails), so
    two threads inside moto at once can interleave; DynamoDB serializes them. Calls from different
    threads still interleave *between* calls, which is what the store's optimistic locking must handle.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.meta = client.meta

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return target(*args, **kwargs)

        return call
