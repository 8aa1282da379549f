"""The API the web console needs: who am I, the public policy, photos with faces, the customer's own
image, deleting a photo, and searching a chosen face of the query photo."""

from __future__ import annotations

import contextlib
import hashlib
from typing import Any

import pytest
import requests

from facepolicy.policy import POLICY_PATH
from facestore import ImageStatus

from .faceapi_helpers import COLLECTION, CUSTOMER, OTHER, POLICE, Api, b64, photo, side_by_side

IMG = "0b7e1c5e9f2a4d7c8a1b3c5d7e9f1a2b.jpg"


def _ops(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["operation"]: o for o in body["operations"]}


# ------------------------------------------------------------------ GET /me
def test_me_names_the_customer_and_allows_every_operation_to_media(api: Api) -> None:
    status, body = api.call("http_me")
    assert status == 200, body
    assert (body["customer_id"], body["name"], body["sector"]) == (CUSTOMER, CUSTOMER, "media")
    assert body["status"] == "active"
    ops = _ops(body)
    assert set(ops) == {"detect", "compare", "index", "search", "users", "manage", "delete"}
    assert all(o["allowed"] for o in ops.values())
    assert ops["search"]["description"].startswith("Search a collection")
    assert len(body["policy_sha256"]) == 64 and body["policy_version"] >= 1


def test_me_explains_each_refusal_to_police_and_is_audited_as_manage(api: Api) -> None:
    # When the police department asks what it may do
    status, body = api.call("http_me", customer=POLICE)
    # Then it is answered (not refused), with each identifying operation refused by the rule and its reason
    assert status == 200, body
    ops = _ops(body)
    for op in ("compare", "index", "search", "users"):
        assert not ops[op]["allowed"]
        assert ops[op]["reason_code"] == "SECTOR_DISALLOWED"
        assert ops[op]["rule_id"] == "law-enforcement-identification"
        assert "law enforcement" in ops[op]["rule_reason"] and ops[op]["references"]
    assert ops["detect"]["allowed"] and ops["manage"]["allowed"] and ops["delete"]["allowed"]
    # And the call itself left one audit record, as `manage`
    ddb = api.session.client("dynamodb")
    items = ddb.scan(TableName=api.provisioned.tables["AuditTable"])["Items"]
    mine = [i for i in items if i.get("source", {}).get("S") == "http GET /me" and i["customer_id"]["S"] == POLICE]
    assert mine and all(i["operation"]["S"] == "manage" for i in mine)


def test_me_is_not_refused_to_a_pending_customer(api: Api) -> None:
    from facepolicy import CustomerExists
    from facepolicy.env import admin_from_env

    # Given a customer still pending review
    with contextlib.suppress(CustomerExists):
        admin_from_env(api.env).create_customer(name="Pending Co", sector="retail", jurisdiction="FR",
                                                customer_id="pending-co", principal="tests", request_id="seed")
    # When it asks who it is
    status, body = api.call("http_me", customer="pending-co")
    # Then it learns that everything but deleting its data waits for activation
    assert status == 200, body
    ops = _ops(body)
    assert body["status"] == "pending" and ops["delete"]["allowed"]
    assert {o["reason_code"] for k, o in ops.items() if k != "delete"} == {"CUSTOMER_NOT_ACTIVE"}


def test_me_refuses_an_unknown_caller(api: Api) -> None:
    assert api.call("http_me", customer="ghost-co")[1]["code"] == "CUSTOMER_UNKNOWN"
    status, body = api.call("http_me", customer=None)
    assert status == 403 and body["code"] == "CUSTOMER_UNKNOWN"


