"""The upload key layout is the tenant boundary: one module builds and reads it (facestore.uploads)."""

from __future__ import annotations

import pytest

from facestore.errors import InvalidId
from facestore.uploads import (
    MAX_UPLOAD_BYTES,
    UploadKey,
    customer_prefix,
    object_missing,
    parse_upload_key,
    upload_key,
)


def test_a_key_reads_back_as_the_ids_it_was_built_from() -> None:
    key = upload_key("acme-photos", "family", "4f1c.jpg")
    assert key == "uploads/acme-photos/family/4f1c.jpg"
    assert parse_upload_key(key) == UploadKey("acme-photos", "family", "4f1c.jpg")
    assert str(parse_upload_key(key)) == key


@pytest.mark.parametrize("ids", [
    ("acme/../other", "family", "x.jpg"),  # a customer id cannot name another prefix
    ("acme", "family/other", "x.jpg"),
    ("acme", "family", "a/b.jpg"),
    ("", "family", "x.jpg"),
    ("acme", "family", "x" * 256),
    ("acme", "fam ily", "x.jpg"),
    ("acme", "family", "%2F.jpg"),
])
def test_ids_that_are_not_one_safe_segment_are_refused(ids: tuple[str, str, str]) -> None:
    with pytest.raises(InvalidId):
        upload_key(*ids)


@pytest.mark.parametrize("key", [
    "uploads/acme-photos/../../other-customer/x.jpg",  # a hostile key from an event (after unquote_plus)
    "uploads/acme-photos/family",
    "uploads/acme-photos/family/x.jpg/more",
    "uploads//family/x.jpg",
    "other/acme-photos/family/x.jpg",
    "uploadsacme/family/x.jpg/y",
    "uploads/acme photos/family/x.jpg",
    "",
])
def test_any_other_key_is_not_an_upload(key: str) -> None:
    assert parse_upload_key(key) is None


@pytest.mark.parametrize(("code", "status", "missing"), [
    ("NoSuchKey", 404, True), ("NoSuchVersion", 404, True), ("NoSuchBucket", 404, True),
    ("404", 404, True), ("NotFound", 404, True), ("MethodNotAllowed", 405, True),  # a delete-marker version
    ("AccessDenied", 403, False), ("SlowDown", 503, False), ("InternalError", 500, False),
])
def test_s3_answers_for_a_missing_object_are_one_set(code: str, status: int, missing: bool) -> None:
    response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    assert object_missing(response) is missing


def test_an_empty_error_response_is_not_a_missing_object() -> None:
    assert object_missing({}) is False


def test_the_upload_size_limit_is_rekognitions_s3_limit() -> None:
    assert MAX_UPLOAD_BYTES == 15 * 1024 * 1024


def test_a_customers_prefix_holds_its_keys_and_no_other_customers() -> None:
    # Given the prefix an erasure deletes under
    prefix = customer_prefix("cust-1")
    # Then every key of that customer is under it, and a customer whose id extends it is not
    assert upload_key("cust-1", "c", "i.jpg").startswith(prefix)
    assert not upload_key("cust-10", "c", "i.jpg").startswith(prefix)


@pytest.mark.parametrize("bad", ["", "a/b", "x" * 256, "a b", "a#b"])
def test_a_prefix_for_a_hostile_customer_id_is_refused(bad: str) -> None:
    with pytest.raises(InvalidId):
        customer_prefix(bad)
