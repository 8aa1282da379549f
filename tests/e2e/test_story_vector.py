"""The story's search part on `SearchEngine=vector`: a local stack of its own
(`facesearch local serve --parameter-overrides SearchEngine=vector --vector-lag-seconds 1`), where
collections are born sharded and every search goes through the emulated SearchVectors, its
strongly consistent re-read and the exact re-rank."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.credentials import Credentials

from facesearch.client import ApiError, Client
from facesearch.local.process import RunningStack, spawn
from tests.e2e.test_story import COLLECTION, OBAMA, QUERY, World, build_world, wait_until

pytestmark = pytest.mark.e2e

LAG_SECONDS = 1.0


@pytest.fixture(scope="module")
def vector_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """Given a local stack deployed with SearchEngine=vector (the emulated index replicates in 1 s)."""
    work = tmp_path_factory.mktemp("localstack-vector")
    with spawn(work / "local.json", work / "stack.log",
               extra_args=["--no-metrics", "--log-level", "WARNING", "--authorizer-cache-seconds", "0",
                           "--vector-lag-seconds", str(LAG_SECONDS),
                           "--parameter-overrides", "SearchEngine=vector", "PolicyCacheSeconds=0"]) as running:
        yield running


@pytest.fixture(scope="module")
def world(vector_stack: RunningStack, photos: Path) -> World:
    state = vector_stack.state
    admin = Client(vector_stack.endpoint, region=state["region"],
                   admin_credentials=Credentials(state["admin_access_key_id"], state["admin_secret_access_key"]))
    return build_world(admin, photos)


def _names(client: Client, photos: Path) -> list[str]:
    result = client.search(COLLECTION, (photos / QUERY).read_bytes(), max_faces=20)
    return [m["face"]["external_image_id"] for m in result["face_matches"]]


def test_the_vector_index_serves_the_collection_with_exact_counts(world: World) -> None:
    described = world.media.describe_collection(COLLECTION)
    assert described["search_engine"] == "vector"
    assert described["face_count"] == sum(len(r.face_ids) for r in world.results.values())


def test_search_finds_the_same_person_and_not_others(world: World, photos: Path) -> None:
    # New faces are searchable once the (emulated) index has replicated them
    assert wait_until(lambda: OBAMA - {"obama.jpg"} <= set(_names(world.media, photos)), timeout=LAG_SECONDS + 20)
    names = _names(world.media, photos)
    assert "biden.jpg" not in names and "Tom_Hanks_54745.png" not in names and "t1.jpg" not in names
    result = world.media.search(COLLECTION, (photos / QUERY).read_bytes())
    similarities = [m["similarity"] for m in result["face_matches"]]
    assert similarities == sorted(similarities, reverse=True) and min(similarities) >= 80


def test_police_is_refused_search(world: World, photos: Path) -> None:
    with pytest.raises(ApiError) as refused:
        world.police.search(COLLECTION, (photos / QUERY).read_bytes())
    assert (refused.value.status, refused.value.code) == (403, "SECTOR_DISALLOWED")


def test_deleted_faces_leave_search_at_once_and_new_ones_arrive_after_the_lag(world: World,
                                                                              photos: Path) -> None:
    media = world.media
    assert wait_until(lambda: "obama.jpg" in _names(media, photos), timeout=LAG_SECONDS + 20)
    # A deleted face is gone from the very next search, though the index still holds it
    image_id = str(world.results["obama.jpg"].image_id)
    assert media.delete_image_faces(COLLECTION, image_id)["deleted_faces"] == world.results["obama.jpg"].face_ids
    assert "obama.jpg" not in _names(media, photos)
    # A photo indexed now is found once the index has replicated it
    uploaded = media.upload_file(COLLECTION, photos / QUERY, external_image_id=QUERY)
    assert media.wait_indexed(COLLECTION, [uploaded], timeout=60)
    indexed_at = time.monotonic()
    assert wait_until(lambda: QUERY in _names(media, photos), timeout=LAG_SECONDS + 20)
    assert time.monotonic() - indexed_at <= LAG_SECONDS + 20
