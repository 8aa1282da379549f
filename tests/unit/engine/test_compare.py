"""Comparison: the same person scores above the default threshold, different people below."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from faceengine import DEFAULT_THRESHOLD, FaceEngine, cosine_to_similarity, similarity_to_cosine

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
