"""`facesearch detect` / `facesearch compare`: JSON shapes, tables and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from facesearch.cli import main

from .conftest import PHOTOS

FACE_KEYS = {"bounding_box", "confidence", "landmarks", "quality"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(list(argv))
    return code, capsys.readouterr().out.splitlines()


def assert_face_shape(face: dict[str, Any]) -> None:
    assert set(face) == FACE_KEYS
    assert set(face["bounding_box"]) == {"left", "top", "width", "height"}
    assert [set(lm) for lm in face["landmarks"]] == [{"type", "x", "y"}] * 5
    assert set(face["quality"]) == {"brightness", "sharpness", "yaw", "pitch", "roll"}


def test_detect_json_one_line_per_image(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "detect", "--json", str(PHOTOS / "t1.jpg"), str(PHOTOS / "obama.jpg"))
    assert code == 0 and len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["image"] == str(PHOTOS / "t1.jpg") and len(first["faces"]) == 6
    assert len(second["faces"]) == 1
    for face in first["faces"] + second["faces"]:
        assert_face_shape(face)


def test_detect_error_line_and_nonzero_exit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Given one good image, one text file and one missing file
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture at all")
    code, lines = run(capsys, "detect", "--json", str(PHOTOS / "obama.jpg"), str(text), str(tmp_path / "no.jpg"))
    # Then every input has its line, errors carry code and message, and the exit status is non-zero
    results = [json.loads(line) for line in lines]
    assert code == 1
    assert "faces" in results[0]
    assert results[1]["image"] == str(text) and set(results[1]) == {"image", "error"}
    assert results[1]["error"]["code"] == "NOT_AN_IMAGE" and results[1]["error"]["message"]
    assert results[2]["error"]["code"] == "FILE_NOT_READABLE"


def test_detect_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "detect", str(PHOTOS / "t1.jpg"))
    assert code == 0
    assert "6 face(s)" in lines[0] and "left" in lines[1] and len(lines) == 8


def test_compare_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "compare", "--json", str(PHOTOS / "obama.jpg"), str(PHOTOS / "obama2.jpg"),
                      str(PHOTOS / "t1.jpg"))
    same, crowd = (json.loads(line) for line in lines)
    assert code == 0
    assert set(same) == {"target", "source_face", "face_matches", "unmatched_faces"}
    assert_face_shape(same["source_face"])
    assert len(same["face_matches"]) == 1 and same["unmatched_faces"] == []
    assert set(same["face_matches"][0]) == {"similarity", "face"}
    assert same["face_matches"][0]["similarity"] >= 80
    assert_face_shape(same["face_matches"][0]["face"])
    assert crowd["face_matches"] == [] and len(crowd["unmatched_faces"]) == 6
    for face in crowd["unmatched_faces"]:
        assert_face_shape(face)


def test_compare_threshold_option(capsys: pytest.CaptureFixture[str]) -> None:
    # Given a threshold of 0 / Then every face of the crowd matches
    code, lines = run(capsys, "compare", "--json", "--threshold", "0", str(PHOTOS / "obama.jpg"),
                      str(PHOTOS / "t1.jpg"))
    assert code == 0 and len(json.loads(lines[0])["face_matches"]) == 6
    assert main(["compare", "--threshold", "101", str(PHOTOS / "obama.jpg"), str(PHOTOS / "t1.jpg")]) == 2  # usage
    assert "threshold" in capsys.readouterr().err


def test_compare_bad_target_and_bad_source(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    code, lines = run(capsys, "compare", "--json", str(PHOTOS / "obama.jpg"), str(empty),
                      str(PHOTOS / "biden.jpg"))
    assert code == 1
    assert json.loads(lines[0]) == {"target": str(empty), "error": {"code": "EMPTY_IMAGE",
                                                                    "message": "the image is empty"}}
    assert json.loads(lines[1])["face_matches"] == []
    code, lines = run(capsys, "compare", "--json", str(PHOTOS / "mask_blue.jpg"), str(PHOTOS / "obama.jpg"))
    assert code == 1 and json.loads(lines[0])["error"]["code"] == "NO_FACE"


def test_compare_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = run(capsys, "compare", str(PHOTOS / "obama.jpg"), str(PHOTOS / "obama3.jpg"))
    assert code == 0 and "1 match(es)" in lines[1] and lines[-1].rstrip().endswith("match")


def test_a_local_command_imports_only_its_module() -> None:
    # Given a fresh interpreter parsing a `facesearch compare` command line
    code = ("import sys; from facesearch.cli import build_parser; "
            "build_parser(['compare', 'a.jpg', 'b.jpg']); "
            "print(sorted(m for m in sys.modules if m.startswith(('moto', 'boto3', 'facesearch.local', 'requests'))))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    # Then neither the local stack (moto) nor the HTTP client was imported
    assert out.strip() == "[]"


def test_help_still_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    for command in ("detect", "compare", "local", "admin", "collections", "index", "search", "remote"):
        assert command in listed


def _program(*argv: str) -> subprocess.CompletedProcess[str]:
    """The `facesearch` program in a fresh process (facesearch.cli.run, as the console script), its stdout
    block-buffered (a pipe) as in a shell pipeline."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-m", "facesearch.cli", *argv], capture_output=True, text=True,
                          timeout=120, check=False, env=env)


def test_the_program_ends_compare_with_its_whole_output_and_status(tmp_path: Path) -> None:
    # Given a compare with a table (lines printed without a flush each) and a target that cannot be read
    missing = tmp_path / "missing.jpg"
    table = _program("compare", str(PHOTOS / "obama.jpg"), str(PHOTOS / "obama3.jpg"), str(missing))
    # Then the quick exit kept every line of the table and the failure's exit status
    assert table.returncode == 1, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("source ") and "1 match(es)" in lines[1] and lines[-1].startswith(str(missing))
    assert lines == _in_process_lines("compare", str(PHOTOS / "obama.jpg"), str(PHOTOS / "obama3.jpg"), str(missing))
    # And with --json, one line per target and status 0
    ok = _program("compare", "--json", str(PHOTOS / "obama.jpg"), str(PHOTOS / "obama2.jpg"), str(PHOTOS / "t1.jpg"))
    assert ok.returncode == 0 and [len(json.loads(line)["face_matches"]) for line in ok.stdout.splitlines()] == [1, 0]


def _in_process_lines(*argv: str) -> list[str]:
    code = ("import sys; from facesearch.cli import main; main(sys.argv[1:])")
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120,
                          check=False).stdout.splitlines()


def test_the_program_reports_usage_errors_on_stderr_with_status_2() -> None:
    # Given a compare command line without targets
    result = _program("compare", str(PHOTOS / "obama.jpg"))
    # Then the usage error reached stderr before the quick exit, with argparse's status
    assert result.returncode == 2 and "error USAGE" in result.stderr and result.stdout == ""
