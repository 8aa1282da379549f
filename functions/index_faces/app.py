"""index_faces: S3 upload notifications (through SQS) -> policy -> face engine -> face store.

Glue only: partial batch responses (`sqs_batch`: a failed record is retried on its own and ends in the
DLQ after maxReceiveCount), metrics per outcome. The use-case is in `indexer.py`. Wiring: `compose()`
is the composition root (a plain function: no event handler is imported for wiring); `get_indexer()`
builds it once per container, on the first batch. Tests and benchmarks replace `get_indexer`.
"""

from __future__ import annotations

from facepolicy import runtime

runtime.pause_gc()  # Lambda: no garbage collection during init (facepolicy.runtime); the imports follow

import functools
import random
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from indexer import Action, Engine, Indexer, Outcome
from sqs_batch import BatchResponse, process_batch
from upload_objects import UploadObjects

logger = Logger()
tracer = runtime.tracer()  # Powertools' Tracer only where tracing is switched on (facepolicy.runtime)
metrics = Metrics()

METRIC_OF_ACTION = {
    Action.INDEXED: "ImagesIndexed", Action.NO_FACES: "ImagesWithoutFaces", Action.INVALID_IMAGE: "InvalidImages",
    Action.REJECTED_POLICY: "ImagesRejected", Action.REJECTED_COLLECTION: "ImagesRejected",
    Action.REJECTED_QUOTA: "ImagesRejectedQuota",
    Action.DELETED: "ImagesDeleted", Action.SKIPPED: "EventsSkipped",
}


def compose(environ: Mapping[str, str] | None = None, *, engine: Engine | None = None) -> Indexer:
    """The composition root of template.yaml's IndexFacesFunction: the face store and vector index
    (facestore.env), the policy gate (facepolicy.env), S3, UPLOADS_BUCKET and ENGINE_THREADS. Two
    low-level botocore clients of the process's lean session (facepolicy.env), the DynamoDB one shared by
    the store and the gate; no boto3 (its import with s3transfer). The engine loads on first use (a deny
    or a delete never loads it)."""
    import os

    from facepolicy.env import botocore_client, gate_from_env
    from facestore.env import StoreSettings, face_store, vector_index

    env = os.environ if environ is None else environ
    settings = StoreSettings.from_env(env)
    dynamodb, s3 = botocore_client("dynamodb"), botocore_client("s3")
    store = face_store(settings, dynamodb)
    threads = int(env.get("ENGINE_THREADS", "") or 1)
    return Indexer(engine=engine or functools.partial(load_engine, threads),
                   gate=gate_from_env(env, dynamodb, metrics=metrics), store=store,
                   objects=UploadObjects(s3, env["UPLOADS_BUCKET"]), vector_index=vector_index(settings, store, s3))


@functools.cache
def get_indexer() -> Indexer:
    """This container's indexer: composed on first use, then shared by every batch."""
    with runtime.init_phase():
        return compose()


@functools.cache
def load_engine(threads: int) -> Any:
    """The face engine, loaded once per container (kept across a SnapStart restore)."""
    from faceengine import FaceEngine

    return FaceEngine.load(threads=threads)


@runtime.before_snapshot
def load_before_snapshot() -> None:
    """SnapStart: compose and load the models before the snapshot (a restored container indexes at once)."""
    get_indexer().engine  # noqa: B018 - loading is the point


@runtime.after_restore
def renew_after_restore() -> None:
    """SnapStart: new AWS clients (connections, credentials), policy cache and random seed per restored
    container; the loaded models are kept (load_engine)."""
    from facepolicy.env import lean_session

    random.seed()
    lean_session(renew=True)  # a new session: credentials resolved after the restore, not in the snapshot
    get_indexer.cache_clear()
    get_indexer()


@tracer.capture_method
def record_handler(record: Mapping[str, Any]) -> None:
    """One SQS message (an S3 notification): its outcomes counted; raising reports it for redelivery."""
    for outcome in get_indexer().process_message(record.get("body"), request_id=record["messageId"]):
        _count(outcome)


def _count(outcome: Outcome) -> None:
    metrics.add_metric(name=METRIC_OF_ACTION[outcome.action], unit=MetricUnit.Count, value=1)
    if outcome.faces_indexed:
        metrics.add_metric(name="FacesIndexed", unit=MetricUnit.Count, value=outcome.faces_indexed)
    if outcome.faces_deleted:
        metrics.add_metric(name="FacesDeleted", unit=MetricUnit.Count, value=outcome.faces_deleted)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> BatchResponse:
    response = process_batch(event, record_handler)
    get_indexer().flush_snapshots()
    return response


runtime.end_init()  # Lambda: what init built is frozen out of later collections, which resume
