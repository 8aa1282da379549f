"""The lean botocore data loader (facepolicy.env): the same models as botocore's own, without its scan of
every service folder; boto3's default session made lean once, or anew after a SnapStart restore."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError
from moto import mock_aws

from facepolicy import env


@pytest.fixture
def default_session() -> Iterator[None]:
    saved = boto3.DEFAULT_SESSION
    yield
    boto3.DEFAULT_SESSION = saved


def test_models_are_the_ones_botocore_loads() -> None:
    lean, plain = env.botocore_session(), botocore.session.get_session()
    for service in ("dynamodb", "s3", "sqs"):
        assert lean.get_service_model(service).operation_names == plain.get_service_model(service).operation_names
        assert lean.get_service_model(service).api_version == plain.get_service_model(service).api_version


def test_a_service_is_looked_up_without_listing_them_all() -> None:
    loader = env.botocore_session().get_component("data_loader")
    available = loader.list_available_services("service-2")
    assert "dynamodb" in available and "no-such-service" not in available
    assert available._names is None  # nothing was listed
    assert list(available) == botocore.session.get_session().get_available_services()  # listing is botocore's


def test_an_unknown_service_is_refused_as_botocore_refuses_it() -> None:
    with pytest.raises(UnknownServiceError):
        env.botocore_client("no-such-service")


def test_boto3_clients_and_resources_work_on_the_lean_default_session(default_session: None) -> None:
    with mock_aws():
        env.lean_boto3()
        session = boto3.DEFAULT_SESSION
        assert getattr(session, "facesearch_lean", False)
        env.lean_boto3()
        assert boto3.DEFAULT_SESSION is session  # once per process
        boto3.client("s3").create_bucket(Bucket="lean")
        assert [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]] == ["lean"]
        assert boto3.resource("dynamodb").Table("t").name == "t"


def test_renew_gives_a_new_session(default_session: None) -> None:
    env.lean_boto3()
    before = boto3.DEFAULT_SESSION
    env.lean_boto3(renew=True)
    assert boto3.DEFAULT_SESSION is not before and getattr(boto3.DEFAULT_SESSION, "facesearch_lean", False)
