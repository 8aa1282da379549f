"""face_api over moto: tables and buckets provisioned from template.yaml, the real engine, named events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from facesearch.local.functions import load_module
from facesearch.local.template import Names, load_template, provision

from .faceapi_helpers import CUSTOMER, OTHER, POLICE, Api, photo


@pytest.fixture(scope="session")
def real_engine() -> Any:
    from faceengine import FaceEngine

    return FaceEngine.load(threads=1)


@pytest.fixture(scope="session")
def photo_faces(real_engine: Any) -> dict[str, Any]:
    """Each test photo's analysis (largest face first), computed once per session."""
    names = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "t1.jpg")
    return {n: real_engine.analyze(photo(n)) for n in names}


@dataclass
class _Stack:
    session: Any
    module: Any
    env: dict[str, str]
    provisioned: Any
    base: Any  # the Deps built from the environment once; each test gets a fresh vector index


@pytest.fixture(scope="package")
def _stack(real_engine: Any) -> Iterator[_Stack]:
    """One moto account for the package: provisioning and the handler import are paid once."""
    from facesearch.local import search_vectors

    search_vectors.install()  # before the tables are created: it remembers FacesTable's vector index
    with mock_aws(), pytest.MonkeyPatch.context() as mp:
        session = boto3.Session(region_name="us-east-1")
        template = load_template()
        names = Names()
        provisioned = provision(session, template, names)
        env = provisioned.env(template, "FaceApiFunction", names)
        env["POLICY_CACHE_SECONDS"] = "0"
        env["QUOTA_REQUESTS_PER_SECOND"] = "0"  # rates unlimited here; test_quota.py gives its gate a limiter
        for key, value in env.items():
            mp.setenv(key, value)
        module = load_module("FaceApiFunction", template, fresh=True)
        from faceapi import deps

        base = deps.compose()
        base.engine_factory = lambda: real_engine
        _seed_customers(env)
        yield _Stack(session, module, env, provisioned, base)
        module.app.dependency_overrides.clear()
    search_vectors.uninstall()


@pytest.fixture
def engine() -> str:
    """The search engine the `api` fixture wires: `exact` here; test modules may parametrize it."""
    return "exact"


@pytest.fixture
def api(_stack: _Stack, engine: str) -> Iterator[Api]:
    """A clean slate per test: faces table and buckets emptied, a cold vector index (exact), or both
    engines with every collection on the DynamoDB vector index (vector: emulated SearchVectors)."""
    from facestore import S3SnapshotStore, VectorIndex
    from facestore.dynamodb import collection_pk
    from facestore.engines import SearchEngines
    from facestore.vector_search import VectorSearch

    _wipe(_stack)
    index: Any = VectorIndex(_stack.base.store, S3SnapshotStore(_stack.base.s3, _stack.env["INDEX_BUCKET"]))
    if engine != "exact":
        vector = VectorSearch(_stack.session.client("dynamodb"), _stack.env["FACES_TABLE"], _stack.base.store,
                              collection_pk)
        index = SearchEngines(_stack.base.store, index, vector, mode=engine, auto_faces=2)
    container = replace(_stack.base, index=index)
    api = Api(module=_stack.module, deps=container, env=_stack.env, provisioned=_stack.provisioned,
              session=_stack.session)
    api.use(container)
    yield api
    _stack.module.app.dependency_overrides.clear()


def _wipe(stack: _Stack) -> None:
    ddb = stack.session.client("dynamodb")
    table = stack.provisioned.tables["FacesTable"]
    for page in ddb.get_paginator("scan").paginate(TableName=table, ProjectionExpression="pk, sk"):
        for item in page["Items"]:
            ddb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
    s3 = stack.session.client("s3")
    for bucket in stack.provisioned.buckets.values():
        listing = s3.list_object_versions(Bucket=bucket)
        for v in [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]:
            s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])


def _seed_customers(env: dict[str, str]) -> None:
    from facepolicy.env import admin_from_env

    admin = admin_from_env(env)
    for customer_id, sector in ((CUSTOMER, "media"), (OTHER, "retail"), (POLICE, "law_enforcement")):
        admin.create_customer(name=customer_id, sector=sector, jurisdiction="US", status="active",
                              customer_id=customer_id, principal="tests", request_id="seed")
