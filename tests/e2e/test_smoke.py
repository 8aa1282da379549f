"""`facesearch smoke` against the local stack: passes, cleans up after itself, and fails on a deviation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from facesearch.cli import main as cli_main
from facesearch.client import ApiError, Client
from facesearch.local.process import RunningStack

pytestmark = pytest.mark.e2e


def smoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = cli_main(["smoke", "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def test_smoke_passes_and_leaves_nothing_behind(stack: RunningStack, admin: Client, as_operator: None,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # When the operator runs the smoke test with the admin identity
    code, report = smoke(capsys, "--endpoint", stack.endpoint)
    # Then every step held, the police story included
    assert code == 0 and report["ok"], report
    steps = [s["step"] for s in report["steps"]]
    for expected in ("wait for INDEXED", "search it back with another photo", "compare the two photos",
                     "confirm it left search", "police search refused: 403 SECTOR_DISALLOWED",
                     "the refusal is in the audit log (admin)"):
        assert expected in steps
    # And its temporary customers are suspended with their keys revoked
    temporary = [s["detail"] for s in report["steps"] if s["step"].startswith("register a temporary")]
    assert len(temporary) == 2
    for customer_id in temporary:
        shown = admin.get_customer(customer_id)
        assert shown["customer"]["status"] == "suspended"
        assert all(k.get("revoked_at") for k in shown["keys"])


def test_smoke_with_a_customer_key_fails_on_a_deviation_and_still_cleans_up(
        stack: RunningStack, admin: Client, as_operator: None, photos: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Given a customer's own key
    created = admin.create_customer(name="Smoke owner", sector="media", jurisdiction="DE", status="active")
    customer = admin.with_key(created["api_key"]["secret"])
    # When the query photo shows someone else (the search cannot find the indexed face)
    code, report = smoke(capsys, "--endpoint", stack.endpoint, "--api-key", created["api_key"]["secret"],
                         "--query", str(photos / "biden.jpg"), "--no-admin")
    # Then the run fails at that step, exits non-zero, and the temporary collection is gone anyway
    assert code == 1 and not report["ok"]
    failed = [s for s in report["steps"] if not s["ok"]]
    assert [s["step"] for s in failed] == ["search it back with another photo"]
    assert any(s["step"] == "cleanup: delete the collection" and s["ok"] for s in report["steps"])
    collection = next(s["detail"] for s in report["steps"] if s["step"] == "create a temporary collection")
    with pytest.raises(ApiError) as gone:
        customer.describe_collection(collection)
    assert gone.value.status == 404
