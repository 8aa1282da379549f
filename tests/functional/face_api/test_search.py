"""Search by image and by face, list and delete faces, over real photos, on both search engines: the
warm exact index and the DynamoDB vector index (moto + facesearch.local.search_vectors' emulation)."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
from PIL import Image

from .faceapi_helpers import CUSTOMER, OTHER, Api, b64, blank_jpeg, photo, side_by_side

GALLERY = ("obama.jpg", "biden.jpg", "t1.jpg")


@pytest.fixture(params=["exact", "vector"])
def engine(request: pytest.FixtureRequest) -> str:
    """Every test of this module runs on both engines (the conftest's `api` wires the one named)."""
    return str(request.param)


@pytest.fixture
def gallery(api: Api, photo_faces: dict[str, Any]) -> dict[str, str]:
    """obama.jpg, biden.jpg and t1.jpg's largest faces in the customer's collection: image id -> face id."""
    api.create_collection()
    return api.put_photo_faces(photo_faces, GALLERY)


def test_search_by_image_finds_the_same_person(api: Api, gallery: dict[str, str]) -> None:
    # When the collection is searched with another photo of Obama
    status, body = api.call("http_search_by_image", body={"image": b64(photo("obama2.jpg"))})
    # Then the best (and only) match at the default threshold is Obama's face, with its ids and box
    assert status == 200, body
    matches = body["face_matches"]
    assert [m["face"]["image_id"] for m in matches] == ["obama.jpg"]
    best = matches[0]
    assert best["similarity"] >= 80 and best["face"]["face_id"] == gallery["obama.jpg"]
    assert best["face"]["external_image_id"] == "obama" and best["face"]["bounding_box"]["width"] > 0
    assert body["searched_face_bounding_box"]["width"] > 0 and body["searched_face_confidence"] > 50
    assert body["unsearched_face_count"] == 0 and body["face_model_version"]
    # And with threshold 0 every face comes back, sorted, Biden below the default threshold
    status, body = api.call("http_search_by_image", body={"image": b64(photo("obama2.jpg")), "threshold": 0})
    sims = {m["face"]["image_id"]: m["similarity"] for m in body["face_matches"]}
    assert list(sims) == sorted(sims, key=lambda k: -sims[k]) and set(sims) == set(GALLERY)
    assert sims["biden.jpg"] < 80 <= sims["obama.jpg"]


def test_search_counts_unsearched_faces_and_respects_max_faces(api: Api, gallery: dict[str, str]) -> None:
    # t1.jpg has several faces: only the largest is searched
    status, body = api.call("http_search_by_image", body={"image": b64(photo("t1.jpg")), "threshold": 0,
                                                          "max_faces": 1})
    assert status == 200 and body["unsearched_face_count"] >= 1 and len(body["face_matches"]) == 1
    assert body["face_matches"][0]["face"]["image_id"] == "t1.jpg"


@pytest.mark.parametrize(("scales", "larger"), [((1.0, 0.4), "obama.jpg"), ((0.4, 1.0), "biden.jpg")])
def test_search_by_image_searches_the_largest_face_of_a_group_photo(api: Api, gallery: dict[str, str],
                                                                    scales: tuple[float, float], larger: str) -> None:
    # Given Obama and Biden side by side, one of them shown much larger than the other
    query = side_by_side("obama2.jpg", "biden.jpg", scales=scales)
    status, detected = api.call("http_detect", body={"image": b64(query)})
    areas = sorted((f["bounding_box"]["width"] * f["bounding_box"]["height"], f["bounding_box"]["left"])
                   for f in detected["faces"])
    assert status == 200 and len(areas) == 2 and areas[1][0] > 2 * areas[0][0]
    # When the collection is searched with that photo
    status, body = api.call("http_search_by_image", body={"image": b64(query), "threshold": 0, "max_faces": 5})
    # Then the largest face is the one searched (as Rekognition's SearchFacesByImage), its person first, and the
    # other face is counted as unsearched
    assert status == 200, body
    assert abs(body["searched_face_bounding_box"]["left"] - areas[1][1]) < 8
    assert body["face_matches"][0]["face"]["face_id"] == gallery[larger]
    assert body["unsearched_face_count"] == 1


def test_search_with_no_face_is_an_empty_result(api: Api, gallery: dict[str, str]) -> None:
    status, body = api.call("http_search_by_image", body={"image": b64(blank_jpeg())})
    assert (status, body["face_matches"], body["searched_face_bounding_box"]) == (200, [], None)
    assert body["searched_face_confidence"] is None and body["unsearched_face_count"] == 0
    # and on a missing collection it is still a 404, not an empty result
    assert api.call("http_search_by_image", path={"collection_id": "nope"},
                    body={"image": b64(blank_jpeg())})[0] == 404


def test_search_by_uploaded_object(api: Api, gallery: dict[str, str]) -> None:
    data = photo("obama2.jpg")
    _, ticket = api.call("http_create_upload", body={"content_type": "image/jpeg", "content_length": len(data)})
    assert requests.put(ticket["url"], data=data, headers=ticket["headers"], timeout=10).status_code == 200
    status, body = api.call("http_search_by_image", body={"s3_object": {"image_id": ticket["image_id"]}})
    assert status == 200 and [m["face"]["image_id"] for m in body["face_matches"]] == ["obama.jpg"]
    # another customer cannot name it (its prefix is its own): 404
    api.create_collection(customer=OTHER)
    status, body = api.call("http_search_by_image", customer=OTHER,
                            body={"s3_object": {"image_id": ticket["image_id"]}})
    assert status == 404 and body["code"] == "RESOURCE_NOT_FOUND"


def test_search_by_face_excludes_itself(api: Api, gallery: dict[str, str], photo_faces: dict[str, Any]) -> None:
    # Given a second Obama face
    second = api.put_photo_faces(photo_faces, ("obama3.jpg",))["obama3.jpg"]
    # When searching with the stored obama.jpg face
    status, body = api.call("http_search_by_face", path={"face_id": gallery["obama.jpg"]}, body={})
    # Then the other Obama face matches and the face itself is not listed
    assert status == 200, body
    assert body["searched_face_id"] == gallery["obama.jpg"]
    assert [m["face"]["face_id"] for m in body["face_matches"]] == [second]
    # An unknown face is 404
    status, body = api.call("http_search_by_face", path={"face_id": "no-such-face"}, body={})
    assert status == 404 and body["code"] == "RESOURCE_NOT_FOUND"


def test_deleted_face_disappears_from_search(api: Api, gallery: dict[str, str],
                                            photo_faces: dict[str, Any]) -> None:
    query = {"image": b64(photo("obama2.jpg"))}
    # Given a warm index that finds Obama
    assert [m["face"]["image_id"] for m in api.call("http_search_by_image", body=query)[1]["face_matches"]] == [
        "obama.jpg"]
    # When his face is deleted (and an unknown id is in the same request)
    status, body = api.call("http_delete_faces", body={"face_ids": [gallery["obama.jpg"], "missing-face"]})
    assert status == 200 and body == {"deleted_faces": [gallery["obama.jpg"]], "unsuccessful_face_deletions": [
        {"face_id": "missing-face", "reasons": ["FACE_NOT_FOUND"]}]}
    # Then the next search (same warm index) no longer returns it
    status, body = api.call("http_search_by_image", body=query)
    assert status == 200 and body["face_matches"] == []
    # And a face indexed a moment later is found by the next search
    face_id = api.put_face("obama-again.jpg", photo_faces["obama3.jpg"].faces[0].embedding)
    matches = api.call("http_search_by_image", body=query)[1]["face_matches"]
    assert [m["face"]["face_id"] for m in matches] == [face_id]


def test_list_faces_paginates(api: Api, gallery: dict[str, str]) -> None:
    seen, token = [], None
    for _ in range(5):
        query = {"max_results": "2", **({"next_token": token} if token else {})}
        status, body = api.call("http_list_faces", query=query)
        assert status == 200, body
        seen += [f["face_id"] for f in body["faces"]]
        token = body["next_token"]
        if not token:
            break
    assert sorted(seen) == sorted(gallery.values())
    face = next(f for f in body["faces"]) if body["faces"] else None
    assert face is None or set(face) == {"face_id", "image_id", "external_image_id", "bounding_box", "confidence",
                                         "user_id", "indexed_at"}


@pytest.mark.parametrize(("payload", "code"), [
    ({"image": "!!!not base64!!!"}, "INVALID_PARAMETER"),
    ({"image": ""}, "INVALID_PARAMETER"),
    ({"image": b64(b"\xff\xd8\xff\xe0 truncated jpeg")}, "INVALID_IMAGE_FORMAT"),
    ({"image": b64(b"GIF89a" + b"\x00" * 100)}, "INVALID_IMAGE_FORMAT"),
    ({"image": b64(b"x" * 100)}, "INVALID_IMAGE_FORMAT"),
    ({}, "INVALID_PARAMETER"),
    ({"image": "aGVsbG8=", "s3_object": {"image_id": "x.jpg"}}, "INVALID_PARAMETER"),
    ({"s3_object": {"image_id": "../x"}}, "INVALID_PARAMETER"),
    ({"image": "aGVsbG8=", "max_faces": 0}, "INVALID_PARAMETER"),
    ({"image": "aGVsbG8=", "max_faces": 4097}, "INVALID_PARAMETER"),
    ({"image": "aGVsbG8=", "max_faces": "5"}, "INVALID_PARAMETER"),
    ({"image": "aGVsbG8=", "threshold": 100.5}, "INVALID_PARAMETER"),
    ({"image": "aGVsbG8=", "threshold": -1}, "INVALID_PARAMETER"),
    ({"image": "aGVsbG8=", "threshold": True}, "INVALID_PARAMETER"),
    ({"image": "aGVsbG8=", "quality_filter": "ULTRA"}, "INVALID_PARAMETER"),
    ({"image": "aGVsbG8=", "collection_id": "other"}, "INVALID_PARAMETER"),
])
def test_bad_search_requests_are_400(api: Api, gallery: dict[str, str], payload: dict[str, Any], code: str) -> None:
    status, body = api.call("http_search_by_image", body=payload)
    assert status == 400 and body["code"] == code and body["message"], body


def test_huge_image_is_413(api: Api, gallery: dict[str, str]) -> None:
    status, body = api.call("http_search_by_image", body={"image": b64(b"\xff" * (5 * 1024 * 1024 + 1))})
    assert status == 413 and body["code"] == "IMAGE_TOO_LARGE"


@pytest.mark.parametrize("engine", ["exact"])
def test_line_wrapped_base64_searches_as_the_unwrapped_text(api: Api, engine: str, gallery: dict[str, str]) -> None:
    # Given a photo's base64 as one line, and wrapped at 76 characters with CRLF, spaces and a tab
    text = b64(photo("obama2.jpg"))
    wrapped = "\r\n".join(text[i:i + 76] for i in range(0, len(text), 76)) + " \t\n"
    # When both are searched
    one, wrapped_answer = (api.call("http_search_by_image", body={"image": t}) for t in (text, wrapped))
    # Then the answers are the same (whitespace is dropped, as before the strict decode's fast path)
    assert one[0] == wrapped_answer[0] == 200 and one[1] == wrapped_answer[1]


@pytest.mark.parametrize("engine", ["exact"])
def test_base64_is_decoded_strictly_with_or_without_whitespace(api: Api, engine: str) -> None:
    from faceapi.errors import ImageTooLarge, InvalidParameter
    from faceapi.images import decode_base64_image
    from faceapi.models import MAX_IMAGE_BYTES

    assert decode_base64_image("aGVs bG8=\n") == decode_base64_image("aGVsbG8=") == b"hello"
    for bad in ("aGVsbG8", "aGVs*bG8=", "aGVs bG8", "aGVsbG8=aGVs", "\u00e9aGVsbG8=", " \n", "===="):
        with pytest.raises(InvalidParameter):
            decode_base64_image(bad)
    # a text over the size limit only through its whitespace is decoded; over it without, 413 before decoding
    limit = (MAX_IMAGE_BYTES + 2) // 3 * 4
    assert len(decode_base64_image("AAAA" * (limit // 4 - 1) + " " * 8)) == (limit // 4 - 1) * 3
    with pytest.raises(ImageTooLarge):
        decode_base64_image("AAAA" * (limit // 4 + 1) + " ")


def test_image_of_too_many_pixels_is_413(api: Api, gallery: dict[str, str]) -> None:
    out = io.BytesIO()
    Image.new("L", (9000, 5000)).save(out, format="PNG")  # 45 Mpx, a few KB: a decompression bomb
    status, body = api.call("http_search_by_image", body={"image": b64(out.getvalue())})
    assert status == 413 and body["code"] == "IMAGE_TOO_LARGE" and body["reason"] == "TOO_MANY_PIXELS"


def test_search_in_another_customers_collection_is_404(api: Api, gallery: dict[str, str]) -> None:
    status, body = api.call("http_search_by_image", customer=OTHER, body={"image": b64(photo("obama2.jpg"))})
    assert status == 404 and body == {"code": "RESOURCE_NOT_FOUND", "message": "the collection does not exist"}


def test_delete_faces_validation(api: Api, gallery: dict[str, str]) -> None:
    assert api.call("http_delete_faces", body={"face_ids": []})[0] == 400
    assert api.call("http_delete_faces", body={"face_ids": ["x"] * 4097})[0] == 400
    assert api.call("http_delete_faces", body={"face_ids": ["a#b"]})[0] == 400
    status, body = api.call("http_delete_faces", path={"collection_id": "nope"}, body={"face_ids": ["x"]})
    assert status == 404 and body["code"] == "RESOURCE_NOT_FOUND"


def test_a_collection_of_another_face_model_is_not_searched(api: Api, photo_faces: dict[str, Any]) -> None:
    # Given a collection recorded as indexed with another face-model version (faces a migration must redo)
    api.store.create_collection(CUSTOMER, "legacy", "yunet-2023mar+sface-2021dec/fp32-v0")
    # When it is searched by image or by a stored face
    status, body = api.call("http_search_by_image", path={"collection_id": "legacy"},
                            body={"image": b64(photo("obama2.jpg"))})
    # Then the answer is a clear 409 naming both versions, never a silent mix of vector spaces
    assert (status, body["code"]) == (409, "MODEL_VERSION_MISMATCH"), body
    assert "fp32-v0" in body["message"]


def test_describe_collection_says_which_engine_serves(api: Api, engine: str, photo_faces: dict[str, Any]) -> None:
    api.create_collection()
    status, body = api.call("http_describe_collection")
    assert status == 200 and body["search_engine"] == engine


@pytest.mark.parametrize("engine", ["auto"])
def test_auto_switches_to_the_vector_index_above_its_threshold(api: Api, engine: str,
                                                                photo_faces: dict[str, Any]) -> None:
    # Given auto with a threshold of 2 faces (the conftest's): one face is served exactly
    api.create_collection()
    api.put_photo_faces(photo_faces, ("obama.jpg",))
    assert api.call("http_describe_collection")[1]["search_engine"] == "exact"
    status, body = api.call("http_search_by_image", body={"image": b64(photo("obama2.jpg"))})
    assert status == 200 and [m["face"]["image_id"] for m in body["face_matches"]] == ["obama.jpg"]
    exact_similarity = body["face_matches"][0]["similarity"]
    # When the collection grows past it, the vector index serves, with the same similarity
    api.put_photo_faces(photo_faces, ("biden.jpg", "t1.jpg"))
    assert api.call("http_describe_collection")[1]["search_engine"] == "vector"
    status, body = api.call("http_search_by_image", body={"image": b64(photo("obama2.jpg"))})
    assert status == 200 and [m["face"]["image_id"] for m in body["face_matches"]] == ["obama.jpg"]
    assert body["face_matches"][0]["similarity"] == exact_similarity
