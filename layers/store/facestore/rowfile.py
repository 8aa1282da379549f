"""RowFile: a large base segment's fp32 rows and result metadata in a local file, read with pread (no AWS).

Why: the exact engine keeps only compact codes in memory (scan.py); it needs fp32 rows for a handful of rows
a query (the answer's own rows and the few its fine code cannot decide) and metadata for the answer's rows.
Those live in one file on local disk (Lambda: /tmp), written when a collection is loaded from its snapshot (so
it exists only for the container: the S3 snapshot stays the source of truth, and a SnapStart snapshot, taken
after init, never holds it). The file is unlinked as soon as it is created (the open descriptor keeps it; it
disappears with the process or when the collection is evicted).

Resident memory stays true: no mmap; after writing, the file is fsynced and its pages dropped from the page
cache (posix_fadvise DONTNEED), and every read drops the pages it touched, so the file's share of the page
cache stays at a few pages. Nothing per face stays in memory.

Layout: rows (n x dim float32, row-major, so a row is one 512-byte read), then a fixed-size header per face
for results (box 4 x float32; for the image id, external image id and user id the file offset and length of
its UTF-8 bytes, length -1 = absent), then the metadata columns as they are in a snapshot (the headers point
into their blobs; compaction reads them back whole). A result's metadata is one header read plus one read
per present string.
"""

from __future__ import annotations

import logging
import os
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .model import FaceMeta
from .snapshots import BOX_KEYS, MetaColumns, StrColumn

logger = logging.getLogger(__name__)

_PAGE = 4096
_CHUNK = 65_536  # rows per write when the file is made
_HEADER_DTYPE = np.dtype([("box", "<f4", 4), ("offsets", "<i8", 3), ("lengths", "<i4", 3)])  # 52 bytes


@dataclass(frozen=True)
class _Section:
    offset: int
    dtype: str
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


def _headers(meta: MetaColumns, blob_offsets: tuple[int, int, int]) -> npt.NDArray[np.void]:
    """The per-face result headers (see module docstring), given where each column's blob sits in the file."""
    columns = (meta.image_ids, meta.external_image_ids, meta.user_ids)
    header = np.zeros(len(meta.boxes), dtype=_HEADER_DTYPE)
    header["box"] = meta.boxes
    for i, (column, base) in enumerate(zip(columns, blob_offsets, strict=True)):
        header["offsets"][:, i] = column.offsets[:-1] + base
        header["lengths"][:, i] = np.where(column.present, np.diff(column.offsets), -1)
    return header


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


