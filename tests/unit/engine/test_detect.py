"""Detection: t1.jpg's six people, sane landmarks, EXIF orientation, batch embedding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from faceengine import LANDMARK_TYPES, DetectedFace, FaceEngine

from .conftest import encode, photo


def assert_sane(face: DetectedFace) -> None:
    pts = {lm.type: (lm.x, lm.y) for lm in face.landmarks}
    assert tuple(pts) == LANDMARK_TYPES
    b = face.box
    margin = 0.1 * max(b.width, b.height)
    for x, y in pts.values():  # inside the (slightly widened) box
        assert b.left - margin <= x <= b.left + b.width + margin
        assert b.top - margin <= y <= b.top + b.height + margin
    assert pts["eyeLeft"][0] < pts["eyeRight"][0]
    assert pts["mouthLeft"][0] < pts["mouthRight"][0]
    eyes_y = (pts["eyeLeft"][1] + pts["eyeRight"][1]) / 2
    mouth_y = (pts["mouthLeft"][1] + pts["mouthRight"][1]) / 2
    assert eyes_y < pts["nose"][1] < mouth_y


def test_t1_gives_six_faces_with_sane_landmarks(engine: FaceEngine) -> None:
    # Given insightface's 1280x886 photo of six people / When detected
    detection = engine.detect(photo("t1.jpg"))
    # Then six faces, largest first, each with confidence and sane landmarks
    assert (detection.width, detection.height) == (1280, 886)
    assert len(detection.faces) == 6
    areas = [f.box.area for f in detection.faces]
    assert areas == sorted(areas, reverse=True)
    for face in detection.faces:
        assert face.confidence > 80
        assert_sane(face)


def test_each_portrait_gives_one_face(engine: FaceEngine) -> None:
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "32bit.png", "Tom_Hanks_54745.png"):
        faces = engine.detect(photo(name)).faces
        assert len(faces) == 1, name
        assert_sane(faces[0])


def test_exif_rotation_gives_the_same_box_as_upright(engine: FaceEngine, obama_image: Image.Image) -> None:
    # Given obama.jpg stored rotated with an EXIF Orientation tag that undoes the rotation (6 = rotate 90 CW)
    upright = engine.detect(encode(obama_image, "PNG")).faces[0].box
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = encode(obama_image.transpose(Image.Transpose.ROTATE_90), "PNG", exif=exif)
    # When detected
    detection = engine.detect(stored)
    # Then the engine sees the upright image and the same box
    assert (detection.width, detection.height) == obama_image.size
    box = detection.faces[0].box
    for got, want in zip((box.left, box.top, box.width, box.height),
                         (upright.left, upright.top, upright.width, upright.height), strict=True):
        assert got == pytest.approx(want, abs=3.0)


def test_image_without_faces_gives_empty_results(engine: FaceEngine) -> None:
    blank = encode(Image.new("RGB", (300, 200), (120, 140, 160)), "PNG")
    assert engine.detect(blank).faces == ()
    analysis = engine.analyze(blank)
    assert analysis.faces == () and analysis.unindexed == ()


def test_embed_faces_matches_analyze_and_batches(engine: FaceEngine) -> None:
    # Given t1.jpg analysed / When its detected faces are embedded again in one batch
    data = photo("t1.jpg")
    analysis = engine.analyze(data)
    image = engine.decode(data)
    vectors = engine.embed_faces(image, [f.face for f in analysis.faces])
    # Then the same unit vectors come back, in order
    assert vectors.shape == (6, 128) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, np.stack([f.embedding for f in analysis.faces]), atol=1e-5)
    assert engine.embed_faces(image, []).shape == (0, 128)


def test_decode_returns_upright_rgb(engine: FaceEngine) -> None:
    image = engine.decode(photo("32bit.png"))
    assert image.mode == "RGB" and image.size == Image.open(io.BytesIO(photo("32bit.png"))).size
    assert engine.model_version


@pytest.mark.parametrize("name", ["obama2.jpg", "biden.jpg", "t1.jpg"])
def test_search_resolution_finds_the_same_largest_face(engine: FaceEngine, name: str) -> None:
    # Given a photo analysed at the default detector size and at the smaller search size
    from faceengine import SEARCH_MAX_SIDE

    full = engine.analyze(photo(name), max_faces=1)
    fast = engine.analyze(photo(name), max_faces=1, detect_max_side=SEARCH_MAX_SIDE)
    # Then the largest face is the same face: same place, nearly the same embedding
    a, b = full.faces[0], fast.faces[0]
    assert abs(a.face.box.left - b.face.box.left) < 0.05 * a.face.box.width
    assert abs(a.face.box.top - b.face.box.top) < 0.05 * a.face.box.height
    assert float(a.embedding @ b.embedding) > 0.95


@pytest.mark.parametrize(("size", "factor"), [
    ((626, 1200), 2),  # 600 px: within [576, 640]
    ((1434, 2333), 4),  # 584 px
    ((910, 1137), 1),  # halving gives 569 px, under 576: resized to exactly 640
    ((1280, 886), 2),  # 640 px exactly
    ((600, 400), 1),  # already fits: never upscaled, never reduced
    ((3000, 2000), 5),  # 600 px
    ((1700, 1000), 1),  # a third is 567 px, half is 850: resized to exactly 640
])
def test_reduce_factor_keeps_the_longer_side_between_min_and_max(size: tuple[int, int], factor: int) -> None:
    from faceengine.yunet import reduce_factor

    # Given an image size and the search's input range / When the box-reduce factor is chosen
    chosen = reduce_factor(*size, 640, 576)
    # Then it is the expected one, and a reduce by it lands in the range (or there is none)
    assert chosen == factor
    if chosen > 1:
        assert 576 <= -(-max(size) // chosen) <= 640
    assert reduce_factor(*size, 640, None) == 1  # without a minimum: the exact resize, as before


@pytest.mark.parametrize("name", ["obama2.jpg", "obama3.jpg", "t1.jpg"])
def test_search_detection_by_box_reduce_finds_the_same_face(engine: FaceEngine, name: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a photo searched with the exact 640 px resize and with the cheaper reduce (576-640 px)
    from faceengine import SEARCH_MAX_SIDE, SEARCH_MIN_SIDE

    exact = engine.analyze(photo(name), max_faces=1, detect_max_side=SEARCH_MAX_SIDE)
    sizes = count_passes(engine, monkeypatch)
    fast = engine.analyze(photo(name), max_faces=1, detect_max_side=SEARCH_MAX_SIDE, detect_min_side=SEARCH_MIN_SIDE)
    # Then one pass at no more than 640 px finds the same face, in full-resolution pixels, nearly the same embedding
    assert len(sizes) == 1 and sizes[0] <= SEARCH_MAX_SIDE
    a, b = exact.faces[0], fast.faces[0]
    assert (fast.width, fast.height) == (exact.width, exact.height)
    assert abs(a.face.box.left - b.face.box.left) < 0.05 * a.face.box.width
    assert abs(a.face.box.top - b.face.box.top) < 0.05 * a.face.box.height
    for la, lb in zip(a.face.landmarks, b.face.landmarks, strict=True):
        assert abs(la.x - lb.x) < 0.05 * a.face.box.width and abs(la.y - lb.y) < 0.05 * a.face.box.height
    assert float(a.embedding @ b.embedding) > 0.95


def count_passes(engine: FaceEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the input width of every detector pass."""
    sizes: list[int] = []
    run = engine.detector.run

    def recording(blob: np.ndarray) -> dict[str, np.ndarray]:
        sizes.append(int(blob.shape[3]))
        return run(blob)

    monkeypatch.setattr(engine.detector, "run", recording)
    return sizes