# ------------------------------------------------------------------ GET /policy
def test_policy_is_public_and_names_its_rules_reasons_and_hash(api: Api) -> None:
    status, body = api.call("http_policy", customer=None)
    assert status == 200, body
    assert body["sha256"] == hashlib.sha256(POLICY_PATH.read_bytes()).hexdigest()
    rules = {r["id"]: r for r in body["rules"]}
    rule = rules["law-enforcement-identification"]
    assert rule["sectors"] == ["law_enforcement"] and set(rule["deny"]) == {"compare", "index", "search", "users"}
    assert rule["reason"].startswith("Face identification may not be used") and rule["references"]
    assert "law_enforcement" in body["sectors"] and "detect" in body["operations"]
    assert body["always_allowed"] == ["delete"]


# ------------------------------------------------------------------ GET /collections/{id}/images
def _indexed(api: Api, image_id: str, embedding: Any, *, customer: str = CUSTOMER) -> str:
    face_id = api.put_face(image_id, embedding, customer=customer, external_image_id=image_id.split(".")[0])
    api.store.put_image_status(ImageStatus(customer, COLLECTION, image_id, "INDEXED", face_ids=(face_id,),
                                           external_image_id=image_id.split(".")[0]), only_if_newer=False)
    return face_id


def test_images_list_pages_photos_with_their_faces(api: Api, photo_faces: dict[str, Any]) -> None:
    # Given three indexed photos and one refused as invalid
    api.create_collection()
    faces = {n: _indexed(api, n, photo_faces[n].faces[0].embedding) for n in ("obama.jpg", "biden.jpg", "t1.jpg")}
    api.store.put_image_status(ImageStatus(CUSTOMER, COLLECTION, "broken.png", "INVALID_IMAGE",
                                           reason_code="INVALID_IMAGE_FORMAT", message="not an image"))
    # When listed two per page
    status, first = api.call("http_list_images", query={"max_results": "2"})
    assert status == 200, first
    status, second = api.call("http_list_images", query={"max_results": "2", "next_token": first["next_token"]})
    assert status == 200, second
    # Then every photo comes once, by id, with its status and its stored faces (boxes in pixels)
    listed = first["images"] + second["images"]
    assert [i["image_id"] for i in listed] == ["biden.jpg", "broken.png", "obama.jpg", "t1.jpg"]
    by_id = {i["image_id"]: i for i in listed}
    assert [f["face_id"] for f in by_id["obama.jpg"]["faces"]] == [faces["obama.jpg"]]
    assert by_id["obama.jpg"]["faces"][0]["bounding_box"]["width"] > 0
    assert by_id["broken.png"]["status"] == "INVALID_IMAGE" and by_id["broken.png"]["faces"] == []
    assert by_id["broken.png"]["reason_code"] == "INVALID_IMAGE_FORMAT"
    assert second["next_token"] is None


def test_images_list_is_the_customers_own_and_checks_its_input(api: Api) -> None:
    api.create_collection()
    api.create_collection(customer=OTHER)
    api.store.put_image_status(ImageStatus(OTHER, COLLECTION, IMG, "NO_FACES"))
    assert api.call("http_list_images")[1]["images"] == []  # the other customer's photo is not listed
    assert api.call("http_list_images", path={"collection_id": "nope"})[1]["code"] == "RESOURCE_NOT_FOUND"
    for query in ({"max_results": "0"}, {"max_results": "101"}, {"max_results": "ten"}):
        status, body = api.call("http_list_images", query=query)
        assert status == 400 and body["code"] == "INVALID_PARAMETER", (query, body)
    status, body = api.call("http_list_images", query={"next_token": "forged"})
    assert status == 400 and body["code"] == "INVALID_PAGINATION_TOKEN"
    assert api.call("http_list_images", path={"collection_id": "bad#id"})[0] in (400, 404)


# ------------------------------------------------------------------ GET .../images/{image_id}/url
def _put_upload(api: Api, customer: str, image_id: str, data: bytes) -> None:
    api.deps.s3.put_object(Bucket=api.uploads_bucket, Key=f"uploads/{customer}/{COLLECTION}/{image_id}", Body=data,
                           ContentType="image/jpeg")


