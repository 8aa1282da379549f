"""RegistryAdmin: validated, audited registry changes; keys stored only as hashes."""

from __future__ import annotations

import pytest

from facepolicy import (
    CustomerExists,
    CustomerNotFound,
    InMemoryAuditLog,
    InMemoryRegistry,
    InvalidCustomer,
    InvalidTransition,
    KeyNotFound,
    RegistryAdmin,
    VersionConflict,
    hash_api_key,
    load_policy,
    new_api_key,
)
from tests.support.fakes import FakeClock

ADMIN = "arn:aws:iam::123456789012:user/alice"


@pytest.fixture
def admin(clock: FakeClock) -> RegistryAdmin:
    return RegistryAdmin(InMemoryRegistry(), InMemoryAuditLog(), load_policy(), clock=clock)


def _create(admin: RegistryAdmin, **overrides: object) -> tuple:
    fields: dict = {"name": "Photo Co", "sector": "media", "jurisdiction": "US-CA", "status": "active",
                    "principal": ADMIN, "request_id": "r"}
    fields.update(overrides)
    return admin.create_customer(**fields)


def test_new_keys_are_long_random_and_only_their_hash_is_stored(admin: RegistryAdmin) -> None:
    customer, issued = _create(admin)
    assert issued.secret.startswith("fsk_") and len(issued.secret) >= 40
    assert new_api_key() != new_api_key()
    stored = admin.store.list_keys(customer.customer_id)  # type: ignore[attr-defined]
    assert [k.key_hash for k in stored] == [hash_api_key(issued.secret)]
    assert issued.secret not in repr(stored) and issued.secret not in repr(issued)
    assert admin.store.customer_for_key(hash_api_key(issued.secret)) == customer.customer_id


def test_every_change_is_audited_as_manage_by_the_admin_principal(admin: RegistryAdmin) -> None:
    customer, issued = _create(admin)
    admin.update_customer(customer.customer_id, {"status": "suspended"}, 1, principal=ADMIN, request_id="r2")
    admin.rotate_key(customer.customer_id, issued.key.key_id, principal=ADMIN, request_id="r3")
    records = admin.audit.records  # type: ignore[attr-defined]
    assert [r.details["action"] for r in records] == ["create_customer", "update_customer", "create_key",
                                                     "revoke_key"]
    assert {(r.operation, r.principal, r.customer_id) for r in records} == {("manage", ADMIN, customer.customer_id)}
    assert records[1].details["status"] == "suspended"


@pytest.mark.parametrize(("field", "value"), [
    ("sector", "police"), ("jurisdiction", "USA"), ("jurisdiction", "XX"), ("jurisdiction", "us"),
    ("end_user_sectors", ["retail", "cops"]), ("status", "approved"), ("name", " "), ("attested_at", "yesterday"),
    ("customer_id", "Bad Id!"),
])
def test_invalid_customers_are_refused(admin: RegistryAdmin, field: str, value: object) -> None:
    with pytest.raises(InvalidCustomer):
        _create(admin, **{field: value})


def test_a_taken_customer_id_is_a_conflict(admin: RegistryAdmin) -> None:
    _create(admin, customer_id="photo-co")
    with pytest.raises(CustomerExists):
        _create(admin, customer_id="photo-co")


def test_updates_use_optimistic_locking(admin: RegistryAdmin) -> None:
    customer, _ = _create(admin)
    updated = admin.update_customer(customer.customer_id, {"end_user_sectors": ["retail"]}, 1, principal=ADMIN,
                                    request_id="r")
    assert (updated.version, updated.end_user_sectors) == (2, ("retail",))
    with pytest.raises(VersionConflict):
        admin.update_customer(customer.customer_id, {"status": "suspended"}, 1, principal=ADMIN, request_id="r")


def test_a_terminated_customer_stays_terminated(admin: RegistryAdmin) -> None:
    customer, _ = _create(admin)
    admin.update_customer(customer.customer_id, {"status": "terminated"}, 1, principal=ADMIN, request_id="r")
    with pytest.raises(InvalidTransition):
        admin.update_customer(customer.customer_id, {"status": "active"}, 2, principal=ADMIN, request_id="r")
    with pytest.raises(InvalidTransition):
        admin.create_key(customer.customer_id, principal=ADMIN, request_id="r")


def test_unknown_customers_and_keys_are_not_found(admin: RegistryAdmin) -> None:
    customer, _ = _create(admin)
    with pytest.raises(CustomerNotFound):
        admin.update_customer("nobody", {"status": "active"}, 1, principal=ADMIN, request_id="r")
    with pytest.raises(CustomerNotFound):
        admin.create_key("nobody", principal=ADMIN, request_id="r")
    with pytest.raises(KeyNotFound):
        admin.revoke_key(customer.customer_id, "key_nope", principal=ADMIN, request_id="r")
    with pytest.raises(InvalidCustomer):
        admin.update_customer(customer.customer_id, {"version": 7}, 1, principal=ADMIN, request_id="r")
