"""Fixtures: moto DynamoDB (FacesTable from template.yaml) and S3 (the index bucket)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from facesearch.local.template import create_table, load_template

TABLE, BUCKET = "faces-functional", "index-functional"


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        create_table(ddb, load_template(), "FacesTable", TABLE)
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield {"dynamodb": ddb, "s3": s3}
