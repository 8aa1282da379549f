"""Revocation and suspension take effect within 60 s end to end.

Two caches stand between an admin's change and a refused request: API Gateway's authorizer result
cache (template: ReauthorizeEvery) and the registry cache inside each function container
(template: PolicyCacheSeconds). In the worst case they add up, so their sum must stay ≤ 60 s. The
behaviour is shown on a fake clock through the local gateway (which caches authorizer results as
API Gateway does, for the template's TTL), the real authorizer function and a PolicyGate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from facepolicy import CachedRegistry, InMemoryAuditLog, InMemoryRegistry, PolicyGate, RegistryAdmin, load_policy
from facepolicy.admin import IssuedKey
from facesearch.local.functions import load_module
from facesearch.local.httpapi import Gateway
from facesearch.local.template import load_template
from tests.support.fakes import FakeClock

END_TO_END_SECONDS = 60
ADMIN = "arn:aws:iam::123456789012:user/admin"
TEMPLATE = load_template()


def authorizer_ttl(template: dict[str, Any]) -> int:
    auth = template["Resources"]["HttpApi"]["Properties"]["Auth"]
    spec = auth["Authorizers"][auth["DefaultAuthorizer"]]
    return int(spec["Identity"]["ReauthorizeEvery"])


def policy_cache(template: dict[str, Any]) -> tuple[int, int]:
    """(Default, MaxValue) of the PolicyCacheSeconds parameter."""
    param = template["Parameters"]["PolicyCacheSeconds"]
    return int(param["Default"]), int(param["MaxValue"])


def test_the_template_bounds_revocation_to_60_seconds() -> None:
    # Given the deployed caches: API Gateway's authorizer results and the functions' registry cache
    default, maximum = policy_cache(TEMPLATE)
    # Then even the largest PolicyCacheSeconds a deployer may choose keeps the sum within 60 s
    assert authorizer_ttl(TEMPLATE) + maximum <= END_TO_END_SECONDS
    assert 0 <= default <= maximum
    assert authorizer_ttl(TEMPLATE) > 0  # a cache is kept: not one authorizer call per request
    # And every function (the authorizer included) reads that parameter
    env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POLICY_CACHE_SECONDS"] == {"Ref": "PolicyCacheSeconds"}
    overrides = [lid for lid, res in TEMPLATE["Resources"].items()
                 if "POLICY_CACHE_SECONDS" in (res.get("Properties", {}).get("Environment", {}).get("Variables", {}))]
    assert overrides == []


class Context:
    function_name = "AuthorizerFunction"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:AuthorizerFunction"
    aws_request_id = "lambda-req-1"


@dataclass
class World:
    clock: FakeClock
    admin: RegistryAdmin
    gateway: Gateway
    authorizer: Any
    customer_id: str
    issued: IssuedKey

    def call(self, key: str | None = None) -> int:
        """A request through the gateway at the clock's time; its status."""
        headers = {"x-api-key": key or self.issued.secret, "content-type": "application/json"}
        return self.gateway.handle("GET", "/local/collections", headers, b"", "127.0.0.1", "http://127.0.0.1").status

    def at(self, t: float) -> int:
        self.clock.now = t
        return self.call()


@pytest.fixture
def world() -> Iterator[World]:
    # Given the template's cache times, a fake clock for both caches, the real authorizer function
    clock = FakeClock(start=0.0)
    ttl = policy_cache(TEMPLATE)[0]
    registry = InMemoryRegistry()
    admin = RegistryAdmin(registry, InMemoryAuditLog(), load_policy(), clock=clock)
    customer, issued = admin.create_customer(name="Shop", sector="retail", jurisdiction="DE", status="active",
                                             principal=ADMIN, request_id="r")
    authorizer = load_module("AuthorizerFunction", fresh=True)
    cached = CachedRegistry(registry, ttl_seconds=ttl, clock=clock)
    authorizer.get_registry = lambda: cached
    gate = PolicyGate(CachedRegistry(registry, ttl_seconds=ttl, clock=clock), InMemoryAuditLog(), load_policy(),
                      clock=clock)

    def invoke(function_id: str, event: dict[str, Any]) -> Any:
        if function_id == "AuthorizerFunction":
            return authorizer.lambda_handler(event, Context())
        caller = event["requestContext"]["authorizer"]["lambda"]["customer_id"]  # as the face API's gate does
        decision = gate.check(caller, "manage", request_id="r", source="test")
        return {"statusCode": 200 if decision.allowed else 403, "body": json.dumps({"code": decision.reason_code})}

    gateway = Gateway(TEMPLATE, invoke, stage="local", region="us-east-1", admin_key=None, clock=clock)
    yield World(clock, admin, gateway, authorizer, customer.customer_id, issued)


def test_worst_case_a_revoked_key_works_until_both_caches_expire_then_never(world: World) -> None:
    # Given an authorizer container that looked the key up at t=0 (for another gateway node)
    event = {"headers": {"x-api-key": world.issued.secret}, "requestContext": {"requestId": "other-node"}}
    assert world.authorizer.lambda_handler(event, Context())["isAuthorized"] is True
    # When the key is revoked just after
    world.clock.now = 0.001
    world.admin.revoke_key(world.customer_id, world.issued.key.key_id, principal=ADMIN, request_id="r")
    revoked_at = world.clock.now
    # Then this gateway, asking that container just before its entry expires, caches the stale yes...
    ttl_gateway, ttl_container = authorizer_ttl(TEMPLATE), policy_cache(TEMPLATE)[0]
    assert world.at(ttl_container - 0.01) == 200
    assert world.at(ttl_container - 0.02 + ttl_gateway) == 200  # the worst case: both caches in a row
    # ...and from 60 s after the revocation on, the key is refused, as API Gateway answers it
    for t in (revoked_at + END_TO_END_SECONDS, revoked_at + END_TO_END_SECONDS + 1, revoked_at + 600):
        assert world.at(t) == 403


@pytest.mark.parametrize("revoked_at", [0.5, 13.7, 29.99, 30.0, 44.2])
def test_under_steady_traffic_a_revoked_key_is_refused_within_60_seconds(world: World, revoked_at: float) -> None:
    # Given a client calling every half second
    allowed_after: list[float] = []
    revoked = False
    for step in range(0, 2 * 150):
        t = step / 2
        if not revoked and t >= revoked_at:
            world.clock.now = revoked_at
            world.admin.revoke_key(world.customer_id, world.issued.key.key_id, principal=ADMIN, request_id="r")
            revoked = True
        status = world.at(t)
        if revoked and status == 200:
            allowed_after.append(t)
        # Then no request 60 s or more after the revocation succeeds
        if t >= revoked_at + END_TO_END_SECONDS:
            assert status == 403, f"allowed at t={t}, {t - revoked_at:.1f} s after the revocation"
    assert max(allowed_after, default=revoked_at) < revoked_at + END_TO_END_SECONDS


def test_a_suspension_is_refused_within_60_seconds(world: World) -> None:
    # Given a customer whose requests are cached everywhere
    assert world.at(0.0) == 200
    # When it is suspended
    world.clock.now = 1.0
    customer = world.admin.get_customer(world.customer_id)
    world.admin.update_customer(world.customer_id, {"status": "suspended"}, customer.version, principal=ADMIN,
                                request_id="r")
    # Then the route's gate refuses it once its registry cache expires: within PolicyCacheSeconds ≤ 60 s
    assert world.at(1.0 + policy_cache(TEMPLATE)[0]) == 403
    assert world.at(1.0 + END_TO_END_SECONDS) == 403
