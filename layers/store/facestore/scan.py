"""Compressed scan: a 4-bit copy of a collection's vectors, scanned by onnxruntime's SIMD kernel, then an exact
fp32 re-rank of every vector that could be in the answer. No AWS; numpy + onnxruntime (the deps layer).

Why: an exact fp32 scan of 1M x 128 vectors reads 512 MB per query and is bound by memory bandwidth
(~23 ms here). The same vectors quantised to 4 bits (blocks of 32 dimensions, one float32 scale per block,
symmetric: 64 + 16 bytes a face) are 6.4x fewer bytes; onnxruntime's MatMulNBits (MLAS, the kernel built for
LLM token generation, which is exactly this matrix-vector shape) scans them ~5-8x faster than BLAS scans fp32.

Exactness: for each vector v the code's reconstruction v' is stored implicitly and its error norm
r = ||v - v'|| explicitly (rounded up). For a unit query q, |q·v - q·v'| <= r (Cauchy-Schwarz), so every
vector whose true cosine reaches a bound t has an approximate score >= t - r. The search re-ranks in fp32
every vector whose approximate score plus its r reaches the bound (the threshold, or the k-th best exact
score found so far): the result and its scores are those of the fp32 scan, not an approximation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

BITS = 4
BLOCK = 32
_LEVELS = (1 << (BITS - 1)) - 1  # 7: codes -7..7, stored + 8 in a nibble
_SLACK = 1e-5  # float32 rounding of the kernel's sums and of r, well above the real error (~1e-6)
MIN_ROWS = 65_536  # below this the fp32 scan is fast enough (100k faces: ~2.5 ms) and needs no session


@dataclass(frozen=True)
class Codes:
    """4-bit codes of n vectors: packed (n, dim/BLOCK, BLOCK/2) uint8, scales (n, dim/BLOCK) float32,
    residual norms (n,) float32 (rounded up), and their maximum."""

    packed: npt.NDArray[np.uint8]
    scales: npt.NDArray[np.float32]
    residuals: npt.NDArray[np.float32]

    @property
    def nbytes(self) -> int:
        return int(self.packed.nbytes + self.scales.nbytes + self.residuals.nbytes)


def quantize(matrix: npt.NDArray[np.float32], chunk: int = 65_536) -> Codes:
    """Codes of the rows of an (n, dim) float32 matrix (dim a multiple of BLOCK); chunked to bound memory."""
    n, dim = matrix.shape
    if dim % BLOCK:
        raise ValueError(f"dimension {dim} is not a multiple of {BLOCK}")
    blocks = dim // BLOCK
    packed = np.empty((n, blocks, BLOCK // 2), dtype=np.uint8)
    scales = np.empty((n, blocks), dtype=np.float32)
    residuals = np.empty(n, dtype=np.float32)
    for start in range(0, n, chunk):
        rows = np.asarray(matrix[start:start + chunk], dtype=np.float32).reshape(-1, blocks, BLOCK)
        scale = (np.abs(rows).max(axis=2) / _LEVELS).astype(np.float32)
        safe = np.where(scale > 0, scale, np.float32(1.0))
        levels = np.clip(np.rint(rows / safe[:, :, None]), -_LEVELS, _LEVELS)
        recon = levels.astype(np.float32) * scale[:, :, None]
        error = np.sqrt(((rows.astype(np.float64) - recon) ** 2).sum(axis=(1, 2)))
        nibbles = (levels + (_LEVELS + 1)).astype(np.uint8)
        packed[start:start + chunk] = nibbles[:, :, 0::2] | (nibbles[:, :, 1::2] << 4)
        scales[start:start + chunk] = scale
        residuals[start:start + chunk] = np.nextafter(error.astype(np.float32), np.float32(np.inf))
    return Codes(packed, scales, residuals)


def dequantize(codes: Codes) -> npt.NDArray[np.float32]:
    """The (n, dim) float32 reconstruction (for tests and checks)."""
    low = (codes.packed & 0x0F).astype(np.int16) - (_LEVELS + 1)
    high = (codes.packed >> 4).astype(np.int16) - (_LEVELS + 1)
    levels = np.empty((*codes.packed.shape[:2], BLOCK), dtype=np.float32)
    levels[:, :, 0::2] = low
    levels[:, :, 1::2] = high
    return (levels * codes.scales[:, :, None]).reshape(len(codes.packed), -1)


# ------------------------------------------------------------------ a minimal ONNX model, written by hand
# The runtime has onnxruntime but not the `onnx` package (build-only), so the one-node model is encoded here
# (protobuf wire format; tests/unit/store/test_scan.py checks it with onnx's own parser and checker).

def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes | str | int) -> bytes:
    if isinstance(payload, int):
        return _varint(number << 3) + _varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _tensor_type(elem_type: int, dims: tuple[int | str, ...]) -> bytes:
    shape = b"".join(_field(1, _field(1, d) if isinstance(d, int) else _field(2, d)) for d in dims)
    return _field(1, _field(1, elem_type) + _field(2, shape))


def _value_info(name: str, elem_type: int, dims: tuple[int | str, ...]) -> bytes:
    return _field(1, name) + _field(2, _tensor_type(elem_type, dims))


_FLOAT, _UINT8 = 1, 2


def _external_tensor(name: str, elem_type: int, dims: tuple[int, ...]) -> bytes:
    """An initializer whose data lives outside the model: the session is given it (add_external_initializers)."""
    size = int(np.prod(dims)) * (4 if elem_type == _FLOAT else 1)
    entries = b"".join(_field(13, _field(1, key) + _field(2, value))
                       for key, value in (("location", f"{name}.bin"), ("offset", "0"), ("length", str(size))))
    return b"".join(_field(1, d) for d in dims) + _field(2, elem_type) + _field(8, name) + entries + _field(14, 1)


def scan_model(n: int, dim: int) -> bytes:
    """ONNX model: scores (1, n) = MatMulNBits(query (1, dim), codes, scales); codes and scales are external
    initializers the session is handed from memory (no copy into the model)."""
    attributes = b"".join(_field(5, _field(1, name) + _field(3, value) + _field(20, 2))
                          for name, value in (("K", dim), ("N", n), ("bits", BITS), ("block_size", BLOCK),
                                              ("accuracy_level", 0)))
    node = (_field(1, "query") + _field(1, "codes") + _field(1, "scales") + _field(2, "scores")
            + _field(3, "scan") + _field(4, "MatMulNBits") + attributes + _field(7, "com.microsoft"))
    graph = (_field(1, node) + _field(2, "facestore_scan")
             + _field(5, _external_tensor("codes", _UINT8, (n, dim // BLOCK, BLOCK // 2)))
             + _field(5, _external_tensor("scales", _FLOAT, (n * (dim // BLOCK),)))
             + _field(11, _value_info("query", _FLOAT, (1, dim)))
             + _field(12, _value_info("scores", _FLOAT, (1, n))))
    opsets = _field(8, _field(1, "") + _field(2, 21)) + _field(8, _field(1, "com.microsoft") + _field(2, 1))
    return _field(1, 10) + _field(2, "facestore") + _field(7, graph) + opsets


class CompressedScan:
    """Approximate scores of every row from its 4-bit code, with per-row error bounds (see module docstring)."""

    def __init__(self, codes: Codes) -> None:
        import onnxruntime as ort  # the deps layer; imported only when a large collection is searched

        self.codes = codes
        self.residual_max = float(codes.residuals.max(initial=0.0)) + _SLACK
        n, blocks, _ = codes.packed.shape
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # The arrays stay ours (and alive as long as this object): the session reads them, and MLAS packs
        # its own copy of the codes once.
        self._values = (ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(codes.packed)),
                        ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(codes.scales).reshape(-1)))
        options.add_external_initializers(["codes", "scales"], list(self._values))
        self._session = ort.InferenceSession(scan_model(n, blocks * BLOCK), options,
                                             providers=["CPUExecutionProvider"])

    def __len__(self) -> int:
        return len(self.codes.packed)

    def scores(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(n,) approximate cosines; the true one of row i is within residuals[i] + slack."""
        out = self._session.run(["scores"], {"query": np.ascontiguousarray(query, dtype=np.float32)[None, :]})
        return np.asarray(out[0], dtype=np.float32).reshape(-1)


