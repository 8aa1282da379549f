"""Retries against a fault-injecting server: which requests, how often, after which waits (on a fake clock)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from facesearch.errors import (
    AuthenticationError,
    ConflictError,
    EndpointUnreachableError,
    FacesearchError,
    ImageTooLargeError,
    InvalidRequestError,
    LimitExceededError,
    NotFoundError,
    PolicyRefusedError,
    RequestTimeoutError,
    ServiceUnavailableError,
    ThrottledError,
    UploadFailedError,
)
from facesearch.transport import RetrySettings

from .conftest import ClientFactory, SleepRecorder
from .faultserver import Fault, FaultServer

OK = Fault.json(200, {"collections": [{"collection_id": "archive"}]})
IMAGE = b"\xff\xd8 not really a jpeg"


def test_503_with_retry_after_is_retried_after_the_advertised_wait(server: FaultServer, clock: SleepRecorder,
                                                                    make_client: ClientFactory) -> None:
    # Given the policy layer cannot read the registry twice (fail closed, Retry-After: 2), then can
    server.script("/collections", [Fault.error(503, "POLICY_UNAVAILABLE", Retry_After="2"),
                                   Fault.error(503, "POLICY_UNAVAILABLE", Retry_After="2"), OK])
    # When the collections are listed
    collections = make_client().list_collections()
    # Then the third attempt answers, after waiting exactly what the service advertised
    assert [c["collection_id"] for c in collections] == ["archive"]
    assert server.count("GET") == 3
    assert clock.sleeps == [2.0, 2.0]


def test_429_throttled_waits_as_told(server: FaultServer, clock: SleepRecorder, make_client: ClientFactory) -> None:
    server.script("/collections", [Fault.error(429, "THROTTLED", "over the rate", Retry_After="7"), OK])
    assert make_client().list_collections()
    assert server.count("GET") == 2 and clock.sleeps == [7.0]


def test_gateway_errors_back_off_exponentially_until_the_attempts_run_out(
        server: FaultServer, clock: SleepRecorder, make_client: ClientFactory) -> None:
    # Given a gateway that answers 502 and 504 with its own bodies and no Retry-After
    server.script("/collections", [Fault.json(502, {"message": "Internal server error"}),
                                   Fault.json(504, {"message": "Endpoint request timed out"})] * 3)
    # When a GET is sent with 5 attempts (backoff 0.5 s doubling; the jitter draw is 1.0)
    with pytest.raises(ServiceUnavailableError) as failed:
        make_client(max_attempts=5).describe_collection("archive")
    # Then 5 attempts were made, with 4 waits of 0.5, 1, 2, 4 s; the last answer is reported with a code
    assert server.count("GET") == 5
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]
    assert (failed.value.status, failed.value.code) == (502, "BAD_GATEWAY")
    assert failed.value.message == "Internal server error"


def test_backoff_is_jittered_and_capped(server: FaultServer, clock: SleepRecorder, make_client: ClientFactory) -> None:
    server.answer("/collections", Fault.json(503, {"message": "Service Unavailable"}))
    draws = iter([0.5, 0.25, 0.1, 0.9, 0.0, 1.0])
    with pytest.raises(ServiceUnavailableError):
        make_client(rng=lambda: next(draws), max_attempts=7, backoff_base=1.0, backoff_max=4.0).list_collections()
    # full jitter: draw * min(cap, base * 2**(n-1)) -> caps 1, 2, 4, 4, 4, 4; a zero draw retries at once
    assert clock.sleeps == [0.5, 0.5, 0.4, 3.6, 4.0] and server.count() == 7


def test_a_retry_after_beyond_the_time_limit_is_not_waited_for(server: FaultServer, clock: SleepRecorder,
                                                                make_client: ClientFactory) -> None:
    # Given a quota that advertises an hour's wait
    server.answer("/collections", Fault.error(429, "THROTTLED", "monthly quota", Retry_After="3600"))
    # When a request may spend at most 60 s retrying
    with pytest.raises(ThrottledError) as throttled:
        make_client(max_retry_seconds=60).list_collections()
    # Then it fails at once with the advertised wait, instead of sleeping an hour
    assert server.count() == 1 and clock.sleeps == []
    assert throttled.value.retry_after == 3600.0 and throttled.value.code == "THROTTLED"
    assert throttled.value.to_dict() == {"code": "THROTTLED", "message": "monthly quota", "retry_after": 3600.0}


def test_the_total_time_bounds_the_retries(server: FaultServer, clock: SleepRecorder,
                                           make_client: ClientFactory) -> None:
    server.answer("/collections", Fault.error(503, "POLICY_UNAVAILABLE", Retry_After="25"))
    with pytest.raises(ServiceUnavailableError):
        make_client(max_attempts=10, max_retry_seconds=60).list_collections()
    # 25 + 25 fit in 60 s, a third wait would not
    assert clock.sleeps == [25.0, 25.0] and server.count() == 3


def test_dropped_connections_are_retried_for_safe_requests(server: FaultServer, clock: SleepRecorder,
                                                           make_client: ClientFactory) -> None:
    server.script("/collections", [Fault.dropped(), Fault.dropped(), OK])
    assert make_client().list_collections()
    assert server.count("GET") == 3 and clock.sleeps == [0.5, 1.0]


def test_a_search_is_retried_but_a_collection_create_is_not(server: FaultServer, clock: SleepRecorder,
                                                            make_client: ClientFactory) -> None:
    client = make_client()
    # Given searches that meet a dropped connection and a 503
    server.script("/collections/archive/search", [Fault.dropped(), Fault.error(503, "SERVICE_UNAVAILABLE"),
                                                  Fault.json(200, {"face_matches": []})])
    assert client.search("archive", IMAGE) == {"face_matches": []}
    assert server.count("POST", "/collections/archive/search") == 3
    # And creating a collection, which is not safe to repeat: a dropped answer or a 503 is reported at once
    server.script("/collections", [Fault.dropped(), Fault.error(503, "SERVICE_UNAVAILABLE")])
    with pytest.raises(EndpointUnreachableError) as dropped:
        client.create_collection("new")
    assert dropped.value.code == "CONNECTION_LOST"
    with pytest.raises(ServiceUnavailableError):
        client.create_collection("new")
    assert [s.path for s in server.seen if s.method == "POST"].count("/collections") == 2


def test_a_create_is_not_retried_after_a_503_even_with_retry_after(server: FaultServer, clock: SleepRecorder,
                                                                   make_client: ClientFactory) -> None:
    server.script("/collections", [Fault.error(503, "POLICY_UNAVAILABLE", Retry_After="1"),
                                   Fault.json(201, {"collection_id": "new"})])
    with pytest.raises(ServiceUnavailableError) as unavailable:
        make_client().create_collection("new")
    assert server.count("POST") == 1 and clock.sleeps == [] and unavailable.value.retry_after == 1.0


def test_a_create_is_retried_after_429_which_means_nothing_was_done(server: FaultServer, clock: SleepRecorder,
                                                                      make_client: ClientFactory) -> None:
    server.script("/collections", [Fault.error(429, "THROTTLED", Retry_After="1"),
                                   Fault.json(201, {"collection_id": "new"})])
    assert make_client().create_collection("new") == {"collection_id": "new"}
    assert server.count("POST") == 2 and clock.sleeps == [1.0]


@pytest.mark.parametrize(("fault", "error", "code"), [
    (Fault.error(400, "INVALID_PARAMETER"), InvalidRequestError, "INVALID_PARAMETER"),
    (Fault.error(403, "LIMIT_EXCEEDED", "max_collections reached"), LimitExceededError, "LIMIT_EXCEEDED"),
    (Fault.error(403, "SECTOR_DISALLOWED", "law enforcement may not search"), PolicyRefusedError, "SECTOR_DISALLOWED"),
    (Fault.json(403, {"message": "Forbidden"}), AuthenticationError, "FORBIDDEN"),
    (Fault.json(401, {"message": "Unauthorized"}), AuthenticationError, "UNAUTHORIZED"),
    (Fault.error(404, "RESOURCE_NOT_FOUND"), NotFoundError, "RESOURCE_NOT_FOUND"),
    (Fault.error(409, "RESOURCE_ALREADY_EXISTS"), ConflictError, "RESOURCE_ALREADY_EXISTS"),
    (Fault.error(413, "IMAGE_TOO_LARGE", Retry_After="1"), ImageTooLargeError, "IMAGE_TOO_LARGE"),
    (Fault.json(413, {"message": "Request Entity Too Large"}), ImageTooLargeError, "REQUEST_TOO_LARGE"),
])
def test_answers_that_will_not_change_are_never_retried(server: FaultServer, clock: SleepRecorder,
                                                        make_client: ClientFactory, fault: Fault,
                                                        error: type[FacesearchError], code: str) -> None:
    # Given a safe request (a search) that gets an answer repeating would not change
    server.answer("/collections/archive/search", fault)
    with pytest.raises(error) as failed:
        make_client().search("archive", IMAGE)
    # Then it was sent once, and the error carries the code (the gateway's bodies get one from the status)
    assert server.count() == 1 and clock.sleeps == []
    assert failed.value.code == code


def test_a_policy_refusal_keeps_its_rule(server: FaultServer, make_client: ClientFactory) -> None:
    server.answer("/collections", Fault.json(403, {"code": "SECTOR_DISALLOWED", "message": "no", "rule_id": "r-1"}))
    with pytest.raises(PolicyRefusedError) as refused:
        make_client().list_collections()
    assert refused.value.to_dict() == {"code": "SECTOR_DISALLOWED", "message": "no", "rule_id": "r-1"}


def test_slow_answers_time_out_and_are_retried_only_when_safe(server: FaultServer, clock: SleepRecorder,
                                                              make_client: ClientFactory) -> None:
    client = make_client(read_timeout=0.3)
    server.script("/collections/archive", [Fault.slow(1.5), Fault.json(200, {"collection_id": "archive"})])
    assert client.describe_collection("archive") == {"collection_id": "archive"}
    assert server.count("GET") == 2
    server.script("/collections", [Fault.slow(1.5, 201)])
    with pytest.raises(RequestTimeoutError) as timed_out:
        client.create_collection("new")
    assert timed_out.value.code == "TIMEOUT" and server.count("POST") == 1


def test_content_named_upload_tickets_are_retried_and_random_ones_are_not(
        server: FaultServer, make_client: ClientFactory) -> None:
    client = make_client()
    ticket = {"image_id": "x.jpg", "url": server.url + "/put", "headers": {}}
    server.script("/collections/archive/uploads", [Fault.error(503, "SERVICE_UNAVAILABLE"), Fault.json(201, ticket)])
    image_id = hashlib.sha256(IMAGE).hexdigest() + ".jpg"
    client.create_upload("archive", content_type="image/jpeg", content_length=len(IMAGE), image_id=image_id)
    assert server.count("POST") == 2
    server.script("/collections/archive/uploads", [Fault.error(503, "SERVICE_UNAVAILABLE"), Fault.json(201, ticket)])
    with pytest.raises(ServiceUnavailableError):
        client.create_upload("archive", content_type="image/jpeg", content_length=len(IMAGE))
    assert server.count("POST") == 3


def test_the_presigned_put_is_retried_on_slowdown_but_not_on_a_bad_digest(
        server: FaultServer, clock: SleepRecorder, make_client: ClientFactory) -> None:
    client = make_client()
    checksum = base64.b64encode(hashlib.sha256(IMAGE).digest()).decode()
    ticket = {"url": server.url + "/bucket/key.jpg?X-Amz-Signature=secret", "headers": {
        "Content-Type": "image/jpeg", "x-amz-checksum-sha256": checksum}}
    slowdown = Fault(503, raw=b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
                              b"</Error>", headers={"Content-Type": "application/xml"})
    server.script("/bucket/", [slowdown, Fault(200, raw=b"")])
    client.put_upload(ticket, IMAGE)
    assert server.count("PUT") == 2
    assert [s.headers.get("x-amz-checksum-sha256") for s in server.seen] == [checksum, checksum]
    assert all(s.body == IMAGE for s in server.seen)
    server.script("/bucket/", [Fault(400, raw=b"<Error><Code>BadDigest</Code><Message>The sha256 you specified did "
                                              b"not match the calculated checksum.</Message></Error>")])
    with pytest.raises(UploadFailedError) as failed:
        client.put_upload(ticket, IMAGE)
    assert server.count("PUT") == 3
    assert failed.value.code == "UPLOAD_FAILED" and "BadDigest" in failed.value.message
    assert "secret" not in failed.value.message


def test_one_attempt_means_no_retry(server: FaultServer, clock: SleepRecorder, make_client: ClientFactory) -> None:
    server.answer("/collections", Fault.error(503, "POLICY_UNAVAILABLE", Retry_After="1"))
    with pytest.raises(ServiceUnavailableError):
        make_client(max_attempts=1).list_collections()
    assert server.count() == 1 and clock.sleeps == []


def test_settings_come_from_the_environment_then_the_options() -> None:
    env = {"FACESEARCH_MAX_ATTEMPTS": "3", "FACESEARCH_MAX_RETRY_SECONDS": "12.5", "FACESEARCH_TIMEOUT": "9"}
    settings = RetrySettings.from_env(env)
    assert (settings.max_attempts, settings.max_retry_seconds, settings.read_timeout) == (3, 12.5, 9.0)
    assert RetrySettings.from_env(env, max_attempts=8, read_timeout=None).max_attempts == 8
    assert RetrySettings.from_env({}) == RetrySettings()
    with pytest.raises(FacesearchError, match="FACESEARCH_MAX_ATTEMPTS"):
        RetrySettings.from_env({"FACESEARCH_MAX_ATTEMPTS": "many"})
    with pytest.raises(FacesearchError):
        RetrySettings(max_attempts=0)
