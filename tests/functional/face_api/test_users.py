"""Users: create, list, delete, associate / disassociate faces, search users by image and by user id."""

from __future__ import annotations

from typing import Any

import pytest

from .faceapi_helpers import OTHER, Api, b64, photo

ALICE = "user:obama"


@pytest.fixture
def faces(api: Api, photo_faces: dict[str, Any]) -> dict[str, str]:
    api.create_collection()
    return api.put_photo_faces(photo_faces, ("obama.jpg", "obama3.jpg", "biden.jpg", "t1.jpg"))


def user_path(user_id: str = ALICE) -> dict[str, str]:
    return {"user_id": user_id}


def test_user_lifecycle(api: Api, faces: dict[str, str]) -> None:
    # Given a new user
    status, body = api.call("http_create_user", body={"user_id": ALICE})
    assert status == 201 and body["user_id"] == ALICE and body["user_status"] == "CREATED" and body["face_ids"] == []
    assert api.call("http_create_user", body={"user_id": ALICE})[1]["code"] == "RESOURCE_ALREADY_EXISTS"
    # When two Obama faces are associated
    status, body = api.call("http_associate_faces", path=user_path(),
                            body={"face_ids": [faces["obama.jpg"], faces["obama3.jpg"], "missing"]})
    # Then both are associated, the missing one is reported, the user is ACTIVE
    assert status == 200, body
    assert sorted(body["associated_faces"]) == sorted([faces["obama.jpg"], faces["obama3.jpg"]])
    assert body["unsuccessful_face_associations"] == [{"face_id": "missing", "reasons": ["FACE_NOT_FOUND"],
                                                       "similarity": None}]
    assert body["user_status"] == "ACTIVE"
    # And Biden's face is refused: it does not match the user's faces
    status, body = api.call("http_associate_faces", path=user_path(), body={"face_ids": [faces["biden.jpg"]]})
    assert status == 200 and body["associated_faces"] == []
    refused = body["unsuccessful_face_associations"][0]
    assert refused["reasons"] == ["LOW_MATCH_CONFIDENCE"] and refused["similarity"] < 75
    # And the user is listed with its faces; its faces carry the user id
    status, body = api.call("http_list_users")
    assert status == 200 and [u["user_id"] for u in body["users"]] == [ALICE]
    assert len(body["users"][0]["face_ids"]) == 2
    listed = {f["face_id"]: f["user_id"] for f in api.call("http_list_faces")[1]["faces"]}
    assert listed[faces["obama.jpg"]] == ALICE and listed[faces["biden.jpg"]] is None
    # And an associated face cannot be deleted
    status, body = api.call("http_delete_faces", body={"face_ids": [faces["obama.jpg"]]})
    assert body["unsuccessful_face_deletions"] == [{"face_id": faces["obama.jpg"],
                                                    "reasons": ["ASSOCIATED_TO_AN_EXISTING_USER"]}]
    # When one face is disassociated
    status, body = api.call("http_disassociate_faces", path=user_path(), body={"face_ids": [faces["obama3.jpg"]]})
    assert status == 200 and body["disassociated_faces"] == [faces["obama3.jpg"]] and body["user_status"] == "ACTIVE"
    # When the user is deleted, its faces stay in the collection
    assert api.call("http_delete_user", path=user_path()) == (200, {"user_id": ALICE, "status": "DELETED"})
    assert api.call("http_delete_user", path=user_path())[0] == 404
    assert len(api.call("http_list_faces")[1]["faces"]) == 4
    assert api.call("http_describe_collection")[1]["user_count"] == 0


def test_search_users_by_image_and_by_user(api: Api, faces: dict[str, str]) -> None:
    # Given an Obama user and a Biden user
    for user_id, face_ids in ((ALICE, [faces["obama.jpg"], faces["obama3.jpg"]]), ("user:biden", [faces["biden.jpg"]])):
        api.call("http_create_user", body={"user_id": user_id})
        assert api.call("http_associate_faces", path=user_path(user_id), body={"face_ids": face_ids})[0] == 200
    # When users are searched with another Obama photo
    status, body = api.call("http_search_users_by_image", body={"image": b64(photo("obama2.jpg"))})
    # Then the Obama user is the match
    assert status == 200, body
    assert [m["user"]["user_id"] for m in body["user_matches"]] == [ALICE]
    assert body["user_matches"][0]["similarity"] >= 80 and body["searched_face_bounding_box"] is not None
    # And with threshold 0 both users come back, Obama first
    body = api.call("http_search_users_by_image", body={"image": b64(photo("obama2.jpg")),
                                                        "user_match_threshold": 0})[1]
    assert [m["user"]["user_id"] for m in body["user_matches"]] == [ALICE, "user:biden"]
    # When users like the Biden user are searched, the user itself is not a match
    status, body = api.call("http_search_users", path=user_path("user:biden"), body={"user_match_threshold": 0})
    assert status == 200 and [m["user"]["user_id"] for m in body["user_matches"]] == [ALICE]
    # An unknown user is 404
    assert api.call("http_search_users", path=user_path("user:nobody"), body={})[0] == 404


@pytest.mark.parametrize("user_id", ["a#b", "u" * 129, "naïve", "", "a/b"])
def test_bad_user_ids_are_400(api: Api, faces: dict[str, str], user_id: str) -> None:
    status, body = api.call("http_create_user", body={"user_id": user_id})
    assert status == 400 and body["code"] == "INVALID_PARAMETER"


def test_association_limits(api: Api, faces: dict[str, str]) -> None:
    api.call("http_create_user", body={"user_id": ALICE})
    assert api.call("http_associate_faces", path=user_path(), body={"face_ids": ["f"] * 101})[0] == 400
    assert api.call("http_associate_faces", path=user_path(), body={"face_ids": []})[0] == 400
    assert api.call("http_associate_faces", path=user_path("user:ghost"), body={"face_ids": ["f"]})[0] == 404


def test_users_of_another_customer_are_invisible(api: Api, faces: dict[str, str]) -> None:
    api.call("http_create_user", body={"user_id": ALICE})
    assert api.call("http_list_users", customer=OTHER)[0] == 404
    assert api.call("http_delete_user", customer=OTHER, path=user_path())[0] == 404
