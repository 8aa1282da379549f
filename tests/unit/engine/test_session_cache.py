"""Optimised sessions cached on disk (session_cache.py): the same outputs, rebuilt when unusable, one entry a model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from faceengine import FaceEngine, pipeline, session_cache
from faceengine.models import locate_models
from faceengine.pipeline import session_options

from .conftest import photo


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FACESEARCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "sessions"  # private_cache_dir("sessions") makes it (FaceEngine.load)


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The model files onnxruntime is asked to open from now on."""
    paths: list[str] = []
    real = session_cache.ort.InferenceSession

    def spy(path: str, *args: object, **kwargs: object) -> ort.InferenceSession:
        paths.append(str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(session_cache.ort, "InferenceSession", spy)
    return paths


def _results(engine: FaceEngine) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for name in ("t1.jpg", "obama.jpg", "biden.jpg"):
        analysis = engine.analyze(photo(name))
        boxes = np.array([[f.face.box.left, f.face.box.top, f.face.box.width, f.face.box.height]
                          for f in analysis.faces])
        out.append((boxes, np.stack([f.embedding for f in analysis.faces])))
    return out


def test_a_cached_engine_gives_bit_identical_results(cache_dir: Path, opened: list[str]) -> None:
    # Given an engine without the cache, and two engines with it: the first stores, the second loads
    plain = FaceEngine.load(threads=1)
    first = FaceEngine.load(threads=1, session_cache=True)
    stored = sorted(p.relative_to(cache_dir).parts[0] for p in cache_dir.glob("*/*/" + session_cache.MODEL_FILE))
    opened.clear()
    second = FaceEngine.load(threads=1, session_cache=True)
    # Then one entry per model was stored, and the second engine opened those entries, not the models
    assert stored == ["sface.onnx", "yunet.onnx"]
    assert len(opened) == 2 and all(p.startswith(str(cache_dir)) for p in opened)
    # And every box and embedding is bit-identical to the uncached engine's
    want = _results(plain)
    for engine in (first, second):
        for (boxes, vectors), (want_boxes, want_vectors) in zip(_results(engine), want, strict=True):
            np.testing.assert_array_equal(boxes, want_boxes)
            np.testing.assert_array_equal(vectors, want_vectors)


def test_an_unloadable_entry_is_replaced(cache_dir: Path, opened: list[str]) -> None:
    # Given a stored entry whose graph was damaged
    cache_dir.mkdir(parents=True)
    files = locate_models()
    digest = next(str(m["sha256"]) for m in files.manifest["models"] if m["file"] == "yunet.onnx")  # type: ignore[attr-defined]
    session_cache.cached_session(files.detector, digest, lambda: session_options(1), "s", cache_dir)
    (entry,) = (cache_dir / "yunet.onnx").iterdir()
    (entry / session_cache.MODEL_FILE).write_bytes(b"not a model")
    # When a session is asked for again
    opened.clear()
    session = session_cache.cached_session(files.detector, digest, lambda: session_options(1), "s", cache_dir)
    # Then it is made from the model itself, and the entry is stored again, loadable
    assert opened == [str(entry / session_cache.MODEL_FILE), str(files.detector)]
    assert session.get_inputs()[0].name
    ort.InferenceSession(str(entry / session_cache.MODEL_FILE), providers=["CPUExecutionProvider"])


def test_a_new_model_version_or_setting_replaces_the_models_older_entry(cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True)
    files = locate_models()
    for digest, settings in (("a" * 64, "threads=1"), ("b" * 64, "threads=1"), ("b" * 64, "threads=2")):
        session_cache.cached_session(files.detector, digest, lambda: session_options(1), settings, cache_dir)
        # Then the model keeps one entry: the one for this digest and these settings
        (entry,) = (cache_dir / "yunet.onnx").iterdir()
        assert entry.name == session_cache.entry_key(digest, settings)
    assert session_cache.entry_key("b" * 64, "x") != session_cache.entry_key("c" * 64, "x")


def test_without_the_option_nothing_is_cached(cache_dir: Path) -> None:
    FaceEngine.load(threads=1)
    assert not cache_dir.exists()


def test_new_weights_under_the_same_graph_make_a_new_entry(cache_dir: Path, opened: list[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the cached entries of today's models
    FaceEngine.load(threads=1, session_cache=True)
    # When the manifest pins other weights (sface.data) under byte-identical graphs (sface.onnx, yunet.onnx)
    real = pipeline.locate_models

    def reweighted(*args: object, **kwargs: object) -> object:
        files = real(*args, **kwargs)  # type: ignore[arg-type]
        models = [dict(m, sha256="0" * 64) if m["file"] == "sface.data" else m
                  for m in files.manifest["models"]]  # type: ignore[attr-defined]
        return dataclasses.replace(files, manifest={**files.manifest, "models": models})

    monkeypatch.setattr(pipeline, "locate_models", reweighted)
    opened.clear()
    engine = FaceEngine.load(threads=1, session_cache=True)
    # Then no stale optimised graph is loaded: both sessions come from the model files, stored again
    files = real()
    assert opened == [str(files.detector), str(files.embedder)]
    assert engine.analyze(photo("obama.jpg")).faces
