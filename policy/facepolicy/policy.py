"""The policy as data (policy.yaml, checked against policy.schema.json) and the pure decision on it.

`decide` does no I/O: the caller reads the customer from the registry and hands it in.

The policy file is parsed and schema-checked at build time: `scripts/check_policy.py` (run by `make
setup`) writes policy.checked.json, the parsed document with the SHA-256 of the policy file and of the
schema it was checked against. `load_policy` reads that JSON when both hashes match the files beside
it (the vocabulary cross-checks still run), so a function's first request imports neither PyYAML nor
jsonschema (about 0.1 s of a cold start); any mismatch (the YAML edited, the schema changed, the file
missing) falls back to parsing and checking the YAML, so a stale build is slower, never wrong.
Decisions name the policy by the YAML file's hash either way.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facepolicy.errors import PolicyError
from facepolicy.model import OPERATIONS, Customer, Decision, ReasonCode

if TYPE_CHECKING:
    import jsonschema

POLICY_PATH = Path(__file__).with_name("policy.yaml")
SCHEMA_PATH = Path(__file__).with_name("policy.schema.json")
CHECKED_PATH = Path(__file__).with_name("policy.checked.json")  # written by scripts/check_policy.py
ALWAYS_ALLOWED_RULE_ID = "always-allowed"
UNKNOWN_SECTOR_RULE_ID = "sector-unknown"


@dataclass(frozen=True)
class Rule:
    rule_id: str
    sectors: frozenset[str]
    deny: frozenset[str]
    reason: str
    references: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    version: int
    operations: tuple[str, ...]
    sectors: tuple[str, ...]
    always_allowed: frozenset[str]
    rules: tuple[Rule, ...]
    sha256: str = ""  # SHA-256 (hex) of the policy file's bytes: names the exact rules of a decision

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.rule_id == rule_id), None)


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def document_sha256(document: Mapping[str, Any]) -> str:
    """SHA-256 of a policy given as data (canonical JSON), for policies that do not come from a file."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_policy(document: Mapping[str, Any], sha256: str = "") -> Policy:
    """Validate a parsed policy document against the schema and its own vocabularies.

    `sha256` names the file it came from (load_policy passes the hash of the file's bytes).
    """
    import jsonschema

    try:
        error = jsonschema.exceptions.best_match(_validator().iter_errors(document))
    except jsonschema.exceptions.SchemaError as exc:
        raise PolicyError(f"policy schema is invalid: {exc.message}") from exc
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise PolicyError(f"policy does not match its schema at {path}: {error.message}") from error
    return build_policy(document, sha256=sha256)


def build_policy(document: Mapping[str, Any], sha256: str = "") -> Policy:
    """A Policy from a document that matches the schema, after the checks the schema cannot express
    (rules name known sectors and operations, ids unique, the code's operations all present)."""
    operations = tuple(document["operations"])
    sectors = tuple(document["sectors"])
    missing_ops = set(OPERATIONS) - set(operations)
    if missing_ops:
        raise PolicyError(f"policy lacks operations the code uses: {sorted(missing_ops)}")
    always = frozenset(document["always_allowed"])
    rules = []
    for raw in document["rules"]:
        rule = Rule(
            rule_id=raw["id"],
            sectors=frozenset(raw["sectors"]),
            deny=frozenset(raw["deny"]),
            reason=" ".join(raw["reason"].split()),
            references=tuple(raw["references"]),
        )
        unknown = (rule.sectors - set(sectors)) | (rule.deny - set(operations))
        if unknown:
            raise PolicyError(f"rule {rule.rule_id} names unknown sectors/operations: {sorted(unknown)}")
        if rule.deny & always:
            raise PolicyError(f"rule {rule.rule_id} denies an always-allowed operation")
        rules.append(rule)
    ids = [r.rule_id for r in rules]
    if len(ids) != len(set(ids)):
        raise PolicyError("rule ids must be unique")
    if always - set(operations):
        raise PolicyError(f"always_allowed names unknown operations: {sorted(always - set(operations))}")
    return Policy(document["version"], operations, sectors, always, tuple(rules),
                  sha256=sha256 or document_sha256(document))


