"""Deleting one photo's every version (facestore.s3_purge.delete_key_versions): exactly its key, all pages,
and a refused delete is an error, never a photo reported gone that is still there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from facestore import s3_purge
from facestore.errors import StoreUnavailable
from facestore.s3_purge import delete_key_versions, key_versions

BUCKET = "uploads-test"
KEY = "uploads/acme/family/a.jpg"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def _all_versions(s3: Any) -> list[tuple[str, bool]]:
    listing = s3.list_object_versions(Bucket=BUCKET)
    return sorted([(v["Key"], False) for v in listing.get("Versions", [])]
                  + [(m["Key"], True) for m in listing.get("DeleteMarkers", [])])


def test_every_version_and_marker_of_exactly_the_key_goes_and_its_prefix_siblings_stay(s3: Any) -> None:
    for body in (b"1", b"2", b"3"):
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
    s3.delete_object(Bucket=BUCKET, Key=KEY)  # a delete marker on top
    s3.put_object(Bucket=BUCKET, Key=KEY + ".old", Body=b"sibling")  # the key is a prefix of this one

    markers, versions = key_versions(s3, BUCKET, KEY)
    assert (len(markers), len(versions)) == (1, 3)
    assert delete_key_versions(s3, BUCKET, KEY) == 3  # versions, not markers
    assert _all_versions(s3) == [(KEY + ".old", False)]
    assert delete_key_versions(s3, BUCKET, KEY) == 0  # repeating is harmless


def test_more_versions_than_one_delete_request_takes_are_deleted_in_pages(
        s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_purge, "PAGE_SIZE", 2)
    for body in (b"1", b"2", b"3", b"4", b"5"):
        s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)
    assert delete_key_versions(s3, BUCKET, KEY) == 5
    assert _all_versions(s3) == []


def test_a_missing_bucket_has_nothing_to_delete(s3: Any) -> None:
    assert delete_key_versions(s3, "no-such-bucket", KEY) == 0


class _Refusing:
    """S3 whose DeleteObjects answers 200 with per-key errors, as real S3 does for AccessDenied."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)

    def delete_objects(self, **_kwargs: Any) -> dict[str, Any]:
        return {"Errors": [{"Key": KEY, "Code": "AccessDenied", "Message": "denied"}]}


def test_a_refused_delete_is_store_unavailable_not_success(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"1")
    with pytest.raises(StoreUnavailable, match="AccessDenied"):
        delete_key_versions(_Refusing(s3), BUCKET, KEY)
    assert _all_versions(s3) == [(KEY, False)]


@pytest.mark.parametrize("failure", [
    ClientError({"Error": {"Code": "InternalError", "Message": "x"}}, "ListObjectVersions"),
    EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
])
def test_s3_failures_are_store_unavailable(s3: Any, failure: Exception) -> None:
    class Failing(_Refusing):
        def get_paginator(self, _name: str) -> Any:
            raise failure

    with pytest.raises(StoreUnavailable):
        delete_key_versions(Failing(s3), BUCKET, KEY)
