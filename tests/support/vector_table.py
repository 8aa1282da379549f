"""FacesTable on moto with the local SearchVectors emulation, and faces with given embeddings: what the
vector-engine tests (search, backfill, sharded writes) share."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import boto3
import numpy as np
from moto import mock_aws

from facesearch.local import search_vectors
from facesearch.local.template import create_table, load_template
from facestore import Face


@contextmanager
def faces_table(table: str) -> Iterator[Any]:
    """A moto DynamoDB client with `table` created from template.yaml's FacesTable (its vector index
    included) and SearchVectors emulated (facesearch.local.search_vectors); both undone on exit."""
    search_vectors.install()  # before the table is created: it remembers FacesTable's vector index
    try:
        with mock_aws():
            ddb = boto3.client("dynamodb", region_name="us-east-1")
            create_table(ddb, load_template(), "FacesTable", table)
            yield ddb
    finally:
        search_vectors.uninstall()


def unit_rows(n: int, seed: int) -> np.ndarray:
    """n random L2-normalised float32 embeddings."""
    v = np.random.default_rng(seed).normal(size=(n, 128)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def faces_with(customer: str, collection: str, vectors: Sequence[np.ndarray] | np.ndarray,
               start: int = 0) -> list[Face]:
    """One face per embedding: face ids f{start+i:04d}, one image each (img{start+i})."""
    return [Face(customer_id=customer, collection_id=collection, face_id=f"f{start + i:04d}",
                 image_id=f"img{start + i}", external_image_id=None,
                 box={"left": 1.0, "top": 2.0, "width": 3.0, "height": 4.0}, landmarks=(), confidence=99.0,
                 quality={}, embedding=v, model_version="m")
            for i, v in enumerate(vectors)]
