"""Compressed scan: a 4-bit copy of a collection's vectors, scanned by onnxruntime's SIMD kernel, then an exact
fp32 re-rank of every vector that could be in the answer. No AWS; numpy + onnxruntime (the deps layer).

Why: an exact fp32 scan of 1M x 128 vectors reads 512 MB per query and is bound by memory bandwidth
(~23 ms here). The same vectors quantised to 4 bits (blocks of 32 dimensions, one float32 scale per block,
symmetric: 64 + 16 bytes a face) are 6.4x fewer bytes; onnxruntime's MatMulNBits (MLAS, the kernel built for
LLM token generation, which is exactly this matrix-vector shape) scans them ~5-8x faster than BLAS scans fp32;
with accuracy_level 4 it rounds the query to int8 and uses its integer (VNNI / AVX2) kernels, ~2x faster again.

Exactness: for each vector v the code's reconstruction v' is stored implicitly and its error norm
r = ||v - v'|| explicitly (rounded up). For a unit query q, |q·v - q·v'| <= r (Cauchy-Schwarz), so every
vector whose true cosine reaches a bound t has an approximate score >= t - r. The search re-ranks in fp32
every vector whose approximate score plus its r reaches the bound (the threshold, or the k-th best exact
score found so far): the result and its scores are those of the fp32 scan, not an approximation. The int8
query's rounding adds its own bound (`CompressedScan.query_margin`, ~0.005 for an embedding). The kernel adds r
itself (as MatMulNBits' bias), so its output is each row's upper bound; one pass over it gives a pool of the
best few thousand rows, which holds every candidate unless the data crowd the top (then a second pass).

Memory (issue 11: at most 300 MiB per 1M faces, everything counted): the fp32 rows are not kept in memory. A finer
second code refines the candidates: 8 bits per dimension on the same block scales (`fine`, 128 bytes a face) with
its own rounded-up error norm (`fine_residuals`, ~0.008 against ~0.1 for the 4-bit code). Its bound decides
almost every candidate; fp32 rows are read (from a local file, rowfile.py) only for the rows that can be in the
answer: the answer's own rows (their similarities are the fp32 ones) and the few whose fine bound straddles the
k-th best or the threshold. onnxruntime prepacks its own copy of the 4-bit codes, so ours is dropped once the
session exists. Resident per 1M faces: ORT's packed codes ~61 MiB and, for its int8 kernels, its own scales and
block sums ~31, its copy of the residuals 4 + our scales 15 + fine 122 + residuals 8.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

BITS = 4
BLOCK = 32
_LEVELS = (1 << (BITS - 1)) - 1  # 7: codes -7..7, stored + 8 in a nibble
_FINE_LEVELS = 127  # the fine code: int8 -127..127 on the same block scales (step scale * 7 / 127)
_FINE_STEP = np.float32(_LEVELS / _FINE_LEVELS)
_SLACK = 1e-5  # float32 rounding of the kernel's sums and of r, well above the real error (~1e-6)
ACCURACY_LEVEL = 4  # MatMulNBits: int8 query x 4-bit codes (MLAS's integer kernels; ~2.5x faster than 0 here)
_QUERY_LEVELS = 127  # the kernel's int8 query: per block, scale max|q_b| / 127
MIN_ROWS = 65_536  # below this the fp32 scan is fast enough (100k faces: ~2.5 ms) and needs no session


@dataclass(frozen=True)
class Codes:
    """Codes of n vectors: 4-bit packed (n, dim/BLOCK, BLOCK/2) uint8, block scales (n, dim/BLOCK) float32,
    the 4-bit reconstruction's error norms (n,) float32 (rounded up); the fine 8-bit code (n, dim) int8 on the
    same scales and its error norms (n,) float32 (rounded up)."""

    packed: npt.NDArray[np.uint8]
    scales: npt.NDArray[np.float32]
    residuals: npt.NDArray[np.float32]
    fine: npt.NDArray[np.int8]
    fine_residuals: npt.NDArray[np.float32]

    @property
    def nbytes(self) -> int:
        return int(self.packed.nbytes + self.scales.nbytes + self.residuals.nbytes + self.fine.nbytes
                   + self.fine_residuals.nbytes)


def quantize(matrix: npt.NDArray[np.float32], chunk: int = 65_536) -> Codes:
    """Codes of the rows of an (n, dim) float32 matrix (dim a multiple of BLOCK); chunked to bound memory."""
    n, dim = matrix.shape
    if dim % BLOCK:
        raise ValueError(f"dimension {dim} is not a multiple of {BLOCK}")
    blocks = dim // BLOCK
    packed = np.empty((n, blocks, BLOCK // 2), dtype=np.uint8)
    scales = np.empty((n, blocks), dtype=np.float32)
    residuals = np.empty(n, dtype=np.float32)
    fine = np.empty((n, dim), dtype=np.int8)
    fine_residuals = np.empty(n, dtype=np.float32)
    for start in range(0, n, chunk):
        rows = np.asarray(matrix[start:start + chunk], dtype=np.float32).reshape(-1, blocks, BLOCK)
        scale = (np.abs(rows).max(axis=2) / _LEVELS).astype(np.float32)
        safe = np.where(scale > 0, scale, np.float32(1.0))
        levels = np.clip(np.rint(rows / safe[:, :, None]), -_LEVELS, _LEVELS)
        recon = levels.astype(np.float32) * scale[:, :, None]
        nibbles = (levels + (_LEVELS + 1)).astype(np.uint8)
        packed[start:start + chunk] = nibbles[:, :, 0::2] | (nibbles[:, :, 1::2] << 4)
        scales[start:start + chunk] = scale
        residuals[start:start + chunk] = _error_norm(rows, recon)
        fine_levels = np.clip(np.rint(rows / (safe * _FINE_STEP)[:, :, None]), -_FINE_LEVELS, _FINE_LEVELS)
        fine[start:start + chunk] = fine_levels.reshape(len(rows), dim).astype(np.int8)
        fine_recon = fine_levels.astype(np.float32) * (scale * _FINE_STEP)[:, :, None]
        fine_residuals[start:start + chunk] = _error_norm(rows, fine_recon)
    return Codes(packed, scales, residuals, fine, fine_residuals)


def _error_norm(rows: npt.NDArray[np.float32], recon: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """||row - recon|| per row, in float64, rounded up to float32."""
    error = np.sqrt(((rows.astype(np.float64) - recon) ** 2).sum(axis=(1, 2)))
    return np.nextafter(error.astype(np.float32), np.float32(np.inf))


def fine_scores(codes: Codes, rows: npt.NDArray[np.intp], query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Scores of these rows from the fine code (the true cosine of row i is within fine_residuals[i] * |q| + slack),
    its reconstruction times the query in float32: per block level . query (one matrix product against the query
    laid out block-diagonally), times the block's step."""
    dim = codes.fine.shape[1]
    by_block = np.zeros((dim, dim // BLOCK), dtype=np.float32)
    by_block[np.arange(dim), np.arange(dim) // BLOCK] = query
    per_block = codes.fine[rows].astype(np.float32) @ by_block
    return np.einsum("mb,mb->m", per_block, codes.scales[rows]) * _FINE_STEP


def fine_dequantize(codes: Codes) -> npt.NDArray[np.float32]:
    """The (n, dim) float32 reconstruction from the fine code (for tests and checks)."""
    n, blocks = codes.scales.shape
    levels = codes.fine.astype(np.float32).reshape(n, blocks, BLOCK)
    return (levels * (codes.scales * _FINE_STEP)[:, :, None]).reshape(n, -1)


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


def scan_model(n: int, dim: int, accuracy_level: int = ACCURACY_LEVEL) -> bytes:
    """ONNX model: bounds (1, n) = MatMulNBits(query (1, dim), codes, scales, bias=residuals); codes, scales and
    residuals are external initializers the session is handed from memory (no copy into the model). The bias
    makes each output the approximate score plus its row's error norm, in the kernel's own output pass."""
    attributes = b"".join(_field(5, _field(1, name) + _field(3, value) + _field(20, 2))
                          for name, value in (("K", dim), ("N", n), ("bits", BITS), ("block_size", BLOCK),
                                              ("accuracy_level", accuracy_level)))
    inputs = ("query", "codes", "scales", "", "", "residuals")  # no zero points (8, implied), no g_idx
    node = (b"".join(_field(1, name) for name in inputs) + _field(2, "bounds")
            + _field(3, "scan") + _field(4, "MatMulNBits") + attributes + _field(7, "com.microsoft"))
    graph = (_field(1, node) + _field(2, "facestore_scan")
             + _field(5, _external_tensor("codes", _UINT8, (n, dim // BLOCK, BLOCK // 2)))
             + _field(5, _external_tensor("scales", _FLOAT, (n * (dim // BLOCK),)))
             + _field(5, _external_tensor("residuals", _FLOAT, (n,)))
             + _field(11, _value_info("query", _FLOAT, (1, dim)))
             + _field(12, _value_info("bounds", _FLOAT, (1, n))))
    opsets = _field(8, _field(1, "") + _field(2, 21)) + _field(8, _field(1, "com.microsoft") + _field(2, 1))
    return _field(1, 10) + _field(2, "facestore") + _field(7, graph) + opsets


class CompressedScan:
    """Approximate scores of every row from its 4-bit code, with per-row error bounds (see module docstring).

    The session holds onnxruntime's prepacked copy of the 4-bit codes; `codes` keeps the rest (scales, both
    error norms, the fine code) and an empty `packed`.

    With accuracy_level 4 the kernel rounds the query to int8 (per block of BLOCK dimensions, scale max|q_b| / 127,
    round to nearest) before its integer dot products. The scan hands it q^, the query already rounded that way:
    rounding q^ again changes nothing, so the kernel's score is q^ . v' (to float rounding), and |q.v' - q^.v'| <=
    ||q - q^|| ||v'|| <= ||q - q^|| max_i ||v'_i||: `query_margin(q)`, computed from the q^ built here. A
    self-check at construction holds the kernel to q^ . v' on some rows for queries whose rounding matters; should
    a kernel ever quantise otherwise, the scan falls back to accuracy_level 0 (float query, no margin)."""

    def __init__(self, codes: Codes, accuracy_level: int = ACCURACY_LEVEL, vector_norm_max: float | None = None,
                 ) -> None:
        """`vector_norm_max`: an upper bound on the rows' own norms (`norm_max(matrix)`, ~40 ms per 1M) when the
        caller has the fp32 rows; else max ||v'|| is computed from the codes (~0.25 s per 1M)."""
        n, blocks, _ = codes.packed.shape
        # an upper bound on every 4-bit reconstruction's norm: ||v'|| <= ||v|| + r, or computed from the codes
        self.code_norm_max = (_code_norm_max(codes.packed, codes.scales) if vector_norm_max is None
                              else (vector_norm_max + float(codes.residuals.max(initial=0.0))) * (1 + 1e-6))
        scales = np.ascontiguousarray(codes.scales)
        self._scales_flat = scales.reshape(-1)
        self._residuals = np.ascontiguousarray(codes.residuals, dtype=np.float32)
        self.accuracy_level = accuracy_level
        self._session = self._make_session(codes.packed, n, blocks * BLOCK, accuracy_level)
        if accuracy_level and not self._kernel_within_bound(codes):
            logger.warning("int8 scan kernel outside its error bound: float query used",
                           extra={"accuracy_level": accuracy_level})
            self.accuracy_level = 0
            self._session = self._make_session(codes.packed, n, blocks * BLOCK, 0)
        self.codes = Codes(np.zeros((0, blocks, BLOCK // 2), dtype=np.uint8), scales, self._residuals,
                           codes.fine, codes.fine_residuals)
        self.n = n

    def _make_session(self, packed: npt.NDArray[np.uint8], n: int, dim: int, accuracy_level: int) -> Any:
        import onnxruntime as ort  # the deps layer; imported only when a large collection is searched

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # MLAS prepacks the 4-bit codes into its own buffer when the session is created and never reads ours
        # again (tests/unit/store/test_scan.py overwrites them to show it), so they are dropped; the scales are
        # read at run time from our array, which stays alive with this object.
        codes = ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(packed))
        scales = ort.OrtValue.ortvalue_from_numpy(self._scales_flat)
        residuals = ort.OrtValue.ortvalue_from_numpy(self._residuals)
        options.add_external_initializers(["codes", "scales", "residuals"], [codes, scales, residuals])
        self._inputs = (scales, residuals)
        return ort.InferenceSession(scan_model(n, dim, accuracy_level), options, providers=["CPUExecutionProvider"])

    def _kernel_within_bound(self, codes: Codes, rows: int = 4096) -> bool:
        """The kernel's scores on the first rows against q^ . v', for queries whose int8 rounding matters."""
        recon = dequantize(Codes(codes.packed[:rows], codes.scales[:rows], codes.residuals[:rows],
                                 codes.fine[:rows], codes.fine_residuals[:rows])).astype(np.float64)
        dim = recon.shape[1]
        rng = np.random.default_rng(0)
        spiky: npt.NDArray[np.float64] = np.asarray(rng.standard_normal(dim) * 0.01)
        spiky[0] = 1.0  # one large component: the rest of its block is rounded coarsely
        for q in (spiky, rng.standard_normal(dim), recon[0] if len(recon) else spiky):
            q32 = np.asarray(q / max(float(np.linalg.norm(q)), 1e-30), dtype=np.float32)
            got = self.scores(q32)[:len(recon)].astype(np.float64)
            if np.any(np.abs(got - recon @ int8_query(q32).astype(np.float64)) > _SLACK):
                return False
        return True

    def __len__(self) -> int:
        return self.n

    @property
    def nbytes(self) -> int:
        """Resident bytes: onnxruntime's packed codes (and, for its int8 kernels, its copy of the scales and the
        block sums), its copy of the residuals (the bias), plus ours (scales, error norms, fine code)."""
        per_block = BLOCK // 2 + (8 if self.accuracy_level else 0)
        return self.n * (self.codes.scales.shape[1] * per_block + 4) + self.codes.nbytes

    def query_margin(self, query: npt.NDArray[np.float32]) -> float:
        """The bound on |q.v' - (the kernel's score)| from the kernel's int8 rounding of the query (0 without)."""
        return self.bounds(query)[1] if self.accuracy_level else 0.0

    def bounds(self, query: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], float]:
        """(upper, margin): upper[i] + margin + slack >= the true cosine of row i with a unit query (upper is the
        approximate score plus residuals[i]; scale the residuals by |q| for another norm). margin covers the int8
        query's rounding."""
        q = np.ascontiguousarray(query, dtype=np.float32)
        margin = 0.0
        if self.accuracy_level:
            rounded = int8_query(q)
            margin = float(np.linalg.norm(q.astype(np.float64) - rounded)) * self.code_norm_max * (1 + 1e-6)
            q = rounded
        out = self._session.run(["bounds"], {"query": q[None, :]})
        return np.asarray(out[0], dtype=np.float32).reshape(-1), margin

    def scores(self, query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(n,) approximate cosines (for checks); the true one of row i is within residuals[i] * |q| +
        query_margin(q) + slack."""
        return self.bounds(query)[0] - self._residuals


def int8_query(query: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The query as the int8 kernel sees it: per block of BLOCK dimensions, levels -127..127 of max|q_b| / 127
    (a fixed point of that rounding: rounding it again gives it back)."""
    blocks = np.asarray(query, dtype=np.float32).reshape(-1, BLOCK)
    scale = np.abs(blocks).max(axis=1) / np.float32(_QUERY_LEVELS)
    inverse = np.divide(np.float32(1), scale, out=np.zeros_like(scale), where=scale > 0)
    levels = np.clip(np.rint(blocks * inverse[:, None]), -_QUERY_LEVELS, _QUERY_LEVELS)
    return np.ascontiguousarray((levels * scale[:, None]).reshape(-1), dtype=np.float32)


def norm_max(matrix: npt.NDArray[np.float32]) -> float:
    """An upper bound on the norms of the rows of an (n, dim) float32 matrix (any layout): float32 sums of squares
    (relative error < dim * 2^-24), rounded up generously."""
    if not len(matrix):
        return 0.0
    squares = np.einsum("ij,ij->i", matrix, matrix)
    return float(np.sqrt(float(squares.max()) * (1 + 1e-4)))


_NIBBLE_SQUARES = np.array([((b & 15) - 8) ** 2 + ((b >> 4) - 8) ** 2 for b in range(256)], dtype=np.uint16)


def _code_norm_max(packed: npt.NDArray[np.uint8], scales: npt.NDArray[np.float32], chunk: int = 65_536) -> float:
    """max_i ||v'_i|| of the 4-bit reconstructions (float64, rounded up)."""
    top = 0.0
    for start in range(0, len(packed), chunk):
        per_block = _NIBBLE_SQUARES[packed[start:start + chunk]].sum(axis=2, dtype=np.uint32)
        squares = (per_block * scales[start:start + chunk].astype(np.float64) ** 2).sum(axis=1)
        top = max(top, float(squares.max(initial=0.0)))
    return float(np.sqrt(top)) * (1 + 1e-9)


def _pool(scores: npt.NDArray[np.float32], size: int) -> tuple[npt.NDArray[np.intp], float]:
    """(rows, cut): every row whose score is >= cut, about `size` of them (at least size // 4 when that many are
    live), found with one pass over the scores; the cut comes from the top of a strided sample of ~size scores."""
    step = scores.size // size
    if step >= 2:
        sample = scores[::step]
        rank = min(max(size // step, 4), sample.size - 1)
        for _ in range(3):
            cut = float(np.partition(sample, sample.size - 1 - rank)[sample.size - 1 - rank])
            if not np.isfinite(cut):
                break
            rows = np.flatnonzero(scores >= cut)
            if rows.size >= size // 4:
                return rows, cut
            rank = min(4 * rank, sample.size - 1)
    return np.flatnonzero(np.isfinite(scores)), -np.inf


RowReader = Callable[[npt.NDArray[np.intp]], npt.NDArray[np.float32]]


def exact_top(scan: CompressedScan, read_rows: RowReader, query: npt.NDArray[np.float32], k: int,
              min_cosine: float, dead: npt.NDArray[np.bool_] | None = None,
              first_guess: int = 64, stages: dict[str, float] | None = None,
              ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """The rows (indices, fp32 cosines) of the exact top-k with cosine >= min_cosine, best first.

    `read_rows(sorted indices)` returns those rows' fp32 vectors; it is called once, for the rows that can be in
    the answer after both codes' bounds (the answer's rows and the few the fine bound cannot decide). `stages`,
    if given, receives the seconds of each stage (scan, select, fine, read) and the counts of fine-scored and
    read rows (for the benchmark)."""
    clock = time.perf_counter
    started = clock()
    q = np.ascontiguousarray(query, dtype=np.float32)
    norm = float(np.linalg.norm(q.astype(np.float64)))  # the bounds scale with |q| (1 for an embedding)
    upper, extra = _upper_bounds(scan, q, norm, dead)
    scanned = clock()
    candidates, bound = _coarse_candidates(scan.codes, upper, extra, q, norm, k, float(min_cosine), first_guess)
    selected = clock()
    fine_rows = candidates.size
    candidates = _fine_candidates(scan.codes, candidates, q, norm, k, bound)
    refined = clock()
    exact = np.asarray(read_rows(candidates), dtype=np.float32) @ q if candidates.size else np.zeros(0, np.float32)
    if stages is not None:
        stages.update(scan=scanned - started, select=selected - scanned, fine=refined - selected,
                      read=clock() - refined, fine_rows=fine_rows, read_rows=candidates.size)
    return _best(candidates, exact, k, min_cosine)


def _upper_bounds(scan: CompressedScan, q: npt.NDArray[np.float32], norm: float,
                  dead: npt.NDArray[np.bool_] | None) -> tuple[npt.NDArray[np.float32], float]:
    """(upper, extra): upper[i] + extra bounds row i's true cosine (the 4-bit score plus its error bounds:
    residual, query rounding, float slack); dead rows get -inf."""
    upper, extra = scan.bounds(q)
    if norm > 1.0:  # the kernel added residuals * 1
        upper += scan.codes.residuals * np.float32(norm - 1.0)
    if dead is not None:
        upper[dead] = -np.inf
    return upper, extra + _SLACK


def _coarse_candidates(codes: Codes, upper: npt.NDArray[np.float32], extra: float, q: npt.NDArray[np.float32],
                       norm: float, k: int, bound: float, first_guess: int,
                       ) -> tuple[npt.NDArray[np.intp], float]:
    """(rows, bound): every row whose coarse upper bound reaches `bound`, lifted first by a guess at the k-th best.

    One pass over the bounds gives a pool: every row above a cut, a few thousand of them. The fine lower bounds of
    the pool's g best give a k-th best, which lifts the bound (any k rows whose true cosines are known to reach L
    prove that the answer's k-th does). Only rows with upper + extra >= bound can be in the answer: if
    bound - extra is above the pool's cut they are all in the pool, else one more pass finds them."""
    g = max(k, first_guess)
    pool, cut = _pool(upper, 64 * g)
    guess = pool if pool.size <= g else pool[np.argpartition(-upper[pool], g - 1)[:g]]
    if guess.size >= k:
        low = fine_scores(codes, guess, q) - codes.fine_residuals[guess] * norm - _SLACK
        bound = max(bound, float(np.partition(low, low.size - k)[low.size - k]))
    if bound - extra >= cut:
        return pool[upper[pool] >= bound - extra], bound
    return np.flatnonzero(upper >= bound - extra), bound


def _fine_candidates(codes: Codes, rows: npt.NDArray[np.intp], q: npt.NDArray[np.float32], norm: float, k: int,
                     bound: float) -> npt.NDArray[np.intp]:
    """The sorted `rows` whose fine upper bound reaches `bound`, lifted by the k-th best fine lower bound
    (nothing below it can be in the answer)."""
    fine = fine_scores(codes, rows, q)
    margin = codes.fine_residuals[rows] * norm + _SLACK
    if rows.size > k:
        low = fine - margin
        bound = max(bound, float(np.partition(low, low.size - k)[low.size - k]))
    return np.sort(rows[fine + margin >= bound])


def _best(rows: npt.NDArray[np.intp], exact: npt.NDArray[np.float32], k: int, min_cosine: float,
          ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """The top-k of `rows` by their exact cosines, those >= min_cosine only, best first."""
    keep = exact >= min_cosine
    rows, exact = rows[keep], exact[keep]
    if rows.size > k:
        top = np.argpartition(-exact, k - 1)[:k]
        rows, exact = rows[top], exact[top]
    order = np.argsort(-exact, kind="stable")
    return rows[order], exact[order]
