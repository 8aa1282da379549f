"""decide(customer, operation, policy): pure, ordered, with stable reason codes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from facepolicy import OPERATIONS, STATUSES, Customer, ReasonCode, decide, load_policy

POLICY = load_policy()
RETAILER = Customer(customer_id="shop", name="Shop", sector="retail", jurisdiction="DE")
POLICE = Customer(customer_id="pd", name="Metro PD", sector="law_enforcement", jurisdiction="US-CA")
INTEGRATOR = Customer(customer_id="si", name="Integrator", sector="technology",
                      end_user_sectors=("retail", "law_enforcement"))


def test_an_active_retailer_may_search() -> None:
    decision = decide(RETAILER, "search", POLICY)
    assert (decision.allowed, decision.reason_code, decision.rule_id) == (True, ReasonCode.ALLOWED, None)


def test_an_unknown_operation_is_refused_before_anything_else() -> None:
    assert decide(None, "identify", POLICY).reason_code == ReasonCode.OPERATION_UNKNOWN
    assert decide(RETAILER, "", POLICY).reason_code == ReasonCode.OPERATION_UNKNOWN


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_unknown_customer_is_refused_everything_including_delete(operation: str) -> None:
    decision = decide(None, operation, POLICY)
    assert (decision.allowed, decision.reason_code) == (False, ReasonCode.CUSTOMER_UNKNOWN)


@pytest.mark.parametrize("status", [s for s in STATUSES if s != "active"])
@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op != "delete"])
def test_a_customer_not_active_is_refused_all_but_delete(status: str, operation: str) -> None:
    decision = decide(replace(RETAILER, status=status), operation, POLICY)
    assert (decision.allowed, decision.reason_code) == (False, ReasonCode.CUSTOMER_NOT_ACTIVE)


@pytest.mark.parametrize("customer", [POLICE, INTEGRATOR, replace(POLICE, status="terminated"),
                                      replace(INTEGRATOR, status="suspended"), replace(RETAILER, status="pending")])
def test_delete_is_always_allowed_to_a_known_customer(customer: Customer) -> None:
    decision = decide(customer, "delete", POLICY)
    assert decision.allowed and decision.reason_code == ReasonCode.ALLOWED


@pytest.mark.parametrize("customer", [POLICE, INTEGRATOR])
@pytest.mark.parametrize("operation", ["compare", "index", "search", "users"])
def test_police_and_integrators_serving_police_are_refused_identification(customer: Customer, operation: str) -> None:
    decision = decide(customer, operation, POLICY)
    assert (decision.allowed, decision.reason_code, decision.rule_id) == (
        False, ReasonCode.SECTOR_DISALLOWED, "law-enforcement-identification")
    assert "law_enforcement" in decision.message


def test_the_message_says_whether_the_sector_is_the_customers_or_an_end_users() -> None:
    assert "customer sector" in decide(POLICE, "search", POLICY).message
    assert "end-user sector" in decide(INTEGRATOR, "search", POLICY).message


def test_a_sector_the_file_does_not_know_is_refused() -> None:
    # Given a registry record out of step with the file (a sector the policy never reviewed)
    stray = replace(RETAILER, end_user_sectors=("space_agency",))
    decision = decide(stray, "detect", POLICY)
    assert (decision.allowed, decision.reason_code, decision.rule_id) == (
        False, ReasonCode.SECTOR_DISALLOWED, "sector-unknown")


def test_suspension_wins_over_a_sector_rule() -> None:
    assert decide(replace(POLICE, status="suspended"), "search", POLICY).reason_code == ReasonCode.CUSTOMER_NOT_ACTIVE
