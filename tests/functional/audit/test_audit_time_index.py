"""Listing the audit by time uses the sharded time index (gsi1), never a table scan."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from facepolicy.dynamodb import AUDIT_TIME_SHARDS

from .conftest import START, World


@pytest.fixture
def no_scans(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    def refuse(**kwargs: Any) -> Any:
        raise AssertionError("the audit table was scanned")

    monkeypatch.setattr(world.audit.table, "scan", refuse)
    return world


def _spread(world: World, count: int, step: float = 60.0) -> None:
    for n in range(count):
        world.act("shop" if n % 2 else "pd", "search", f"r{n:03d}")
        world.clock.advance(step)


def test_one_days_writes_spread_over_the_shards(world: World) -> None:
    _spread(world, 64)
    shards = Counter(str(i["gsi1pk"]) for i in world.table.scan()["Items"])
    assert all(key.startswith("DAY#2026-11-26#") for key in shards)
    assert len(shards) >= AUDIT_TIME_SHARDS // 2  # 64 random writes land on most of the 16 partitions
    assert max(shards.values()) < 64 // 2


def test_listing_across_customers_is_newest_first_and_pages_without_gaps(no_scans: World) -> None:
    world = no_scans
    _spread(world, 30, step=3000)  # 30 records over about a day and a half (two UTC days)
    seen: list[str] = []
    cursor = ""
    while True:
        page = world.audit.list_records(limit=7, cursor=cursor)
        seen.extend(r.request_id for r in page.items)
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [f"r{n:03d}" for n in reversed(range(30))]


def test_listing_by_time_honours_since_and_until(no_scans: World) -> None:
    _spread(no_scans, 10, step=600)  # 01:00, 01:10, ... 02:30
    page = no_scans.audit.list_records(since="2026-11-26T01:20:00.000Z", until="2026-11-26T01:50:00.000Z")
    assert [r.request_id for r in page.items] == ["r005", "r004", "r003", "r002"]


def test_listing_by_customer_queries_its_partition(no_scans: World) -> None:
    _spread(no_scans, 6)
    assert [r.request_id for r in no_scans.audit.list_records(customer_id="pd").items] == ["r004", "r002", "r000"]


def test_items_between_is_half_open(world: World) -> None:
    world.act("shop", "search", "at-one")
    world.clock.now = START + 3600
    world.act("shop", "search", "at-two")
    found = [i["request_id"] for i in world.audit.items_between("2026-11-26T01:00:00.000Z",
                                                               "2026-11-26T02:00:00.000Z")]
    assert found == ["at-one"]
