"""Offboarding on moto: erase a customer's collections, faces, users, statuses, uploads (every version) and
snapshots; keys revoked, record kept as a tombstone, audit intact, ledger in S3; resumable; re-appliable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from facepolicy import CustomerNotFound, RegistryAdmin, load_policy
from facepolicy.dynamodb import DynamoDBAuditLog, DynamoDBRegistry
from facesearch.local.functions import load_module
from facesearch.local.template import Names, Provisioned, load_template, provision
from facestore import DynamoDBFaceStore, ImageStatus
from tests.support.fakes import FakeClock
from tests.unit.store.store_helpers import make_faces

ADMIN = "arn:aws:iam::123456789012:user/ops"


@dataclass
class World:
    admin: RegistryAdmin
    audit: DynamoDBAuditLog
    store: DynamoDBFaceStore
    s3: Any
    resources: Provisioned
    eraser: Any
    target: str
    other: str

    @property
    def uploads(self) -> str:
        return self.resources.buckets["UploadsBucket"]

    @property
    def index(self) -> str:
        return self.resources.buckets["IndexBucket"]


def _stock(world: World, customer: str) -> None:
    for collection in ("k1", "k2"):
        world.store.create_collection(customer, collection, "m")
        faces = make_faces(customer, collection, "img1", n=2)
        world.store.put_faces(customer, collection, faces)
        world.store.put_image_status(ImageStatus(customer, collection, "img1", "INDEXED",
                                                 face_ids=tuple(f.face_id for f in faces)))
        world.store.create_user(customer, collection, "u1")
        world.s3.put_object(Bucket=world.index, Key=f"snapshots/{customer}/{collection}/000000000001.fsnap", Body=b"x")
        key = f"uploads/{customer}/{collection}/img1.jpg"
        world.s3.put_object(Bucket=world.uploads, Key=key, Body=b"v1")
        world.s3.put_object(Bucket=world.uploads, Key=key, Body=b"v2")
        world.s3.delete_object(Bucket=world.uploads, Key=key)  # a delete marker over two versions


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        template = load_template()
        resources = provision(session, template, Names(prefix="erase-test"))
        ddb = boto3.resource("dynamodb", region_name="us-east-1")
        registry = DynamoDBRegistry(ddb.Table(resources.tables["RegistryTable"]))
        audit = DynamoDBAuditLog(ddb.Table(resources.tables["AuditTable"]))
        admin = RegistryAdmin(registry, audit, load_policy(), clock=FakeClock())
        store = DynamoDBFaceStore(boto3.client("dynamodb", region_name="us-east-1"), resources.tables["FacesTable"])
        s3 = boto3.client("s3", region_name="us-east-1")
        load_module("EraseCustomerFunction", template)
        erasure, erasure_s3 = __import__("erasure"), __import__("erasure_s3")
        eraser = erasure.CustomerEraser(
            admin, store, erasure_s3.S3ObjectPurger(s3), erasure_s3.S3Ledger(s3, resources.buckets["IndexBucket"]),
            audit, uploads_bucket=resources.buckets["UploadsBucket"], index_bucket=resources.buckets["IndexBucket"])
        ids = []
        for name, sector in (("Leaving Ltd", "media"), ("Staying Ltd", "retail")):
            customer, _ = admin.create_customer(name=name, sector=sector, jurisdiction="DE", status="active",
                                                principal=ADMIN, request_id="setup")
            admin.create_key(customer.customer_id, principal=ADMIN, request_id="setup")
            ids.append(customer.customer_id)
        built = World(admin, audit, store, s3, resources, eraser, ids[0], ids[1])
        for customer_id in ids:
            _stock(built, customer_id)
        yield built


def plenty() -> float:
    return 60.0


def versions(world: World, prefix: str) -> int:
    listed = world.s3.list_object_versions(Bucket=world.uploads, Prefix=prefix)
    return len(listed.get("Versions", [])) + len(listed.get("DeleteMarkers", []))


def test_an_erasure_removes_everything_of_the_customer_and_nothing_else(world: World) -> None:
    # When the leaving customer is erased
    result = world.eraser.erase(world.target, principal=ADMIN, request_id="r1", time_left=plenty)
    # Then it is done in one pass, and says what it removed
    assert result.done
    removed = result.removed_now
    assert (removed["collections"], removed["faces"], removed["users"], removed["images"]) == (2, 4, 2, 2)
    assert (removed["upload_versions"], removed["snapshot_objects"], removed["keys_revoked"]) == (6, 2, 2)
    # And nothing of it is left: store, uploads (every version), snapshots
    assert world.store.list_collections(world.target, 10, None) == ([], None)
    assert world.store.get_image_status(world.target, "k1", "img1") is None
    assert versions(world, f"uploads/{world.target}/") == 0
    assert world.s3.list_objects_v2(Bucket=world.index, Prefix=f"snapshots/{world.target}/")["KeyCount"] == 0
    # And the registry keeps a tombstone: terminated, every key revoked
    assert world.admin.get_customer(world.target).status == "terminated"
    assert all(k.revoked_at for k in world.admin.list_keys(world.target))
    # And the audit keeps its history, plus the erasure with its counts
    records = world.audit.list_records(customer_id=world.target, limit=100).items
    actions = [r.details.get("action") for r in records]
    assert "create_customer" in actions and "erase_customer" in actions and "revoke_key" in actions
    erased = next(r for r in records if r.details.get("action") == "erase_customer")
    assert erased.principal == ADMIN and erased.details["faces"] == "4" and erased.details["status"] == "COMPLETE"
    # And the ledger in S3 records it
    ledger = json.loads(world.s3.get_object(Bucket=world.index, Key=f"erasures/{world.target}.json")["Body"].read())
    assert ledger["status"] == "COMPLETE" and ledger["requested_by"] == ADMIN
    # And the other customer is untouched
    assert world.store.get_collection(world.other, "k1").face_count == 2
    assert versions(world, f"uploads/{world.other}/") == 6
    assert world.admin.get_customer(world.other).status == "active"


class Budget:
    """time_left for a pass that runs out of time after `calls` checks."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def __call__(self) -> float:
        self.calls -= 1
        return 60.0 if self.calls >= 0 else 0.0


