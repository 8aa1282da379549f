"""Hostile request bodies and paths: every one is a 4xx with a code, never a 500, and the policy comes first."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from .faceapi_helpers import POLICE, Api, FakeContext

DEEP = "[" * 100_000 + "]" * 100_000


def raw(api: Api, name: str, data: bytes, *, content_type: str = "application/json", customer: str | None = None,
        **kwargs: Any) -> tuple[int, Any]:
    """Call with exact body bytes (base64 in the event, as API Gateway sends bodies that are not text)."""
    event = api.event(name, **({"customer": customer} if customer else {}), **kwargs)
    event["body"] = base64.b64encode(data).decode()
    event["isBase64Encoded"] = True
    event["headers"] = {**event.get("headers", {}), "content-type": content_type}
    response = api.module.lambda_handler(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize(("data", "code", "words"), [
    (b'{"collection_id": "\xff\xfe"}', "INVALID_JSON", "UTF-8"),
    (b"hello", "INVALID_JSON", "not valid JSON"),
    (DEEP.encode(), "INVALID_JSON", "nested"),
    (b'{"collection_id": "a", "defaults": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}", "INVALID_JSON", "nested"),
    (b'{"collection_id": "a", "defaults": {"max_faces": NaN}}', "INVALID_JSON", "NaN"),
    (b'{"collection_id": "a", "defaults": {"max_faces": 1' + b"0" * 5000 + b"}}", "INVALID_JSON", "digits"),
    (b"[1, 2]", "INVALID_PARAMETER", "dictionary"),
    (b'"collections"', "INVALID_PARAMETER", "dictionary"),
    (b"null", "INVALID_PARAMETER", "required"),
    (b'{"collection_id": 7}', "INVALID_PARAMETER", "collection_id"),
    (b'{"collection_id": "a", "defaults": {"max_faces": 2.5}}', "INVALID_PARAMETER", "max_faces"),
    (b'{"collection_id": "a", "defaults": {"max_faces": true}}', "INVALID_PARAMETER", "max_faces"),
    (b'{"collection_id": "a", "defaults": {"max_faces": "5"}}', "INVALID_PARAMETER", "max_faces"),
])
def test_a_hostile_body_is_a_400_with_a_code(api: Api, data: bytes, code: str, words: str) -> None:
    status, body = raw(api, "http_create_collection", data)
    assert status == 400, body
    assert body["code"] == code and words.lower() in body["message"].lower(), body


@pytest.mark.parametrize("content_type", ["multipart/form-data", "application/x-www-form-urlencoded", "text/plain"])
def test_a_body_that_is_not_json_is_a_415(api: Api, content_type: str) -> None:
    status, body = raw(api, "http_create_collection", b'{"collection_id": "a"}', content_type=content_type)
    assert status == 415 and body["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_an_integral_number_is_an_integer(api: Api) -> None:
    # JSON Schema's integer: 5.0 is one (the document says integer, the API takes it)
    status, body = raw(api, "http_create_collection", b'{"collection_id": "ints", "defaults": {"max_faces": 5.0}}')
    assert status == 201 and body["defaults"] == {"max_faces": 5}


def test_exactly_one_image_source_and_no_nulls(api: Api) -> None:
    api.create_collection()
    for body in ({}, {"image": None, "s3_object": {"image_id": "a.jpg"}},
                 {"image": "aGVsbG8=", "s3_object": {"image_id": "a.jpg"}}):
        status, answer = api.call("http_search_by_image", body=body)
        assert status == 400 and answer["code"] == "INVALID_PARAMETER", (body, answer)


def test_police_with_a_hostile_body_is_refused_first(api: Api) -> None:
    # The policy decides before the body is read: a refused caller is audited, whatever it sends
    api.create_collection("suspects", customer=POLICE)
    for data in (b"\xff\xfe", DEEP.encode()):
        status, body = raw(api, "http_police_search", data, customer=POLICE)
        assert status == 403 and body["code"] == "SECTOR_DISALLOWED", body


def test_percent_encoded_path_ids_are_decoded(api: Api) -> None:
    # Given a user id with a colon, which clients percent-encode in the path (user%3Aalice)
    api.create_collection()
    assert api.call("http_create_user", body={"user_id": "user:alice"})[0] == 201
    event = api.event("http_delete_user", path={"user_id": "user:alice"})
    event["rawPath"] = event["rawPath"].replace("user:alice", "user%3Aalice")
    response = api.module.lambda_handler(event, FakeContext())
    # Then the route sees the decoded id
    assert response["statusCode"] == 200, response["body"]
