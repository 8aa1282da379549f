"""Every decision names the policy that made it: version + SHA-256 of the policy file, in audit and 403s."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from facepolicy import AuditUnavailable, CachedRegistry, InMemoryAuditLog, InMemoryRegistry, PolicyGate, decide
from facepolicy.http import denied_response
from facepolicy.policy import POLICY_PATH, load_policy, parse_policy
from tests.support.fakes import FakeClock

SHIPPED_SHA256 = hashlib.sha256(POLICY_PATH.read_bytes()).hexdigest()


def test_the_loaded_policy_carries_the_sha256_of_its_file_bytes() -> None:
    policy = load_policy()
    assert policy.sha256 == SHIPPED_SHA256
    assert policy.version == yaml.safe_load(POLICY_PATH.read_text())["version"]


def test_one_changed_byte_in_the_file_changes_the_hash(tmp_path: Path) -> None:
    # Given the shipped file with only a comment added (same rules, different file)
    edited = tmp_path / "policy.yaml"
    edited.write_bytes(POLICY_PATH.read_bytes() + b"\n# reviewed again\n")
    # Then the policy names a different file
    assert load_policy(edited).sha256 == hashlib.sha256(edited.read_bytes()).hexdigest() != SHIPPED_SHA256


def test_a_policy_given_as_data_is_hashed_canonically() -> None:
    document = yaml.safe_load(POLICY_PATH.read_text())
    reordered = dict(reversed(list(document.items())))
    assert parse_policy(document).sha256 == parse_policy(reordered).sha256 != ""
    assert parse_policy(document, sha256="abc").sha256 == "abc"


@pytest.mark.parametrize(("customer_id", "operation"), [("shop", "search"), ("pd", "search"), ("nobody", "detect"),
                                                         ("shop", "teleport")])
def test_every_decision_names_the_policy(registry: InMemoryRegistry, customer_id: str, operation: str) -> None:
    policy = load_policy()
    decision = decide(registry.get_customer(customer_id), operation, policy)
    assert (decision.policy_version, decision.policy_sha256) == (policy.version, SHIPPED_SHA256)


def test_audit_records_carry_policy_and_sector(gate: PolicyGate, audit: InMemoryAuditLog) -> None:
    gate.check("pd", "search", request_id="r1", source="t")
    gate.check("nobody", "search", request_id="r2", source="t")
    pd, nobody = audit.records
    assert (pd.policy_version, pd.policy_sha256, pd.sector) == (1, SHIPPED_SHA256, "law_enforcement")
    assert (nobody.policy_sha256, nobody.sector) == (SHIPPED_SHA256, "")


def test_a_fail_closed_decision_names_the_policy_too(registry: InMemoryRegistry) -> None:
    class BrokenAudit(InMemoryAuditLog):
        def record(self, record: object) -> None:  # type: ignore[override]
            raise AuditUnavailable("gone")

    clock = FakeClock()
    gate = PolicyGate(CachedRegistry(registry, clock=clock), BrokenAudit(), load_policy(), clock=clock)
    decision = gate.check("shop", "search", request_id="r", source="t")
    assert (decision.reason_code, decision.policy_sha256) == ("POLICY_UNAVAILABLE", SHIPPED_SHA256)


def test_a_403_body_names_the_policy(gate: PolicyGate) -> None:
    response = denied_response(gate.check("pd", "index", request_id="r", source="t"))
    body = json.loads(response.body)
    assert response.status_code == 403
    assert body == {"code": "SECTOR_DISALLOWED", "message": body["message"],
                    "rule_id": "law-enforcement-identification", "policy_version": 1, "policy_sha256": SHIPPED_SHA256}
