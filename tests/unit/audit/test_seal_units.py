"""The pure parts of sealing: periods on the grid, bucketing, canonical hashes, digest documents, durations."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from facepolicy.seal import (
    GENESIS_PERIODS,
    AuditSealer,
    Digest,
    DigestError,
    DigestRef,
    DigestVersion,
    SealedRecord,
    StoredDigest,
    bucket_items,
    by_day,
    periods,
    record_hash,
    resolve_since,
)
from tests.support.fakes import FakeClock

NOW = 1_795_694_400.0  # 2026-11-26T12:00:00Z


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_periods_follow_the_grid_and_stop_at_the_cutoff() -> None:
    cut = periods(_t("2026-11-26T10:30:00"), _t("2026-11-26T13:00:00"), 3600, limit=10)
    assert [(a.hour, a.minute, b.hour) for a, b in cut] == [(10, 30, 11), (11, 0, 12), (12, 0, 13)]
    assert len(periods(_t("2026-11-26T00:00:00"), _t("2026-11-27T00:00:00"), 3600, limit=5)) == 5


def test_items_are_bucketed_by_their_time_and_days_grouped() -> None:
    spans = [("2026-11-26T23:00:00.000Z", "2026-11-27T00:00:00.000Z"),
             ("2026-11-27T00:00:00.000Z", "2026-11-27T01:00:00.000Z")]
    items = [{"at": "2026-11-26T23:59:59.999Z"}, {"at": "2026-11-27T00:00:00.000Z"}, {"at": "2026-11-27T01:00:00.000Z"},
             {"at": "2026-11-26T22:00:00.000Z"}]
    assert bucket_items(items, spans) == [[items[0]], [items[1]]]
    assert by_day(spans) == [[0], [1]]


def test_a_records_hash_is_over_every_attribute_in_canonical_form() -> None:
    item = {"pk": "CUSTOMER#a", "sk": "x", "expires_at": Decimal(5), "allowed": False, "details": {"b": "1", "a": "2"}}
    assert record_hash(item) == record_hash(dict(reversed(list(item.items()))))
    assert record_hash(item) == record_hash({**item, "expires_at": 5})
    assert record_hash(item) != record_hash({**item, "allowed": True})


def test_a_digest_round_trips_and_junk_is_refused() -> None:
    digest = Digest("2026-11-26T12:00:00.000Z", "2026-11-26T13:00:00.000Z", "2026-11-26T13:05:00.000Z",
                    (SealedRecord("CUSTOMER#a", "s", "f" * 64, 9),), DigestRef("digests/x.json", "v1", "e" * 64))
    assert Digest.from_bytes(digest.to_bytes()) == digest
    for junk in (b"", b"[]", b'{"format": "other"}', b'{"format": "facesearch-audit-digest/1"}'):
        with pytest.raises(DigestError):
            Digest.from_bytes(junk)


@pytest.mark.parametrize(("text", "expected"), [
    ("30d", "2026-10-27T12:00:00.000Z"), ("12h", "2026-11-26T00:00:00.000Z"), ("90m", "2026-11-26T10:30:00.000Z"),
    ("2026-11-01", "2026-11-01T00:00:00.000Z"), ("2026-11-01T10:00:00+02:00", "2026-11-01T08:00:00.000Z"),
])
def test_since_takes_durations_and_iso_times(text: str, expected: str) -> None:
    assert resolve_since(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "", "d", "-3d", "99999999d", "2026-13-01"])
def test_since_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError):
        resolve_since(text, NOW)


class MemoryStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def head(self) -> StoredDigest | None:
        if not self.objects:
            return None
        key = max(self.objects)
        return StoredDigest(DigestRef(key, "v", "h"), Digest.from_bytes(self.objects[key]))

    def put_new(self, key: str, data: bytes) -> str:
        self.objects[key] = data
        return "v"

    def versions(self, start_after: str = "") -> list[DigestVersion]:
        return [DigestVersion(k, "v") for k in sorted(self.objects) if k > start_after]

    def get(self, key: str, version_id: str) -> bytes | None:
        return self.objects.get(key)

    def lock(self, key: str, version_id: str) -> tuple[str, str]:
        return "GOVERNANCE", "2100-01-01T00:00:00.000Z"


class NoItems:
    def __init__(self) -> None:
        self.reads: list[tuple[str, str]] = []

    def items_between(self, start: str, end: str) -> list[dict[str, Any]]:
        self.reads.append((start, end))
        return []


def test_the_first_seal_of_short_periods_reaches_back_a_bounded_number_of_periods() -> None:
    store, items = MemoryStore(), NoItems()
    result = AuditSealer(items, store, period_seconds=60, settle_seconds=0, clock=FakeClock(NOW + 30)).seal()
    assert len(result.sealed) == GENESIS_PERIODS and result.sealed_through == "2026-11-26T12:00:00.000Z"
    assert items.reads == [("2026-11-26T10:00:00.000Z", "2026-11-26T12:00:00.000Z")]  # one index read per day


def test_a_backlog_longer_than_one_run_is_sealed_over_several() -> None:
    store, items = MemoryStore(), NoItems()
    clock = FakeClock(NOW)
    sealer = AuditSealer(items, store, period_seconds=3600, settle_seconds=0, clock=clock, max_periods=5)
    assert sealer.seal().complete is False  # midnight to noon is 12 periods
    sealer.seal()
    last = sealer.seal()
    assert last.complete and last.sealed_through == "2026-11-26T12:00:00.000Z" and len(store.objects) == 12


def test_a_period_must_divide_a_day() -> None:
    with pytest.raises(ValueError):
        AuditSealer(NoItems(), MemoryStore(), period_seconds=7 * 60)
