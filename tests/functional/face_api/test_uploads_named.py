"""Client-named uploads: an image named by the SHA-256 of its bytes, so asking twice lands on one image.

The client (`facesearch index`) names each upload `<hex sha256>.<ext>`; a retried or resumed upload
asks for a ticket for the same name and overwrites the same object (the indexer replaces the faces
of an overwritten image), never a second image. The hash is signed into the presigned PUT as
`x-amz-checksum-sha256`: real S3 refuses bytes that do not hash to the name (moto does not check).
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from .faceapi_helpers import COLLECTION, CUSTOMER, Api, photo


def named(data: bytes, extension: str = ".jpg") -> str:
    return hashlib.sha256(data).hexdigest() + extension


def test_a_content_named_upload_lands_on_the_same_image_every_time(api: Api) -> None:
    # Given a collection and a photo named by its content hash
    api.create_collection()
    data = photo("obama.jpg")
    body = {"content_type": "image/jpeg", "content_length": len(data), "image_id": named(data),
            "external_image_id": "obama.jpg"}
    # When a ticket is asked for twice (a retry after an answer the client never saw)
    first_status, first = api.call("http_create_upload", body=body)
    second_status, second = api.call("http_create_upload", body=body)
    # Then both name the same image, under the customer's and collection's prefix
    assert (first_status, second_status) == (201, 201), (first, second)
    assert first["image_id"] == second["image_id"] == named(data)
    url = urlparse(first["url"])
    assert url.path == f"/uploads/{CUSTOMER}/{COLLECTION}/{named(data)}"
    # And the SHA-256 is part of the signature, as a header the client must send
    checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert first["headers"]["x-amz-checksum-sha256"] == checksum
    assert "x-amz-checksum-sha256" in parse_qs(url.query)["X-Amz-SignedHeaders"][0].split(";")
    # And PUTting through both tickets leaves one object (two versions of it), one image
    for ticket in (first, second):
        assert requests.put(ticket["url"], data=data, headers=ticket["headers"], timeout=10).status_code == 200
    listing = api.deps.s3.list_objects_v2(Bucket=api.uploads_bucket, Prefix=f"uploads/{CUSTOMER}/{COLLECTION}/")
    assert [o["Key"] for o in listing.get("Contents", [])] == [url.path.lstrip("/")]
    status, image = api.call("http_get_image", path={"image_id": named(data)})
    assert status == 200 and image["status"] == "PENDING"


def test_a_png_is_named_with_png(api: Api) -> None:
    api.create_collection()
    image_id = named(b"png bytes", ".png")
    status, ticket = api.call("http_create_upload", body={"content_type": "image/png", "content_length": 9,
                                                          "image_id": image_id})
    assert status == 201 and ticket["image_id"] == image_id


@pytest.mark.parametrize("image_id", [
    named(b"x", ".png"),  # the extension contradicts the content type
    named(b"x", ""),  # no extension
    named(b"x", ".gif"),
    hashlib.sha256(b"x").hexdigest().upper() + ".jpg",  # uppercase hex: one name per content
    hashlib.sha1(b"x").hexdigest() + ".jpg",  # not a SHA-256
    "0" * 63 + ".jpg",
    "../" + named(b"x"),  # a path
    "other-co/" + named(b"x"),
    "photo.jpg",  # not a content name: server-generated ids and client names never collide
    "",
    "0" * 64 + ".jpg\n",
])
def test_a_malformed_client_image_id_is_400(api: Api, image_id: str) -> None:
    api.create_collection()
    status, body = api.call("http_create_upload", body={"content_type": "image/jpeg", "content_length": 10,
                                                        "image_id": image_id})
    assert status == 400 and body["code"] == "INVALID_PARAMETER", body
    assert "image_id" in body["message"]


@pytest.mark.parametrize("image_id", [7, None, ["a"]])
def test_a_client_image_id_of_the_wrong_type_is_400_or_ignored_when_null(api: Api, image_id: object) -> None:
    api.create_collection()
    status, body = api.call("http_create_upload", body={"content_type": "image/jpeg", "content_length": 10,
                                                        "image_id": image_id})
    if image_id is None:  # JSON null: the same as leaving it out (a random id)
        assert status == 201 and len(body["image_id"]) == 36
    else:
        assert status == 400 and body["code"] == "INVALID_PARAMETER", body


def test_a_client_named_upload_to_another_customers_collection_is_404(api: Api) -> None:
    api.create_collection(customer="other-co")
    status, body = api.call("http_create_upload", body={"content_type": "image/jpeg", "content_length": 10,
                                                        "image_id": named(b"x")})
    assert status == 404 and body["code"] == "RESOURCE_NOT_FOUND"
