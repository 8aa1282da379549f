"""Optimised inference sessions kept on local disk for the next process on the same machine (no AWS).

onnxruntime optimises a model's graph every time a session is created (ORT_ENABLE_ALL: fusions and, on x86,
the NCHWc layout, whose block size depends on the CPU): most of a session's creation here (SFace ~18 of ~23 ms,
YuNet ~5 of ~9, one thread). `cached_session` saves the optimised graph the first time (onnxruntime's
optimized_model_filepath, its weights as external data beside it) and later processes load that graph with
optimisation off: the same nodes and weights, bit-identical outputs (tests/unit/engine/test_session_cache.py).

An entry is keyed by the SHA-256 of the model files the manifest pins (verified before any session is made;
SFace's weights are a file of their own),
onnxruntime's version, this CPU (model name and flags) and the caller's description of its session options; a
model or runtime upgrade makes a new entry and removes the model's older ones. Entries live in a private cache
directory and are trusted as the verification stamps are (models.private_cache_dir): only from a directory that
nobody else can write to. An entry onnxruntime cannot load is replaced.

Used by the command-line client (`facesearch detect` / `compare`: a fresh process per call, where start-up is a
third of the run); the Lambda functions do not use it (their first session would write the 38 MB of SFace's
weights to /tmp on the very cold start it is meant to shorten).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import onnxruntime as ort

logger = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
WEIGHTS_FILE = "model.data"  # the optimised graph's initializers (onnxruntime writes and reads it by this name)
_PROVIDERS = ["CPUExecutionProvider"]


def cpu_identity() -> str:
    """What the optimised graph may depend on: the first CPU's vendor, family, model and flags (Linux), else
    the machine type."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            first = handle.read().split("\n\n", 1)[0]
    except OSError:
        return os.uname().machine
    wanted = ("vendor_id", "cpu family", "model", "model name", "flags", "Features", "CPU implementer", "CPU part")
    return "\n".join(line for line in first.splitlines() if line.split(":", 1)[0].strip() in wanted)


def entry_key(digest: str, settings: str) -> str:
    """The cache entry of a model (its SHA-256) under these session settings, on this runtime and CPU."""
    return hashlib.sha256("\n".join((digest, ort.__version__, settings, cpu_identity())).encode()).hexdigest()[:40]


def cached_session(model: Path, digest: str, options: Callable[[], ort.SessionOptions], settings: str,
                   cache_dir: Path | None) -> ort.InferenceSession:
    """A session of `model` with `options()`, built from the optimised graph cached under `cache_dir` / model name
    when there is one, else optimised now and the result stored there. `digest`: the verified SHA-256 of every
    file the session may read (an ONNX graph and its external weights).
    `settings` names whatever in options() changes the optimised graph. Without a cache_dir: a plain session."""
    if cache_dir is None:
        return ort.InferenceSession(str(model), options(), providers=_PROVIDERS)
    folder = cache_dir / model.name
    entry = folder / entry_key(digest, settings)
    if (entry / MODEL_FILE).is_file():
        plain = options()
        plain.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(entry / MODEL_FILE), plain, providers=_PROVIDERS)
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors (InvalidProtobuf, Fail...) derive from it
            logger.warning("cached optimised model not loaded: optimising again",
                           extra={"model": model.name, "error": f"{type(exc).__name__}: {exc}"})
            _remove(entry)
    return _optimise_and_store(model, options, folder, entry)


def _optimise_and_store(model: Path, options: Callable[[], ort.SessionOptions], folder: Path,
                        entry: Path) -> ort.InferenceSession:
    import tempfile  # only when an entry is written (it imports shutil: a few ms of every start-up otherwise)

    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".new-", dir=folder))
    except OSError as exc:
        logger.debug("optimised model not cached", extra={"model": model.name, "error": str(exc)})
        return ort.InferenceSession(str(model), options(), providers=_PROVIDERS)
    saving = options()
    saving.optimized_model_filepath = str(staging / MODEL_FILE)
    saving.add_session_config_entry("session.optimized_model_external_initializers_file_name", WEIGHTS_FILE)
    saving.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes", "1024")
    try:
        session = ort.InferenceSession(str(model), saving, providers=_PROVIDERS)
    except BaseException:
        _remove(staging)
        raise
    try:
        for old in folder.iterdir():  # this model's entries for another version, runtime or CPU
            if old.name != entry.name and not old.name.startswith("."):
                _remove(old)
        os.rename(staging, entry)  # atomic: a reader sees a whole entry or none
    except OSError as exc:  # disk full, or another process stored the entry first
        logger.debug("optimised model not cached", extra={"model": model.name, "error": str(exc)})
        _remove(staging)
    return session


def _remove(directory: Path) -> None:
    import shutil

    shutil.rmtree(directory, ignore_errors=True)
