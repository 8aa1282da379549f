"""End-to-end search by photo through the face_api handler (issue 5): 100k faces, one thread.

An API Gateway event (events/http_search_by_image.json with a real photo) goes through the whole
handler: Powertools resolver and validation, the policy gate (registry read cached, one audit
PutItem), base64 decode, the face engine (decode, detect, align, embed), the warm vector index (one
collection GetItem for the version check, matrix product over 100k vectors) and the response. Tables and
buckets come from template.yaml. The collection holds 100k synthetic unit vectors in an S3 snapshot plus the
real obama.jpg face, which must come back as the best match.

Measured twice: with moto in process (mock_aws: moto's parsing and storing of every DynamoDB call runs on the
handler's own thread, ~10 ms a request), and against a moto server in a child process over HTTP on 127.0.0.1,
as the local stack serves AWS. The goal (p50 <= 40 ms on one thread) is judged on the second: in Lambda that
work is DynamoDB's, not the function's, while the function still waits for each answer and pays its own
client side. Both lines print, with the handler thread's CPU time beside the wall time. Then where the time
goes: the engine's and the index's steps measured alone (in process), and, inside requests over HTTP, timers
around each step of the use case (decode, the wait for the audit record, detect + align + embed, the index
search with its result metadata) and what is left of the handler.

    python -m bench.search            (or through python -m bench)
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_var] = "1"

import base64  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import ExitStack, contextmanager  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT / "tests" / "data" / "photos"
N_FACES = 100_000
CUSTOMER = "bench-co"
COLLECTION = "crowd"
WARMUP, RUNS = 5, 60


@dataclass
class _Context:
    function_name: str = "FaceApiFunction"
    memory_limit_in_mb: int = 3008
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:FaceApiFunction"
    aws_request_id: str = "bench"


def _env_defaults() -> None:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                       "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
                       "POWERTOOLS_METRICS_DISABLED": "true",
                       "POWERTOOLS_METRICS_NAMESPACE": "FaceSearch", "POWERTOOLS_SERVICE_NAME": "facesearch"}.items():
        os.environ.setdefault(key, value)
    os.environ.pop("AWS_PROFILE", None)


def _seed_collection(store: Any, snapshots: Any, real_face: Any) -> str:
    """100k synthetic faces in a snapshot (version 2) + obama.jpg's face in the change log (version 3)."""
    from facestore import Face, face_id_for
    from facestore.snapshots import MetaColumns, StrColumn

    rng = np.random.default_rng(7)
    matrix = rng.standard_normal((N_FACES, 128), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = np.array([f"{i:08x}-0000-4000-8000-{i:012x}".encode() for i in range(N_FACES)], dtype="S36")
    meta = MetaColumns(StrColumn.of([f"photo-{i // 3:07d}.jpg" for i in range(N_FACES)]),
                       StrColumn.of([None] * N_FACES), StrColumn.of([None] * N_FACES),
                       np.tile(np.array([[10, 20, 100, 120]], dtype=np.float32), (N_FACES, 1)))

    def face(image_id: str, embedding: Any) -> Face:
        return Face(CUSTOMER, COLLECTION, face_id_for(CUSTOMER, COLLECTION, image_id, "v1", 0), image_id,
                    image_id.removesuffix(".jpg"), {"left": 1.0, "top": 2.0, "width": 3.0, "height": 4.0}, (),
                    99.0, {}, np.asarray(embedding, dtype=np.float32))

    seed = face("seed.jpg", matrix[0])
    store.put_faces(CUSTOMER, COLLECTION, [seed])
    store.delete_faces(CUSTOMER, COLLECTION, [seed.face_id])  # version 2: the collection is all snapshot
    snapshots.save(CUSTOMER, COLLECTION, 2, ids, matrix, meta)
    store.set_snapshot(CUSTOMER, COLLECTION, 2)
    target = face("obama.jpg", real_face)
    store.put_faces(CUSTOMER, COLLECTION, [target])  # version 3: read from the change log by the index
    return target.face_id


def _pct(samples: list[float], p: float) -> float:
    return float(np.percentile(np.array(samples), p))


_MOTO_CHILD = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()  # until the bench closes the pipe or exits: the server never outlives it
server.stop()
"""


@contextmanager
def _moto_server() -> Iterator[str]:
    """A moto server in a child process on 127.0.0.1 (as the local stack serves AWS); yields its endpoint."""
    from facesearch.local.stack import free_port

    port = free_port()
    child = subprocess.Popen([sys.executable, "-c", _MOTO_CHILD, str(port)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        if child.stdout is None or child.stdout.readline().strip() != b"ready":
            raise RuntimeError("the moto server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@dataclass
class _Run:
    """One measurement of the handler: wall and thread-CPU times per request (ms), by SFace thread count."""

    wall: dict[int, list[float]]
    cpu: dict[int, list[float]]
    cold_ms: float
    body: dict[str, Any]


def _measure(engine: Any, query_photo: bytes, real_face: Any, *, endpoint: str | None,
             thread_counts: tuple[int, ...], extra: Callable[[Any, Callable[[], Any]], None] | None = None) -> _Run:
    """Provision AWS (moto in process, or the moto server at `endpoint`), seed the collection, search.

    `extra(container, request)` runs inside, with the composed dependencies and a function that sends one
    search request (the breakdowns)."""
    import boto3
    from moto import mock_aws

    from faceengine import FaceEngine
    from facesearch.local.functions import load_module
    from facesearch.local.template import Names, load_template, provision
    from tests.support.events import load_event

    with ExitStack() as stack:
        if endpoint is None:
            stack.enter_context(mock_aws())
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = endpoint  # every client the function builds goes to the server
            stack.callback(os.environ.pop, "AWS_ENDPOINT_URL", None)
        session = boto3.Session(region_name="us-east-1")
        template = load_template()
        names = Names()
        env = provision(session, template, names).env(template, "FaceApiFunction", names)
        # the bench customer's traffic must not be throttled (issue 16's default quota is 20 requests/s),
        # and the per-request INFO lines (policy decisions) would flood the output
        env.update({"QUOTA_REQUESTS_PER_SECOND": "0", "POWERTOOLS_LOG_LEVEL": "WARNING", "LOG_LEVEL": "WARNING",
                    "POWERTOOLS_METRICS_DISABLED": "true"})
        os.environ.update(env)
        module = load_module("FaceApiFunction", template, fresh=True)
        from faceapi import deps

        from facepolicy.env import admin_from_env

        admin_from_env(env).create_customer(name=CUSTOMER, sector="media", jurisdiction="US", status="active",
                                            customer_id=CUSTOMER, principal="bench", request_id="bench")
        container = deps.compose()
        container.engine_factory = lambda: engine
        module.app.dependency_overrides[deps.get_deps] = lambda: container
        stack.callback(module.app.dependency_overrides.clear)
        container.store.create_collection(CUSTOMER, COLLECTION, engine.model_version)
        from facestore import S3SnapshotStore

        expected = _seed_collection(container.store, S3SnapshotStore(container.s3, env["INDEX_BUCKET"]), real_face)

        event = load_event("http_search_by_image")
        event["requestContext"]["authorizer"]["lambda"]["customer_id"] = CUSTOMER
        event["pathParameters"] = {"collection_id": COLLECTION}
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/prod/collections/{COLLECTION}/search"
        event["body"] = json.dumps({"image": base64.b64encode(query_photo).decode(), "max_faces": 10})

        started = time.perf_counter()
        first = module.lambda_handler(event, _Context())
        cold_ms = (time.perf_counter() - started) * 1000
        body = json.loads(first["body"])
        if first["statusCode"] != 200 or body["face_matches"][0]["face"]["face_id"] != expected:
            raise RuntimeError(f"search did not find the expected face: {first['statusCode']} {first['body'][:300]}")
        wall: dict[int, list[float]] = {}
        cpu: dict[int, list[float]] = {}
        for threads in thread_counts:  # 1: a single thread; 2: SFace on 2 threads as deployed (ENGINE_THREADS)
            threaded = engine if threads == 1 else FaceEngine.load(threads=threads)
            threaded_deps = replace(container, engine_factory=lambda e=threaded: e, _engine=None)
            module.app.dependency_overrides[deps.get_deps] = lambda d=threaded_deps: d
            wall[threads], cpu[threads] = [], []
            for i in range(WARMUP + RUNS):
                t, c = time.perf_counter(), time.thread_time()
                response = module.lambda_handler(event, _Context())
                elapsed, used = (time.perf_counter() - t) * 1000, (time.thread_time() - c) * 1000
                if response["statusCode"] != 200:
                    raise RuntimeError(f"search failed: {response['body'][:300]}")
                if i >= WARMUP:
                    wall[threads].append(elapsed)
                    cpu[threads].append(used)
        if extra is not None:
            module.app.dependency_overrides[deps.get_deps] = lambda: container
            extra(container, lambda: module.lambda_handler(event, _Context()))
    return _Run(wall, cpu, cold_ms, body)


def _breakdown(engine: Any, query_photo: bytes, real_face: Any, container: Any) -> dict[str, Any]:
    """Where one request's engine and index time goes (medians, ms)."""
    from faceengine import SEARCH_MAX_SIDE, SEARCH_MIN_SIDE

    engine_times = []
    for _ in range(RUNS // 2):
        t = time.perf_counter()
        engine.analyze(query_photo, max_faces=1, detect_max_side=SEARCH_MAX_SIDE, detect_min_side=SEARCH_MIN_SIDE)
        engine_times.append((time.perf_counter() - t) * 1000)
    parts: dict[str, list[float]] = {"decode": [], "detect + align": [], "embed": []}
    for _ in range(RUNS // 2):
        t0 = time.perf_counter()
        image = engine.decode(query_photo)
        t1 = time.perf_counter()
        found = engine._detect(image, SEARCH_MAX_SIDE, min_side=SEARCH_MIN_SIDE)[:1]
        t2 = time.perf_counter()
        engine.embedder.embed(np.stack([crop for _, crop in found]))
        t3 = time.perf_counter()
        for name, took in zip(parts, (t1 - t0, t2 - t1, t3 - t2), strict=True):
            parts[name].append(took * 1000)
    index_times, sync_times, scan_times = [], [], []
    for _ in range(RUNS):
        t = time.perf_counter()
        container.index.search(CUSTOMER, COLLECTION, real_face, max_faces=10, min_cosine=0.363)
        t1 = time.perf_counter()
        # as a request does it: the freshness check (on a worker thread, beside the engine), then the scan
        container.index.sync(CUSTOMER, COLLECTION, model_version=engine.model_version)
        t2 = time.perf_counter()
        container.index.search(CUSTOMER, COLLECTION, real_face, max_faces=10, min_cosine=0.363, synced=True,
                               model_version=engine.model_version)
        t3 = time.perf_counter()
        index_times.append((t1 - t) * 1000)
        sync_times.append((t2 - t1) * 1000)
        scan_times.append((t3 - t2) * 1000)
    medians = {name: statistics.median(values) for name, values in parts.items()}
    medians["vector index scan"] = statistics.median(scan_times)
    return {"engine": statistics.median(engine_times), "index": statistics.median(index_times),
            "sync": statistics.median(sync_times), "parts": medians}


@contextmanager
def _timed(owner: Any, name: str, into: list[float]) -> Iterator[None]:
    """Time every call of owner.name on the calling thread (appended to `into`, ms) until the block exits."""
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into.append((time.perf_counter() - started) * 1000)

    setattr(owner, name, timed)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _in_request(request: Callable[[], Any]) -> dict[str, float]:
    """Where a request's wall time goes on the handler thread (p50s, ms), from timers around the use case's
    steps: decode, the wait for the allow's audit record (PendingDecision.settle: the record was written on a
    worker thread while the photo was decoded), detect + align + embed, the index search with its result
    metadata (the freshness check ran beside the embedding); the rest is the handler's own work."""
    from faceapi import search as usecase

    from faceengine import FaceEngine
    from facepolicy.gate import PendingDecision

    parts: dict[str, list[float]] = {"decode": [], "audit wait": [], "detect + align + embed": [],
                                     "index search + metadata": [], "the rest": []}
    for _ in range(RUNS // 2):
        calls: dict[str, list[float]] = {name: [] for name in parts}
        with ExitStack() as timers:
            timers.enter_context(_timed(FaceEngine, "decode", calls["decode"]))
            timers.enter_context(_timed(PendingDecision, "settle", calls["audit wait"]))
            timers.enter_context(_timed(usecase, "searched_face", calls["detect + align + embed"]))
            timers.enter_context(_timed(usecase, "search_faces", calls["index search + metadata"]))
            started = time.perf_counter()
            if request()["statusCode"] != 200:
                raise RuntimeError("search failed")
            total = (time.perf_counter() - started) * 1000
        spent = {name: sum(values) for name, values in calls.items()}
        spent["the rest"] = total - sum(spent.values())
        for name, value in spent.items():
            parts[name].append(value)
    return {name: statistics.median(values) for name, values in parts.items()}


def run() -> None:
    _env_defaults()
    logging.disable(logging.INFO)
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    sys.path.insert(0, str(ROOT))
    from faceengine import SEARCH_MAX_SIDE, SEARCH_MIN_SIDE, FaceEngine

    engine = FaceEngine.load(threads=1)
    query_photo = (PHOTOS / "obama2.jpg").read_bytes()
    real_face = engine.analyze((PHOTOS / "obama.jpg").read_bytes(), max_faces=1).faces[0].embedding
    figures: dict[str, Any] = {}
    inproc = _measure(engine, query_photo, real_face, endpoint=None, thread_counts=(1, 2),
                      extra=lambda c, _: figures.update(_breakdown(engine, query_photo, real_face, c)))
    with _moto_server() as endpoint:
        server = _measure(engine, query_photo, real_face, endpoint=endpoint, thread_counts=(1,),
                          extra=lambda _, request: figures.update(in_request=_in_request(request)))
    label = f"search e2e n={N_FACES + 1:,} faces (100k synthetic + obama.jpg), query obama2.jpg " \
            f"({len(query_photo) / 1024:.0f} KiB)"
    for threads, how in ((1, "one thread"), (2, "SFace on 2 threads as deployed")):
        print(f"{label}, {how}, moto in process: p50 {statistics.median(inproc.wall[threads]):.1f} ms, "
              f"p95 {_pct(inproc.wall[threads], 95):.1f} ms over {RUNS} requests (the handler thread's CPU p50 "
              f"{statistics.median(inproc.cpu[threads]):.1f} ms, moto's DynamoDB and S3 work included)", flush=True)
    wall = statistics.median(server.wall[1])
    print(f"{label}, one thread, moto server in another process over HTTP on 127.0.0.1: p50 {wall:.1f} ms, "
          f"p95 {_pct(server.wall[1], 95):.1f} ms over {RUNS} requests (the handler thread's CPU p50 "
          f"{statistics.median(server.cpu[1]):.1f} ms); target p50 <= 40 ms on one thread, judged on this line: "
          f"as in Lambda, AWS's own work (parsing and storing the audit PutItem, answering the collection "
          f"GetItem) runs outside the function's thread, and the function still waits for every answer "
          f"(the audit record is durable before any face work; the photo is decoded meanwhile) and pays its "
          f"own client side (signing, HTTP, "
          f"parsing): {'MET' if wall <= 40 else 'NOT MET'}", flush=True)
    print(f"search e2e first request (index cold, snapshot from S3): {inproc.cold_ms:.0f} ms in process, "
          f"{server.cold_ms:.0f} ms over HTTP", flush=True)
    print(f"search e2e parts (one thread): engine analyze at {SEARCH_MIN_SIDE}-{SEARCH_MAX_SIDE} px p50 "
          f"{figures['engine']:.1f} ms; vector index search (version GetItem + 100k matrix product) p50 "
          f"{figures['index']:.1f} ms; best match similarity {inproc.body['face_matches'][0]['similarity']}",
          flush=True)
    medians = figures["parts"]
    rest = statistics.median(inproc.wall[1]) - sum(medians.values())
    rest_server = wall - sum(medians.values())
    print("search e2e breakdown of one request (one thread, p50s): " + ", ".join(
        f"{name} {ms:.1f} ms" for name, ms in medians.items()) + f"; the rest of the handler (gateway event, "
        f"base64 + JSON, validation, policy gate and audit, quota, the DynamoDB calls, response) {rest:.1f} ms "
        f"with moto in process, {rest_server:.1f} ms with the moto server; beside the engine on a worker thread: "
        f"the index freshness check (collection GetItem) {figures['sync']:.1f} ms", flush=True)
    print("search e2e inside one request over HTTP (handler thread, p50s of timers around each step, "
          f"{RUNS // 2} requests): " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in figures["in_request"].items())
          + " (the rest: gateway event, JSON body, validation, base64, policy check, quota, index freshness "
          "check started and joined, response)", flush=True)


def main() -> int:
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
