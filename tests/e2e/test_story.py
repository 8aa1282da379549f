"""The demo's story as assertions, over HTTP with the client against the local stack."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from facesearch.cli import main as cli_main
from facesearch.client import ApiError, Client, UploadResult
from facesearch.local.process import RunningStack

pytestmark = pytest.mark.e2e

COLLECTION = "archive"
QUERY = "obama2.jpg"
OBAMA = {"obama.jpg", "obama3.jpg", "obama_partial_face.jpg", "obama_partial_face2.jpg"}


class World:
    """What the story built: two customers, an indexed collection."""

    def __init__(self, admin: Client, media: Client, police: Client, police_id: str, media_id: str,
                 results: list[UploadResult]) -> None:
        self.admin, self.media, self.police = admin, media, police
        self.police_id, self.media_id = police_id, media_id
        self.results = {Path(r.path).name: r for r in results}


@pytest.fixture(scope="module")
def world(admin: Client, photos: Path) -> World:
    return build_world(admin, photos)


def build_world(admin: Client, photos: Path) -> World:
    """The story's start on any stack: two customers, the archive's collection indexed (all but QUERY)."""
    # Given a media archive and a police department registered by the admin
    archive = admin.create_customer(name="Archive", sector="media", jurisdiction="GB", status="active")
    police = admin.create_customer(name="Metro PD", sector="law_enforcement", jurisdiction="US", status="active")
    media = admin.with_key(archive["api_key"]["secret"])
    # And the archive's collection with the test photos uploaded and indexed
    media.create_collection(COLLECTION)
    files = sorted(p for p in photos.iterdir() if p.name != QUERY)
    results = media.upload_many(COLLECTION, files, external_id=lambda p: p.name)
    assert all(r.status == "PENDING" for r in results), [(r.path, r.code, r.message) for r in results]
    assert media.wait_indexed(COLLECTION, results, timeout=90)
    return World(admin, media, admin.with_key(police["api_key"]["secret"]), police["customer"]["customer_id"],
                 archive["customer"]["customer_id"], results)


def search_names(client: Client, photos: Path, threshold: float | None = None) -> list[str]:
    result = client.search(COLLECTION, (photos / QUERY).read_bytes(), threshold=threshold, max_faces=20)
    return [m["face"]["external_image_id"] for m in result["face_matches"]]


def test_photos_are_indexed_with_their_outcome(world: World) -> None:
    statuses = {name: r.status for name, r in world.results.items()}
    assert statuses["obama.jpg"] == "INDEXED" and len(world.results["obama.jpg"].face_ids) == 1
    assert statuses["biden.jpg"] == "INDEXED"
    assert len(world.results["t1.jpg"].face_ids) >= 2
    assert set(statuses.values()) <= {"INDEXED", "NO_FACES"}
    described = world.media.describe_collection(COLLECTION)
    assert described["face_count"] == sum(len(r.face_ids) for r in world.results.values())


def test_search_finds_the_same_person_and_not_others(world: World, photos: Path) -> None:
    names = search_names(world.media, photos)
    assert "obama.jpg" in names and "obama3.jpg" in names
    assert "biden.jpg" not in names and "Tom_Hanks_54745.png" not in names and "t1.jpg" not in names
    result = world.media.search(COLLECTION, (photos / QUERY).read_bytes())
    similarities = [m["similarity"] for m in result["face_matches"]]
    assert similarities == sorted(similarities, reverse=True) and min(similarities) >= 80
    assert result["searched_face_bounding_box"]["width"] > 0


def test_police_is_refused_upload_and_search_and_both_are_audited(world: World, photos: Path) -> None:
    # When the police department tries to upload and to search
    upload = world.police.upload_file(COLLECTION, photos / QUERY)
    with pytest.raises(ApiError) as refused:
        world.police.search(COLLECTION, (photos / QUERY).read_bytes())
    # Then both are refused with SECTOR_DISALLOWED, before any image is stored or processed
    assert (upload.status, upload.code) == ("REFUSED", "SECTOR_DISALLOWED")
    assert upload.image_id is None
    assert (refused.value.status, refused.value.code) == (403, "SECTOR_DISALLOWED")
    assert refused.value.to_dict()["rule_id"]
    # And each refusal left an audit record
    records = world.admin.audit(customer_id=world.police_id, limit=100)
    denied = {(r["operation"], r["reason_code"]) for r in records if r["decision"] == "deny"}
    assert {("index", "SECTOR_DISALLOWED"), ("search", "SECTOR_DISALLOWED")} <= denied


def test_cli_prints_the_refusal_as_json_and_exits_non_zero(world: World, stack: RunningStack, photos: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    key = world.police.api_key or ""
    status = cli_main(["search", str(photos / QUERY), "--collection", COLLECTION, "--json",
                       "--endpoint", stack.endpoint, "--api-key", key])
    out = json.loads(capsys.readouterr().out)
    assert status == 3  # refused
    assert out["code"] == "SECTOR_DISALLOWED" and out["message"] and out["rule_id"]


def test_cli_search_prints_a_matches_table(world: World, stack: RunningStack, photos: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_main(["search", str(photos / QUERY), "--collection", COLLECTION,
                       "--endpoint", stack.endpoint, "--api-key", world.media.api_key or ""])
    out = capsys.readouterr().out
    assert status == 0
    assert "similarity" in out and "external image id" in out and "obama.jpg" in out


def test_cli_collections_list_json(world: World, stack: RunningStack, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_main(["collections", "list", "--json", "--endpoint", stack.endpoint,
                       "--api-key", world.media.api_key or ""])
    listed: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert status == 0 and [c["collection_id"] for c in listed["collections"]] == [COLLECTION]


def test_a_revoked_key_is_refused_at_the_gateway(world: World) -> None:
    issued = world.admin.create_key(world.media_id)["api_key"]
    client = world.admin.with_key(issued["secret"])
    assert client.list_collections()
    world.admin.revoke_key(world.media_id, issued["key_id"])
    with pytest.raises(ApiError) as refused:
        client.list_collections()
    assert refused.value.status == 403


def wait_until(predicate: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_deleting_a_photos_faces_through_the_api_removes_them_from_search(world: World, photos: Path) -> None:
    image_id = str(world.results["obama.jpg"].image_id)
    deleted = world.media.delete_image_faces(COLLECTION, image_id)
    assert deleted["deleted_faces"] == world.results["obama.jpg"].face_ids
    assert "obama.jpg" not in search_names(world.media, photos)
    assert "obama3.jpg" in search_names(world.media, photos)


def test_deleting_an_uploaded_object_in_s3_removes_its_faces(world: World, stack: RunningStack, photos: Path) -> None:
    # Given the operator deletes an uploaded photo from the (versioned) uploads bucket
    state = stack.state
    s3 = boto3.client("s3", endpoint_url=state["moto_endpoint"], region_name=state["region"],
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = state["resources"]["UploadsBucket"]
    image_id = str(world.results["obama3.jpg"].image_id)
    key = f"uploads/{world.media_id}/{COLLECTION}/{image_id}"
    s3.delete_object(Bucket=bucket, Key=key)
    # Then the ObjectRemoved notification reaches index_faces and the faces leave the index
    assert wait_until(lambda: "obama3.jpg" not in search_names(world.media, photos))
    assert world.results["obama3.jpg"].face_ids[0] not in {f["face_id"] for f in world.media.list_faces(COLLECTION)}
