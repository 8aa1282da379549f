"""Benchmark of the DynamoDB vector-index engine (issue 12): face item size, and the engine's
client-side cost per query against the exact engine's warm search in the same run.

- Item size: a face item as DynamoDBFaceStore writes it, with and without `vec` (the 128 numbers the
  vector index requires), by DynamoDB's published size rules (attribute names + values; a number is
  about 1 byte per 2 significant digits + 1; a list 3 bytes + 1 per element).
- Client-side cost of one vector-engine query: building the SearchVectors request, reading its
  answer, the strongly consistent BatchGetItem's deserialisation (through DynamoDBFaceStore's real
  code) and the exact re-rank, for the default 10 faces (TopK = 50 candidates). The network and
  DynamoDB's own time are not in it (a canned client answers): add AWS's published latency.
- The exact engine: VectorIndex.search warm, over 10k / 100k / 1M synthetic faces (one BLAS thread).

    python -m bench.vector_search
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

import statistics  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from facestore import DynamoDBFaceStore, Face, InMemoryFaceStore, InMemorySnapshotStore, VectorIndex  # noqa: E402
from facestore.dynamodb import _face_item, _ser, collection_pk  # noqa: E402  (the item shape as written)
from facestore.snapshots import MetaColumns, StrColumn  # noqa: E402
from facestore.vector_search import VectorSearch, candidates  # noqa: E402

SIZES = tuple(int(s) for s in os.environ.get("BENCH_VECTOR_SIZES", "10000,100000,1000000").split(","))
C, COLL, DIM, MAX_FACES, MIN_COSINE, QUERIES = "bench-customer", "bench", 128, 10, 0.363, 200


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0") or "0"
    return (len(digits.rstrip("0")) + 1) // 2 + 1


def item_size(value: dict[str, Any]) -> int:
    """DynamoDB's size of one serialised attribute value (recursively)."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return _number_size(v)
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + item_size(e) for e in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + item_size(e) for k, e in v.items())
    if kind == "SS":
        return sum(len(e.encode()) for e in v)
    return sum(_number_size(e) for e in v) if kind == "NS" else 0


def _face(i: int, v: np.ndarray) -> Face:
    return Face(customer_id=C, collection_id=COLL, face_id=f"{i:08x}-0000-4000-8000-{i:012x}",
                image_id=f"photo-{i // 3:07d}.jpg", external_image_id=f"ext-{i}",
                box={"left": 0.31, "top": 0.22, "width": 0.18, "height": 0.24},
                landmarks=tuple({"type": t, "x": 0.4, "y": 0.3} for t in ("eyeLeft", "eyeRight", "nose",
                                                                            "mouthLeft", "mouthRight")),
                confidence=99.12, quality={"brightness": 61.2, "sharpness": 77.9}, embedding=v, model_version="sface")


def _unit(n: int, seed: int) -> np.ndarray:
    m = np.random.default_rng(seed).standard_normal((n, DIM), dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


class _CannedClient:
    """SearchVectors answers the `top` neighbours; BatchGetItem answers from serialised face items."""

    def __init__(self, items: dict[str, dict[str, Any]], top: list[str]) -> None:
        self.items, self.top = items, top

    def search_vectors(self, **request: Any) -> dict[str, Any]:
        return {"SearchResults": [{"Item": {"pk": self.items[sk]["pk"], "sk": {"S": sk}}, "Score": 0.5}
                                  for sk in self.top[:request["TopK"]]]}

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        (table, spec), = RequestItems.items()
        return {"Responses": {table: [self.items[k["sk"]["S"]] for k in spec["Keys"]]}}


def _item_sizes() -> None:
    pk = collection_pk(C, COLL)
    sizes = []
    for i, v in enumerate(_unit(50, 1)):
        raw = _ser(_face_item(_face(i, v), pk))
        with_vec = sum(len(k) + item_size(a) for k, a in raw.items())
        without = with_vec - len("vec") - item_size(raw["vec"])
        sizes.append((with_vec, without, len("emb") + item_size(raw["emb"])))
    w, wo, emb = (statistics.mean(s[j] for s in sizes) for j in range(3))
    print(f"face item: {wo:.0f} B without vec (emb binary {emb:.0f} B), {w:.0f} B with vec: x{w / wo:.2f}; "
          f"write units per face (1 KB each): {int(-(-wo // 1024))} -> {int(-(-w // 1024))}; "
          f"strongly consistent read units (4 KB): {int(-(-w // 4096))}")


def _vector_cost() -> float:
    vectors = _unit(candidates(MAX_FACES), 2)
    pk = collection_pk(C, COLL)
    items = {}
    for i, v in enumerate(vectors):
        raw = _ser(_face_item(_face(i, v), pk))
        items[raw["sk"]["S"]] = raw
    client = _CannedClient(items, list(items))
    store = DynamoDBFaceStore(client, "bench-table")
    engine = VectorSearch(client, "bench-table", store, collection_pk)
    queries = _unit(QUERIES, 3)
    samples = []
    for q in queries:
        t = time.perf_counter()
        engine.search(C, COLL, q, max_faces=MAX_FACES, min_cosine=-1.0, synced=True)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def _exact_cost(n: int) -> float:
    store, snaps = InMemoryFaceStore(), InMemorySnapshotStore()
    store.create_collection(C, COLL, "sface")
    seed = _face(0, _unit(1, 4)[0])
    store.put_faces(C, COLL, [seed])
    store.delete_faces(C, COLL, [seed.face_id])
    m = _unit(n, 5)
    ids = np.array([f"{i:08x}-0000-4000-8000-{i:012x}".encode() for i in range(n)], dtype="S36")
    meta = MetaColumns(StrColumn.of([f"photo-{i // 3:07d}.jpg" for i in range(n)]), StrColumn.of([None] * n),
                       StrColumn.of([None] * n), np.zeros((n, 4), dtype=np.float32))
    snaps.save(C, COLL, 2, ids, m, meta)
    store.set_snapshot(C, COLL, 2)
    index = VectorIndex(store, snaps, cache_mb=4096)
    index.search(C, COLL, m[0], max_faces=MAX_FACES, min_cosine=MIN_COSINE)  # load: warm from here
    samples = []
    for q in _unit(50, 6):
        t = time.perf_counter()
        index.search(C, COLL, q, max_faces=MAX_FACES, min_cosine=MIN_COSINE)
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def run() -> None:
    _item_sizes()
    vector_ms = _vector_cost()
    print(f"vector engine client-side per query (TopK {candidates(MAX_FACES)}, max_faces {MAX_FACES}; "
          f"network and DynamoDB time excluded): p50 {vector_ms:.2f} ms, independent of collection size")
    for n in SIZES:
        exact_ms = _exact_cost(n)
        print(f"{n:>9,} faces: exact warm search p50 {exact_ms:.2f} ms vs vector client-side {vector_ms:.2f} ms "
              f"(ratio vector/exact {vector_ms / exact_ms:.2f})")


if __name__ == "__main__":
    run()
