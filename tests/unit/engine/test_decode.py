"""Safe decoding: every bad input has its stable error code; every accepted mode becomes upright RGB."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from faceengine import IMAGE_ERROR_CODES, FaceEngine, ImageError
from faceengine.decode import decode_image, decode_reduced

from .conftest import encode, photo


def error_code(engine: FaceEngine, data: bytes, **kwargs: int) -> str:
    with pytest.raises(ImageError) as info:
        engine.detect(data, **kwargs)
    assert info.value.code in IMAGE_ERROR_CODES
    return info.value.code


def chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bomb(width: int, height: int) -> bytes:
    """A few hundred bytes of PNG declaring width x height pixels (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def face_rgb() -> Image.Image:
    return Image.open(io.BytesIO(photo("obama.jpg"))).convert("RGB").reduce(2)


def test_empty(engine: FaceEngine) -> None:
    assert error_code(engine, b"") == "EMPTY_IMAGE"


def test_truncated_jpeg(engine: FaceEngine) -> None:
    data = photo("obama.jpg")
    assert error_code(engine, data[: len(data) // 2]) == "TRUNCATED_IMAGE"


def test_truncated_png(engine: FaceEngine) -> None:
    data = photo("32bit.png")
    assert error_code(engine, data[: len(data) // 3]) == "TRUNCATED_IMAGE"


def test_not_an_image(engine: FaceEngine) -> None:
    assert error_code(engine, b"%!this is plain text, not a picture" * 10) == "NOT_AN_IMAGE"


@pytest.mark.parametrize("fmt", ["GIF", "TIFF", "BMP"])
def test_unsupported_formats(engine: FaceEngine, face_rgb: Image.Image, fmt: str) -> None:
    assert error_code(engine, encode(face_rgb, fmt)) == "UNSUPPORTED_FORMAT"


def test_too_many_bytes(engine: FaceEngine) -> None:
    assert error_code(engine, photo("obama.jpg"), max_bytes=1000) == "IMAGE_TOO_LARGE"


def test_pixel_bomb_is_refused_before_decompression(engine: FaceEngine) -> None:
    # Given tiny PNGs claiming 50 and 2500 megapixels / Then refused from the header alone
    assert len(png_bomb(10_000, 5_000)) < 1000
    assert error_code(engine, png_bomb(10_000, 5_000)) == "TOO_MANY_PIXELS"
    assert error_code(engine, png_bomb(50_000, 50_000)) == "TOO_MANY_PIXELS"


def test_too_small(engine: FaceEngine) -> None:
    assert error_code(engine, encode(Image.new("RGB", (79, 200)), "PNG")) == "IMAGE_TOO_SMALL"
    assert engine.detect(encode(Image.new("RGB", (80, 80)), "PNG")).faces == ()


def test_image_error_carries_code_and_message() -> None:
    error = ImageError("EMPTY_IMAGE", "the image is empty")
    assert (error.code, error.message) == ("EMPTY_IMAGE", "the image is empty")


def test_sixteen_bit_grayscale_png_is_scaled_not_clipped(engine: FaceEngine, face_rgb: Image.Image) -> None:
    # Given a 16-bit grayscale PNG of a face
    gray8 = np.asarray(face_rgb.convert("L"), dtype=np.uint16)
    data = encode(Image.fromarray(gray8 * 257), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    # When decoded / Then the 8-bit values come back and the face is found
    image = decode_image(data)
    np.testing.assert_array_equal(np.asarray(image)[..., 0], gray8.astype(np.uint8))
    assert len(engine.detect(data).faces) == 1


@pytest.mark.parametrize("mode", ["P", "L", "LA", "RGBA"])
def test_pillow_modes_decode_and_detect(engine: FaceEngine, face_rgb: Image.Image, mode: str) -> None:
    data = encode(face_rgb.convert(mode), "PNG")
    assert Image.open(io.BytesIO(data)).mode == mode
    assert decode_image(data).mode == "RGB"
    assert len(engine.detect(data).faces) == 1


def test_transparent_pixels_become_white() -> None:
    image = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    assert np.asarray(decode_image(encode(image, "PNG")))[50, 50].tolist() == [255, 255, 255]


def test_opaque_rgba_decodes_to_the_same_pixels_as_composited(face_rgb: Image.Image) -> None:
    # Given a fully opaque RGBA PNG, and the same image with one translucent pixel
    opaque = face_rgb.convert("RGBA")
    translucent = opaque.copy()
    translucent.putpixel((0, 0), (0, 0, 0, 128))
    # Then the opaque one decodes to its RGB pixels exactly, and the translucent one is still composited
    assert np.array_equal(np.asarray(decode_image(encode(opaque, "PNG"))), np.asarray(face_rgb))
    assert np.asarray(decode_image(encode(translucent, "PNG")))[0, 0].tolist() == [127, 127, 127]


def test_reduced_decode_keeps_the_long_side_and_reports_the_full_size(face_rgb: Image.Image) -> None:
    # Given a 2000x1000 JPEG, a 1000x2000 one (EXIF: rotate a quarter turn) and a PNG
    wide = face_rgb.resize((2000, 1000))
    exif = Image.Exif()
    exif[0x0112] = 6
    turned = encode(wide, "JPEG", exif=exif.tobytes())
    # When decoded reduced to a long side of 960
    image, full = decode_reduced(encode(wide, "JPEG"), long_side=960)
    # Then libjpeg's 1/2 scale keeps the long side >= 960, and the full size is the header's
    assert image.size == (1000, 500) and full == (2000, 1000) and image.mode == "RGB"
    image, full = decode_reduced(turned, long_side=960)
    assert image.size == (500, 1000) and full == (1000, 2000)  # upright, as decode_image gives it
    assert decode_image(turned).size == (1000, 2000)
    # And below twice the long side, or for a PNG, the whole image is decoded
    assert decode_reduced(encode(wide, "JPEG"), long_side=1001)[0].size == (2000, 1000)
    assert decode_reduced(encode(wide, "PNG"), long_side=960)[0].size == (2000, 1000)
    # And the checks still apply to the full-resolution image
    with pytest.raises(ImageError) as err:
        decode_reduced(encode(wide, "JPEG"), long_side=960, max_pixels=1_999_999)
    assert err.value.code == "TOO_MANY_PIXELS"


def test_palette_with_transparency(engine: FaceEngine) -> None:
    image = Image.new("P", (100, 100), 0)
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    image.paste(1, (0, 0, 50, 100))
    data = encode(image, "PNG", transparency=0)
    pixels = np.asarray(decode_image(data))
    assert pixels[10, 10].tolist() == [200, 100, 50] and pixels[10, 90].tolist() == [255, 255, 255]


def test_cmyk_jpeg(engine: FaceEngine, face_rgb: Image.Image) -> None:
    # Given a CMYK JPEG (as print workflows produce) / When decoded / Then colours survive, face found
    data = encode(face_rgb.convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    decoded = np.asarray(decode_image(data), dtype=np.float64)
    assert np.abs(decoded - np.asarray(face_rgb, dtype=np.float64)).mean() < 12
    assert len(engine.detect(data).faces) == 1


def test_grayscale_jpeg(engine: FaceEngine, face_rgb: Image.Image) -> None:
    assert len(engine.detect(encode(face_rgb.convert("L"), "JPEG")).faces) == 1


def test_webp_when_pillow_supports_it(engine: FaceEngine, face_rgb: Image.Image) -> None:
    from PIL import features

    if not features.check("webp"):
        pytest.skip("Pillow built without WebP")
    assert len(engine.detect(encode(face_rgb, "WEBP", quality=90)).faces) == 1
