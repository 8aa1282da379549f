"""Collections, uploads, image statuses and faces through API Gateway events (moto)."""

from __future__ import annotations

from faceapi_helpers import COLLECTION, Api


def test_create_describe_list_delete_collection(api: Api) -> None:
    # Given a new customer without collections
    # When it creates a collection
    status, body = api.call("http_create_collection", body={"collection_id": COLLECTION})
    # Then it is described with zero counts and the model version
    assert status == 201, body
    assert body["collection_id"] == COLLECTION and body["face_count"] == 0 and body["user_count"] == 0
    assert body["face_model_version"] and body["created_at"]
    status, described = api.call("http_describe_collection")
    assert status == 200 and described["collection_id"] == COLLECTION
    status, listed = api.call("http_list_collections")
    assert status == 200 and [c["collection_id"] for c in listed["collections"]] == [COLLECTION]
    # When it deletes it, Then it is gone
    status, deleted = api.call("http_delete_collection")
    assert (status, deleted) == (200, {"collection_id": COLLECTION, "status": "DELETED"})
    assert api.call("http_describe_collection")[0] == 404
