"""The AuditSealFunction: the EventBridge schedule seals; the admin routes seal, verify and report, audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from facepolicy.audit_env import AuditServices
from facesearch.local.functions import load_module
from facesearch.local.template import load_template
from tests.support.events import load_event

from .conftest import HOUR, START, World

ADMIN_ARN = "arn:aws:sts::123456789012:assumed-role/facesearch-admin/alice"


class Context:
    function_name = "AuditSealFunction"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:AuditSealFunction"
    aws_request_id = "lambda-req-audit"


@pytest.fixture
def fn(world: World) -> Iterator[Any]:
    module = load_module("AuditSealFunction", fresh=True)
    services = AuditServices(world.audit, world.digests, world.sealer, world.verifier, clock=world.clock)
    module.app.dependency_overrides[module.get_services] = lambda: services
    yield module


def _call(fn: Any, name: str, query: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    event = load_event(name)
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    response = fn.lambda_handler(event, Context())
    return response["statusCode"], json.loads(response["body"])


def _admin_actions(world: World) -> list[tuple[str, str]]:
    return [(r.details.get("action", ""), r.principal) for r in world.audit.list_records(customer_id="_admin").items]


def _act(world: World) -> None:
    world.act("shop", "search", "r1")
    world.act("pd", "search", "r2")
    world.act("shop", "delete", "r3")
    world.clock.now = START + HOUR + 360


def test_the_schedule_seals_closed_periods(world: World, fn: Any) -> None:
    _act(world)
    result = fn.lambda_handler(load_event("audit_seal_schedule"), Context())
    assert result["sealed_through"] == "2026-11-26T02:00:00.000Z" and len(result["sealed"]) == 2
    assert world.verifier.verify().ok


def test_seal_and_verify_routes_answer_and_are_audited(world: World, fn: Any) -> None:
    _act(world)
    status, sealed = _call(fn, "audit_seal_http")
    assert status == 200 and sealed["sealed_through"] == "2026-11-26T02:00:00.000Z"
    status, report = _call(fn, "audit_verify", {})
    assert status == 200 and report["ok"] and report["records_sealed"] == 3
    assert report["records_unsealed"] == 1  # the seal's own audit record, written after the period
    assert sorted(_admin_actions(world)) == [("audit_seal", ADMIN_ARN), ("audit_verify", ADMIN_ARN)]


def test_verify_reports_findings_as_data(world: World, fn: Any) -> None:
    _act(world)
    _call(fn, "audit_seal_http")
    item = world.item("r2")
    world.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    status, report = _call(fn, "audit_verify", {"since": "2026-11-26T01:00:00Z"})
    assert status == 200 and not report["ok"]
    assert report["finding_counts"] == {"RECORD_DELETED_BEFORE_EXPIRY": 1}


def test_the_report_route_aggregates_the_period(world: World, fn: Any) -> None:
    _act(world)
    status, document = _call(fn, "audit_report", {"since": "1d"})
    assert status == 200
    assert document["totals"]["decisions"] == 3 and document["totals"]["refused"] == 1
    assert {"rule_id": "law-enforcement-identification", "reason_code": "SECTOR_DISALLOWED",
            "count": 1} in document["refusals"]
    assert document["policies"][0]["version"] == 1
    assert _admin_actions(world) == [("transparency_report", ADMIN_ARN)]


@pytest.mark.parametrize(("name", "query", "code"), [
    ("audit_verify", {"since": "yesterday"}, "BAD_REQUEST"),
    ("audit_verify", {"anchor": "digests/x.json"}, "BAD_REQUEST"),
    ("audit_report", {"since": "1d", "until": "2020-01-01"}, "BAD_REQUEST"),
    ("audit_report", {"since": "9" * 70}, "BAD_REQUEST"),
])
def test_bad_parameters_are_400_with_a_code(world: World, fn: Any, name: str, query: dict[str, str],
                                            code: str) -> None:
    status, body = _call(fn, name, query)
    assert (status, body["code"]) == (400, code), body


def test_a_missing_digest_bucket_is_503(world: World, fn: Any) -> None:
    from facepolicy.s3digests import S3DigestStore
    from facepolicy.seal import AuditSealer

    broken = AuditServices(world.audit, S3DigestStore(world.s3, "no-such-bucket"),
                           AuditSealer(world.audit, S3DigestStore(world.s3, "no-such-bucket")), world.verifier)
    fn.app.dependency_overrides[fn.get_services] = lambda: broken
    status, body = _call(fn, "audit_seal_http")
    assert (status, body["code"]) == (503, "SERVICE_UNAVAILABLE")


def test_every_admin_audit_route_has_a_named_event_and_iam_auth() -> None:
    events = load_template()["Resources"]["AuditSealFunction"]["Properties"]["Events"]
    routes = {f"{e['Properties']['Method']} {e['Properties']['Path']}": e for e in events.values()
              if e["Type"] == "HttpApi"}
    assert all(e["Properties"]["Auth"]["Authorizer"] == "AWS_IAM" for e in routes.values())
    named = {load_event(n)["routeKey"] for n in ("audit_seal_http", "audit_verify", "audit_report")}
    assert set(routes) == named
    schedule = next(e for e in events.values() if e["Type"] == "Schedule")
    assert schedule["Properties"]["Schedule"]["Fn::If"][0] == "SealEveryMinute"


def test_compose_reads_the_template_variables(world: World, fn: Any) -> None:
    env = {"REGISTRY_TABLE": "r", "AUDIT_TABLE": "facesearch-test-audit", "AUDIT_RETENTION_DAYS": "30",
           "AUDIT_DIGEST_BUCKET": "facesearch-test-digests", "AUDIT_SEAL_PERIOD_MINUTES": "15",
           "AUDIT_SEAL_SETTLE_SECONDS": "120"}
    services = fn.compose(env)
    assert (services.sealer.period_seconds, services.sealer.settle_seconds) == (900, 120)
    assert services.audit.retention_days == 30 and services.digests.bucket == "facesearch-test-digests"
    with pytest.raises(KeyError, match="AUDIT_DIGEST_BUCKET"):
        fn.compose({k: v for k, v in env.items() if k != "AUDIT_DIGEST_BUCKET"})