def test_an_interrupted_erasure_resumes_where_it_stopped(world: World) -> None:
    # Given a first pass that runs out of time after removing the uploads
    first = world.eraser.erase(world.target, principal=ADMIN, request_id="r1", time_left=Budget(1))
    assert not first.done and first.record.status == "IN_PROGRESS"
    assert first.removed_now["upload_versions"] == 6 and first.removed_now["faces"] == 0
    # When it is called again, Then it finishes the rest and the totals add up
    second = world.eraser.erase(world.target, principal=ADMIN, request_id="r2", time_left=plenty)
    assert second.done and second.record.passes == 2
    assert second.removed_now["faces"] == 4 and second.removed_now["upload_versions"] == 0
    assert second.record.removed["faces"] == 4 and second.record.removed["upload_versions"] == 6


def test_erasing_again_is_a_no_op_and_reapplying_undoes_a_restore(world: World) -> None:
    world.eraser.erase(world.target, principal=ADMIN, request_id="r1", time_left=plenty)
    again = world.eraser.erase(world.target, principal=ADMIN, request_id="r2", time_left=plenty)
    assert again.done and sum(again.removed_now.values()) == 0 and again.record.passes == 1
    # Given a restore from backup brought faces back
    world.store.create_collection(world.target, "k1", "m")
    world.store.put_faces(world.target, "k1", make_faces(world.target, "k1", "img1", n=2))
    # When the erasure is reapplied (as `facesearch admin erasures reapply` does)
    reapplied = world.eraser.erase(world.target, principal=ADMIN, request_id="r3", time_left=plenty, reapply=True)
    # Then they are gone again, and the ledger says when it was reapplied
    assert reapplied.done and reapplied.removed_now["faces"] == 2
    assert len(reapplied.record.reapplied_at) == 1
    assert world.store.list_collections(world.target, 10, None) == ([], None)
    assert [r.customer_id for r in world.eraser.list()] == [world.target]


def test_an_unknown_customer_is_not_found(world: World) -> None:
    with pytest.raises(CustomerNotFound):
        world.eraser.erase("nobody-here", principal=ADMIN, request_id="r1", time_left=plenty)


def test_a_customer_missing_from_a_restored_registry_is_still_erased_from_the_ledger(world: World) -> None:
    # Given an erased customer whose registry record is gone (the registry restored to before it existed)
    world.eraser.erase(world.target, principal=ADMIN, request_id="r1", time_left=plenty)
    world.admin.store.table.delete_item(Key={"pk": f"CUSTOMER#{world.target}", "sk": "PROFILE"})
    world.store.create_collection(world.target, "k9", "m")
    # When reapplied, Then its data goes again
    result = world.eraser.erase(world.target, principal=ADMIN, request_id="r2", time_left=plenty, reapply=True)
    assert result.done and result.removed_now["collections"] == 1 and result.removed_now["keys_revoked"] == 0
