"""The client against the local stack: content-named uploads land on the same image; --skip-existing resumes."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from facesearch.cli import main as cli_main
from facesearch.client import Client
from facesearch.local.process import RunningStack

from .test_story import wait_until

pytestmark = pytest.mark.e2e

COLLECTION = "resume"


def test_indexing_twice_never_makes_a_second_image(admin: Client, stack: RunningStack, photos: Path,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a customer with a collection and a folder of two photos, indexed once with --wait
    created = admin.create_customer(name="Resume Co", sector="media", jurisdiction="DE", status="active")
    client = admin.with_key(created["api_key"]["secret"])
    client.create_collection(COLLECTION)
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("obama.jpg", "biden.jpg"):
        shutil.copy(photos / name, folder / name)
    argv = ["index", str(folder), "--collection", COLLECTION, "--wait", "--timeout", "90", "--json",
            "--endpoint", stack.endpoint, "--api-key", str(client.api_key)]
    assert cli_main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["summary"]["indexed"] == 2
    ids = {Path(r["path"]).name: r["image_id"] for r in first["results"]}
    assert ids["obama.jpg"] == hashlib.sha256((photos / "obama.jpg").read_bytes()).hexdigest() + ".jpg"
    faces = sorted(f["face_id"] for f in client.list_faces(COLLECTION))
    # When a third photo joins the folder and the command runs again with --skip-existing
    shutil.copy(photos / "obama3.jpg", folder / "obama3.jpg")
    assert cli_main([*argv, "--skip-existing"]) == 0
    second = json.loads(capsys.readouterr().out)
    # Then the two indexed photos are skipped (not uploaded) and keep their images and faces
    skipped = {Path(r["path"]).name for r in second["results"] if r["skipped"]}
    assert skipped == {"obama.jpg", "biden.jpg"} and second["summary"]["indexed"] == 3
    assert {Path(r["path"]).name: r["image_id"] for r in second["results"] if r["skipped"]} == ids
    after = sorted(f["face_id"] for f in client.list_faces(COLLECTION))
    assert set(faces) < set(after) and len(after) == len(faces) + 1
    # And uploading one of them again without --skip-existing lands on the same image: once the indexer has
    # replaced that image's faces, the collection holds the same images and as many faces as before
    biden_faces = {f["face_id"] for f in client.list_faces(COLLECTION) if f["image_id"] == ids["biden.jpg"]}
    report = client.index(COLLECTION, [folder / "biden.jpg"])
    assert report.results[0].image_id == ids["biden.jpg"] and report.summary["pending"] == 1
    images = {r["image_id"] for r in second["results"]}

    def replaced() -> bool:
        now = client.list_faces(COLLECTION)
        return ({f["image_id"] for f in now} == images and len(now) == len(after)
                and not biden_faces & {f["face_id"] for f in now})

    assert wait_until(replaced, timeout=60)

