"""Uploads are indexed: faces and an image status in DynamoDB; bad inputs are final, never retried."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest
from PIL import Image

from .conftest import COLLECTION, CUSTOMER, Stack, failures, photo

KEY = f"uploads/{CUSTOMER}/{COLLECTION}"


def png(width: int, height: int, color: int = 128) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height), color).save(out, format="PNG")
    return out.getvalue()


def test_one_face_is_indexed_with_its_details(stack: Stack) -> None:
    # Given an upload of a photo with one face and an external image id
    event = stack.put_event(f"{KEY}/obama.jpg", photo("obama.jpg"), {"external-image-id": "potus-44"})
    # When the handler gets S3's notification
    response = stack.invoke(event)
    # Then one face is stored, with the status, the version's deterministic id and exact counts
    assert failures(response) == []
    status = stack.status("obama.jpg")
    assert status.status == "INDEXED" and len(status.face_ids) == 1
    assert status.external_image_id == "potus-44" and status.version_id
    (face,) = stack.faces("obama.jpg")
    assert face.face_id == status.face_ids[0]
    assert face.external_image_id == "potus-44"
    assert face.embedding.shape == (128,) and face.model_version
    assert set(face.box) == {"left", "top", "width", "height"} and len(face.landmarks) == 5
    assert stack.face_count() == 1


def test_several_faces_are_indexed(stack: Stack) -> None:
    response = stack.invoke(stack.put_event(f"{KEY}/t1.jpg", photo("t1.jpg"), {"quality-filter": "NONE"}))
    assert failures(response) == []
    status = stack.status("t1.jpg")
    assert status.status == "INDEXED"
    assert len(status.face_ids) == len(stack.faces("t1.jpg")) == stack.face_count() == 6


def test_max_faces_from_metadata_keeps_the_largest_and_reports_the_rest(stack: Stack) -> None:
    stack.invoke(stack.put_event(f"{KEY}/t1.jpg", photo("t1.jpg"), {"max-faces": "2", "quality-filter": "NONE"}))
    status = stack.status("t1.jpg")
    assert len(status.face_ids) == stack.face_count() == 2
    assert len(status.unindexed) == 4
    assert all("EXCEEDS_MAX_FACES" in u["reasons"] for u in status.unindexed)


def test_collection_defaults_apply_when_metadata_is_absent(stack: Stack) -> None:
    # the "crowds" collection defaults to max_faces=2
    stack.invoke(stack.put_event(f"uploads/{CUSTOMER}/crowds/t1.jpg", photo("t1.jpg")))
    assert len(stack.status("t1.jpg", collection="crowds").face_ids) == 2


def test_a_photo_without_a_face_gets_no_faces(stack: Stack) -> None:
    response = stack.invoke(stack.put_event(f"{KEY}/grey.png", png(400, 300)))
    assert failures(response) == []
    assert stack.status("grey.png").status == "NO_FACES"
    assert stack.faces("grey.png") == [] and stack.face_count() == 0


BAD_INPUTS = {
    "EMPTY_IMAGE": lambda: b"",
    "TRUNCATED_IMAGE": lambda: photo("obama.jpg")[:400],
    "NOT_AN_IMAGE": lambda: b"hello, this is text and not a photo" * 10,
    "UNSUPPORTED_FORMAT": lambda: b"GIF89a" + b"\x00" * 200,
    "IMAGE_TOO_LARGE": lambda: b"\xff\xd8\xff" + b"\x00" * (15 * 1024 * 1024),
    "TOO_MANY_PIXELS": lambda: png(8000, 6000),
    "IMAGE_TOO_SMALL": lambda: png(40, 40),
}


@pytest.mark.parametrize("code", sorted(BAD_INPUTS))
def test_every_bad_input_is_a_final_invalid_image(stack: Stack, code: str) -> None:
    # Given a bad upload
    event = stack.put_event(f"{KEY}/bad.bin", BAD_INPUTS[code]())
    # When it is processed
    response = stack.invoke(event)
    # Then the status is INVALID_IMAGE with the engine's code, and the record is not retried
    assert failures(response) == []
    status = stack.status("bad.bin")
    assert (status.status, status.reason_code) == ("INVALID_IMAGE", code)
    assert stack.faces("bad.bin") == []
    if code == "IMAGE_TOO_LARGE":  # refused from HeadObject's size: never downloaded
        assert "get_object" not in stack.s3.calls


def test_invalid_metadata_is_final(stack: Stack) -> None:
    response = stack.invoke(stack.put_event(f"{KEY}/obama.jpg", photo("obama.jpg"), {"max-faces": "lots"}))
    assert failures(response) == []
    assert (stack.status("obama.jpg").status, stack.status("obama.jpg").reason_code) == (
        "INVALID_IMAGE", "INVALID_MAX_FACES")
    assert stack.engine.calls == 0


def test_triple_delivery_gives_one_set_of_faces(stack: Stack) -> None:
    event = stack.put_event(f"{KEY}/t1.jpg", photo("t1.jpg"), {"quality-filter": "NONE"})
    body = event["Records"][0]["body"]
    # three times in one batch, then once more in another invocation
    assert failures(stack.invoke(stack.sqs_event(body, body, body))) == []
    assert failures(stack.invoke(event)) == []
    assert stack.face_count() == len(stack.faces("t1.jpg")) == 6


@pytest.fixture
def atomic_moto_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB and S3 execute each request atomically; in-process moto does not (its backends mutate
    shared dicts without locks). Serialize each *API call* - handlers still run concurrently."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.RLock()
    original = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: object) -> object:
        with lock:
            return original(self, request)  # type: ignore[arg-type]

    monkeypatch.setattr(BotocoreStubber, "process_request", process_request)


@pytest.mark.usefixtures("atomic_moto_calls")
def test_concurrent_delivery_gives_one_set_of_faces(stack: Stack) -> None:
    # Given the same event handed to four containers at once
    event = stack.put_event(f"{KEY}/t1.jpg", photo("t1.jpg"), {"quality-filter": "NONE"})
    containers = [stack.fresh_module() for _ in range(4)]
    results: list[dict] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(containers))

    def run(module: object) -> None:
        try:
            barrier.wait()
            results.append(stack.invoke(json.loads(json.dumps(event)), module))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(m,)) for m in containers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then (after retrying whatever lost a race, as SQS would) there is one set of six faces
    assert errors == []
    for result in results:
        if failures(result):
            assert failures(stack.invoke(event)) == []
    assert stack.face_count() == len(stack.faces("t1.jpg")) == 6
    assert stack.status("t1.jpg").status == "INDEXED"


def test_overwrite_replaces_the_faces_of_the_previous_version(stack: Stack) -> None:
    stack.invoke(stack.put_event(f"{KEY}/photo.jpg", photo("t1.jpg"), {"quality-filter": "NONE"}))
    assert stack.face_count() == 6
    stack.invoke(stack.put_event(f"{KEY}/photo.jpg", photo("obama.jpg")))
    assert stack.face_count() == len(stack.faces("photo.jpg")) == 1
    assert stack.status("photo.jpg").face_ids == tuple(f.face_id for f in stack.faces("photo.jpg"))


def test_logs_carry_neither_image_bytes_nor_vectors(stack: Stack) -> None:
    # Given the service logger's output captured (Powertools writes JSON lines to a stream handler)
    handlers = [h for h in logging.getLogger("facesearch").handlers if isinstance(h, logging.StreamHandler)]
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]
    try:
        stack.invoke(stack.put_event(f"{KEY}/t1.jpg", photo("t1.jpg"), {"quality-filter": "NONE"}))
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)
    logs = buffer.getvalue()
    # Then the outcome is logged, but no embedding and no image bytes
    assert '"message":"image processed"' in logs
    assert "embedding" not in logs
    assert all(len(line) < 4000 for line in logs.splitlines())
    assert "JFIF" not in logs and "\\xff\\xd8" not in logs


def test_indexing_writes_a_vector_snapshot_once_enough_faces_accumulate(stack: Stack) -> None:
    # Given the indexer's vector index over INDEX_BUCKET (due after 3 writes), and t1.jpg uploaded 4 times
    stack.module.indexer.vector_index.snapshot_min = 3
    index_bucket = stack.provisioned.buckets["IndexBucket"]
    s3 = stack.s3._client
    assert s3.list_objects_v2(Bucket=index_bucket).get("KeyCount", 0) == 0
    for n in range(4):
        assert failures(stack.invoke(stack.put_event(f"{KEY}/group-{n}.jpg", photo("t1.jpg")))) == []
    # Then a snapshot of the collection was written for cold searches, and it holds every face
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=index_bucket).get("Contents", [])]
    assert keys, "no snapshot written"
    assert stack.face_count() == sum(len(stack.faces(f"group-{n}.jpg")) for n in range(4)) > 0
    collection = stack.store.get_collection(CUSTOMER, COLLECTION)
    assert collection.snapshot_version > 0
