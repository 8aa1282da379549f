"""Indexing benchmark: photos per second through index_faces' handler over moto (in-process mock_aws),
next to the face engine alone on the same bytes in the same run, single thread. The ratio is what
storage and bookkeeping (policy check + audit, HeadObject/GetObject, faces, status) add; target <= 1.20.

    .venv/bin/python -m bench.indexing
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
for _key, _value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                     "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                     "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_SERVICE_NAME": "facesearch",
                     "POWERTOOLS_METRICS_NAMESPACE": "FaceSearch"}.items():
    os.environ[_key] = _value  # never real AWS
os.environ.pop("AWS_PROFILE", None)

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "tests" / "data" / "photos"
BENCH_PHOTOS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "biden.jpg", "32bit.png",
                "t1.jpg")
ROUNDS = 7
TARGET = 1.20
CUSTOMER, COLLECTION = "bench-co", "bench"
MAX_BYTES = 15 * 1024 * 1024


class _Context:
    function_name = "IndexFacesFunction"
    memory_limit_in_mb = 2048
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:IndexFacesFunction"
    aws_request_id = "bench"


def _sqs_event(bucket: str, queue_arn: str, uploads: list[tuple[str, str, int]], first_seq: int) -> dict[str, Any]:
    records = []
    for i, (key, version, size) in enumerate(uploads):
        body = {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                             "eventName": "ObjectCreated:Put", "eventTime": "2025-06-01T12:00:00.000Z",
                             "s3": {"bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                                    "object": {"key": key, "size": size, "versionId": version,
                                               "sequencer": f"{first_seq + i:018X}"}}}]}
        records.append({"messageId": f"m-{first_seq + i}", "receiptHandle": "r", "body": json.dumps(body),
                        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                        "md5OfBody": "", "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
                        "awsRegion": "us-east-1"})
    return {"Records": records}


def _engine_round(engine: Any, photos: dict[str, bytes]) -> float:
    started = time.perf_counter()
    for data in photos.values():
        engine.analyze(data, max_faces=None, quality_filter="AUTO", max_bytes=MAX_BYTES)
    return time.perf_counter() - started


class _MotoClock:
    """Time spent inside moto's in-process backends (what real AWS would spend server-side)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextlib.contextmanager
    def installed(self) -> Any:
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.process_request

        def timed(stubber: Any, request: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(stubber, request)
            finally:
                self.seconds += time.perf_counter() - started

        BotocoreStubber.process_request = timed  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            BotocoreStubber.process_request = original  # type: ignore[method-assign]


def measure(rounds: int = ROUNDS) -> dict[str, Any]:
    """Interleaved rounds of engine-only and handler runs over the same photos; medians in seconds.

    Each round indexes new keys into the same collection, emptied (untimed) after the round, so every
    round sees the same table size: moto's TransactWriteItems deep-copies its tables, a cost that grows
    with the table and that DynamoDB does not have."""
    import boto3
    from moto import mock_aws

    from faceengine import MODEL_VERSION, FaceEngine
    from facepolicy.env import admin_from_env
    from facesearch.local.functions import load_module
    from facesearch.local.template import Names, load_template, provision

    photos = {name: (PHOTOS / name).read_bytes() for name in BENCH_PHOTOS}
    engine = FaceEngine.load(threads=1)
    devnull = open(os.devnull, "w")  # lives for the run
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        template, names = load_template(), Names()
        provisioned = provision(session, template, names)
        env = provisioned.env(template, "IndexFacesFunction", names)
        os.environ.update(env)
        bucket, queue_arn = provisioned.buckets["UploadsBucket"], provisioned.queue_arns["IndexQueue"]
        admin_from_env(env).create_customer(name="Bench", sector="media", jurisdiction="US", status="active",
                                            customer_id=CUSTOMER, principal="bench", request_id="bench")
        module: Any = load_module("IndexFacesFunction", template, fresh=True)
        indexer = module.compose(env, engine=engine)
        module.get_indexer = lambda: indexer
        indexer.store.create_collection(CUSTOMER, COLLECTION, MODEL_VERSION)
        for handler in logging.getLogger("facesearch").handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(devnull)  # formatted as in Lambda, written nowhere
        s3 = session.client("s3")
        _engine_round(engine, photos)  # warm-up: both paths share the engine's sessions
        engine_times: list[float] = []
        handler_times: list[float] = []
        moto_times: list[float] = []
        clock = _MotoClock()
        faces = 0
        for r in range(rounds + 1):
            uploads = []
            for name, data in photos.items():
                key = f"uploads/{CUSTOMER}/{COLLECTION}/r{r}-{name}"
                uploads.append((key, s3.put_object(Bucket=bucket, Key=key, Body=data)["VersionId"], len(data)))
            event = _sqs_event(bucket, queue_arn, uploads, first_seq=0x1000 + r * 100)
            engine_time = _engine_round(engine, photos)
            clock.seconds = 0.0
            with contextlib.redirect_stdout(devnull), clock.installed():  # EMF metrics lines
                started = time.perf_counter()
                response = module.lambda_handler(event, _Context())
                handler_time = time.perf_counter() - started
            if response["batchItemFailures"]:
                raise RuntimeError(f"indexing failed: {response}")
            faces = indexer.store.get_collection(CUSTOMER, COLLECTION).face_count
            for key, _, _ in uploads:  # back to an empty collection, untimed
                indexer.store.delete_image(CUSTOMER, COLLECTION, key.rsplit("/", 1)[1], sequencer=None)
            if r == 0:
                continue  # warm-up round: cold start of the handler module, first registry read
            engine_times.append(engine_time)
            handler_times.append(handler_time)
            moto_times.append(clock.seconds)
    return {"photos": len(photos), "rounds": rounds, "engine_s": min(engine_times), "handler_s": min(handler_times),
            "moto_s": min(moto_times), "faces": faces,
            "paired_ratio": statistics.median(h / e for h, e in zip(handler_times, engine_times, strict=True)),
            "paired_ratio_own": statistics.median((h - m) / e for h, m, e in
                                                  zip(handler_times, moto_times, engine_times, strict=True))}


def run() -> None:
    result = measure()
    n = result["photos"]
    ratio = result["handler_s"] / result["engine_s"]
    print(f"indexing: {n} photos ({', '.join(BENCH_PHOTOS)}), batch of {n} through the handler, "
          f"{result['rounds']} interleaved rounds (best of), single thread, moto in-process")
    print(f"  engine only (analyze):  {result['engine_s'] * 1000:8.1f} ms/batch  "
          f"{n / result['engine_s']:6.2f} photos/s")
    print(f"  handler over moto:      {result['handler_s'] * 1000:8.1f} ms/batch  "
          f"{n / result['handler_s']:6.2f} photos/s")
    own = result["handler_s"] - result["moto_s"]
    print(f"  of which inside moto:   {result['moto_s'] * 1000:8.1f} ms/batch  (server side of S3/DynamoDB, emulated)")
    print(f"  overhead ratio: {ratio:.3f} (target <= {TARGET:.2f}: {'met' if ratio <= TARGET else 'NOT met'}); "
          f"bookkeeping {(result['handler_s'] - result['engine_s']) / n * 1000:.1f} ms/photo; "
          f"faces stored {result['faces']} a batch")
    print(f"  overhead ratio without moto's backend time: {own / result['engine_s']:.3f} "
          f"(client-side bookkeeping {(own - result['engine_s']) / n * 1000:.1f} ms/photo)")
    print(f"  median of per-round ratios: {result['paired_ratio']:.3f} with moto, "
          f"{result['paired_ratio_own']:.3f} without moto's backend time")


def main() -> int:
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
