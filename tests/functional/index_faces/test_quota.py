"""The face quota in the indexer: an upload that would pass max_faces_per_collection is REJECTED_QUOTA."""

from __future__ import annotations

from .conftest import COLLECTION, CUSTOMER, OTHER, Stack, failures, photo

KEY = f"uploads/{CUSTOMER}/{COLLECTION}"


def _set_quota(stack: Stack, customer: str, **quotas: int) -> None:
    from facepolicy.env import admin_from_env

    admin = admin_from_env(stack.env)
    current = admin.get_customer(customer)
    admin.update_customer(customer, {"quotas": quotas}, current.version, principal="tests", request_id="quota")


def test_an_upload_over_the_face_quota_is_rejected_and_stores_no_face(stack: Stack) -> None:
    # Given a customer whose collections may hold 3 faces, one of them already used
    _set_quota(stack, CUSTOMER, max_faces_per_collection=3)
    assert failures(stack.invoke(stack.put_event(f"{KEY}/obama.jpg", photo("obama.jpg")))) == []
    assert stack.face_count() == 1
    # When a photo of six faces is uploaded
    response = stack.invoke(stack.put_event(f"{KEY}/t1.jpg", photo("t1.jpg"), {"quality-filter": "NONE"}))
    # Then it ends as REJECTED_QUOTA, final (no retry), with no face stored
    assert failures(response) == []
    status = stack.status("t1.jpg")
    assert status.status == "REJECTED_QUOTA" and status.reason_code == "MAX_FACES_PER_COLLECTION"
    assert "quota of 3" in status.message and status.face_ids == ()
    assert stack.faces("t1.jpg") == [] and stack.face_count() == 1
    # and a photo that fits is still indexed
    stack.invoke(stack.put_event(f"{KEY}/biden.jpg", photo("biden.jpg")))
    assert stack.status("biden.jpg").status == "INDEXED" and stack.face_count() == 2


def test_a_new_version_of_an_image_counts_without_the_faces_it_replaces(stack: Stack) -> None:
    # Given a collection at its quota of one face
    _set_quota(stack, CUSTOMER, max_faces_per_collection=1)
    stack.invoke(stack.put_event(f"{KEY}/same.jpg", photo("obama.jpg")))
    assert stack.face_count() == 1
    # When the same key is overwritten with another one-face photo
    stack.invoke(stack.put_event(f"{KEY}/same.jpg", photo("biden.jpg")))
    # Then it replaces the face rather than being refused
    assert stack.status("same.jpg").status == "INDEXED" and stack.face_count() == 1


def test_the_quota_is_per_customer(stack: Stack) -> None:
    _set_quota(stack, OTHER, max_faces_per_collection=0)
    stack.invoke(stack.put_event(f"{KEY}/t1.jpg", photo("t1.jpg"), {"quality-filter": "NONE"}))
    assert stack.status("t1.jpg").status == "INDEXED" and stack.face_count() == 6
