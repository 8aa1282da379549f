"""index_faces' partial batch responses (functions/index_faces/sqs_batch.py): which records SQS gets back."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

import pytest

from facesearch.local.template import ROOT


@pytest.fixture
def sqs_batch(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(ROOT / "functions" / "index_faces"))  # as Lambda puts /var/task first
    import sqs_batch

    yield sqs_batch
    sys.modules.pop("sqs_batch", None)


def _batch(*ids: str) -> dict[str, Any]:
    return {"Records": [{"messageId": i, "body": f"body of {i}", "eventSource": "aws:sqs"} for i in ids]}


class Handler:
    """Records the messages it was given; raises for the ones named in `failing`."""

    def __init__(self, *failing: str, error: type[BaseException] = RuntimeError) -> None:
        self.failing = set(failing)
        self.error = error
        self.seen: list[str] = []

    def __call__(self, record: Mapping[str, Any]) -> None:
        self.seen.append(record["messageId"])
        if record["messageId"] in self.failing:
            raise self.error(f"cannot handle {record['messageId']}")


def test_a_batch_that_succeeds_reports_no_failures(sqs_batch: ModuleType) -> None:
    handler = Handler()
    assert sqs_batch.process_batch(_batch("m1", "m2"), handler) == {"batchItemFailures": []}
    assert handler.seen == ["m1", "m2"]


def test_only_the_failed_records_are_reported_and_the_rest_still_handled(sqs_batch: ModuleType) -> None:
    handler = Handler("m2", "m4")
    response = sqs_batch.process_batch(_batch("m1", "m2", "m3", "m4"), handler)
    assert response == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m4"}]}
    assert handler.seen == ["m1", "m2", "m3", "m4"]


def test_a_batch_whose_every_record_fails_reports_each_without_raising(sqs_batch: ModuleType) -> None:
    response = sqs_batch.process_batch(_batch("m1", "m2"), Handler("m1", "m2", error=ValueError))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}


def test_an_empty_batch_reports_nothing(sqs_batch: ModuleType) -> None:
    assert sqs_batch.process_batch({"Records": []}, Handler()) == {"batchItemFailures": []}


def test_a_failure_is_logged_with_its_message_id_and_error(sqs_batch: ModuleType,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    sqs_batch.process_batch(_batch("m1", "m2"), Handler("m1", error=KeyError))
    [record] = [r for r in caplog.records if "redelivery" in r.getMessage()]
    assert record.levelname == "WARNING"
    assert (record.message_id, record.error) == ("m1", "KeyError")  # type: ignore[attr-defined]


@pytest.mark.parametrize("event", [
    {}, {"Records": None}, {"Records": "m1"}, {"Records": [{"body": "no id"}]},
    {"Records": [{"messageId": "m1"}, {"messageId": ""}]}, {"Records": [{"messageId": "m1"}, "not a record"]},
])
def test_an_event_that_is_no_sqs_batch_fails_before_any_record_is_handled(sqs_batch: ModuleType,
                                                                         event: dict[str, Any]) -> None:
    handler = Handler()
    with pytest.raises(ValueError, match="not an SQS batch event"):
        sqs_batch.process_batch(event, handler)
    assert handler.seen == []


def test_an_interruption_is_not_taken_for_a_failed_record(sqs_batch: ModuleType) -> None:
    # only exceptions are a record's failure; KeyboardInterrupt/SystemExit end the invocation
    with pytest.raises(KeyboardInterrupt):
        sqs_batch.process_batch(_batch("m1", "m2"), Handler("m1", error=KeyboardInterrupt))
