"""The lean botocore data loader (facepolicy.env): the same models as botocore's own, without its scan of
every service folder; boto3's default session made lean once, or anew after a SnapStart restore."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import botocore.serialize
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


@pytest.mark.parametrize(("service", "type_name"), [
    ("dynamodb", "service-2"), ("dynamodb", "endpoint-rule-set-1"), ("s3", "service-2"),
    ("s3", "endpoint-rule-set-1"), ("sqs", "service-2")])
def test_service_data_is_botocore_data_in_the_same_order(service: str, type_name: str) -> None:
    # Given botocore's own loader (OrderedDicts) and the lean one (plain dicts) over the same files
    lean = env.botocore_session().get_component("data_loader")
    plain = botocore.session.get_session().get_component("data_loader")
    # Then the data is equal, key order included at every level (json.dumps keeps each mapping's order)
    ours, theirs = lean.load_service_model(service, type_name), plain.load_service_model(service, type_name)
    assert ours == theirs and json.dumps(ours) == json.dumps(theirs)
    assert type(ours) is dict  # parsed without botocore's OrderedDict hook


@pytest.mark.parametrize("name", ["endpoints", "partitions", "sdk-default-configuration", "_retry"])
def test_shared_data_files_are_botocore_data_in_the_same_order(name: str) -> None:
    lean = env.botocore_session().get_component("data_loader")
    plain = botocore.session.get_session().get_component("data_loader")
    assert json.dumps(lean.load_data(name)) == json.dumps(plain.load_data(name))


def test_clients_serialize_requests_as_botocore_does() -> None:
    # Given a DynamoDB request built by a client of each session: the same operation model, the same body
    params = {"TableName": "t", "Key": {"pk": {"S": "a"}}, "ConsistentRead": True,
              "ProjectionExpression": "#n", "ExpressionAttributeNames": {"#n": "name"}}
    bodies = []
    for session in (env.botocore_session(), botocore.session.get_session()):
        model = session.get_service_model("dynamodb").operation_model("GetItem")
        serializer = botocore.serialize.create_serializer(model.metadata["protocol"])
        bodies.append(serializer.serialize_to_request(params, model)["body"])
    assert bodies[0] == bodies[1]


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


def test_a_lazy_client_is_built_on_first_use_and_once() -> None:
    # Given a lazy client whose factory counts its calls
    calls: list[int] = []

    def factory() -> object:
        calls.append(1)
        return env.botocore_client("s3")

    lazy = env.LazyClient(factory)
    assert not lazy.built and calls == [] and "not built" in repr(lazy)
    # When it is used: an operation's method, the client's exceptions, its meta
    assert callable(lazy.head_object) and lazy.exceptions.NoSuchKey is lazy.client().exceptions.NoSuchKey
    assert lazy.meta.service_model.service_name == "s3"
    # Then the client was built once, and every attribute is the built client's
    assert lazy.built and calls == [1]
    assert lazy.client() is lazy.client()


def test_a_lazy_client_used_by_many_threads_is_built_once() -> None:
    import threading
    import time

    calls: list[int] = []

    def slow_factory() -> object:
        calls.append(1)
        time.sleep(0.05)  # every thread arrives while the first is still building
        return object()

    lazy = env.LazyClient(slow_factory)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(lazy.client())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1] and len({id(client) for client in seen}) == 1


def test_a_lazy_client_raises_what_its_factory_raises_and_retries_later() -> None:
    attempts: list[int] = []

    def flaky() -> object:
        attempts.append(1)
        if len(attempts) == 1:
            raise UnknownServiceError(service_name="x", known_service_names="")
        return env.botocore_client("s3")

    lazy = env.LazyClient(flaky)
    with pytest.raises(UnknownServiceError):
        lazy.client()
    assert not lazy.built
    assert lazy.meta.service_model.service_name == "s3" and attempts == [1, 1]


def test_an_unknown_attribute_of_a_lazy_client_is_the_clients_attribute_error() -> None:
    lazy = env.LazyClient(lambda: env.botocore_client("s3"))
    with pytest.raises(AttributeError):
        lazy.no_such_operation  # noqa: B018
