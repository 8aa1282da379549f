"""`facesearch index` / `Client.index` against a fake API on the fault server: content-named images, resuming
with --skip-existing, progress and a summary whatever fails."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from facesearch.cli import main
from facesearch.client import Client
from facesearch.errors import ConflictError, ExitCode
from facesearch.output import Progress

from .conftest import ClientFactory
from .faultserver import Fault, FaultServer, Seen

COLLECTION = "archive"


class FakeApi:
    """Upload tickets, a bucket and image statuses, like the service; `index()` plays the indexer."""

    def __init__(self, server: FaultServer) -> None:
        self.server = server
        self.objects: dict[str, bytes] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.tickets: list[dict[str, Any]] = []
        server.answer(f"/collections/{COLLECTION}/uploads", self.ticket)
        server.answer("/bucket/", self.put)
        server.answer(f"/collections/{COLLECTION}/images/", self.status)

    def ticket(self, seen: Seen) -> Fault:
        body = json.loads(seen.body)
        self.tickets.append(body)
        image_id = body["image_id"]
        return Fault.json(201, {"image_id": image_id, "method": "PUT", "url": f"{self.server.url}/bucket/{image_id}",
                                "headers": {"Content-Type": body["content_type"]}})

    def put(self, seen: Seen) -> Fault:
        image_id = seen.path.rsplit("/", 1)[1]
        if hashlib.sha256(seen.body).hexdigest() != image_id.split(".")[0]:
            return Fault(400, raw=b"<Error><Code>BadDigest</Code><Message>checksum mismatch</Message></Error>")
        self.objects[image_id] = seen.body
        return Fault(200, raw=b"")

    def status(self, seen: Seen) -> Fault:
        image_id = seen.path.rsplit("/", 1)[1]
        if image_id in self.statuses:
            return Fault.json(200, self.statuses[image_id])
        if image_id in self.objects:
            return Fault.json(200, {"image_id": image_id, "status": "PENDING", "face_ids": []})
        return Fault.error(404, "RESOURCE_NOT_FOUND", "the image does not exist")

    def index(self) -> None:
        for image_id in self.objects:
            self.statuses[image_id] = {"image_id": image_id, "status": "INDEXED", "face_ids": [f"face-{image_id[:8]}"]}


@pytest.fixture
def api(server: FaultServer) -> FakeApi:
    return FakeApi(server)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(6):
        (folder / f"p{i}.jpg").write_bytes(b"\xff\xd8 photo %d" % i)
    (folder / "notes.txt").write_text("not a photo")
    return folder


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: FaultServer) -> None:
    monkeypatch.setenv("FACESEARCH_STATE_FILE", str(tmp_path / "none.json"))
    monkeypatch.setenv("FACESEARCH_ENDPOINT", server.url)
    monkeypatch.setenv("FACESEARCH_API_KEY", "fs_test")
    monkeypatch.setenv("FACESEARCH_MAX_ATTEMPTS", "1")


def index(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    workers = [] if "--workers" in argv else ["--workers", "2"]
    status = main(["index", *argv, "--collection", COLLECTION, "--json", *workers])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, json.loads(out), err


def test_images_are_named_by_content_and_a_second_run_lands_on_the_same_images(
        api: FakeApi, photos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a folder of six photos indexed once
    status, first, _ = index(capsys, str(photos))
    assert status == 0 and first["summary"]["pending"] == 6
    expected = {f"p{i}.jpg": hashlib.sha256(b"\xff\xd8 photo %d" % i).hexdigest() + ".jpg" for i in range(6)}
    assert {Path(r["path"]).name: r["image_id"] for r in first["results"]} == expected
    # When the same folder is indexed again (without --skip-existing)
    status, second, _ = index(capsys, str(photos))
    # Then the uploads land on the same six images: no second image of any photo
    assert status == 0 and sorted(r["image_id"] for r in second["results"]) == sorted(expected.values())
    assert len(api.objects) == 6 and len(api.tickets) == 12


def test_skip_existing_resumes_without_uploading_what_is_there(api: FakeApi, photos: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    # Given three photos already uploaded, and indexed
    for name in ("p0.jpg", "p1.jpg", "p2.jpg"):
        assert index(capsys, str(photos / name))[0] == 0
    api.index()
    uploads_before = len(api.tickets)
    # When the folder is indexed with --skip-existing --wait
    api.server.answer("/bucket/", lambda seen: (api.put(seen), api.index())[0])  # indexed as soon as uploaded
    status, result, err = index(capsys, str(photos), "--skip-existing", "--wait", "--timeout", "10")
    # Then only the three others were uploaded, and every file is reported INDEXED
    assert status == 0
    assert len(api.tickets) - uploads_before == 3
    by_name = {Path(r["path"]).name: r for r in result["results"]}
    assert [n for n, r in sorted(by_name.items()) if r["skipped"]] == ["p0.jpg", "p1.jpg", "p2.jpg"]
    assert {r["status"] for r in by_name.values()} == {"INDEXED"}
    assert result["summary"] == {"indexed": 6, "no_face": 0, "invalid": 0, "refused": 0, "failed": 0, "pending": 0,
                                 "not_started": 0, "skipped": 3}
    assert "uploading [" in err and "indexing  [" in err


def test_a_file_that_fails_alone_does_not_stop_the_others(api: FakeApi, photos: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # Given storage that refuses the bytes of one photo
    corrupt = hashlib.sha256(b"\xff\xd8 photo 3").hexdigest() + ".jpg"
    api.server.answer("/bucket/", lambda seen: Fault(400, raw=b"<Error><Code>BadDigest</Code></Error>")
                      if seen.path.endswith(corrupt) else api.put(seen))
    status, result, _ = index(capsys, str(photos))
    # Then the five others are uploaded; the summary counts one failure; the exit status says so
    assert status == ExitCode.ERROR
    assert result["summary"]["pending"] == 5 and result["summary"]["failed"] == 1
    failed = [r for r in result["results"] if r["status"] == "UPLOAD_FAILED"]
    assert [Path(r["path"]).name for r in failed] == ["p3.jpg"] and failed[0]["code"] == "UPLOAD_FAILED"


def test_the_service_going_away_stops_the_run_with_a_summary_then_it_resumes(
        api: FakeApi, photos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a service that answers two upload tickets, then is unavailable
    answered = {"n": 0}

    def flaky(seen: Seen) -> Fault:
        answered["n"] += 1
        return api.ticket(seen) if answered["n"] <= 2 else Fault.error(503, "SERVICE_UNAVAILABLE")

    api.server.answer(f"/collections/{COLLECTION}/uploads", flaky)
    status, result, err = index(capsys, str(photos), "--workers", "1")
    # Then the run stops at the first failure: a summary, the cause, how to resume, exit status 6
    assert status == ExitCode.UNAVAILABLE
    assert result["summary"]["pending"] == 2 and result["summary"]["failed"] == 1
    assert result["summary"]["not_started"] == 3 and result["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert "--skip-existing" in err
    # When the service is back and the same command runs with --skip-existing
    api.server.answer(f"/collections/{COLLECTION}/uploads", api.ticket)
    tickets_before = len(api.tickets)
    status, result, _ = index(capsys, str(photos), "--skip-existing")
    # Then only the four missing photos are uploaded
    assert status == 0 and len(api.tickets) - tickets_before == 4 and len(api.objects) == 6
    assert result["summary"]["skipped"] == 2


def test_a_refused_customer_gets_one_message_and_no_more_attempts(api: FakeApi, photos: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    api.server.answer(f"/collections/{COLLECTION}/uploads",
                      Fault.json(403, {"code": "SECTOR_DISALLOWED", "message": "refused", "rule_id": "r-1"}))
    status, result, _ = index(capsys, str(photos), "--workers", "1")
    assert status == ExitCode.REFUSED
    assert result == {"code": "SECTOR_DISALLOWED", "message": "refused", "rule_id": "r-1"}
    assert api.server.count("POST") == 1


def test_waiting_reports_what_it_learnt_when_the_service_fails(api: FakeApi, photos: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    status, result, _ = index(capsys, str(photos / "p0.jpg"))
    api.server.answer(f"/collections/{COLLECTION}/images/", Fault.page(502))
    status, result, err = index(capsys, str(photos / "p0.jpg"), str(photos / "p1.jpg"), "--skip-existing", "--wait")
    assert status == ExitCode.UNAVAILABLE and result["error"]["code"] == "BAD_GATEWAY"
    assert len(result["results"]) == 2 and "stopped" not in err  # JSON mode: the error is in the document


def test_ctrl_c_prints_what_was_done_and_how_to_resume(api: FakeApi, photos: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    real = Client.upload_file
    calls = {"n": 0}

    def interrupted_at_the_third(self: Client, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Client, "upload_file", interrupted_at_the_third)
    status, result, err = index(capsys, str(photos), "--workers", "1")
    assert status == ExitCode.INTERRUPTED and result["interrupted"] is True
    assert result["summary"]["pending"] == 2 and result["summary"]["not_started"] == 4
    assert "--skip-existing" in err and calls["n"] == 3


def test_the_python_api_indexes_and_reports(api: FakeApi, photos: Path, make_client: ClientFactory) -> None:
    client = make_client()
    seen: list[str] = []
    report = client.index(COLLECTION, [photos], on_uploaded=lambda r: seen.append(r.status))
    assert report.error is None and report.complete and report.summary["pending"] == 6 and len(seen) == 6
    api.index()
    again = client.index(COLLECTION, [photos], skip_existing=True, wait=True, timeout=5)
    assert again.summary["indexed"] == 6 and again.summary["skipped"] == 6 and len(api.tickets) == 6


def test_create_collection_exist_ok_describes_the_existing_one(server: FaultServer, make_client: ClientFactory) -> None:
    server.answer("/collections", Fault.error(409, "RESOURCE_ALREADY_EXISTS"))
    server.answer(f"/collections/{COLLECTION}", Fault.json(200, {"collection_id": COLLECTION, "face_count": 3}))
    client = make_client()
    assert client.create_collection(COLLECTION, exist_ok=True)["face_count"] == 3
    with pytest.raises(ConflictError):
        client.create_collection(COLLECTION)


def test_progress_off_a_terminal_prints_a_line_every_tenth() -> None:
    stream = io.StringIO()
    bar = Progress(40, "uploading", stream=stream, width=10)
    for _ in range(40):
        bar.advance()
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10 and lines[0] == "uploading [#.........] 4/40" and lines[-1].endswith("40/40")