def load_policy(path: Path | str | None = None) -> Policy:
    """Load and check the policy file (default: the shipped policy.yaml). Raises PolicyError.

    The build's checked form is used when it was made from these exact bytes and the current schema."""
    source = Path(path) if path is not None else POLICY_PATH
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read policy {source}: {exc}") from exc
    sha256 = hashlib.sha256(raw).hexdigest()
    checked = _checked_document(sha256)
    if checked is not None:
        return build_policy(checked, sha256=sha256)
    return parse_policy(_yaml_document(raw, source), sha256=sha256)


def _yaml_document(raw: bytes, source: Path) -> dict[str, Any]:
    import yaml

    try:
        document = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PolicyError(f"cannot read policy {source}: {exc}") from exc
    if not isinstance(document, dict):
        raise PolicyError(f"policy {source} is not a mapping")
    return document


def _checked_document(source_sha256: str, checked_path: Path | None = None) -> dict[str, Any] | None:
    """The checked document of policy.checked.json if it was made from a file with `source_sha256` against
    the current schema; None otherwise (then the caller parses and checks the YAML itself)."""
    try:
        checked = json.loads((checked_path or CHECKED_PATH).read_text(encoding="utf-8"))
        schema_sha256 = hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest()
    except (OSError, ValueError):
        return None
    if not isinstance(checked, dict) or checked.get("source_sha256") != source_sha256 \
            or checked.get("schema_sha256") != schema_sha256 or not isinstance(checked.get("document"), dict):
        return None
    document: dict[str, Any] = checked["document"]
    return document


def checked_form(source: Path = POLICY_PATH) -> dict[str, Any]:
    """What the build writes to policy.checked.json: the parsed document of `source`, fully checked now
    (PolicyError otherwise: nothing unchecked is written), with the hashes of the file and the schema."""
    raw = source.read_bytes()
    document = _yaml_document(raw, source)
    parse_policy(document)
    return {"source": source.name, "source_sha256": hashlib.sha256(raw).hexdigest(),
            "schema_sha256": hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest(), "document": document}


def stamped(decision: Decision, policy: Policy) -> Decision:
    """The decision naming the policy in force (version and file hash), so it can be replayed."""
    return replace(decision, policy_version=policy.version, policy_sha256=policy.sha256)


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + ("." if dot else "")


def _deny(code: str, message: str, rule_id: str | None = None) -> Decision:
    return Decision(allowed=False, reason_code=code, rule_id=rule_id, message=message)


def decide(customer: Customer | None, operation: str, policy: Policy) -> Decision:
    """Decide whether `customer` may use `operation` under `policy` (pure; see policy.yaml for the order).

    The decision names the policy (version, SHA-256 of its file) that made it.
    """
    return stamped(_decide(customer, operation, policy), policy)


def _decide(customer: Customer | None, operation: str, policy: Policy) -> Decision:
    if operation not in policy.operations:
        return _deny(ReasonCode.OPERATION_UNKNOWN, f"unknown operation {operation!r}")
    if customer is None:
        return _deny(ReasonCode.CUSTOMER_UNKNOWN, "caller is not a registered customer")
    if operation in policy.always_allowed:
        return Decision(True, ReasonCode.ALLOWED, ALWAYS_ALLOWED_RULE_ID,
                        f"{operation} is open to every registered customer")
    if customer.status != "active":
        return _deny(ReasonCode.CUSTOMER_NOT_ACTIVE, f"customer status is {customer.status!r}, not 'active'")
    served = (customer.sector, *customer.end_user_sectors)
    unknown = [s for s in served if s not in policy.sectors]
    if unknown:
        return _deny(ReasonCode.SECTOR_DISALLOWED,
                     f"sector {unknown[0]!r} is not in the policy's vocabulary", UNKNOWN_SECTOR_RULE_ID)
    for rule in policy.rules:
        if operation not in rule.deny:
            continue
        hit = next((s for s in served if s in rule.sectors), None)
        if hit is not None:
            who = "customer sector" if hit == customer.sector else "declared end-user sector"
            return _deny(ReasonCode.SECTOR_DISALLOWED,
                         f"{operation} is not available to the {hit} sector ({who}): {_first_sentence(rule.reason)}",
                         rule.rule_id)
    return Decision(True, ReasonCode.ALLOWED, None, "allowed")
