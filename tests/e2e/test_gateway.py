"""The HTTP API adapter: API Gateway's own answers (404/401/403/500) and the payload-2.0 events it builds."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from facesearch.local.httpapi import AdminKey, Gateway, check_sigv4
from facesearch.local.process import RunningStack
from facesearch.local.template import load_template

pytestmark = pytest.mark.e2e

ADMIN = AdminKey("AKIALOCALADMIN000001", "local-secret", "arn:aws:iam::123456789012:user/admin")


class Recorder:
    """A stand-in for the functions: records events, answers as told."""

    def __init__(self, authorized: bool = True) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.authorized = authorized

    def __call__(self, function_id: str, event: dict[str, Any]) -> Any:
        self.events.append((function_id, event))
        if function_id == "AuthorizerFunction":
            return {"isAuthorized": self.authorized, "context": {"customer_id": "cus_1"}}
        if event["rawPath"].endswith("/boom"):
            raise RuntimeError("boom")
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({"ok": 1})}


def gateway(recorder: Recorder) -> Gateway:
    return Gateway(load_template(), recorder, stage="local", region="us-east-1", admin_key=ADMIN,
                   authorizer_cache_seconds=0)


def signed_headers(method: str, url: str, body: bytes, key: AdminKey) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers={"content-type": "application/json"})
    SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def test_route_gets_a_payload_v2_event_with_the_authorizer_context() -> None:
    # Given a gateway over the template's routes
    recorder = Recorder()
    # When a customer searches a collection with a key and a query string
    response = gateway(recorder).handle("POST", "/local/collections/fam%20ily/search?a=1&a=2&b=x",
                                        {"X-Api-Key": "k", "Content-Type": "application/json"}, b'{"image":""}',
                                        "127.0.0.1", "http://127.0.0.1:1")
    # Then the authorizer ran first, then the route's function with API Gateway's event shape
    assert response.status == 200
    (auth_fn, auth_event), (fn, event) = recorder.events
    assert auth_fn == "AuthorizerFunction" and auth_event["type"] == "REQUEST" and auth_event["identitySource"] == ["k"]
    assert fn == "FaceApiFunction"
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /collections/{collection_id}/search"
    assert event["rawPath"] == "/local/collections/fam%20ily/search"
    assert event["rawQueryString"] == "a=1&a=2&b=x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["pathParameters"] == {"collection_id": "fam ily"}
    assert event["headers"]["x-api-key"] == "k"
    ctx = event["requestContext"]
    assert ctx["http"]["method"] == "POST" and ctx["http"]["sourceIp"] == "127.0.0.1"
    assert ctx["stage"] == "local" and ctx["routeKey"] == event["routeKey"] and ctx["requestId"]
    assert isinstance(ctx["timeEpoch"], int)
    assert ctx["authorizer"] == {"lambda": {"customer_id": "cus_1"}}
    assert event["body"] == '{"image":""}' and event["isBase64Encoded"] is False
    # And the answer carries the event's request id, as API Gateway's apigw-requestid (audit records name it)
    assert response.headers["apigw-requestid"] == ctx["requestId"]


def test_binary_bodies_are_base64_encoded() -> None:
    recorder = Recorder()
    gateway(recorder).handle("POST", "/local/detect", {"x-api-key": "k", "content-type": "image/jpeg"},
                             b"\xff\xd8\xff", "127.0.0.1", "http://127.0.0.1:1")
    event = recorder.events[-1][1]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\xd8\xff"


@pytest.mark.parametrize(("method", "target", "headers", "status", "message"), [
    ("GET", "/local/nothing/here", {"x-api-key": "k"}, 404, "Not Found"),
    ("GET", "/collections", {"x-api-key": "k"}, 404, "Not Found"),  # no stage
    ("PUT", "/local/collections", {"x-api-key": "k"}, 404, "Not Found"),  # no such method
    ("GET", "/local/collections", {}, 401, "Unauthorized"),
    ("GET", "/local/admin/customers", {}, 403, "Missing Authentication Token"),
])
def test_gateway_answers(method: str, target: str, headers: dict[str, str], status: int, message: str) -> None:
    response = gateway(Recorder()).handle(method, target, headers, b"", "127.0.0.1", "http://127.0.0.1:1")
    assert response.status == status
    assert json.loads(response.body) == {"message": message}


def test_authorizer_saying_no_is_403_and_a_crash_is_500() -> None:
    response = gateway(Recorder(authorized=False)).handle("GET", "/local/collections", {"x-api-key": "bad"}, b"",
                                                          "127.0.0.1", "http://127.0.0.1:1")
    assert (response.status, json.loads(response.body)) == (403, {"message": "Forbidden"})
    response = gateway(Recorder()).handle("GET", "/local/openapi.json/boom", {}, b"", "127.0.0.1", "http://x")
    assert response.status == 404


def test_events_over_lambdas_payload_limit_are_413() -> None:
    recorder = Recorder()
    body = b'{"image":"' + b"A" * (6 * 1024 * 1024) + b'"}'
    response = gateway(recorder).handle("POST", "/local/detect", {"x-api-key": "k", "content-type": "application/json"},
                                        body, "127.0.0.1", "http://127.0.0.1:1")
    assert (response.status, json.loads(response.body)) == (413, {"message": "Request Entity Too Large"})
    assert [fn for fn, _ in recorder.events] == ["AuthorizerFunction"]


def test_beyond_the_stages_throttling_is_429() -> None:
    # Given the template's stage throttling (a burst, then a rate per second) on a fake clock
    now = [1000.0]
    recorder = Recorder()
    gw = Gateway(load_template(), recorder, stage="local", region="us-east-1", admin_key=ADMIN,
                 authorizer_cache_seconds=0, clock=lambda: now[0])
    assert gw.throttle is not None
    rate, burst = gw.throttle.rate, gw.throttle.burst

    def call() -> Any:
        return gw.handle("GET", "/local/collections", {"x-api-key": "k"}, b"", "127.0.0.1", "http://127.0.0.1:1")

    # When a client sends the burst at once, then one more
    assert all(call().status == 200 for _ in range(burst))
    calls_before = len(recorder.events)
    refused = call()
    # Then API Gateway's own 429 comes back, before the authorizer or any function runs
    assert (refused.status, json.loads(refused.body)) == (429, {"message": "Too Many Requests"})
    assert len(recorder.events) == calls_before
    # And a second later the rate's worth of requests passes again
    now[0] += 1.0
    assert [call().status for _ in range(int(rate) + 1)] == [200] * int(rate) + [429]


def test_auth_none_routes_skip_the_authorizer() -> None:
    recorder = Recorder()
    response = gateway(recorder).handle("GET", "/local/openapi.json", {}, b"", "127.0.0.1", "http://127.0.0.1:1")
    assert response.status == 200
    assert [fn for fn, _ in recorder.events] == ["FaceApiFunction"]
    assert "authorizer" not in recorder.events[0][1]["requestContext"]


def test_iam_routes_need_a_signature_by_the_admin_key() -> None:
    base, target, body = "http://127.0.0.1:9", "/local/admin/customers", b'{"name":"x"}'
    recorder = Recorder()
    good = signed_headers("POST", base + target, body, ADMIN)
    assert gateway(recorder).handle("POST", target, good, body, "127.0.0.1", base).status == 200
    iam = recorder.events[-1][1]["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == ADMIN.access_key_id and iam["userArn"] == ADMIN.user_arn
    # another key, a wrong secret, a tampered body: 403 and the function never runs
    other = AdminKey("AKIAOTHER00000000001", "local-secret", "")
    wrong_secret = AdminKey(ADMIN.access_key_id, "not-the-secret", "")
    for headers, payload in ((signed_headers("POST", base + target, body, other), body),
                             (signed_headers("POST", base + target, body, wrong_secret), body),
                             (good, b'{"name":"y"}')):
        before = len(recorder.events)
        assert gateway(recorder).handle("POST", target, headers, payload, "127.0.0.1", base).status == 403
        assert len(recorder.events) == before


def test_check_sigv4_accepts_query_strings() -> None:
    url = "http://127.0.0.1:9/local/admin/audit?customer_id=c%201&limit=5"
    headers = signed_headers("GET", url, b"", ADMIN)
    assert check_sigv4("GET", url, headers, b"", ADMIN, "us-east-1") == (True, "")


def test_function_exception_is_500() -> None:
    recorder = Recorder()

    def explode(function_id: str, event: dict[str, Any]) -> Any:
        if function_id == "AuthorizerFunction":
            return recorder(function_id, event)
        raise RuntimeError("bug")

    gw = Gateway(load_template(), explode, stage="local", region="us-east-1", admin_key=ADMIN)
    response = gw.handle("GET", "/local/collections", {"x-api-key": "k"}, b"", "127.0.0.1", "http://x")
    assert (response.status, json.loads(response.body)) == (500, {"message": "Internal Server Error"})


# ---------------------------------------------------------------- over HTTP, against the running stack
def test_stack_gateway_answers_over_http(stack: RunningStack) -> None:
    base = stack.endpoint
    assert requests.get(f"{base}/no/such/route", timeout=10).status_code == 404
    missing = requests.get(f"{base}/collections", timeout=10)
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    bad = requests.get(f"{base}/collections", headers={"x-api-key": "not-a-key"}, timeout=10)
    assert (bad.status_code, bad.json()) == (403, {"message": "Forbidden"})
    unsigned = requests.get(f"{base}/admin/customers", timeout=10)
    assert unsigned.status_code == 403
    for method in ("TRACE", "QUERY", "PROPFIND"):  # methods without a route: API Gateway's 404, never a 501
        other = requests.request(method, f"{base}/collections", headers={"x-api-key": "k"}, timeout=10)
        assert (other.status_code, other.json()) == (404, {"message": "Not Found"})
