"""Build the models layer: verify the prepared files against manifest.json, copy them, record the check.

    python3 build_layer.py ARTIFACTS_DIR        # sam build (Makefile beside this file)

Writes ARTIFACTS_DIR/facesearch_models/ (Lambda: /opt/facesearch_models) with the manifest, the two
.onnx files and `build-verified.json`: the SHA-256 and size of each file as hashed here. A layer version
is immutable and Lambda mounts it read-only, so `faceengine.models` trusts that record instead of hashing
sface.onnx (39 MB) on every fresh container, but only where the directory is on a read-only file system;
anywhere writable (a checkout, the CLI) the files are hashed as before. Standard library only: sam build
runs this from a scratch copy of layers/models/. Exits 1 if a file is missing or does not match.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "facesearch_models"
RECORD = "build-verified.json"  # faceengine.models.BUILD_RECORD


def sha256_file(path: Path) -> str:
    """The file's SHA-256 (sam build runs this script from a copy of its folder: it cannot import the engine's)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def build(artifacts: Path, source: Path = SOURCE) -> dict[str, dict[str, object]]:
    """Copy and verify the layer's files into artifacts/facesearch_models; return the record written.
    Each copy is hashed after copying, so the record vouches for the bytes that ship."""
    manifest = json.loads((source / "manifest.json").read_text())
    target = artifacts / "facesearch_models"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "manifest.json", target / "manifest.json")
    record: dict[str, dict[str, object]] = {}
    for entry in manifest["models"]:
        name, expected = str(entry["file"]), str(entry["sha256"])
        if not (source / name).is_file():
            raise SystemExit(f"build_layer: {source / name} is missing; run `make setup`")
        shutil.copyfile(source / name, target / name)
        actual = sha256_file(target / name)
        if actual != expected:
            raise SystemExit(f"build_layer: {name}: SHA-256 {actual} does not match the manifest ({expected})")
        record[name] = {"sha256": actual, "size": (target / name).stat().st_size}
    (target / RECORD).write_text(json.dumps({"files": record}, indent=1, sort_keys=True) + "\n")
    return record


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: build_layer.py ARTIFACTS_DIR")
    build(Path(sys.argv[1]))
    print(f"build_layer: models verified into {sys.argv[1]}/facesearch_models")
