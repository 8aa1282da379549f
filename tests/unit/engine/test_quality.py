"""Quality filter reasons (Rekognition's UnindexedFaces vocabulary) and max_faces."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageFilter

from faceengine import DetectedFace, FaceEngine
from faceengine.quality import THRESHOLDS, brightness, measure, pose, rejection_reasons, sharpness

from .conftest import encode, photo


@pytest.fixture(scope="module")
def frontal(engine: FaceEngine) -> DetectedFace:
    return engine.detect(photo("obama.jpg")).faces[0]


def test_frontal_portrait_passes_every_filter(frontal: DetectedFace) -> None:
    for level in ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH"):
        assert rejection_reasons(frontal, level) == (), level


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"confidence": 50.0}, "LOW_CONFIDENCE"),
        ({"box_width": 15.0}, "SMALL_BOUNDING_BOX"),
        ({"sharpness": 3.0}, "LOW_SHARPNESS"),
        ({"brightness": 4.0}, "LOW_BRIGHTNESS"),
        ({"yaw": 80.0}, "EXTREME_POSE"),
        ({"pitch": -80.0}, "EXTREME_POSE"),
    ],
)
def test_each_reason(frontal: DetectedFace, change: dict[str, float], reason: str) -> None:
    # Given a good face with one measure made bad
    face = frontal
    if "confidence" in change:
        face = replace(face, confidence=change["confidence"])
    elif "box_width" in change:
        face = replace(face, box=replace(face.box, width=change["box_width"]))
    else:
        face = replace(face, quality=replace(face.quality, **change))
    # Then every filter level drops it for that reason alone, and NONE keeps it
    for level in ("LOW", "MEDIUM", "AUTO", "HIGH"):
        assert rejection_reasons(face, level) == (reason,)
    assert rejection_reasons(face, "NONE") == ()


def test_unknown_filter_is_refused(frontal: DetectedFace) -> None:
    with pytest.raises(ValueError, match="quality_filter"):
        rejection_reasons(frontal, "BEST")


def test_levels_get_stricter() -> None:
    low, medium, high = THRESHOLDS["LOW"], THRESHOLDS["MEDIUM"], THRESHOLDS["HIGH"]
    assert low.min_confidence <= medium.min_confidence <= high.min_confidence
    assert low.min_box <= medium.min_box <= high.min_box
    assert low.max_pose >= medium.max_pose >= high.max_pose


def test_measures_respond_to_blur_and_darkness() -> None:
    rng = np.random.default_rng(0)
    textured = rng.integers(0, 256, (112, 112, 3), dtype=np.uint8)
    blurred = np.asarray(Image.fromarray(textured).filter(ImageFilter.GaussianBlur(4)))
    assert sharpness(textured) > 90 > 20 > sharpness(blurred)
    assert brightness(np.zeros((112, 112, 3), np.uint8)) == 0.0
    assert brightness(np.full((112, 112, 3), 255, np.uint8)) == pytest.approx(100.0)


def test_measure_gives_each_measure_of_the_crop() -> None:
    rng = np.random.default_rng(1)
    crop = rng.integers(0, 256, (112, 112, 3), dtype=np.uint8)
    from faceengine.align import ARCFACE_TEMPLATE

    q = measure(crop, ARCFACE_TEMPLATE)
    assert (q.brightness, q.sharpness) == (brightness(crop), sharpness(crop))
    assert (q.yaw, q.pitch, q.roll) == pose(ARCFACE_TEMPLATE)


def test_pose_reads_yaw_pitch_and_roll_from_the_landmarks() -> None:
    from faceengine.align import ARCFACE_TEMPLATE

    # Given the template with its nose moved right by half the half-eye distance: yaw asin(0.5) = 30 degrees
    half_eye = (ARCFACE_TEMPLATE[1, 0] - ARCFACE_TEMPLATE[0, 0]) / 2
    eye_mid_x = (ARCFACE_TEMPLATE[0, 0] + ARCFACE_TEMPLATE[1, 0]) / 2
    turned = ARCFACE_TEMPLATE.copy()
    turned[2, 0] = eye_mid_x + half_eye / 2
    yaw, _, _ = pose(turned)
    assert yaw == pytest.approx(30.0, abs=0.5)
    # And the nose raised to the eye line: pitch (0.56 - 0) x 180, clipped to 90; lowered to the mouth line:
    # (0.56 - 1) x 180
    raised, lowered = ARCFACE_TEMPLATE.copy(), ARCFACE_TEMPLATE.copy()
    raised[2, 1] = ARCFACE_TEMPLATE[:2, 1].mean()
    lowered[2, 1] = ARCFACE_TEMPLATE[3:, 1].mean()
    assert pose(raised)[1] == 90.0
    assert pose(lowered)[1] == pytest.approx(-0.44 * 180.0, abs=0.1)


def test_pose_of_template_is_near_frontal_and_roll_follows_rotation() -> None:
    from faceengine.align import ARCFACE_TEMPLATE

    yaw, _, roll = pose(ARCFACE_TEMPLATE)
    assert abs(yaw) < 3 and abs(roll) < 1
    angle = np.radians(20)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    assert pose(ARCFACE_TEMPLATE @ rot.T)[2] == pytest.approx(20 + roll, abs=0.01)


def test_turned_face_in_t1_is_dropped_as_extreme_pose(engine: FaceEngine) -> None:
    # Given t1.jpg, where one of six people has the head turned away / When analysed with AUTO
    analysis = engine.analyze(photo("t1.jpg"), quality_filter="AUTO")
    # Then five are embedded and the turned one is reported with EXTREME_POSE
    assert len(analysis.faces) == 5
    assert [u.reasons for u in analysis.unindexed] == [("EXTREME_POSE",)]


def test_dark_blurred_photo_is_dropped(engine: FaceEngine) -> None:
    # Given obama.jpg made very dark and very blurred
    image = Image.open(__import__("io").BytesIO(photo("obama.jpg"))).convert("RGB")
    bad = image.filter(ImageFilter.GaussianBlur(12)).point(lambda v: v // 12)
    analysis = engine.analyze(encode(bad, "PNG"), quality_filter="LOW")
    # Then, if still detected, it is unindexed for brightness and sharpness
    assert analysis.faces == ()
    for unindexed in analysis.unindexed:
        assert {"LOW_BRIGHTNESS", "LOW_SHARPNESS"} & set(unindexed.reasons)


def test_max_faces_keeps_the_largest(engine: FaceEngine) -> None:
    # Given six faces / When at most two are wanted
    all_faces = engine.analyze(photo("t1.jpg"))
    analysis = engine.analyze(photo("t1.jpg"), max_faces=2)
    # Then the two largest are embedded and four are EXCEEDS_MAX_FACES
    assert [f.face for f in analysis.faces] == [f.face for f in all_faces.faces[:2]]
    assert [u.reasons for u in analysis.unindexed] == [("EXCEEDS_MAX_FACES",)] * 4
    with pytest.raises(ValueError, match="max_faces"):
        engine.analyze(photo("t1.jpg"), max_faces=0)