def exact_top(scan: CompressedScan, rows: npt.NDArray[np.float32], query: npt.NDArray[np.float32], k: int,
              min_cosine: float, dead: npt.NDArray[np.bool_] | None = None,
              first_guess: int = 64) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """The rows (indices, fp32 cosines) of the exact top-k with cosine >= min_cosine, best first.

    `rows` is the fp32 (n, dim) matrix (any layout); only the candidates' rows are read."""
    approx = scan.scores(query)
    if dead is not None:
        approx[dead] = -np.inf
    bound = float(min_cosine)
    candidates = np.flatnonzero(approx >= bound - scan.residual_max)
    if candidates.size > max(4 * k, first_guess):
        # Many rows clear the threshold: the exact scores of the best approximate ones give a k-th best,
        # which lifts the bound; every row that could beat it is then among the candidates.
        guess = candidates[np.argpartition(-approx[candidates], max(k, first_guess) - 1)[:max(k, first_guess)]]
        guess_scores = np.asarray(rows[np.sort(guess)], dtype=np.float32) @ query
        if guess_scores.size >= k:
            bound = max(bound, float(np.partition(guess_scores, guess_scores.size - k)[guess_scores.size - k]))
        candidates = candidates[approx[candidates] >= bound - scan.residual_max]
    candidates = candidates[approx[candidates] + scan.codes.residuals[candidates] + _SLACK >= bound]
    exact = np.asarray(rows[candidates], dtype=np.float32) @ np.asarray(query, dtype=np.float32)
    keep = exact >= min_cosine
    candidates, exact = candidates[keep], exact[keep]
    if candidates.size > k:
        top = np.argpartition(-exact, k - 1)[:k]
        candidates, exact = candidates[top], exact[top]
    order = np.argsort(-exact, kind="stable")
    return candidates[order], exact[order]
