"""Presigned uploads and image statuses.

Choice: a presigned PUT signed with SigV4 whose signed headers include Content-Length (declared by the
client, ≤ 15 MB), Content-Type and the x-amz-meta-* fields. S3 refuses a PUT whose headers differ from
the signed ones, so the size limit holds at S3 itself; the indexer's HeadObject size check is the
second line. moto does not verify presigned signatures, so the tests check what is signed and that a
PUT with the returned headers lands with its metadata.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
import requests

from facestore import ImageStatus

from .faceapi_helpers import COLLECTION, CUSTOMER, Api, photo


def test_upload_ticket_signs_size_type_and_metadata(api: Api) -> None:
    # Given a collection
    api.create_collection()
    data = photo("obama.jpg")
    # When an upload URL is asked for a 36 KB JPEG with an external image id
    status, ticket = api.call("http_create_upload", body={"content_type": "image/jpeg", "content_length": len(data),
                                                          "external_image_id": "IMG_0042.jpg", "max_faces": 3})
    # Then it is a short-lived PUT under the customer's and collection's prefix, with the headers to send
    assert status == 201, ticket
    assert ticket["method"] == "PUT" and 0 < ticket["expires_in"] <= 900 and ticket["max_bytes"] == 15 * 1024 * 1024
    url = urlparse(ticket["url"])
    assert url.path == f"/uploads/{CUSTOMER}/{COLLECTION}/{ticket['image_id']}"
    query = parse_qs(url.query)
    signed = query["X-Amz-SignedHeaders"][0].split(";")
    assert {"content-length", "content-type", "x-amz-meta-external-image-id", "x-amz-meta-max-faces",
            "x-amz-meta-collection-generation"} <= set(signed)
    assert int(query["X-Amz-Expires"][0]) == ticket["expires_in"]
    generation = api.store.get_collection(CUSTOMER, COLLECTION).generation  # which incarnation it is for
    assert ticket["headers"] == {"Content-Type": "image/jpeg", "Content-Length": str(len(data)),
                                 "x-amz-meta-external-image-id": "IMG_0042.jpg", "x-amz-meta-max-faces": "3",
                                 "x-amz-meta-collection-generation": generation}
    assert ticket["image_id"].endswith(".jpg")
    # When the client PUTs the bytes with exactly those headers
    response = requests.put(ticket["url"], data=data, headers=ticket["headers"], timeout=10)
    assert response.status_code == 200
    # Then the object is where the indexer looks, with the metadata it reads
    head = api.deps.s3.head_object(Bucket=api.uploads_bucket, Key=url.path.lstrip("/"))
    assert head["ContentLength"] == len(data) and head["ContentType"] == "image/jpeg"
    assert head["Metadata"] == {"external-image-id": "IMG_0042.jpg", "max-faces": "3",
                                "collection-generation": generation}
    # And the image is PENDING until the indexer records an outcome
    path = {"image_id": ticket["image_id"]}
    assert api.call("http_get_image", path=path) == (200, {
        "image_id": ticket["image_id"], "status": "PENDING", "reason_code": None, "message": None, "face_ids": [],
        "unindexed_faces": [], "external_image_id": None, "updated_at": None})
    api.store.put_image_status(ImageStatus(CUSTOMER, COLLECTION, ticket["image_id"], "INDEXED",
                                           face_ids=("f-1",), external_image_id="IMG_0042.jpg",
                                           unindexed=({"bounding_box": {"left": 1, "top": 2, "width": 3, "height": 4},
                                                       "reasons": ["EXCEEDS_MAX_FACES"]},),
                                           updated_at="2026-11-26T12:00:00.000Z"), only_if_newer=False)
    status, body = api.call("http_get_image", path=path)
    assert status == 200 and body["status"] == "INDEXED" and body["face_ids"] == ["f-1"]
    assert body["unindexed_faces"] == [{"bounding_box": {"left": 1.0, "top": 2.0, "width": 3.0, "height": 4.0},
                                        "reasons": ["EXCEEDS_MAX_FACES"]}]


def test_each_upload_gets_its_own_image_id(api: Api) -> None:
    api.create_collection()
    body = {"content_type": "image/png", "content_length": 100}
    first, second = api.call("http_create_upload", body=body)[1], api.call("http_create_upload", body=body)[1]
    assert first["image_id"] != second["image_id"] and first["image_id"].endswith(".png")


@pytest.mark.parametrize("payload", [
    {"content_type": "image/gif", "content_length": 10},
    {"content_type": "image/jpeg", "content_length": 15 * 1024 * 1024 + 1},
    {"content_type": "image/jpeg", "content_length": 0},
    {"content_type": "image/jpeg"},
    {"content_type": "image/jpeg", "content_length": 10, "external_image_id": "../../etc/passwd"},
    {"content_type": "image/jpeg", "content_length": 10, "max_faces": 101},
    {"content_type": "image/jpeg", "content_length": 10, "key": "uploads/other-co/theirs/x.jpg"},
])
def test_bad_upload_requests_are_400(api: Api, payload: dict[str, object]) -> None:
    api.create_collection()
    status, body = api.call("http_create_upload", body=payload)
    assert status == 400 and body["code"] == "INVALID_PARAMETER", body


def test_upload_to_missing_or_foreign_collection_is_404(api: Api) -> None:
    api.create_collection(customer="other-co")
    status, body = api.call("http_create_upload", body={"content_type": "image/jpeg", "content_length": 10})
    assert status == 404 and body["code"] == "RESOURCE_NOT_FOUND"


def test_unknown_image_is_404(api: Api) -> None:
    api.create_collection()
    status, body = api.call("http_get_image", path={"image_id": "nope.jpg"})
    assert status == 404 and body == {"code": "RESOURCE_NOT_FOUND", "message": "the image does not exist"}
