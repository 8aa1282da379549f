"""The dead-letter queue tools (`facesearch admin dlq list|redrive`) on moto's SQS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from facesearch import dlq
from facesearch.cli import main as cli_main


def s3_body(key: str) -> str:
    return json.dumps({"Records": [{"eventName": "ObjectCreated:Put",
                                    "s3": {"bucket": {"name": "b"}, "object": {"key": key}}}]})


@pytest.fixture
def queues() -> Iterator[tuple[Any, str, str]]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        dead = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        main = sqs.create_queue(QueueName="index")["QueueUrl"]
        for i in range(12):
            sqs.send_message(QueueUrl=dead, MessageBody=s3_body(f"uploads/c1/col/img{i}.jpg"))
        sqs.send_message(QueueUrl=dead, MessageBody="not json")
        yield sqs, main, dead


def test_listing_shows_the_uploads_concerned_and_moves_nothing(queues: tuple[Any, str, str]) -> None:
    sqs, main, dead = queues
    letters = dlq.peek(sqs, dead)
    assert len(letters) == 13
    keys = sorted(k for letter in letters for k in letter.keys)
    assert keys[0] == "uploads/c1/col/img0.jpg" and len(keys) == 12
    assert dlq.depth(sqs, dead) == 13 and dlq.depth(sqs, main) == 0
    assert len(dlq.peek(sqs, dead)) == 13  # listed messages are visible again at once


def test_redrive_moves_every_message_once(queues: tuple[Any, str, str]) -> None:
    sqs, main, dead = queues
    moved = list(dlq.redrive(sqs, dead, main))
    assert len(moved) == 13 and dlq.depth(sqs, dead) == 0 and dlq.depth(sqs, main) == 13
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=main, MaxNumberOfMessages=10)["Messages"]]
    assert s3_body("uploads/c1/col/img0.jpg") in bodies or len(bodies) == 10


def test_redrive_honours_a_limit(queues: tuple[Any, str, str]) -> None:
    sqs, main, dead = queues
    assert len(list(dlq.redrive(sqs, dead, main, limit=3))) == 3
    assert dlq.depth(sqs, dead) == 10


def test_the_command_lists_and_redrives_as_json(queues: tuple[Any, str, str], capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    sqs, main, dead = queues
    assert cli_main(["admin", "dlq", "list", "--dlq-url", dead, "--queue-url", main, "--region", "us-east-1",
                     "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 13
    assert cli_main(["admin", "dlq", "redrive", "--dlq-url", dead, "--queue-url", main, "--region", "us-east-1",
                     "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 13
    assert dlq.depth(sqs, dead) == 0


def test_the_command_without_queues_says_how_to_name_them(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("FACESEARCH_STATE_FILE", str(tmp_path / "none.json"))
    assert cli_main(["admin", "dlq", "list", "--json"]) == 2  # usage: no queue named
    assert json.loads(capsys.readouterr().out)["code"] == "CONFIGURATION"
