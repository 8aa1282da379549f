"""Quota overrides through the admin API (registry_api over moto): set, merge, clear, show, audit, refuse."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ADMIN_ARN, Stack
from .test_policy_registry_api import _call, _create, api  # noqa: F401 - the shared fixture


def _patch(api: Any, customer_id: str, version: int, quotas: dict[str, Any]) -> tuple[int, dict[str, Any]]:  # noqa: F811
    return _call(api, "update_customer", path={"customer_id": customer_id}, body={"version": version, "quotas": quotas})


def test_quota_overrides_merge_show_their_effective_limits_and_are_audited(stack: Stack, api: Any,  # noqa: F811
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Given deployment defaults and a customer without overrides
    monkeypatch.setenv("QUOTA_REQUESTS_PER_SECOND", "20")
    monkeypatch.setenv("QUOTA_MAX_COLLECTIONS", "100")
    customer_id = _create(api)["customer"]["customer_id"]
    status, shown = _call(api, "get_customer", path={"customer_id": customer_id})
    assert status == 200 and shown["customer"]["quotas"] == {}
    assert shown["customer"]["quota_limits"]["requests_per_second"] == 20
    # When an admin sets two overrides, then another, then clears one
    status, body = _patch(api, customer_id, 1, {"requests_per_second": 5, "search": 2})
    assert status == 200 and body["customer"]["quotas"] == {"requests_per_second": 5, "search": 2}
    status, body = _patch(api, customer_id, 2, {"max_collections": 3})
    assert body["customer"]["quotas"] == {"requests_per_second": 5, "search": 2, "max_collections": 3}
    status, body = _patch(api, customer_id, 3, {"search": None})
    # Then the overrides merge, and `show` gives both the overrides and the limits in force
    status, shown = _call(api, "get_customer", path={"customer_id": customer_id})
    assert shown["customer"]["quotas"] == {"requests_per_second": 5, "max_collections": 3}
    assert shown["customer"]["quota_limits"] == {"requests_per_second": 5, "max_collections": 3,
                                                 "max_faces_per_collection": 20_000_000}
    # and every change is in the audit log with the admin and what changed
    changes = [r for r in stack.audit.list_records(customer_id=customer_id).items
               if r.details.get("action") == "update_customer"]
    assert len(changes) == 3 and all(r.principal == ADMIN_ARN for r in changes)
    assert {r.details["quota_changes"] for r in changes} == {"requests_per_second=5,search=2", "max_collections=3",
                                                             "search=None"}


@pytest.mark.parametrize("quotas", [{"delete": 1}, {"bogus": 1}, {"requests_per_second": 0}, {"search": -2},
                                    {"max_collections": "many"}, {"search": 2.5}])
def test_wrong_quotas_are_a_400_and_change_nothing(stack: Stack, api: Any, quotas: dict[str, Any]) -> None:  # noqa: F811
    customer_id = _create(api)["customer"]["customer_id"]
    status, body = _patch(api, customer_id, 1, quotas)
    assert status == 400 and body["code"] in ("INVALID_CUSTOMER", "BAD_REQUEST"), body
    assert stack.registry.get_customer(customer_id).quotas == {}
    assert stack.registry.get_customer(customer_id).version == 1
