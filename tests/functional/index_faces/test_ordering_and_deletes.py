"""The index mirrors the bucket: deletes erase faces; the S3 sequencer keeps late events from resurrecting."""

from __future__ import annotations

import json

from tests.support.events import load_event

from .conftest import COLLECTION, CUSTOMER, POLICE, Stack, failures, photo

KEY = f"uploads/{CUSTOMER}/{COLLECTION}"


def test_delete_marker_removes_faces_and_status(stack: Stack) -> None:
    # Given an indexed photo
    stack.invoke(stack.put_event(f"{KEY}/t1.jpg", photo("t1.jpg"), {"quality-filter": "NONE"}))
    assert stack.face_count() == 6
    # When the user deletes it (a delete marker in the versioned bucket)
    removed = stack.s3_message(f"{KEY}/t1.jpg", name="ObjectRemoved:DeleteMarkerCreated",
                               version_id="marker-1", sequencer=stack.next_sequencer())
    response = stack.invoke(stack.sqs_event(removed))
    # Then its faces and status are gone and the count is exact
    assert failures(response) == []
    assert stack.status("t1.jpg") is None and stack.faces("t1.jpg") == [] and stack.face_count() == 0


def test_permanent_delete_of_the_indexed_version_removes_faces(stack: Stack) -> None:
    event = stack.put_event(f"{KEY}/obama.jpg", photo("obama.jpg"))
    stack.invoke(event)
    version = stack.status("obama.jpg").version_id
    removed = stack.s3_message(f"{KEY}/obama.jpg", name="ObjectRemoved:Delete", version_id=version,
                               sequencer=stack.next_sequencer())
    assert failures(stack.invoke(stack.sqs_event(removed))) == []
    assert stack.status("obama.jpg") is None and stack.face_count() == 0


def test_purging_an_older_version_keeps_the_current_faces(stack: Stack) -> None:
    stack.invoke(stack.put_event(f"{KEY}/obama.jpg", photo("obama2.jpg")))
    old_version = stack.status("obama.jpg").version_id
    stack.invoke(stack.put_event(f"{KEY}/obama.jpg", photo("obama.jpg")))
    removed = stack.s3_message(f"{KEY}/obama.jpg", name="ObjectRemoved:Delete", version_id=old_version,
                               sequencer=stack.next_sequencer())
    assert failures(stack.invoke(stack.sqs_event(removed))) == []
    assert stack.status("obama.jpg").status == "INDEXED" and stack.face_count() == 1


def test_late_create_after_delete_does_not_resurrect(stack: Stack) -> None:
    # Given an upload whose ObjectCreated is delayed, and its deletion processed first
    version = stack.upload(f"{KEY}/obama.jpg", photo("obama.jpg"))
    created_seq = stack.next_sequencer()
    removed = stack.s3_message(f"{KEY}/obama.jpg", name="ObjectRemoved:DeleteMarkerCreated",
                               version_id="marker-1", sequencer=stack.next_sequencer())
    assert failures(stack.invoke(stack.sqs_event(removed))) == []
    # When the late ObjectCreated (older sequencer) arrives
    late = stack.s3_message(f"{KEY}/obama.jpg", version_id=version, sequencer=created_seq)
    response = stack.invoke(stack.sqs_event(late))
    # Then nothing comes back: no faces, no status; and the record is final
    assert failures(response) == []
    assert stack.faces("obama.jpg") == [] and stack.status("obama.jpg") is None and stack.face_count() == 0


def test_late_create_of_an_overwritten_version_is_ignored(stack: Stack) -> None:
    v1 = stack.upload(f"{KEY}/photo.jpg", photo("t1.jpg"))
    seq1 = stack.next_sequencer()
    stack.invoke(stack.put_event(f"{KEY}/photo.jpg", photo("obama.jpg")))  # v2, newer sequencer, first
    late = stack.s3_message(f"{KEY}/photo.jpg", version_id=v1, sequencer=seq1)
    assert failures(stack.invoke(stack.sqs_event(late))) == []
    assert stack.face_count() == len(stack.faces("photo.jpg")) == 1


def test_the_sample_delete_event_runs(stack: Stack) -> None:
    # events/sqs_s3_delete.json: a permanent delete and a delete marker, for images never indexed
    event = load_event("sqs_s3_delete")
    for record in event["Records"]:
        body = json.loads(record["body"])
        body["Records"][0]["s3"]["bucket"]["name"] = stack.bucket
        record["body"] = json.dumps(body)
    assert failures(stack.invoke(event)) == []


def test_the_purge_of_a_refused_upload_keeps_the_refusal(stack: Stack) -> None:
    # Real S3 notifies the indexer of its own purge (ObjectRemoved:Delete of that version)
    key = f"uploads/{POLICE}/suspects/lineup.jpg"
    event = stack.put_event(key, photo("obama.jpg"))
    stack.invoke(event)
    version = json.loads(event["Records"][0]["body"])["Records"][0]["s3"]["object"]["versionId"]
    removed = stack.s3_message(key, name="ObjectRemoved:Delete", version_id=version, sequencer=stack.next_sequencer())
    assert failures(stack.invoke(stack.sqs_event(removed))) == []
    assert stack.status("lineup.jpg", customer=POLICE, collection="suspects").status == "REJECTED_POLICY"
