"""Fixtures of the face-store tests: the contract suite runs over the in-memory fake and DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from facesearch.local.template import create_table, load_template
from facestore import DynamoDBFaceStore, InMemoryFaceStore
from tests.unit.store.store_helpers import SerializedClient

TABLE = "faces-test"


@pytest.fixture
def moto_dynamodb() -> Iterator[Any]:
    """A DynamoDB client (moto) with the FacesTable created from template.yaml's own definition."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, load_template(), "FacesTable", TABLE)
        yield client


@pytest.fixture(params=["memory", "dynamodb", "dynamodb-sharded"])
def store(request: pytest.FixtureRequest) -> Any:
    """The adapters under the contract: the fake, DynamoDB, and DynamoDB with collections born sharded
    (the vector engine's write path: counter shards, no change log)."""
    if request.param == "memory":
        return InMemoryFaceStore()
    client = request.getfixturevalue("moto_dynamodb")
    shards = 4 if request.param == "dynamodb-sharded" else 0
    return DynamoDBFaceStore(SerializedClient(client), TABLE, sleep=lambda _s: None, shards=shards)
