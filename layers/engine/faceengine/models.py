"""Locate the prepared models and check them against the committed manifest (no downloads).

A file's SHA-256 is computed once per file identity, not on every load (hashing sface.data costs tens of ms of
every CLI call and cold start): a verified file leaves a stamp (its path, device, inode, size, mtime_ns and
ctime_ns, and the digest the manifest wants) in a private cache directory, and a later load whose file has the
same identity and whose manifest wants the same digest trusts it. Any write to the file changes its ctime,
which no caller can set back, so an altered file is hashed again and refused. In one process the answer is
also remembered in memory.

In Lambda the files come from the models layer, verified when it was built (layers/models/build_layer.py
records each file's SHA-256 and size in `build-verified.json`). A layer version is immutable and mounted
read-only under /opt, so where the model directory is on a read-only file system and that record names the
digest the manifest wants (and the file's size), the record is trusted and nothing is hashed: a fresh
container has no stamps yet and would otherwise hash sface.data (38.6 MB) on its first load. Anywhere the files are
writable the record is ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError

logger = logging.getLogger(__name__)

ENV_MODEL_DIR = "FACESEARCH_MODEL_DIR"
ENV_CACHE_DIR = "FACESEARCH_CACHE_DIR"
LAMBDA_MODEL_DIR = Path("/opt/facesearch_models")
REPO_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "facesearch_models"
DETECTOR_FILE = "yunet.onnx"
EMBEDDER_FILE = "sface.onnx"
EMBEDDER_WEIGHTS = "sface.data"  # sface.onnx's initializers as ONNX external data (scripts/prepare_models.py)
MODEL_VERSION = "yunet-2023mar+sface-2021dec/fp32-v1"
BUILD_RECORD = "build-verified.json"  # written by layers/models/build_layer.py


@dataclass(frozen=True)
class ModelFiles:
    directory: Path
    detector: Path
    embedder: Path
    manifest: dict[str, object]


def resolve_model_dir(model_dir: str | Path | None = None) -> Path:
    """Explicit argument, else $FACESEARCH_MODEL_DIR, else /opt/facesearch_models, else the repo copy."""
    if model_dir is not None:
        return Path(model_dir)
    env = os.environ.get(ENV_MODEL_DIR)
    if env:
        return Path(env)
    if LAMBDA_MODEL_DIR.is_dir():
        return LAMBDA_MODEL_DIR
    return REPO_MODEL_DIR


def sha256_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _identity(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}|{st.st_dev}|{st.st_ino}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}"


def stamp_dir() -> Path | None:
    """Where verification stamps live (see private_cache_dir); None if nowhere (then every load hashes)."""
    return private_cache_dir("verified")


def private_cache_dir(name: str) -> Path | None:
    """The cache directory `name` under $FACESEARCH_CACHE_DIR, else ~/.cache/facesearch, else a private
    directory under the temp directory (Lambda: /tmp), created if need be; only one this user owns and nobody
    else can write to; None if there is none."""
    env = os.environ.get(ENV_CACHE_DIR)
    candidates = [Path(env)] if env else []
    home = os.environ.get("HOME")
    if home:
        candidates.append(Path(home) / ".cache" / "facesearch")
    candidates.append(Path(tempfile.gettempdir()) / f"facesearch-{os.getuid()}")
    for base in candidates:
        directory = base / name
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = directory.stat()
        except OSError:
            continue
        # a stamp is trusted only from a directory nobody else can write to
        if info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return directory
    return None


_VERIFIED: set[str] = set()  # identities|digest verified in this process


def _stamp_path(directory: Path, identity: str, digest: str) -> Path:
    return directory / hashlib.sha256(f"{identity}|{digest}".encode()).hexdigest()


def read_only(directory: Path) -> bool:
    """Whether `directory` is on a read-only file system (Lambda's /opt, where layers are mounted)."""
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def build_record(directory: Path) -> dict[str, object]:
    """The build's verification record of a read-only model directory ({} if writable, absent or unreadable)."""
    if not read_only(directory):
        return {}
    try:
        files = json.loads((directory / BUILD_RECORD).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return files if isinstance(files, dict) else {}


def verify_file(path: Path, expected: str, *, built: object = None) -> None:
    """Raise ModelError unless the file's SHA-256 is `expected`; hashes only a file identity not seen verified.
    `built`: the build record's entry for the file (`build_record`), trusted if it names `expected` and the
    file's size."""
    identity = _identity(path)
    key = f"{identity}|{expected}"
    if key in _VERIFIED:
        return
    if built == {"sha256": expected, "size": path.stat().st_size}:
        _VERIFIED.add(key)
        return
    directory = stamp_dir()
    stamp = _stamp_path(directory, identity, expected) if directory else None
    if stamp is not None and stamp.is_file():
        _VERIFIED.add(key)
        return
    actual = sha256_file(path)
    if actual != expected:
        raise ModelError(f"{path}: SHA-256 {actual} does not match the manifest; run `make setup`")
    if _identity(path) != identity:  # changed while hashing: do not vouch for what was not hashed
        raise ModelError(f"{path} changed while it was being verified; retry")
    _VERIFIED.add(key)
    if stamp is not None:
        try:
            stamp.write_text(key + "\n")
        except OSError as exc:
            logger.debug("verification stamp not written", extra={"path": str(stamp), "error": str(exc)})


def locate_models(model_dir: str | Path | None = None, *, verify: bool = True) -> ModelFiles:
    """Find the prepared files and (by default) verify the SHA-256 of every file manifest.json lists (the
    models and SFace's external weights, which onnxruntime reads from beside sface.onnx)."""
    directory = resolve_model_dir(model_dir)
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        entries = {m["file"]: m for m in manifest["models"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read {manifest_path}: {exc}; run `make setup`") from exc
    for name in (DETECTOR_FILE, EMBEDDER_FILE, EMBEDDER_WEIGHTS):
        if name not in entries:
            raise ModelError(f"{manifest_path} does not list {name}")
    built = build_record(directory) if verify else {}
    for name, entry in entries.items():  # the models and their weights files (sface.data)
        path = directory / name
        if Path(name).name != name or name in ("", ".", ".."):
            raise ModelError(f"{manifest_path} lists {name!r}, which is not a file name")
        if not path.is_file():
            raise ModelError(f"{path} is missing; run `make setup` (scripts/prepare_models.py)")
        if verify:
            verify_file(path, str(entry["sha256"]), built=built.get(name))
    logger.debug("models located", extra={"model_dir": str(directory)})
    return ModelFiles(directory, directory / DETECTOR_FILE, directory / EMBEDDER_FILE, manifest)
