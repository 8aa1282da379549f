"""`Client.delete_collection` repeats the DELETE while the service says the collection's photos remain."""

from __future__ import annotations

import pytest

from facesearch.errors import NotFoundError

from .conftest import ClientFactory
from .faultserver import Fault, FaultServer

PATH = "/collections/family"


def _answer(deleted: int, done: bool) -> Fault:
    return Fault.json(200, {"collection_id": "family", "status": "DELETED", "deleted_photos": deleted, "done": done})


def test_it_repeats_until_done_and_adds_up_the_photos(server: FaultServer, make_client: ClientFactory) -> None:
    server.script(PATH, [_answer(1000, False), _answer(1000, False), _answer(7, True)])
    result = make_client().delete_collection("family")
    assert result == {"collection_id": "family", "status": "DELETED", "deleted_photos": 2007, "done": True}
    assert server.count("DELETE", PATH) == 3


def test_a_404_after_photos_remained_means_the_last_ones_went(server: FaultServer,
                                                             make_client: ClientFactory) -> None:
    server.script(PATH, [_answer(1000, False), Fault.error(404, "RESOURCE_NOT_FOUND")])
    assert make_client().delete_collection("family")["deleted_photos"] == 1000
    assert server.count("DELETE", PATH) == 2


def test_a_missing_collection_is_still_not_found(server: FaultServer, make_client: ClientFactory) -> None:
    server.script(PATH, [Fault.error(404, "RESOURCE_NOT_FOUND")])
    with pytest.raises(NotFoundError):
        make_client().delete_collection("family")
    assert server.count("DELETE", PATH) == 1