def test_image_url_is_a_short_lived_get_of_the_customers_own_upload(api: Api) -> None:
    api.create_collection()
    data = photo("obama.jpg")
    _put_upload(api, CUSTOMER, IMG, data)
    status, body = api.call("http_get_image_url")
    assert status == 200, body
    assert body["image_id"] == IMG and 0 < body["expires_in"] <= 300
    assert f"/uploads/{CUSTOMER}/{COLLECTION}/{IMG}" in body["url"] and "X-Amz-Signature" in body["url"]
    got = requests.get(body["url"], timeout=10)
    assert got.status_code == 200 and got.content == data


def test_image_url_never_reaches_another_customers_upload(api: Api) -> None:
    # Given another customer's photo under the same collection and image id
    api.create_collection()
    api.create_collection(customer=OTHER)
    _put_upload(api, OTHER, IMG, photo("obama.jpg"))
    # Then this customer gets a 404, as for a photo that does not exist
    status, body = api.call("http_get_image_url")
    assert status == 404 and body["code"] == "RESOURCE_NOT_FOUND"
    assert api.call("http_get_image_url", path={"collection_id": "nope"})[0] == 404
    assert api.call("http_get_image_url", path={"image_id": "..%2F..%2Fx"})[0] in (400, 404)


# ------------------------------------------------------------------ DELETE .../images/{image_id}
def test_deleting_a_photo_removes_its_object_faces_status_and_search_hits(api: Api,
                                                                          photo_faces: dict[str, Any]) -> None:
    # Given an uploaded, indexed photo of Obama and one of Biden
    api.create_collection()
    _put_upload(api, CUSTOMER, "obama.jpg", photo("obama.jpg"))
    face = _indexed(api, "obama.jpg", photo_faces["obama.jpg"].faces[0].embedding)
    _indexed(api, "biden.jpg", photo_faces["biden.jpg"].faces[0].embedding)
    query = {"image": b64(photo("obama2.jpg"))}
    assert [m["face"]["face_id"] for m in api.call("http_search_by_image", body=query)[1]["face_matches"]] == [face]
    # When the Obama photo is deleted
    status, body = api.call("http_delete_image", path={"image_id": "obama.jpg"})
    # Then its face is gone from the store, the listing and search; the object has no version left
    assert status == 200 and body == {"image_id": "obama.jpg", "deleted_faces": [face], "status": "DELETED"}
    assert api.call("http_search_by_image", body=query)[1]["face_matches"] == []
    assert [i["image_id"] for i in api.call("http_list_images")[1]["images"]] == ["biden.jpg"]
    versions = api.deps.s3.list_object_versions(Bucket=api.uploads_bucket, Prefix=f"uploads/{CUSTOMER}/")
    assert not any(v["Key"].endswith("/obama.jpg") for v in versions.get("Versions", []))
    # And deleting it again is a 404
    assert api.call("http_delete_image", path={"image_id": "obama.jpg"})[0] == 404


def test_police_may_delete_its_own_photo_but_not_another_customers(api: Api) -> None:
    api.create_collection(customer=POLICE)
    _put_upload(api, POLICE, IMG, b"x")
    assert api.call("http_delete_image", customer=POLICE)[0] == 200  # delete is always allowed
    api.create_collection()
    _put_upload(api, CUSTOMER, IMG, b"x")
    api.create_collection(customer=OTHER)
    assert api.call("http_delete_image", customer=OTHER)[0] == 404
    assert api.deps.s3.head_object(Bucket=api.uploads_bucket, Key=f"uploads/{CUSTOMER}/{COLLECTION}/{IMG}")


