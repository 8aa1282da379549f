"""Safe image decoding: bytes -> RGB Pillow image, EXIF-oriented, with size and pixel caps.

Accepted: JPEG (incl. CMYK, grayscale), PNG (8/16-bit, palette, alpha, grayscale), WebP when Pillow
has it. The format is sniffed from magic bytes before any decoder runs, and only that decoder is
allowed; the pixel count is checked from the header before decompression (decompression bombs).
Transparent images are composited over white.

`decode_reduced` decodes a large JPEG at a reduced scale (libjpeg's DCT scaling through Pillow's draft(),
1/2, 1/4 or 1/8): several times cheaper than decoding every pixel and then downscaling for the detector.
"""

from __future__ import annotations

import io
import logging
import math
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError, features

from .errors import ImageError

logger = logging.getLogger(__name__)

MAX_BYTES = 15 * 1024 * 1024  # Rekognition's limit for images read from S3
MAX_PIXELS = 40_000_000  # about 7700 x 5200
MIN_SIDE = 80  # Rekognition's minimum image height and width
ORIENTATION_TAG = 0x0112

_SUPPORTED = ("JPEG", "PNG", "WEBP")
_UNSUPPORTED_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"GIF87a", 0, "GIF"), (b"GIF89a", 0, "GIF"), (b"II*\x00", 0, "TIFF"), (b"MM\x00*", 0, "TIFF"),
    (b"BM", 0, "BMP"), (b"\x00\x00\x01\x00", 0, "ICO"), (b"8BPS", 0, "PSD"), (b"ftypheic", 4, "HEIC"),
    (b"ftypheix", 4, "HEIC"), (b"ftypmif1", 4, "HEIF"), (b"ftypavif", 4, "AVIF"),
    (b"\x00\x00\x00\x0cjP  ", 0, "JPEG2000"), (b"\xff\x4f\xff\x51", 0, "JPEG2000"), (b"%PDF", 0, "PDF"),
    (b"\x76\x2f\x31\x01", 0, "OpenEXR"), (b"#?RADIANCE", 0, "HDR"), (b"qoif", 0, "QOI"),
)


def sniff_format(data: bytes) -> str:
    """Name the format from magic bytes; raise ImageError for unknown or unsupported ones."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        if not features.check("webp"):
            raise ImageError("UNSUPPORTED_FORMAT", "WebP is not supported by this build")
        return "WEBP"
    for magic, offset, name in _UNSUPPORTED_MAGIC:
        if data[offset:offset + len(magic)] == magic:
            raise ImageError("UNSUPPORTED_FORMAT", f"{name} images are not supported; use JPEG or PNG")
    raise ImageError("NOT_AN_IMAGE", "the bytes are not a JPEG, PNG or WebP image")


def decode_image(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS,
                 min_side: int = MIN_SIDE) -> Image.Image:
    """Decode untrusted bytes into an upright RGB image or raise ImageError with a stable code."""
    return decode_reduced(data, max_bytes=max_bytes, max_pixels=max_pixels, min_side=min_side)[0]


def decode_reduced(data: bytes, *, long_side: int | None = None, max_bytes: int = MAX_BYTES,
                   max_pixels: int = MAX_PIXELS, min_side: int = MIN_SIDE) -> tuple[Image.Image, tuple[int, int]]:
    """(upright RGB image, the upright full-resolution size). With `long_side`, a JPEG whose longer side is at
    least twice that is decoded at the smallest DCT scale that keeps its longer side >= `long_side`; other
    images are decoded whole. The checks (bytes, pixels, sides) apply to the full-resolution image."""
    if not data:
        raise ImageError("EMPTY_IMAGE", "the image is empty")
    if len(data) > max_bytes:
        raise ImageError("IMAGE_TOO_LARGE", f"the image has {len(data)} bytes; the limit is {max_bytes}")
    fmt = sniff_format(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[fmt])
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("TRUNCATED_IMAGE", f"the {fmt} header is truncated or corrupt ({exc})") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("TOO_MANY_PIXELS", str(exc)) from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError("TOO_MANY_PIXELS", f"{width}x{height} exceeds {max_pixels} pixels")
    if min(width, height) < min_side:
        raise ImageError("IMAGE_TOO_SMALL", f"{width}x{height} is under {min_side} pixels a side")
    reduced = False
    if long_side is not None and fmt == "JPEG" and max(width, height) >= 2 * long_side:
        reduced, ratio = True, long_side / max(width, height)
        image.draft(None, (math.ceil(width * ratio), math.ceil(height * ratio)))  # libjpeg keeps >= this size
    try:
        image.load()
        # a decode at full scale is its own full size once upright; a reduced one turns as its EXIF says
        quarter_turn = reduced and image.getexif().get(ORIENTATION_TAG, 1) in (5, 6, 7, 8)
        ImageOps.exif_transpose(image, in_place=True)  # in place: no copy of an upright photo
        full = image.size if not reduced else (height, width) if quarter_turn else (width, height)
        return to_rgb(image), full
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError("TRUNCATED_IMAGE", f"the {fmt} data is truncated or corrupt ({exc})") from exc


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB (16-bit scaled, not clipped; alpha over white)."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if mode != "F" and values.max(initial=0) > 255:
            values = values / 257.0
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255):
        return image.convert("RGB")  # opaque: the same pixels as composited over white, without the composite
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("LA", "La", "PA", "RGBa", "RGBA"):
        image = image.convert("RGBA")
    elif mode == "1":
        image = image.convert("L")
    if image.mode == "RGBA":
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")
