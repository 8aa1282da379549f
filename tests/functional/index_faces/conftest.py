"""index_faces over moto: tables, buckets and queues provisioned from template.yaml; real photos, real engine.

`Stack` gives a test what it needs: upload an object, make the SQS event that S3 would send for it
(real-S3 shape, with versionId and sequencer), invoke the handler, read statuses and faces.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from moto import mock_aws

from facesearch.local.functions import load_module
from facesearch.local.template import Names, Provisioned, load_template, provision
from tests.support.events import load_event

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"
CUSTOMER = "acme-photos"
POLICE = "metro-police"
OTHER = "other-co"
COLLECTION = "family"


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


@dataclass
class FakeContext:
    function_name: str = "IndexFacesFunction"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:IndexFacesFunction"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


class EngineSpy:
    """The real engine behind a call counter (thread-safe)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.calls = 0
        self._lock = threading.Lock()

    def analyze(self, data: bytes, **kwargs: Any) -> Any:
        with self._lock:
            self.calls += 1
        return self.engine.analyze(data, **kwargs)


class S3Spy:
    """A boto3 S3 client that records the operations called on it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if callable(attr):
            def call(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                return attr(*args, **kwargs)
            return call
        return attr


@pytest.fixture(scope="session")
def real_engine() -> Any:
    from faceengine import FaceEngine

    return FaceEngine.load(threads=1)


@dataclass
class Stack:
    session: Any
    template: dict[str, Any]
    names: Names
    provisioned: Provisioned
    env: dict[str, str]
    engine: EngineSpy
    s3: S3Spy
    module: Any
    seq: int = 0x1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def bucket(self) -> str:
        return self.provisioned.buckets["UploadsBucket"]

    @property
    def store(self) -> Any:
        return self.module.indexer.store

    # ---------------------------------------------------------- S3
    def upload(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> str:
        put = self.s3._client.put_object(Bucket=self.bucket, Key=key, Body=data, Metadata=metadata or {})
        return str(put["VersionId"])

    def versions(self, key: str) -> list[dict[str, Any]]:
        listing = self.s3._client.list_object_versions(Bucket=self.bucket, Prefix=key)
        return [v for v in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])] if v["Key"] == key]

    def next_sequencer(self) -> str:
        with self._lock:
            self.seq += 1
            return f"{self.seq:018X}"

    # ---------------------------------------------------------- events
    def s3_message(self, key: str, *, name: str = "ObjectCreated:Put", version_id: str | None = None,
                   sequencer: str | None = None, size: int | None = None) -> dict[str, Any]:
        """The S3 notification body real S3 would send (no version id / sequencer if None is given)."""
        body = json.loads(load_event("sqs_s3_put")["Records"][0]["body"])
        record = body["Records"][0]
        record["eventName"] = name
        record["s3"]["bucket"]["name"] = self.bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{self.bucket}"
        obj: dict[str, Any] = {"key": quote(key, safe="/")}
        if version_id is not None:
            obj["versionId"] = version_id
        if sequencer is not None:
            obj["sequencer"] = sequencer
        if size is not None:
            obj["size"] = size
        record["s3"]["object"] = obj
        return body

    def sqs_event(self, *bodies: dict[str, Any] | str) -> dict[str, Any]:
        template = load_event("sqs_s3_put")["Records"][0]
        records = []
        for i, body in enumerate(bodies):
            rec = json.loads(json.dumps(template))
            rec["messageId"] = f"msg-{i}-{self.next_sequencer()}"
            rec["body"] = body if isinstance(body, str) else json.dumps(body)
            rec["eventSourceARN"] = self.provisioned.queue_arns["IndexQueue"]
            records.append(rec)
        return {"Records": records}

    def put_event(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> dict[str, Any]:
        """Upload, and the SQS event of that upload (with the real version id and a fresh sequencer)."""
        version = self.upload(key, data, metadata)
        return self.sqs_event(self.s3_message(key, version_id=version, sequencer=self.next_sequencer(),
                                              size=len(data)))

    def invoke(self, event: dict[str, Any], module: Any = None) -> dict[str, Any]:
        result: dict[str, Any] = (module or self.module).lambda_handler(event, FakeContext())
        return result

    # ---------------------------------------------------------- reads
    def status(self, image_id: str, customer: str = CUSTOMER, collection: str = COLLECTION) -> Any:
        return self.store.get_image_status(customer, collection, image_id)

    def faces(self, image_id: str, customer: str = CUSTOMER, collection: str = COLLECTION) -> list[Any]:
        return list(self.store.faces_of_image(customer, collection, image_id))

    def face_count(self, customer: str = CUSTOMER, collection: str = COLLECTION) -> int:
        return int(self.store.get_collection(customer, collection).face_count)

    def fresh_module(self, **overrides: Any) -> Any:
        """Another container: the handler module imported afresh, with its own indexer."""
        module = load_module("IndexFacesFunction", self.template, fresh=True)
        indexer = module.compose(self.env, engine=overrides.pop("engine", self.engine))
        indexer.objects.s3 = overrides.pop("s3", self.s3)
        for name, value in overrides.items():
            setattr(indexer, name, value)
        module.get_indexer = lambda: indexer
        module.indexer = indexer
        return module


@pytest.fixture
def stack(real_engine: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        template = load_template()
        names = Names()
        provisioned = provision(session, template, names)
        env = provisioned.env(template, "IndexFacesFunction", names)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("POLICY_CACHE_SECONDS", "0")
        env["POLICY_CACHE_SECONDS"] = "0"
        stack = Stack(session=session, template=template, names=names, provisioned=provisioned, env=env,
                      engine=EngineSpy(real_engine), s3=S3Spy(session.client("s3")), module=None)
        stack.module = stack.fresh_module()
        _seed(stack)
        stack.s3.calls.clear()
        yield stack


def _seed(stack: Stack) -> None:
    """Customers through the policy layer's registry admin; collections through the face store."""
    from faceengine import MODEL_VERSION
    from facepolicy.env import admin_from_env

    admin = admin_from_env(stack.env)
    for customer_id, sector in ((CUSTOMER, "media"), (POLICE, "law_enforcement"), (OTHER, "retail")):
        admin.create_customer(name=customer_id, sector=sector, jurisdiction="US", status="active",
                              customer_id=customer_id, principal="tests", request_id="seed")
    stack.store.create_collection(CUSTOMER, COLLECTION, MODEL_VERSION)
    stack.store.create_collection(CUSTOMER, "crowds", MODEL_VERSION, {"max_faces": 2, "quality_filter": "NONE"})
    stack.store.create_collection(POLICE, "suspects", MODEL_VERSION)
    stack.store.create_collection(OTHER, "theirs", MODEL_VERSION)


def failures(response: dict[str, Any]) -> list[str]:
    return [f["itemIdentifier"] for f in response.get("batchItemFailures", [])]
