"""Erasure stays erased: replaying an upload's old events after each kind of delete brings nothing back.

S3 delivers events at least once, late and out of order; SQS redelivers and a DLQ can be redriven.
Each test deletes something (faces through the API, the image from the bucket, a user, the whole
collection) and then replays the events that came before the delete, through the real handler.
"""

from __future__ import annotations

from faceengine import MODEL_VERSION

from .conftest import COLLECTION, CUSTOMER, Stack, failures, photo

KEY = f"uploads/{CUSTOMER}/{COLLECTION}"


def test_faces_deleted_through_the_api_stay_deleted(stack: Stack) -> None:
    # Given an indexed photo of six faces, two of them deleted (DELETE /faces)
    event = stack.put_event(f"{KEY}/t1.jpg", photo("t1.jpg"), {"quality-filter": "NONE"})
    assert failures(stack.invoke(event)) == []
    faces = sorted(f.face_id for f in stack.faces("t1.jpg"))
    assert len(faces) == 6
    deleted, _ = stack.store.delete_faces(CUSTOMER, COLLECTION, faces[:2])
    assert sorted(deleted) == faces[:2]
    # When its ObjectCreated event is redelivered, twice
    for _ in range(2):
        assert failures(stack.invoke(event)) == []
    # Then the deleted faces never come back, the count is exact, the status names only the kept faces
    assert sorted(f.face_id for f in stack.faces("t1.jpg")) == faces[2:]
    assert stack.face_count() == 4
    assert sorted(stack.status("t1.jpg").face_ids) == faces[2:]


def test_all_faces_deleted_through_the_api_leave_nothing_to_replay(stack: Stack) -> None:
    event = stack.put_event(f"{KEY}/obama.jpg", photo("obama.jpg"))
    stack.invoke(event)
    stack.store.delete_faces(CUSTOMER, COLLECTION, [f.face_id for f in stack.faces("obama.jpg")])
    assert failures(stack.invoke(event)) == []
    assert stack.faces("obama.jpg") == [] and stack.face_count() == 0


def test_an_image_removed_from_the_bucket_stays_removed_without_sequencers(stack: Stack) -> None:
    # Given an indexed photo whose events carry no sequencer (nothing to order them by)
    version = stack.upload(f"{KEY}/obama.jpg", photo("obama.jpg"))
    created = stack.sqs_event(stack.s3_message(f"{KEY}/obama.jpg", version_id=version))
    stack.invoke(created)
    assert stack.face_count() == 1
    # When the object version is removed, then its create event is replayed (the version still readable)
    removed = stack.s3_message(f"{KEY}/obama.jpg", name="ObjectRemoved:Delete", version_id=version)
    assert failures(stack.invoke(stack.sqs_event(removed))) == []
    assert failures(stack.invoke(created)) == []
    # Then its faces do not come back
    assert stack.faces("obama.jpg") == [] and stack.face_count() == 0


def test_a_deleted_user_is_not_brought_back(stack: Stack) -> None:
    event = stack.put_event(f"{KEY}/obama.jpg", photo("obama.jpg"))
    stack.invoke(event)
    face_id = stack.faces("obama.jpg")[0].face_id
    stack.store.create_user(CUSTOMER, COLLECTION, "user:barack")
    stack.store.associate_faces(CUSTOMER, COLLECTION, "user:barack", [face_id])
    stack.store.delete_user(CUSTOMER, COLLECTION, "user:barack")
    assert failures(stack.invoke(event)) == []
    assert stack.store.get_user(CUSTOMER, COLLECTION, "user:barack") is None
    assert [f.user_id for f in stack.faces("obama.jpg")] == [None]


def test_a_recreated_collection_never_receives_the_old_ones_faces(stack: Stack) -> None:
    # Given an upload made for the collection as it was (its generation is in the signed metadata)
    generation = stack.store.get_collection(CUSTOMER, COLLECTION).generation
    event = stack.put_event(f"{KEY}/obama.jpg", photo("obama.jpg"), {"collection-generation": generation})
    assert failures(stack.invoke(event)) == []
    assert stack.face_count() == 1
    # When the collection is deleted, re-created under the same id, and the old event replayed
    stack.store.delete_collection(CUSTOMER, COLLECTION)
    stack.store.create_collection(CUSTOMER, COLLECTION, MODEL_VERSION)
    assert failures(stack.invoke(event)) == []
    # Then the new collection has neither its faces nor its status, and the old upload is purged
    assert stack.face_count() == 0 and stack.faces("obama.jpg") == [] and stack.status("obama.jpg") is None
    assert stack.versions(f"{KEY}/obama.jpg") == []
    # while an upload for the new collection indexes as usual and is kept
    new = stack.store.get_collection(CUSTOMER, COLLECTION).generation
    fresh = stack.put_event(f"{KEY}/obama2.jpg", photo("obama2.jpg"), {"collection-generation": new})
    assert failures(stack.invoke(fresh)) == [] and stack.face_count() == 1
    assert len(stack.versions(f"{KEY}/obama2.jpg")) == 1


def test_an_old_collections_upload_is_purged_without_touching_the_new_upload_of_the_same_name(stack: Stack) -> None:
    # Given an upload for the collection as it was, then the collection re-created and the same name uploaded
    old = stack.store.get_collection(CUSTOMER, COLLECTION).generation
    stale = stack.put_event(f"{KEY}/obama.jpg", photo("obama.jpg"), {"collection-generation": old})
    stack.store.delete_collection(CUSTOMER, COLLECTION)
    stack.store.create_collection(CUSTOMER, COLLECTION, MODEL_VERSION)
    new = stack.store.get_collection(CUSTOMER, COLLECTION).generation
    fresh = stack.put_event(f"{KEY}/obama.jpg", photo("obama2.jpg"), {"collection-generation": new})
    assert len(stack.versions(f"{KEY}/obama.jpg")) == 2
    # When the new upload is indexed and the old upload's event arrives late (naming its own version)
    assert failures(stack.invoke(fresh)) == [] and stack.face_count() == 1
    assert failures(stack.invoke(stale)) == []
    # Then only the old version is purged: the new one and its face stay
    assert len(stack.versions(f"{KEY}/obama.jpg")) == 1 and stack.face_count() == 1
