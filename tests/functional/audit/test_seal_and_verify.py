"""Sealing closed audit periods into chained digests (Object Lock bucket) and verifying them: each finding kind."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from facepolicy.seal import (
    ADDED,
    ALTERED,
    ANCHOR_MISMATCH,
    CHAIN_BREAK,
    DELETED,
    DIGEST_TAMPERED,
    LOCK_TOO_SHORT,
    Digest,
    DigestConflict,
    digest_key,
    record_hash,
    sha256_hex,
)

from .conftest import DIGEST_BUCKET, HOUR, START, World, build_world

ONE_AM = digest_key("2026-11-26T01:00:00.000Z")


def _act_and_seal(world: World) -> None:
    """Given three decisions in the 01:00 period, sealed at 02:06 (after the 5-minute settle delay)."""
    world.act("shop", "search", "r-allow")
    world.clock.advance(600)
    world.act("pd", "search", "r-deny")
    world.clock.advance(600)
    world.act("nobody", "detect", "r-unknown")
    world.clock.now = START + HOUR + 360
    world.sealer.seal()


def _findings(world: World, **kwargs: Any) -> list[tuple[str, str]]:
    report = world.verifier.verify(**kwargs)
    return [(f.kind, f.digest_key) for f in report.findings]


def _digest(world: World, key: str = ONE_AM, version_id: str | None = None) -> tuple[dict[str, Any], str]:
    kwargs = {"VersionId": version_id} if version_id else {}
    response = world.s3.get_object(Bucket=DIGEST_BUCKET, Key=key, **kwargs)
    return json.loads(response["Body"].read()), response["VersionId"]


def test_a_sealed_period_verifies_clean(world: World) -> None:
    _act_and_seal(world)
    report = world.verifier.verify()
    assert report.ok, report.findings
    # the first seal starts at midnight: two hourly digests, the 01:00 one holds the three records
    assert (report.digests_checked, report.records_sealed, report.records_intact) == (2, 3, 3)
    assert (report.sealed_from, report.sealed_through) == ("2026-11-26T00:00:00.000Z", "2026-11-26T02:00:00.000Z")
    assert report.records_unsealed == 0


def test_each_digest_holds_every_record_hash_and_expiry_and_chains_to_its_predecessor(world: World) -> None:
    _act_and_seal(world)
    one, one_version = _digest(world)
    item = world.item("r-deny")
    entry = next(r for r in one["records"] if r["sk"] == item["sk"])
    assert entry == {"pk": "CUSTOMER#pd", "sk": item["sk"], "sha256": record_hash(item),
                     "expires_at": int(item["expires_at"])}
    assert one["period"] == {"start": "2026-11-26T01:00:00.000Z", "end": "2026-11-26T02:00:00.000Z"}
    midnight_key = digest_key("2026-11-26T00:00:00.000Z")
    midnight = world.s3.get_object(Bucket=DIGEST_BUCKET, Key=midnight_key)
    previous = one["previous"]
    assert (previous["key"], previous["version_id"]) == (midnight_key, midnight["VersionId"])
    first_bytes = midnight["Body"].read()
    assert previous["sha256"] == sha256_hex(first_bytes)
    assert json.loads(first_bytes)["previous"] is None and one_version


def test_a_period_is_sealed_only_after_it_closed_and_settled(world: World) -> None:
    world.act("shop", "search", "r1")
    world.clock.now = START + HOUR + 240  # 02:04: the 01:00 period closed 4 minutes ago, settle is 5
    assert world.sealer.seal().sealed_through == "2026-11-26T01:00:00.000Z"
    world.clock.now = START + HOUR + 300
    result = world.sealer.seal()
    assert result.sealed_through == "2026-11-26T02:00:00.000Z"
    assert [(d["start"], d["record_count"]) for d in result.sealed] == [("2026-11-26T01:00:00.000Z", 1)]
    assert world.sealer.seal().sealed == ()  # nothing new to seal: idempotent


def test_unsealed_recent_records_are_counted_not_judged(world: World) -> None:
    _act_and_seal(world)
    world.act("shop", "detect", "r-late")
    report = world.verifier.verify()
    assert report.ok and report.records_unsealed == 1


def test_an_altered_record_is_found(world: World) -> None:
    _act_and_seal(world)
    item = world.item("r-deny")
    world.table.update_item(Key={"pk": item["pk"], "sk": item["sk"]}, UpdateExpression="SET allowed = :t",
                            ExpressionAttributeValues={":t": True})
    report = world.verifier.verify()
    assert [(f.kind, f.pk, f.sk) for f in report.findings] == [(ALTERED, item["pk"], item["sk"])]
    assert report.as_dict()["finding_counts"] == {ALTERED: 1}


def test_a_record_deleted_before_its_sealed_expiry_is_found(world: World) -> None:
    _act_and_seal(world)
    item = world.item("r-deny")
    world.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    assert _findings(world) == [(DELETED, ONE_AM)]


def test_shortening_a_records_ttl_before_deleting_it_is_still_found(world: World) -> None:
    _act_and_seal(world)
    item = world.item("r-deny")
    world.table.update_item(Key={"pk": item["pk"], "sk": item["sk"]}, UpdateExpression="SET expires_at = :e",
                            ExpressionAttributeValues={":e": int(START)})
    assert _findings(world) == [(ALTERED, ONE_AM)]
    world.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    assert _findings(world) == [(DELETED, ONE_AM)]  # the digest, not the item, says when it may expire


def test_a_record_gone_after_its_sealed_expiry_is_ttl_not_a_finding() -> None:
    from moto import mock_aws

    with mock_aws():
        world = build_world(retention_days=1)
        _act_and_seal(world)
        item = world.item("r-deny")
        world.clock.now = int(item["expires_at"]) + 1  # DynamoDB's TTL removes it some time after expiry
        world.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        report = world.verifier.verify()
    assert report.ok, report.findings
    assert (report.records_expired, report.records_intact) == (1, 2)


def test_a_record_added_to_a_sealed_period_is_found(world: World) -> None:
    _act_and_seal(world)
    forged = {**world.item("r-allow"), "sk": "2026-11-26T01:30:00.000Z#forged#00000000",
              "gsi1sk": "2026-11-26T01:30:00.000Z#shop", "at": "2026-11-26T01:30:00.000Z", "request_id": "forged"}
    world.table.put_item(Item=forged)
    report = world.verifier.verify()
    assert [(f.kind, f.sk) for f in report.findings] == [(ADDED, forged["sk"])]


def test_a_rewritten_digest_is_found(world: World) -> None:
    # Given an attacker who deleted a record and rewrote the digest without it (a new version of the key)
    _act_and_seal(world)
    item = world.item("r-deny")
    world.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    one, _ = _digest(world)
    one["records"] = [r for r in one["records"] if r["sk"] != item["sk"]]
    world.s3.put_object(Bucket=DIGEST_BUCKET, Key=ONE_AM, Body=json.dumps(one).encode())
    # Then verify trusts the locked original and reports both the rewrite and the deletion
    assert sorted(_findings(world)) == [(DIGEST_TAMPERED, ONE_AM), (DELETED, ONE_AM)]


def test_a_digest_replaced_with_governance_bypass_breaks_the_chain(world: World) -> None:
    _act_and_seal(world)
    world.clock.now = START + 2 * HOUR + 360
    world.sealer.seal()  # the 02:00 digest names the 01:00 one
    one, version_id = _digest(world)
    one["records"] = one["records"][:1]
    world.s3.delete_object(Bucket=DIGEST_BUCKET, Key=ONE_AM, VersionId=version_id,
                           BypassGovernanceRetention=True)
    world.s3.put_object(Bucket=DIGEST_BUCKET, Key=ONE_AM, Body=json.dumps(one).encode())
    findings = _findings(world)
    assert (CHAIN_BREAK, digest_key("2026-11-26T02:00:00.000Z")) in findings
    assert [k for k, _ in findings].count(ADDED) == 2  # the two records the forged digest left out


def test_a_deleted_head_digest_is_found_and_resealing_does_not_hide_it(world: World) -> None:
    _act_and_seal(world)
    world.s3.delete_object(Bucket=DIGEST_BUCKET, Key=ONE_AM)  # a delete marker (no version id)
    assert _findings(world) == [(DIGEST_TAMPERED, ONE_AM)]
    world.sealer.seal()  # the next seal cannot see the hidden digest and seals its period again
    assert _findings(world) == [(DIGEST_TAMPERED, ONE_AM)] * 2  # a delete marker and a second version


def test_an_anchor_catches_a_replaced_head_digest(world: World) -> None:
    _act_and_seal(world)
    head = world.verifier.verify().head
    assert head is not None and head.key == ONE_AM
    assert world.verifier.verify(anchor=head).ok
    one, version_id = _digest(world)
    world.s3.delete_object(Bucket=DIGEST_BUCKET, Key=ONE_AM, VersionId=version_id,
                           BypassGovernanceRetention=True)
    world.s3.put_object(Bucket=DIGEST_BUCKET, Key=ONE_AM, Body=json.dumps(one).encode())
    assert (ANCHOR_MISMATCH, ONE_AM) in _findings(world, anchor=head)


def test_an_unreadable_digest_is_found(world: World) -> None:
    _act_and_seal(world)
    _, version_id = _digest(world)
    world.s3.delete_object(Bucket=DIGEST_BUCKET, Key=ONE_AM, VersionId=version_id,
                           BypassGovernanceRetention=True)
    world.s3.put_object(Bucket=DIGEST_BUCKET, Key=ONE_AM, Body=b"not json")
    assert (DIGEST_TAMPERED, ONE_AM) in _findings(world)


def test_verify_since_checks_only_later_periods(world: World) -> None:
    _act_and_seal(world)
    world.clock.now = START + 3 * HOUR + 360
    world.sealer.seal()  # digests 00:00, 01:00, 02:00, 03:00
    report = world.verifier.verify(since="2026-11-26T01:30:00Z")
    assert (report.digests_checked, report.sealed_from, report.records_sealed) == (
        3, "2026-11-26T01:00:00.000Z", 3)


def test_two_seals_cannot_write_the_same_period(world: World) -> None:
    _act_and_seal(world)
    with pytest.raises(DigestConflict):
        world.digests.put_new(ONE_AM, Digest("a", "b", "c", (), None).to_bytes())


def test_digests_are_locked_until_after_their_records_expire(world: World) -> None:
    _act_and_seal(world)
    head = world.s3.head_object(Bucket=DIGEST_BUCKET, Key=ONE_AM)
    one, version_id = _digest(world)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert head["ObjectLockRetainUntilDate"].timestamp() >= max(r["expires_at"] for r in one["records"])
    with pytest.raises(ClientError, match="AccessDenied"):  # without the governance bypass
        world.s3.delete_object(Bucket=DIGEST_BUCKET, Key=ONE_AM, VersionId=version_id)


def test_compliance_mode_refuses_even_the_bypass() -> None:
    from moto import mock_aws

    with mock_aws():
        world = build_world(lock_mode="COMPLIANCE")
        _act_and_seal(world)
        _, version_id = _digest(world)
        assert world.s3.head_object(Bucket=DIGEST_BUCKET, Key=ONE_AM)["ObjectLockMode"] == "COMPLIANCE"
        with pytest.raises(ClientError, match="AccessDenied"):
            world.s3.delete_object(Bucket=DIGEST_BUCKET, Key=ONE_AM, VersionId=version_id,
                                   BypassGovernanceRetention=True)


def test_a_lock_shorter_than_the_records_retention_is_found() -> None:
    from moto import mock_aws

    with mock_aws():
        world = build_world(retention_days=4000, lock_days=1)
        _act_and_seal(world)
        kinds = {f.kind for f in world.verifier.verify().findings}
    assert kinds == {LOCK_TOO_SHORT}
