"""`facesearch admin migrate` against a local moto server: backfills, then reports every collection ready."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import numpy as np
import pytest
from moto.server import ThreadedMotoServer

from facesearch.cli import main
from facesearch.local.template import create_table, load_template
from facestore import DynamoDBFaceStore, Face

TABLE = "faces-migrate-cli"


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_migrate_backfills_and_reports(moto_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    ddb: Any = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_endpoint)
    create_table(ddb, load_template(), "FacesTable", TABLE)
    store = DynamoDBFaceStore(ddb, TABLE, sleep=lambda _s: None)
    store.create_collection("cust1", "old", "m")
    emb = np.ones(128, dtype=np.float32) / np.sqrt(128)
    store.put_faces("cust1", "old", [Face(customer_id="cust1", collection_id="old", face_id="f1", image_id="i1",
                                           external_image_id=None, box={}, landmarks=(), confidence=99.0, quality={},
                                           embedding=emb, model_version="m")])
    key = {"pk": {"S": "CUST#cust1"}, "sk": {"S": "COLL#old"}}
    ddb.update_item(TableName=TABLE, Key=key, UpdateExpression="REMOVE vec_ready")
    ddb.update_item(TableName=TABLE, Key={"pk": {"S": "COLL#cust1#old"}, "sk": {"S": "FACE#f1"}},
                    UpdateExpression="REMOVE vec")
    args = ["admin", "migrate", "--table", TABLE, "--region", "us-east-1", "--endpoint-url", moto_endpoint, "--json"]
    assert main(args) == 0
    rows = json.loads(capsys.readouterr().out)["collections"]
    assert rows == [{"customer_id": "cust1", "collection_id": "old", "scanned": 1, "updated": 1, "complete": True}]
    coll = store.get_collection("cust1", "old")
    assert coll is not None and coll.vector_ready
    # a wrong option is a clear error, not a traceback
    assert main(["admin", "migrate", "--table", TABLE, "--collection", "old", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["code"] == "INVALID_PARAMETER"
