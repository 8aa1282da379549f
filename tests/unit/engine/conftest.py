"""Engine test fixtures: one FaceEngine per session and the fetched test photos."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from faceengine import FaceEngine

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"


def photo(name: str) -> bytes:
    """Bytes of a test photo fetched by scripts/fetch_assets.py (`make setup`)."""
    path = PHOTOS / name
    if not path.exists():
        pytest.fail(f"{path} missing: run `make setup` (scripts/fetch_assets.py)")
    return path.read_bytes()


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def engine() -> FaceEngine:
    return FaceEngine.load(threads=1)


@pytest.fixture(scope="session")
def obama_image() -> Image.Image:
    return Image.open(io.BytesIO(photo("obama.jpg"))).convert("RGB")


@pytest.fixture
def photo_bytes() -> Callable[[str], bytes]:
    return photo
