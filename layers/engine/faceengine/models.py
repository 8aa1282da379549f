"""Locate the prepared models and check them against the committed manifest (no downloads)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError

logger = logging.getLogger(__name__)

ENV_MODEL_DIR = "FACESEARCH_MODEL_DIR"
LAMBDA_MODEL_DIR = Path("/opt/facesearch_models")
REPO_MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "facesearch_models"
DETECTOR_FILE = "yunet.onnx"
EMBEDDER_FILE = "sface.onnx"
MODEL_VERSION = "yunet-2023mar+sface-2021dec/fp32-v1"


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
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def locate_models(model_dir: str | Path | None = None, *, verify: bool = True) -> ModelFiles:
    """Find the prepared files and (by default) verify their SHA-256 against manifest.json."""
    directory = resolve_model_dir(model_dir)
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
        entries = {m["file"]: m for m in manifest["models"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"cannot read {manifest_path}: {exc}; run `make setup`") from exc
    for name in (DETECTOR_FILE, EMBEDDER_FILE):
        path = directory / name
        if name not in entries:
            raise ModelError(f"{manifest_path} does not list {name}")
        if not path.is_file():
            raise ModelError(f"{path} is missing; run `make setup` (scripts/prepare_models.py)")
        if verify:
            actual = sha256_file(path)
            if actual != entries[name]["sha256"]:
                raise ModelError(f"{path}: SHA-256 {actual} does not match the manifest")
    logger.debug("models located", extra={"model_dir": str(directory)})
    return ModelFiles(directory, directory / DETECTOR_FILE, directory / EMBEDDER_FILE, manifest)
