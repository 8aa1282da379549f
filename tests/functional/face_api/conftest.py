"""face_api over moto: tables and buckets provisioned from template.yaml, the real engine, named events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from faceapi_helpers import CUSTOMER, OTHER, POLICE, Api, photo
from moto import mock_aws

from facesearch.local.functions import load_module
from facesearch.local.template import Names, load_template, provision


@pytest.fixture(scope="session")
def real_engine() -> Any:
    from faceengine import FaceEngine

    return FaceEngine.load(threads=1)


@pytest.fixture(scope="session")
def photo_faces(real_engine: Any) -> dict[str, Any]:
    """Each test photo's analysis (largest face first), computed once per session."""
    names = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "t1.jpg")
    return {n: real_engine.analyze(photo(n)) for n in names}


@pytest.fixture
def api(real_engine: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        template = load_template()
        names = Names()
        provisioned = provision(session, template, names)
        env = provisioned.env(template, "FaceApiFunction", names)
        env["POLICY_CACHE_SECONDS"] = "0"
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        module = load_module("FaceApiFunction", template, fresh=True)
        from faceapi import deps

        container = deps.from_env()
        container.engine_factory = lambda: real_engine
        deps.override(container)
        _seed_customers(env)
        yield Api(module=module, deps=container, env=env, provisioned=provisioned, session=session)
        deps.reset()


def _seed_customers(env: dict[str, str]) -> None:
    from facepolicy.env import admin_from_env

    admin = admin_from_env(env)
    for customer_id, sector in ((CUSTOMER, "media"), (OTHER, "retail"), (POLICE, "law_enforcement")):
        admin.create_customer(name=customer_id, sector=sector, jurisdiction="US", status="active",
                              customer_id=customer_id, principal="tests", request_id="seed")
