"""The verifiable audit trail on the local stack: act -> seal -> verify clean -> tamper -> verify fails -> report."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from facepolicy.policy import POLICY_PATH
from facesearch.cli import main as cli_main
from facesearch.client import ApiError, Client
from facesearch.local.process import RunningStack

pytestmark = pytest.mark.e2e


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    status = cli_main(["admin", *args])
    out = capsys.readouterr().out
    return status, json.loads(out) if "--json" in args else out


def _audit_table(stack: RunningStack) -> Any:
    state = stack.state
    dynamodb = boto3.resource("dynamodb", endpoint_url=state["moto_endpoint"], region_name=state["region"],
                              aws_access_key_id="testing", aws_secret_access_key="testing")
    return dynamodb.Table(state["resources"]["AuditTable"])


def test_act_seal_verify_tamper_verify_report(stack: RunningStack, admin: Client, photos: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    state_file = tmp_path / "local.json"
    state_file.write_text(json.dumps(stack.state))
    monkeypatch.setenv("FACESEARCH_STATE_FILE", str(state_file))  # the CLI's admin key and endpoint
    # Act: a police department is refused, and the refusal names the policy file that made it
    police = admin.create_customer(name="Audit PD", sector="law_enforcement", jurisdiction="US", status="active")
    cops = admin.with_key(police["api_key"]["secret"])
    image = (photos / "obama.jpg").read_bytes()
    with pytest.raises(ApiError) as refused:
        cops.compare(image, image)
    body = refused.value.body
    assert (refused.value.status, body["code"]) == (403, "SECTOR_DISALLOWED")
    assert body["policy_sha256"] == hashlib.sha256(POLICY_PATH.read_bytes()).hexdigest()
    assert body["policy_version"] >= 1
    with pytest.raises(ApiError):
        cops.search("evidence", image)
    # Seal: once the one-minute period of that refusal has closed
    time.sleep(61 - time.time() % 60)
    status, sealed = _cli(capsys, "audit", "seal", "--json")
    assert status == 0 and sum(d["record_count"] for d in sealed["sealed"]) >= 2, sealed
    # Verify: clean
    status, clean = _cli(capsys, "audit", "verify", "--json")
    assert status == 0 and clean["ok"] and clean["records_intact"] == clean["records_sealed"] >= 2, clean
    # Tamper: someone deletes the police refusal from the audit table
    table = _audit_table(stack)
    pk = f"CUSTOMER#{police['customer']['customer_id']}"
    (refusal,) = [i for i in table.query(KeyConditionExpression="pk = :pk",
                                         ExpressionAttributeValues={":pk": pk})["Items"]
                  if i["operation"] == "compare"]
    table.delete_item(Key={"pk": refusal["pk"], "sk": refusal["sk"]})
    # Verify: fails, naming the record
    status, failed = _cli(capsys, "audit", "verify", "--json")
    assert status == 1 and not failed["ok"]
    assert [(f["kind"], f["sk"]) for f in failed["findings"]] == [("RECORD_DELETED_BEFORE_EXPIRY", refusal["sk"])]
    status, text = _cli(capsys, "audit", "verify")
    assert status == 1 and "FAILED" in text and "RECORD_DELETED_BEFORE_EXPIRY" in text
    # Report: the admin actions above were audited too, and the HTML is one self-contained file
    page = tmp_path / "report.html"
    status, _ = _cli(capsys, "report", "--since", "1h", "--format", "html", "--output", str(page))
    html = page.read_text()
    assert status == 0 and "<svg" in html and "law-enforcement-identification" in html  # the search refusal
    status, document = _cli(capsys, "report", "--since", "1h", "--format", "json", "--json")
    assert status == 0 and document["totals"]["admin_actions"] >= 3
    actions = admin.audit(customer_id="_admin", limit=20)
    assert {"audit_seal", "audit_verify", "transparency_report"} <= {r["details"]["action"] for r in actions}
