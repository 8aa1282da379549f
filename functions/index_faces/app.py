"""index_faces: S3 upload notifications (through SQS) -> policy -> face engine -> face store.

Glue only: Powertools batch processing with partial batch responses (a failed record is retried on
its own and ends in the DLQ after maxReceiveCount), metrics per outcome. The use-case is in
`indexer.py`; its collaborators are built once per container by `indexer_from_env` (tests inject
their own with `use(indexer)`).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from indexer import Action, Indexer, Outcome, indexer_from_env

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_state: dict[str, Indexer] = {}

METRIC_OF_ACTION = {
    Action.INDEXED: "ImagesIndexed", Action.NO_FACES: "ImagesWithoutFaces", Action.INVALID_IMAGE: "InvalidImages",
    Action.REJECTED_POLICY: "ImagesRejected", Action.REJECTED_COLLECTION: "ImagesRejected",
    Action.DELETED: "ImagesDeleted", Action.SKIPPED: "EventsSkipped",
}


def use(indexer: Indexer | None) -> None:
    """Replace (or with None, forget) this container's indexer: for tests and benchmarks."""
    _state.pop("indexer", None)
    if indexer is not None:
        _state["indexer"] = indexer


def _indexer() -> Indexer:
    if "indexer" not in _state:
        _state["indexer"] = indexer_from_env(metrics=metrics)
    return _state["indexer"]


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    for outcome in _indexer().process_message(record.body, request_id=record.message_id):
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
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    _indexer().flush_snapshots()
    return response