class RowFile:
    """fp32 rows and result metadata of n faces in an unlinked local file (see module docstring)."""

    def __init__(self, fd: int, n: int, dim: int, sections: dict[str, _Section]) -> None:
        self._fd = fd
        self.n, self.dim = n, dim
        self._sections = sections
        self._closer = weakref.finalize(self, _close, fd)

    @classmethod
    def write(cls, matrix: npt.NDArray[np.float32], meta: MetaColumns, directory: str | None = None) -> RowFile:
        """Write the rows (any layout) and metadata; raises OSError (disk full, no such directory)."""
        n, dim = matrix.shape
        fd, path = tempfile.mkstemp(prefix="facestore-rows-", suffix=".bin", dir=directory)
        os.unlink(path)
        try:
            position = 0

            def put(data: bytes | memoryview) -> int:
                nonlocal position
                at = position
                view = memoryview(data).cast("B")
                while view:
                    written = os.pwrite(fd, view, position)
                    position += written
                    view = view[written:]
                return at

            for start in range(0, n, _CHUNK):
                put(np.ascontiguousarray(matrix[start:start + _CHUNK], dtype="<f4").data)
            sections: dict[str, _Section] = {}
            for name, column in (("image", meta.image_ids), ("external", meta.external_image_ids),
                                 ("user", meta.user_ids)):
                for part, array in (("blob", column.blob), ("offsets", column.offsets.astype("<i8")),
                                    ("present", column.present)):
                    contiguous = np.ascontiguousarray(array)
                    sections[f"{name}.{part}"] = _Section(put(contiguous.data), contiguous.dtype.str,
                                                          contiguous.shape)
            boxes = np.ascontiguousarray(meta.boxes, dtype="<f4")
            sections["boxes"] = _Section(put(boxes.data), boxes.dtype.str, boxes.shape)
            headers = _headers(meta, tuple(sections[f"{name}.blob"].offset  # type: ignore[arg-type]
                                           for name in ("image", "external", "user")))
            sections["headers"] = _Section(put(headers.data), "V52", headers.shape)
            os.fsync(fd)
            _drop_cache(fd, 0, 0)
        except BaseException:
            _close(fd)
            raise
        return cls(fd, n, dim, sections)

    @property
    def nbytes(self) -> int:
        """Bytes this object keeps in memory per face: none."""
        return 0

    def close(self) -> None:
        self._closer()

    def _read(self, offset: int, size: int) -> bytes:
        data = os.pread(self._fd, size, offset)
        if len(data) != size:
            raise OSError(f"short read from the local row file ({len(data)} of {size} bytes at {offset})")
        return data

    def rows(self, indices: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
        """The fp32 rows at these indices (any order), one pread each; their pages leave the page cache."""
        size = self.dim * 4
        out = np.empty((len(indices), self.dim), dtype=np.float32)
        rows = indices.tolist()
        _will_need(self._fd, [(row * size, size) for row in rows])  # start every read at once: the disk overlaps them
        for i, row in enumerate(rows):
            out[i] = np.frombuffer(self._read(row * size, size), dtype="<f4")
            _drop_cache(self._fd, row * size, size)
        return out

    def meta(self, row: int, face_id: str) -> FaceMeta:
        """The search-result metadata of one face (one header read, one read per present string)."""
        return self.metas([row], [face_id])[0]

    def metas(self, rows: Sequence[int], face_ids: Sequence[str]) -> list[FaceMeta]:
        """The search-result metadata of these faces (an answer's), in order. The header reads are started
        at once, then the string reads (WILLNEED), so the disk overlaps them: two waits, not one per read;
        their pages leave the page cache."""
        at = [self._sections["headers"].offset + row * _HEADER_DTYPE.itemsize for row in rows]
        _will_need(self._fd, [(offset, _HEADER_DTYPE.itemsize) for offset in at])
        headers = []
        for offset in at:
            headers.append(np.frombuffer(self._read(offset, _HEADER_DTYPE.itemsize), dtype=_HEADER_DTYPE)[0])
            _drop_cache(self._fd, offset, _HEADER_DTYPE.itemsize)
        spans = [list(zip(h["offsets"].tolist(), h["lengths"].tolist(), strict=True)) for h in headers]
        _will_need(self._fd, [(offset, length) for span in spans for offset, length in span if length > 0])
        out: list[FaceMeta] = []
        for face_id, header, span in zip(face_ids, headers, spans, strict=True):
            values: list[str | None] = []
            for offset, length in span:
                if length < 0:
                    values.append(None)
                    continue
                values.append(self._read(offset, length).decode() if length else "")
                _drop_cache(self._fd, offset, length)
            out.append(FaceMeta(face_id, values[0] or "", values[1],
                                {k: round(float(v), 4)
                                 for k, v in zip(BOX_KEYS, header["box"].tolist(), strict=True)}, values[2]))
        return out

    def _section(self, name: str) -> npt.NDArray[np.generic]:
        section = self._sections[name]
        data = self._read(section.offset, section.nbytes) if section.nbytes else b""
        _drop_cache(self._fd, section.offset, section.nbytes)
        return np.frombuffer(data, dtype=section.dtype).reshape(section.shape)

    def matrix(self) -> npt.NDArray[np.float32]:
        """All rows, (n, dim) float32 (for compaction: a full sequential read)."""
        out = np.empty((self.n, self.dim), dtype=np.float32)
        size = self.dim * 4
        for start in range(0, self.n, _CHUNK):
            stop = min(self.n, start + _CHUNK)
            out[start:stop] = np.frombuffer(self._read(start * size, (stop - start) * size),
                                            dtype="<f4").reshape(-1, self.dim)
        _drop_cache(self._fd, 0, self.n * size)
        return out

    def meta_columns(self) -> MetaColumns:
        """All metadata columns (for compaction)."""
        def column(name: str) -> StrColumn:
            return StrColumn(self._section(f"{name}.blob"), self._section(f"{name}.offsets"),  # type: ignore[arg-type]
                             self._section(f"{name}.present"))  # type: ignore[arg-type]

        return MetaColumns(column("image"), column("external"), column("user"),
                           self._section("boxes"))  # type: ignore[arg-type]

    def cached_bytes(self) -> int:
        """Bytes of this file in the page cache now (mincore over a private mapping; for benchmarks)."""
        return cached_bytes(self._fd)


def _will_need(fd: int, spans: Sequence[tuple[int, int]]) -> None:
    """Start reading these (offset, size) spans into the page cache at once (more than one: the disk overlaps them)."""
    if len(spans) > 1 and hasattr(os, "posix_fadvise"):
        for offset, size in spans:
            os.posix_fadvise(fd, offset, size, os.POSIX_FADV_WILLNEED)


def _drop_cache(fd: int, offset: int, size: int) -> None:
    """Drop the whole pages covering [offset, offset + size) (all of the file if size is 0) from the page cache."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:  # not Linux: nothing to drop
        return
    start = offset // _PAGE * _PAGE
    length = 0 if size == 0 and offset == 0 else -(-(offset + size) // _PAGE) * _PAGE - start
    advise(fd, start, length, os.POSIX_FADV_DONTNEED)


def cached_bytes(fd: int) -> int:
    """Bytes of an open file resident in the page cache (Linux mincore; 0 where unavailable)."""
    import ctypes
    import ctypes.util
    import mmap

    size = os.fstat(fd).st_size
    if not size or not hasattr(os, "posix_fadvise"):
        return 0
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    mapping = mmap.mmap(fd, size, access=mmap.ACCESS_COPY)  # private and never touched: maps, reads nothing
    try:
        pages = -(-size // mmap.PAGESIZE)
        vec = (ctypes.c_ubyte * pages)()
        start = ctypes.c_char.from_buffer(mapping)
        failed = libc.mincore(ctypes.c_void_p(ctypes.addressof(start)), ctypes.c_size_t(size), vec)
        del start
        return 0 if failed else int(np.frombuffer(vec, dtype=np.uint8).__and__(1).sum()) * mmap.PAGESIZE
    finally:
        mapping.close()