def test_a_photo_s3_refuses_to_delete_is_a_503_and_keeps_its_faces(api: Api, photo_faces: dict[str, Any],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an indexed photo, and S3 answering DeleteObjects with a per-key AccessDenied (a 200, as S3 does)
    api.create_collection()
    _put_upload(api, CUSTOMER, "obama.jpg", photo("obama.jpg"))
    face = _indexed(api, "obama.jpg", photo_faces["obama.jpg"].faces[0].embedding)
    monkeypatch.setattr(api.deps.s3, "delete_objects", lambda **_kw: {
        "Errors": [{"Key": "x", "Code": "AccessDenied", "Message": "denied"}]})
    # When the photo is deleted
    status, body = api.call("http_delete_image", path={"image_id": "obama.jpg"})
    # Then the caller is told to retry, and nothing is half gone: the object and its face both stay
    assert status == 503 and body["code"] == "SERVICE_UNAVAILABLE", body
    assert api.deps.s3.head_object(Bucket=api.uploads_bucket, Key=f"uploads/{CUSTOMER}/{COLLECTION}/obama.jpg")
    assert [i["image_id"] for i in api.call("http_list_images")[1]["images"]] == ["obama.jpg"]
    monkeypatch.undo()
    assert api.call("http_delete_image", path={"image_id": "obama.jpg"})[1]["deleted_faces"] == [face]


# ------------------------------------------------------------------ POST .../search/face
@pytest.fixture
def two_people(api: Api, photo_faces: dict[str, Any]) -> tuple[bytes, list[dict[str, Any]], dict[str, str]]:
    api.create_collection()
    ids = api.put_photo_faces(photo_faces, ("obama.jpg", "biden.jpg"))
    query = side_by_side("obama2.jpg", "biden.jpg")
    status, detected = api.call("http_detect", body={"image": b64(query)})
    assert status == 200 and len(detected["faces"]) >= 2
    return query, detected["faces"], ids


def test_search_on_a_chosen_face_finds_that_person_first(api: Api, two_people: Any) -> None:
    query, faces, ids = two_people
    # The composite has Obama on the left and Biden on the right: pick each by its detected box
    left = min(faces, key=lambda f: f["bounding_box"]["left"])
    right = max(faces, key=lambda f: f["bounding_box"]["left"])
    for face, expected in ((left, ids["obama.jpg"]), (right, ids["biden.jpg"])):
        request = {"image": b64(query), "bounding_box": face["bounding_box"], "threshold": 0, "max_faces": 5}
        status, body = api.call("http_search_chosen_face", body=request)
        assert status == 200, body
        assert body["face_matches"][0]["face"]["face_id"] == expected
        assert abs(body["searched_face_bounding_box"]["left"] - face["bounding_box"]["left"]) < 8
        assert body["unsearched_face_count"] == len(faces) - 1


def test_search_on_a_chosen_face_without_a_face_there_is_empty_and_bad_input_is_refused(api: Api,
                                                                                       two_people: Any) -> None:
    query, faces, _ = two_people
    nowhere = {"left": 1.0, "top": 1.0, "width": 5.0, "height": 5.0}
    status, body = api.call("http_search_chosen_face", body={"image": b64(query), "bounding_box": nowhere})
    assert status == 200 and body["searched_face_bounding_box"] is None and body["face_matches"] == []
    assert body["unsearched_face_count"] == len(faces)
    for bad in ({"image": b64(query)}, {"image": b64(query), "bounding_box": {**nowhere, "width": 0}},
                {"image": "!!", "bounding_box": nowhere}, {"bounding_box": nowhere},
                {"image": b64(query), "bounding_box": nowhere, "extra": 1}):
        status, body = api.call("http_search_chosen_face", body=bad)
        assert status == 400, (bad, body)
    status, body = api.call("http_search_chosen_face", path={"collection_id": "nope"},
                            body={"image": b64(query), "bounding_box": nowhere})
    assert status in (400, 404)


def test_search_on_a_chosen_face_is_refused_to_police(api: Api) -> None:
    api.create_collection(customer=POLICE)
    status, body = api.call("http_search_chosen_face", customer=POLICE,
                            body={"image": b64(photo("obama.jpg")),
                                  "bounding_box": {"left": 1.0, "top": 1.0, "width": 5.0, "height": 5.0}})
    assert status == 403 and body["code"] == "SECTOR_DISALLOWED" and body["rule_id"] == "law-enforcement-identification"
