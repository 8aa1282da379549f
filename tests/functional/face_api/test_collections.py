"""Collections: create, describe, list (paginated), delete; ids, validation and tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from .faceapi_helpers import COLLECTION, CUSTOMER, OTHER, Api


def test_create_describe_list_delete_collection(api: Api) -> None:
    # Given a customer without collections
    # When it creates a collection
    status, body = api.call("http_create_collection", body={"collection_id": COLLECTION})
    # Then it is described with zero counts, the model version and its creation time
    assert status == 201, body
    assert body["collection_id"] == COLLECTION and body["face_count"] == 0 and body["user_count"] == 0
    assert body["face_model_version"] and body["created_at"]
    status, described = api.call("http_describe_collection")
    assert status == 200 and described == body
    status, listed = api.call("http_list_collections")
    assert status == 200 and [c["collection_id"] for c in listed["collections"]] == [COLLECTION]
    assert listed["next_token"] is None
    # When it deletes it, Then it is gone
    status, deleted = api.call("http_delete_collection")
    assert (status, deleted) == (200, {"collection_id": COLLECTION, "status": "DELETED", "deleted_photos": 0,
                                       "done": True})
    assert api.call("http_describe_collection")[0] == 404
    assert api.call("http_delete_collection")[0] == 404


def test_collection_defaults_are_kept(api: Api) -> None:
    status, body = api.call("http_create_collection",
                            body={"collection_id": "crowds", "defaults": {"max_faces": 2, "quality_filter": "AUTO"}})
    assert status == 201 and body["defaults"] == {"max_faces": 2, "quality_filter": "AUTO"}


def test_duplicate_collection_is_409(api: Api) -> None:
    api.create_collection()
    status, body = api.call("http_create_collection", body={"collection_id": COLLECTION})
    assert status == 409 and body["code"] == "RESOURCE_ALREADY_EXISTS" and body["message"]


def test_list_collections_paginates_with_opaque_tokens(api: Api) -> None:
    # Given five collections
    ids = [f"c{i}" for i in range(5)]
    for cid in ids:
        api.create_collection(cid)
    # When they are listed two at a time
    seen, token, pages = [], None, 0
    while True:
        query = {"max_results": "2", **({"next_token": token} if token else {})}
        status, body = api.call("http_list_collections", query=query)
        assert status == 200, body
        seen += [c["collection_id"] for c in body["collections"]]
        pages += 1
        token = body["next_token"]
        if not token:
            break
    # Then every collection comes exactly once, in three pages
    assert sorted(seen) == ids and pages == 3
    # And a tampered token is a 400
    status, body = api.call("http_list_collections", query={"next_token": "bm90LWEtdG9rZW4"})
    assert status == 400 and body["code"] == "INVALID_PAGINATION_TOKEN"


@pytest.mark.parametrize("max_results", ["0", "1001", "abc", "-1"])
def test_list_collections_rejects_bad_page_sizes(api: Api, max_results: str) -> None:
    status, body = api.call("http_list_collections", query={"max_results": max_results})
    assert status == 400 and body["code"] == "INVALID_PARAMETER"


def test_tenant_isolation_same_collection_name(api: Api) -> None:
    # Given two customers that each create a collection named "family"
    api.create_collection(COLLECTION, customer=CUSTOMER)
    api.create_collection(COLLECTION, customer=OTHER)
    api.put_face("a.jpg", [1.0] + [0.0] * 127, customer=CUSTOMER)
    # Then each sees only its own (the other's face count stays 0)
    assert api.call("http_describe_collection", customer=CUSTOMER)[1]["face_count"] == 1
    assert api.call("http_describe_collection", customer=OTHER)[1]["face_count"] == 0
    # And another customer's collection answers exactly like a missing one
    api.create_collection("private", customer=CUSTOMER)
    other = api.call("http_describe_collection", customer=OTHER, path={"collection_id": "private"})
    missing = api.call("http_describe_collection", customer=OTHER, path={"collection_id": "never-made"})
    assert other == missing and other[0] == 404 and other[1]["code"] == "RESOURCE_NOT_FOUND"
    assert api.call("http_delete_collection", customer=OTHER, path={"collection_id": "private"})[0] == 404
    assert api.call("http_list_faces", customer=OTHER, path={"collection_id": "private"})[0] == 404
    # And deleting one's own "family" leaves the other customer's intact
    assert api.call("http_delete_collection", customer=OTHER)[0] == 200
    assert api.call("http_describe_collection", customer=CUSTOMER)[0] == 200



def _upload(api: Api, customer: str, collection: str, image_id: str, versions: int = 1) -> None:
    for n in range(versions):
        api.deps.s3.put_object(Bucket=api.uploads_bucket, Key=f"uploads/{customer}/{collection}/{image_id}",
                               Body=b"photo %d" % n, ContentType="image/jpeg")


def _versions(api: Api, prefix: str) -> list[dict[str, Any]]:
    listing = api.deps.s3.list_object_versions(Bucket=api.uploads_bucket, Prefix=prefix)
    return [*listing.get("Versions", []), *listing.get("DeleteMarkers", [])]


def test_deleting_a_collection_deletes_every_version_of_its_photos_and_only_them(api: Api) -> None:
    # Given a collection with two photos, one uploaded twice, a photo in another of its collections, and
    # another customer's collection of the same id with a photo
    api.create_collection()
    api.create_collection("kept")
    api.create_collection(customer=OTHER)
    _upload(api, CUSTOMER, COLLECTION, "a.jpg", versions=2)
    _upload(api, CUSTOMER, COLLECTION, "b.jpg")
    _upload(api, CUSTOMER, "kept", "c.jpg")
    _upload(api, OTHER, COLLECTION, "d.jpg")
    api.deps.s3.delete_object(Bucket=api.uploads_bucket, Key=f"uploads/{CUSTOMER}/{COLLECTION}/b.jpg")  # a marker
    # When the customer deletes the collection
    status, body = api.call("http_delete_collection")
    # Then every version and delete marker under it is gone, and nothing else
    assert (status, body["deleted_photos"], body["done"]) == (200, 4, True)
    assert _versions(api, f"uploads/{CUSTOMER}/{COLLECTION}/") == []
    assert [v["Key"] for v in _versions(api, "uploads/")] == [f"uploads/{CUSTOMER}/kept/c.jpg",
                                                               f"uploads/{OTHER}/{COLLECTION}/d.jpg"]
    # And once nothing of it is left, deleting it again is a 404
    assert api.call("http_delete_collection")[0] == 404


def test_a_collection_with_more_photos_than_one_call_allows_is_finished_by_repeating_the_delete(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from faceapi import photos

    from facestore import s3_purge

    # Given a collection with 5 photos, and calls that delete 2 per page with time for one page each
    api.create_collection()
    for n in range(5):
        _upload(api, CUSTOMER, COLLECTION, f"p{n}.jpg")
    monkeypatch.setattr(s3_purge, "PAGE_SIZE", 2)
    calls: list[tuple[int, Any]] = []
    original = s3_purge.purge_prefix

    def one_page(*args: Any, **kwargs: Any) -> tuple[int, bool]:
        pages = iter([10.0**9, 0.0])  # time for the first page, none after it
        kwargs["time_left"], kwargs["margin"] = (lambda: next(pages, 0.0)), 1.0
        return original(*args, **kwargs)

    monkeypatch.setattr(photos, "purge_prefix", one_page)
    # When it deletes the collection, and repeats while the answer says photos remain
    while True:
        status, body = api.call("http_delete_collection")
        calls.append((status, body.get("deleted_photos"), body.get("done")))
        if status != 200 or body["done"]:
            break
    # Then the first call deletes the collection and 2 photos, the next ones the rest, and none is left
    assert calls == [(200, 2, False), (200, 2, False), (200, 1, True)]
    assert api.call("http_describe_collection")[0] == 404
    assert _versions(api, f"uploads/{CUSTOMER}/{COLLECTION}/") == []
    assert api.call("http_delete_collection")[0] == 404

@pytest.mark.parametrize("collection_id", ["../etc", "a#b", "a/b", "x" * 256, "", "naïve", "a b", "a\u0000b", "%2e%2e"])
def test_hostile_collection_ids_are_400(api: Api, collection_id: str) -> None:
    status, body = api.call("http_create_collection", body={"collection_id": collection_id})
    assert status == 400 and body["code"] == "INVALID_PARAMETER", body


@pytest.mark.parametrize("collection_id", ["a#b", "x" * 256, "naïve", "..%2f"])
def test_hostile_path_ids_are_400(api: Api, collection_id: str) -> None:
    # ('#' never reaches a route through API Gateway: a 404 "no such route" is as good as a 400)
    status, body = api.call("http_describe_collection", path={"collection_id": collection_id})
    assert status in (400, 404) and body["code"] in ("INVALID_PARAMETER", "RESOURCE_NOT_FOUND"), body


@pytest.mark.parametrize("raw_body", ['{"collection_id": "x"', "not json", '["x"]', "", "null"])
def test_bad_json_is_400(api: Api, raw_body: str) -> None:
    status, body = api.call("http_create_collection", raw_body=raw_body)
    assert status == 400 and body["code"] in ("INVALID_JSON", "INVALID_PARAMETER") and body["message"]
    if raw_body in ('{"collection_id": "x"', "not json"):
        assert body["code"] == "INVALID_JSON"


@pytest.mark.parametrize("payload", [
    {"collection_id": "ok", "unexpected": 1},
    {"collection_id": 5},
    {"collection_id": "ok", "defaults": {"max_faces": 0}},
    {"collection_id": "ok", "defaults": {"max_faces": "3"}},
    {"collection_id": "ok", "defaults": {"quality_filter": "BEST"}},
    {},
])
def test_invalid_parameters_are_400(api: Api, payload: dict[str, object]) -> None:
    status, body = api.call("http_create_collection", body=payload)
    assert status == 400 and body["code"] == "INVALID_PARAMETER" and set(body) == {"code", "message"}, body


def test_unknown_route_is_404_with_code(api: Api) -> None:
    event = api.event("http_list_collections")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/prod/nowhere"
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /nowhere"
    from .faceapi_helpers import FakeContext

    response = api.module.lambda_handler(event, FakeContext())
    assert response["statusCode"] == 404 and '"RESOURCE_NOT_FOUND"' in response["body"]
