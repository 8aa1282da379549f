"""Offboarding through the local stack: `facesearch admin customers erase` and the erasure ledger commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from facesearch.cli import main as cli_main
from facesearch.client import ApiError, Client
from facesearch.local.process import RunningStack

pytestmark = pytest.mark.e2e


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = cli_main([*args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def test_erasing_a_customer_removes_its_data_keeps_a_tombstone_and_the_audit(
        stack: RunningStack, admin: Client, photos: Path, as_operator: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    # Given a customer with an indexed photo, and another customer
    leaving = admin.create_customer(name="Leaving", sector="media", jurisdiction="FR", status="active")
    staying = admin.create_customer(name="Staying", sector="media", jurisdiction="FR", status="active")
    customer_id = leaving["customer"]["customer_id"]
    client, other = admin.with_key(leaving["api_key"]["secret"]), admin.with_key(staying["api_key"]["secret"])
    for c in (client, other):
        c.create_collection("album")
        uploads = [c.upload_file("album", photos / "obama.jpg")]
        assert c.wait_indexed("album", uploads, timeout=90) and uploads[0].status == "INDEXED"
    # When the operator erases it without confirming, nothing happens
    code, answer = run(capsys, "admin", "customers", "erase", customer_id)
    assert code == 2 and answer["code"] == "CONFIRMATION_REQUIRED"  # usage: --yes is missing
    # When the operator erases it
    code, answer = run(capsys, "admin", "customers", "erase", customer_id, "--yes")
    # Then it is done and says what it removed
    assert code == 0 and answer["done"], answer
    removed = answer["removed"]
    assert removed["collections"] == 1 and removed["faces"] == 1 and removed["keys_revoked"] == 1
    assert removed["upload_versions"] >= 1 and removed["images"] >= 1
    # And the key no longer works, the record is a tombstone, the audit is intact
    with pytest.raises(ApiError) as refused:
        client.list_collections()
    assert refused.value.status == 403
    assert admin.get_customer(customer_id)["customer"]["status"] == "terminated"
    actions = [r.get("details", {}).get("action") for r in admin.audit(customer_id=customer_id, limit=100)]
    assert "create_customer" in actions and "erase_customer" in actions
    # And no version of its uploads is left in the bucket
    state = stack.state
    s3 = boto3.client("s3", endpoint_url=state["moto_endpoint"], region_name=state["region"],
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    listed = s3.list_object_versions(Bucket=state["resources"]["UploadsBucket"], Prefix=f"uploads/{customer_id}/")
    assert not listed.get("Versions") and not listed.get("DeleteMarkers")
    # And the other customer is untouched
    assert other.describe_collection("album")["face_count"] == 1
    # And the ledger lists the erasure; reapplying it (after a restore) finds nothing left
    code, ledger = run(capsys, "admin", "erasures", "list")
    assert code == 0 and any(e["customer_id"] == customer_id and e["status"] == "COMPLETE"
                             for e in ledger["erasures"])
    code, reapplied = run(capsys, "admin", "erasures", "reapply")
    assert code == 0
    mine = next(r for r in reapplied["reapplied"] if r["customer_id"] == customer_id)
    assert mine["removed"]["faces"] == 0 and mine["removed"]["collections"] == 0


def test_erasing_an_unknown_customer_is_not_found(as_operator: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, answer = run(capsys, "admin", "customers", "erase", "nobody-here", "--yes")
    assert code == 4 and answer["code"] == "CUSTOMER_NOT_FOUND"  # exit status 4: not found
