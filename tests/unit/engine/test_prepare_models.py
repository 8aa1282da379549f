"""scripts/prepare_models.py: the SFace PRelu rewrite is exact and the build is deterministic."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from faceengine import FaceEngine
from faceengine.align import align
from faceengine.pipeline import session_options

from .conftest import PHOTOS

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "prepare_models.py"


@pytest.fixture(scope="module")
def prepare_models() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prepare_models", SCRIPT)
    if spec is None or spec.loader is None:
        pytest.fail(f"cannot import {SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["prepare_models"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sface_source(prepare_models: ModuleType) -> bytes:
    spec = prepare_models.MODELS[1]
    path = prepare_models.SOURCES / Path(spec.member).name
    if not path.exists():
        pytest.fail(f"{path} missing: run `make setup` (scripts/fetch_assets.py)")
    return path.read_bytes()


def every_test_face(engine: FaceEngine) -> np.ndarray:
    crops = []
    for path in sorted(PHOTOS.iterdir()):
        image = engine.decode(path.read_bytes())
        crops += [align(image, points) for points in engine.detector.detect(image).landmarks]
    return np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2), dtype=np.float32)


def embeddings(model: bytes, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, session_options(1), providers=["CPUExecutionProvider"])
    raw = session.run(None, {session.get_inputs()[0].name: batch})[0]
    return raw / np.linalg.norm(raw, axis=1, keepdims=True)


def test_prelu_rewrite_keeps_every_embedding(prepare_models: ModuleType, sface_source: bytes,
                                             engine: FaceEngine) -> None:
    # Given SFace prepared with and without the BatchNorm fold + PRelu rewrite
    spec = prepare_models.MODELS[1]
    rewritten = prepare_models.prepare(sface_source, spec)
    reference = prepare_models.prepare(sface_source, dataclasses.replace(spec, rewrite_prelu=False))
    ops = {node.op_type for node in onnx.load_from_string(rewritten).graph.node}
    assert "PRelu" not in ops and "Relu" in ops
    # Then every face of the test photos embeds to the same vector (the bar is cosine >= 0.999)
    batch = every_test_face(engine)
    assert len(batch) >= 12
    cosines = (embeddings(rewritten, batch) * embeddings(reference, batch)).sum(axis=1)
    assert cosines.min() >= 0.99999


def test_preparation_is_deterministic_and_matches_the_manifest(prepare_models: ModuleType,
                                                               sface_source: bytes) -> None:
    spec = prepare_models.MODELS[1]
    first = prepare_models.prepared_files(sface_source, spec)
    assert first == prepare_models.prepared_files(sface_source, spec)
    assert set(first) == {"sface.onnx", "sface.data"}
    manifest = {m["file"]: m for m in prepare_models.json.loads(prepare_models.MANIFEST.read_text())["models"]}
    for name, data in first.items():
        assert manifest[name]["sha256"] == prepare_models.sha256_bytes(data)
        assert manifest[name]["bytes"] == len(data)
        assert manifest[name]["preparation"] == prepare_models.preparation_text(spec)


def test_external_weights_keep_every_embedding(prepare_models: ModuleType, sface_source: bytes,
                                               engine: FaceEngine, tmp_path: Path) -> None:
    # Given SFace prepared as one file, and as the layer ships it: the graph with its weights in sface.data
    spec = prepare_models.MODELS[1]
    whole = prepare_models.prepare(sface_source, spec)
    files = prepare_models.prepared_files(sface_source, spec)
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    graph = onnx.load_from_string(files["sface.onnx"])
    external = [t for t in graph.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    # Then the graph file carries no large weights, each external tensor starts on a page of sface.data
    assert len(files["sface.onnx"]) < 100_000 and len(external) >= 50
    offsets = [int(next(e.value for e in t.external_data if e.key == "offset")) for t in external]
    assert all(offset % prepare_models.WEIGHTS_ALIGNMENT == 0 for offset in offsets)
    # And every face of the test photos embeds to the same vector from either form
    batch = every_test_face(engine)
    split = ort.InferenceSession(str(tmp_path / "sface.onnx"), session_options(1), providers=["CPUExecutionProvider"])
    ours = split.run(None, {split.get_inputs()[0].name: batch})[0]
    ours = ours / np.linalg.norm(ours, axis=1, keepdims=True)
    cosines = (ours * embeddings(whole, batch)).sum(axis=1)
    assert cosines.min() >= 0.999999


def test_a_slope_above_one_is_sign_folded_exactly(prepare_models: ModuleType) -> None:
    # Given Conv -> BatchNorm -> PRelu (slopes 0.25, 1.0, 1.75) -> Conv, random weights
    rng = np.random.default_rng(7)
    from onnx import helper, numpy_helper

    weights = {
        "w1": rng.normal(size=(3, 2, 3, 3)).astype(np.float32), "g": rng.uniform(0.5, 2, 3).astype(np.float32),
        "b": rng.normal(size=3).astype(np.float32), "m": rng.normal(size=3).astype(np.float32),
        "v": rng.uniform(0.5, 2, 3).astype(np.float32),
        "a": np.array([0.25, 1.0, 1.75], np.float32).reshape(3, 1, 1),
        "w2": rng.normal(size=(4, 3, 1, 1)).astype(np.float32),
    }
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["bn"], epsilon=1e-3),
             helper.make_node("PRelu", ["bn", "a"], ["p"]),
             helper.make_node("Conv", ["p", "w2"], ["y"])]
    graph = helper.make_graph(nodes, "t", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2, 8, 8])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    consts = dict(weights)
    rewritten_nodes = prepare_models.rewrite_prelu(prepare_models.fold_batchnorm(list(model.graph.node), consts),
                                                   consts)
    used = {i for n in rewritten_nodes for i in n.input}
    new_graph = helper.make_graph(rewritten_nodes, "t", list(model.graph.input), list(model.graph.output),
                                  [numpy_helper.from_array(v, k) for k, v in consts.items() if k in used])
    new_model = helper.make_model(new_graph, opset_imports=[helper.make_opsetid("", 21)], ir_version=10)
    x = rng.normal(size=(1, 2, 8, 8)).astype(np.float32) * 3
    expected = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    actual = ort.InferenceSession(new_model.SerializeToString()).run(None, {"x": x})[0]
    # Then the output is the same up to float32 rounding, and no PRelu is left
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-4)
    assert "PRelu" not in {n.op_type for n in rewritten_nodes}
