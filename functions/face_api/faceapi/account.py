"""Who the caller is and what the policy lets it do (GET /me), and the policy for anyone (GET /policy).

`decide` is pure, so the console's header costs one registry read and one audit record (as `manage`),
not one per operation. The policy document is the shipped policy.yaml, with its SHA-256, so that a
reader can tell which file was in force.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from pydantic import Field

from faceapi.models import Model
from facepolicy.model import Customer
from facepolicy.policy import POLICY_PATH, Policy, decide


# ---------------------------------------------------------------- models
class OperationAccess(Model):
    """One operation and the policy's decision for the caller."""

    operation: str = Field(examples=["search"])
    description: str
    allowed: bool
    reason_code: str = Field(examples=["ALLOWED", "SECTOR_DISALLOWED"])
    rule_id: str | None = None
    message: str
    rule_reason: str | None = Field(default=None, description="The refusing rule's full reason.")
    references: list[str] = Field(default_factory=list, description="The refusing rule's references.")


class Me(Model):
    customer_id: str
    name: str
    sector: str
    status: str
    end_user_sectors: list[str]
    jurisdiction: str
    operations: list[OperationAccess]
    policy_version: int
    policy_sha256: str


class PolicyRule(Model):
    id: str
    sectors: list[str]
    deny: list[str]
    reason: str
    references: list[str]


class PolicyDocument(Model):
    """The usage policy as data: what each operation and sector is, and the rules with their reasons."""

    version: int
    sha256: str = Field(description="SHA-256 of the policy file in force.")
    operations: dict[str, str]
    sectors: dict[str, str]
    always_allowed: list[str]
    rules: list[PolicyRule]


# ---------------------------------------------------------------- views
@lru_cache(maxsize=4)
def policy_document(path: Path = POLICY_PATH) -> PolicyDocument:
    """The policy file rendered as data (read once per container; PyYAML loads on this first read)."""
    import yaml

    raw = path.read_bytes()
    doc = yaml.safe_load(raw)
    return PolicyDocument(
        version=int(doc["version"]), sha256=hashlib.sha256(raw).hexdigest(),
        operations={str(k): " ".join(str(v).split()) for k, v in doc["operations"].items()},
        sectors={str(k): " ".join(str(v).split()) for k, v in doc["sectors"].items()},
        always_allowed=[str(op) for op in doc["always_allowed"]],
        rules=[PolicyRule(id=r["id"], sectors=list(r["sectors"]), deny=list(r["deny"]),
                          reason=" ".join(str(r["reason"]).split()), references=[str(x) for x in r["references"]])
               for r in doc["rules"]])


def me(customer: Customer, policy: Policy, document: PolicyDocument | None = None) -> Me:
    """The caller and, for every operation of the policy, its decision with the refusing rule's reason."""
    document = document or policy_document()
    access = []
    for operation in policy.operations:
        decision = decide(customer, operation, policy)
        rule = policy.rule(decision.rule_id) if decision.rule_id and not decision.allowed else None
        access.append(OperationAccess(
            operation=operation, description=document.operations.get(operation, ""), allowed=decision.allowed,
            reason_code=decision.reason_code, rule_id=decision.rule_id, message=decision.message,
            rule_reason=rule.reason if rule else None, references=list(rule.references) if rule else []))
    return Me(customer_id=customer.customer_id, name=customer.name, sector=customer.sector, status=customer.status,
              end_user_sectors=list(customer.end_user_sectors), jurisdiction=customer.jurisdiction,
              operations=access, policy_version=policy.version, policy_sha256=policy.sha256 or document.sha256)
