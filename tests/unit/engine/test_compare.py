"""Comparison: the same person scores above the default threshold, different people below."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from faceengine import DEFAULT_THRESHOLD, FaceEngine, cosine_to_similarity, similarity_to_cosine
from faceengine.decode import decode_reduced

from .conftest import photo

OBAMA = ("obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "obama_partial_face2.jpg")
OTHERS = ("biden.jpg", "Tom_Hanks_54745.png", "t1.jpg")


@pytest.fixture(scope="module")
def vectors(engine: FaceEngine) -> dict[str, np.ndarray]:
    return {name: engine.source_face(photo(name)).embedding for name in OBAMA + OTHERS}


def test_embeddings_are_unit_float32_128(vectors: dict[str, np.ndarray]) -> None:
    # Given the embedding of every test photo's largest face / Then each is a unit float32 128-vector
    for vector in vectors.values():
        assert vector.shape == (128,) and vector.dtype == np.float32
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(OBAMA, 2)))
def test_same_person_is_above_the_threshold(vectors: dict[str, np.ndarray], a: str, b: str) -> None:
    # Given two photos of Obama / When compared / Then the similarity reaches the default threshold
    assert cosine_to_similarity(float(vectors[a] @ vectors[b])) >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(("a", "b"), [(o, x) for o in OBAMA for x in OTHERS])
def test_different_people_are_below_the_threshold(vectors: dict[str, np.ndarray], a: str, b: str) -> None:
    # Given Obama and someone else / When compared / Then the similarity stays below the threshold
    assert cosine_to_similarity(float(vectors[a] @ vectors[b])) < DEFAULT_THRESHOLD


def test_compare_splits_target_faces_by_threshold(engine: FaceEngine) -> None:
    # Given Obama as the source and the 6-person photo plus an Obama photo as targets
    source = engine.source_face(photo("obama.jpg"))
    # When compared
    crowd = engine.compare(source, photo("t1.jpg"))
    same = engine.compare(source, photo("obama2.jpg"))
    # Then no one in the crowd matches, and Obama does
    assert (len(crowd.matches), len(crowd.unmatched)) == (0, 6)
    assert len(same.matches) == 1 and same.matches[0].similarity >= DEFAULT_THRESHOLD


def test_published_sface_threshold_maps_to_default_threshold() -> None:
    assert cosine_to_similarity(0.363) == pytest.approx(DEFAULT_THRESHOLD)
    assert DEFAULT_THRESHOLD == 80.0


def test_similarity_mapping_is_monotone_bounded_and_invertible() -> None:
    cos = np.linspace(-1.0, 1.0, 2001)
    sim = cosine_to_similarity(cos)
    assert np.all(np.diff(sim) > 0)
    assert sim[0] == 0.0 and sim[-1] == 100.0
    np.testing.assert_allclose(similarity_to_cosine(sim), cos, atol=1e-9)
    assert cosine_to_similarity(1.5) == 100.0 and cosine_to_similarity(-3.0) == 0.0


def test_compare_decodes_large_photos_reduced_with_full_resolution_coordinates(engine: FaceEngine) -> None:
    # Given obama3.jpg (1434x2333): compare decodes it at half scale (its long side stays >= MAX_SIDE)
    data = photo("obama3.jpg")
    whole = engine.analyze(data, max_faces=1)
    reduced = engine.analyze(data, max_faces=1, reduced_decode=True)
    # Then sizes and the face's box are in full-resolution pixels, within a few pixels of the whole decode
    assert (reduced.width, reduced.height) == (whole.width, whole.height) == (1434, 2333)
    a, b = whole.faces[0].face.box, reduced.faces[0].face.box
    assert max(abs(a.left - b.left), abs(a.top - b.top), abs(a.width - b.width), abs(a.height - b.height)) < 8
    # And it is the same face to the embedding model
    assert float(whole.faces[0].embedding @ reduced.faces[0].embedding) > 0.9


def test_small_faces_of_a_reduced_decode_are_aligned_from_full_resolution(engine: FaceEngine) -> None:
    # Given a 3000x2000 JPEG with obama.jpg's face small in it (~100 px wide: under ALIGN_MIN_FACE at half scale)
    face = Image.open(io.BytesIO(photo("obama.jpg"))).convert("RGB")
    frame = Image.new("RGB", (3000, 2000), (128, 128, 128))
    frame.paste(face.resize((face.width * 3 // 10, face.height * 3 // 10)), (1200, 800))
    buffer = io.BytesIO()
    frame.save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    image, full = decode_reduced(data, long_side=960)
    assert image.size == (1500, 1000) and full == (3000, 2000)
    calls: list[int] = []

    def full_image() -> Image.Image:
        calls.append(1)
        return engine.decode(data)

    # When the reduced image is analysed
    reduced = engine.analyze_image(image, max_faces=1, full_size=full, full_image=full_image)
    whole = engine.analyze(data, max_faces=1)
    # Then the face was aligned from the full-resolution image: the same crop as a whole decode's, nearly
    assert calls == [1] and reduced.faces and whole.faces
    assert float(whole.faces[0].embedding @ reduced.faces[0].embedding) > 0.97
    assert abs(reduced.faces[0].face.box.left - whole.faces[0].face.box.left) < 8
