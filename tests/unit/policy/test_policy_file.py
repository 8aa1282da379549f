"""policy.yaml is the policy: it parses against its schema, and every sector x operation cell comes from it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from facepolicy import OPERATIONS, Customer, PolicyError, decide, load_policy
from facepolicy.policy import POLICY_PATH, SCHEMA_PATH, parse_policy

RAW: dict[str, Any] = yaml.safe_load(POLICY_PATH.read_text())
POLICY = load_policy()
SECTORS = tuple(RAW["sectors"])
ISSUE_SECTORS = ("law_enforcement", "immigration_enforcement", "military", "intelligence", "government_other",
                 "retail", "media", "finance", "healthcare", "education", "research", "technology", "nonprofit",
                 "other")
IDENTIFYING = {"compare", "index", "search", "users"}

# The reviewed policy, cell by cell: what the shipped file must decide (a change here is a policy change).
SHIPPED_DENIALS = {
    "law_enforcement": IDENTIFYING,
    "immigration_enforcement": IDENTIFYING,
}


def _customer(sector: str, *end_users: str) -> Customer:
    return Customer(customer_id="c1", name="n", sector=sector, end_user_sectors=end_users)


def test_shipped_file_validates_against_its_schema() -> None:
    # Given the shipped file and schema / When validated with jsonschema / Then no error
    jsonschema.validate(RAW, json.loads(SCHEMA_PATH.read_text()))
    assert load_policy().version == 1


def test_vocabularies_are_the_issues() -> None:
    policy = load_policy()
    assert set(ISSUE_SECTORS) <= set(policy.sectors)
    assert set(policy.operations) == set(OPERATIONS)


@pytest.mark.parametrize("sector", SECTORS)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_cell_matches_the_reviewed_policy(sector: str, operation: str) -> None:
    # Given an active customer of the sector / When deciding the operation
    decision = decide(_customer(sector), operation, POLICY)
    # Then the shipped policy's cell holds
    assert decision.allowed is (operation not in SHIPPED_DENIALS.get(sector, set()))


def test_law_enforcement_rule_carries_the_moratorium_references() -> None:
    rule = load_policy().rule("law-enforcement-identification")
    assert rule is not None
    assert rule.deny == IDENTIFYING and rule.sectors == {"law_enforcement"}
    text = " ".join(rule.references)
    assert "June 2020" in text and "May 2021" in text and "police department" in text


def test_detect_stays_open_to_law_enforcement_because_the_file_says_so() -> None:
    # Given the shipped file (detect open) and a copy whose law-enforcement rule also denies detect
    stricter = copy.deepcopy(RAW)
    stricter["rules"][0]["deny"].append("detect")
    # When deciding detect for police under each
    shipped = decide(_customer("law_enforcement"), "detect", load_policy())
    changed = decide(_customer("law_enforcement"), "detect", parse_policy(stricter))
    # Then the file, not the code, decides
    assert shipped.allowed and not changed.allowed


@pytest.mark.parametrize("sector", SECTORS)
@pytest.mark.parametrize("operation", sorted(set(OPERATIONS) - set(RAW["always_allowed"])))
def test_every_cell_can_be_flipped_by_the_file(sector: str, operation: str) -> None:
    # Given a policy whose rules are replaced by one denying exactly this cell
    document = copy.deepcopy(RAW)
    document["rules"] = [{"id": "only-this-cell", "sectors": [sector], "deny": [operation],
                          "reason": "A test rule for one cell.", "references": ["test"]}]
    policy = parse_policy(document)
    # When deciding every operation for the sector
    decisions = {op: decide(_customer(sector), op, policy) for op in OPERATIONS}
    # Then only this cell is denied, with the file's rule id
    assert {op for op, d in decisions.items() if not d.allowed} == {operation}
    assert decisions[operation].rule_id == "only-this-cell"


def test_a_file_without_rules_allows_law_enforcement_everything() -> None:
    # Given the shipped file minus its rules: proof that no denial is hard-coded
    document = copy.deepcopy(RAW)
    document["rules"] = []
    policy = parse_policy(document)
    assert all(decide(_customer("law_enforcement"), op, policy).allowed for op in OPERATIONS)


def _mutated(change: Any) -> dict[str, Any]:
    document = copy.deepcopy(RAW)
    change(document)
    return document


@pytest.mark.parametrize(("label", "change"), [
    ("delete not always allowed", lambda d: d.__setitem__("always_allowed", ["detect"])),
    ("unknown top-level key", lambda d: d.__setitem__("allow_all", True)),
    ("rule without references", lambda d: d["rules"][0].pop("references")),
    ("rule names an unknown sector", lambda d: d["rules"][0]["sectors"].append("police")),
    ("rule names an unknown operation", lambda d: d["rules"][0]["deny"].append("identify")),
    ("rule denies delete", lambda d: d["rules"][0]["deny"].append("delete")),
    ("duplicate rule id", lambda d: d["rules"].append(copy.deepcopy(d["rules"][0]))),
    ("missing operation", lambda d: d["operations"].pop("users")),
    ("missing sector", lambda d: d["sectors"].pop("military")),
    ("wrong version", lambda d: d.__setitem__("version", 2)),
])
def test_bad_files_are_refused(label: str, change: Any) -> None:
    with pytest.raises(PolicyError):
        parse_policy(_mutated(change))


def test_unreadable_or_non_mapping_files_are_refused(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("rules: [unclosed")
    a_list = tmp_path / "list.yaml"
    a_list.write_text("- just\n- a list\n")
    for path in (bad_yaml, a_list, tmp_path / "missing.yaml"):
        with pytest.raises(PolicyError):
            load_policy(path)
