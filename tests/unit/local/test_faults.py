"""The fault injector: what a spec means, and what a botocore client sees when it is armed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from facesearch.local.faults import FaultInjector, FaultPlan, InjectedCrash

NO_RETRIES = Config(retries={"mode": "standard", "max_attempts": 1})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def injector_for() -> Iterator[Any]:
    made: list[FaultInjector] = []

    def make(spec: str, registry_table: str = "", clock: Clock | None = None) -> FaultInjector:
        injector = FaultInjector(FaultPlan.parse(spec), registry_table=registry_table,
                                 clock=clock or Clock()).install()
        made.append(injector)
        return injector

    yield make
    for injector in made:
        injector.uninstall()


def _tables() -> Any:
    ddb = boto3.client("dynamodb", region_name="us-east-1", config=NO_RETRIES)
    for name in ("registry", "faces"):
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    return ddb


def test_a_spec_reads_as_documented() -> None:
    plan = FaultPlan.parse("share=0.2, sticky=0.05,crash=0.3,outage=4/12,seed=7,services=dynamodb+s3")
    assert (plan.share, plan.sticky, plan.crash, plan.outage_seconds, plan.outage_every, plan.seed) == \
        (0.2, 0.05, 0.3, 4.0, 12.0, 7)
    assert plan.services == ("dynamodb", "s3") and plan.active
    assert not FaultPlan.parse("").active


@pytest.mark.parametrize("spec", ["share=2", "share=x", "outage=12/4", "outage=4", "colour=red", "share", "for=-1",
                                  "services=lambda"])
def test_a_bad_spec_is_refused_with_its_part(spec: str) -> None:
    with pytest.raises(ValueError):
        FaultPlan.parse(spec)


@mock_aws
def test_nothing_is_injected_before_arming(injector_for: Any) -> None:
    injector = injector_for("share=1,sticky=1")
    ddb = _tables()
    ddb.get_item(TableName="faces", Key={"pk": {"S": "a"}})
    assert injector.counts() == {}


@mock_aws
def test_every_attempt_faulted_surfaces_after_the_sdk_retries(injector_for: Any) -> None:
    # Given an armed injector that faults every attempt (not sticky: the SDK retries each)
    injector = injector_for("share=1,seed=3")
    ddb = boto3.client("dynamodb", region_name="us-east-1",
                       config=Config(retries={"mode": "standard", "max_attempts": 3}))
    injector.arm()
    # When a call is made, Then the SDK tried four times (max_attempts counts retries) and gave up
    with pytest.raises(ClientError) as failed:
        ddb.list_tables()
    assert failed.value.response["Error"]["Code"] in ("ThrottlingException", "InternalServerError")
    counts = injector.counts()
    assert counts.get("dynamodb_throttled", 0) + counts.get("dynamodb_error", 0) == 4


@mock_aws
def test_sticky_faults_fail_the_call_at_once_and_others_pass(injector_for: Any) -> None:
    injector = injector_for("sticky=1,services=s3")
    ddb = _tables()
    s3 = boto3.client("s3", region_name="us-east-1")
    injector.arm()
    with pytest.raises(ClientError) as failed:
        s3.list_buckets()
    assert failed.value.response["Error"]["Code"] in ("SlowDown", "InternalError")
    ddb.get_item(TableName="faces", Key={"pk": {"S": "a"}})  # dynamodb is not in the services
    assert injector.counts() == {"s3_sticky": 1}


@mock_aws
def test_the_registry_is_down_only_in_its_windows_and_only_the_registry(injector_for: Any) -> None:
    clock = Clock()
    injector = injector_for("outage=4/12", registry_table="registry", clock=clock)
    ddb = _tables()
    injector.arm()
    ddb.get_item(TableName="registry", Key={"pk": {"S": "a"}})  # t=0: before the first window
    clock.now += 13  # t=13: inside [12, 16)
    with pytest.raises(ClientError) as failed:
        ddb.get_item(TableName="registry", Key={"pk": {"S": "a"}})
    assert failed.value.response["Error"]["Code"] == "InternalServerError"
    ddb.get_item(TableName="faces", Key={"pk": {"S": "a"}})  # other tables answer
    clock.now += 4  # t=17: over
    ddb.get_item(TableName="registry", Key={"pk": {"S": "a"}})
    assert injector.counts() == {"registry_outage": 1}


def test_a_crashing_batch_handles_a_prefix_then_raises(injector_for: Any) -> None:
    injector = injector_for("crash=1,seed=5")
    injector.arm()
    seen: list[list[str]] = []
    handler = injector.crashing(lambda event: seen.append([r["messageId"] for r in event["Records"]]))
    records = [{"messageId": str(i)} for i in range(5)]
    with pytest.raises(InjectedCrash):
        handler({"Records": records})
    assert len(seen) == 1 and 1 <= len(seen[0]) <= 5 and seen[0] == [str(i) for i in range(len(seen[0]))]
    assert injector.counts() == {"batch_crash": 1}


def test_an_unarmed_or_calm_handler_passes_through(injector_for: Any) -> None:
    injector = injector_for("crash=1")
    handler = injector.crashing(lambda event: {"batchItemFailures": []})
    assert handler({"Records": [{"messageId": "1"}]}) == {"batchItemFailures": []}


@mock_aws
def test_the_storm_passes_after_its_duration(injector_for: Any) -> None:
    clock = Clock()
    injector = injector_for("sticky=1,crash=1,outage=2/4,for=10,services=dynamodb", registry_table="registry",
                            clock=clock)
    ddb = _tables()
    injector.arm()
    clock.now += 5  # t=5: storming (and inside an outage window)
    assert injector.storming() and injector.registry_down()
    with pytest.raises(ClientError):
        ddb.get_item(TableName="faces", Key={"pk": {"S": "a"}})
    clock.now += 5  # t=10: the storm has passed: calls answer, batches run whole, the registry is up
    assert not injector.storming() and not injector.registry_down()
    ddb.get_item(TableName="faces", Key={"pk": {"S": "a"}})
    handled: list[int] = []
    injector.crashing(lambda event: handled.append(len(event["Records"])))({"Records": [{}, {}]})
    assert handled == [2]
    assert "for 10 s" in injector.plan.describe()


def test_a_storm_without_a_duration_lasts_until_stop(injector_for: Any) -> None:
    clock = Clock()
    injector = injector_for("crash=1", clock=clock)
    injector.arm()
    clock.now += 10_000
    assert injector.storming() and "until stop" in injector.plan.describe()


def test_the_load_runner_ends_the_storm_with_the_traffic_unless_told(tmp_path: Any) -> None:
    from bench.load.run import STORM_SETUP_SECONDS, LoadOptions, storm_spec

    storm = LoadOptions(seconds=12, faults="crash=0.3,seed=1", workdir=tmp_path)
    assert FaultPlan.parse(storm_spec(storm)).duration == 12 + STORM_SETUP_SECONDS
    told = LoadOptions(seconds=12, faults="crash=0.3,for=5", workdir=tmp_path)
    assert FaultPlan.parse(storm_spec(told)).duration == 5
