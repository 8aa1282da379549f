"""Who am I (GET /me, audited as `manage`) and the usage policy (GET /policy, public)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from faceapi import account, deps
from faceapi import models as m
from facepolicy.errors import PolicyDenied
from facepolicy.http import authorizer_customer_id, request_id_of
from facepolicy.model import ReasonCode

router = APIGatewayHttpRouter()

# A known customer always learns what it may do, whatever its sector or status: only these refuse /me.
_REFUSING = frozenset({ReasonCode.CUSTOMER_UNKNOWN, ReasonCode.POLICY_UNAVAILABLE, ReasonCode.OPERATION_UNKNOWN})


@router.get("/me", tags=["account"], summary="Who am I, and what the policy lets me do",
            description="Name, sector and status from the customer registry, and for every operation the "
                        "policy's decision with the refusing rule's reason. Audited as `manage`; never refused "
                        "to a known customer (a suspended or law-enforcement customer learns why it is refused).",
            responses=m.ERROR_RESPONSES)
def who_am_i(d: deps.Container) -> account.Me:
    event = router.current_event.raw_event
    customer_id = authorizer_customer_id(event)
    gate = d.gate
    decision = gate.check(customer_id, "manage", request_id=request_id_of(event), source="http GET /me")
    customer = None if decision.reason_code in _REFUSING else gate.registry.get_customer(customer_id)
    if customer is None:  # unknown (or removed between the check and now), or the registry is down
        raise PolicyDenied(decision)
    return account.me(customer, gate.policy)


@router.get("/policy", tags=["account"], summary="The usage policy: operations, sectors, rules and their reasons",
            description="Public (no API key): anyone may read what the service refuses and why.",
            security=[{}], responses=m.ERROR_RESPONSES)
def get_policy() -> account.PolicyDocument:
    return account.policy_document()
