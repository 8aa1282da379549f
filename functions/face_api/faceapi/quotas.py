"""The collection quota of POST /collections (the rate quotas are applied with the policy check)."""

from __future__ import annotations

from faceapi.deps import Deps

PAGE = 1000


def check_collection_quota(d: Deps, customer_id: str) -> None:
    """Raise facepolicy.quota.QuotaExceeded (400 LIMIT_EXCEEDED) if the customer holds max_collections."""
    if d.gate.quota is None:
        return

    def count_up_to(limit: int) -> int:
        counted, token = 0, None
        while counted < limit:
            items, token = d.store.list_collections(customer_id, min(PAGE, limit - counted), token)
            counted += len(items)
            if not token:
                break
        return counted

    d.gate.quota.check_collections(customer_id, count_up_to)