def test_adaptive_detection_stops_at_640_when_faces_are_large(engine: FaceEngine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a 1137x910 portrait (face ~235 px) / When detected without a fixed size
    sizes = count_passes(engine, monkeypatch)
    faces = engine.detect(photo("obama.jpg")).faces
    # Then one pass at 640 px finds it, and landmarks are in the original image's pixels
    assert len(faces) == 1 and len(sizes) == 1 and sizes[0] <= 640
    assert faces[0].box.width > 200


def t1_tiled_4x4() -> Image.Image:
    """t1.jpg (1280x886) tiled 4x4 into a frame of its own size: 96 faces of ~25 px."""
    t1 = Image.open(io.BytesIO(photo("t1.jpg"))).convert("RGB")
    tile = t1.resize((t1.width // 4, t1.height // 4), Image.Resampling.LANCZOS)
    frame = Image.new("RGB", t1.size)
    for row in range(4):
        for col in range(4):
            frame.paste(tile, (col * tile.width, row * tile.height))
    return frame


def test_adaptive_detection_redetects_larger_when_faces_are_tiny(engine: FaceEngine,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Given t1.jpg tiled 4x4 into its own frame: 96 faces of ~25 px
    data = encode(t1_tiled_4x4(), "PNG")
    sizes = count_passes(engine, monkeypatch)
    # When detected without a fixed size
    adaptive = engine.detect(data).faces
    # Then a second pass at 960 px runs and finds what a fixed 960 pass finds
    assert sizes == [640, 960]
    fixed = engine.detector.detect(engine.decode(data), 960)
    assert len(adaptive) == len(fixed) >= 90


def test_image_without_faces_is_looked_at_twice(engine: FaceEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    blank = encode(Image.new("RGB", (1600, 1200), (120, 140, 160)), "PNG")
    sizes = count_passes(engine, monkeypatch)
    assert engine.detect(blank).faces == ()
    assert sizes == [640, 960]


def test_compare_first_pass_takes_the_box_reduce_and_redetects_exactly(engine: FaceEngine,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Given t1.jpg (1280 px) tiled 4x4 into its own frame: 96 faces of ~25 px
    from faceengine.yunet import FIRST_MIN_SIDE

    frame = t1_tiled_4x4()
    sizes = count_passes(engine, monkeypatch)
    # When detected adaptively with compare's first-pass minimum
    found = engine.detector.detect(frame, min_side=FIRST_MIN_SIDE)
    # Then the first pass sees the box-halved 640 px frame, the faces are tiny there, and the second pass
    # runs at 960 px exactly, finding what a fixed 960 pass finds
    assert sizes == [640, 960]
    assert len(found) == len(engine.detector.detect(frame, 960)) >= 90


def test_compare_source_face_from_the_box_reduce_is_the_same_face(engine: FaceEngine,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Given obama2.jpg (1200 px: halved by a box reduce to 600 px for compare's first pass)
    from faceengine.yunet import FIRST_MIN_SIDE

    exact = engine.analyze(photo("obama2.jpg"), max_faces=1, reduced_decode=True)
    sizes = count_passes(engine, monkeypatch)
    # When compare takes its source face
    source = engine.source_face(photo("obama2.jpg"))
    # Then one pass at the reduced size found the face that the exact 640 px pass finds
    assert sizes == [-(-313 // 32) * 32] and FIRST_MIN_SIDE <= 600
    assert abs(source.face.box.left - exact.faces[0].face.box.left) < 0.05 * source.face.box.width
    assert float(source.embedding @ exact.faces[0].embedding) > 0.95
