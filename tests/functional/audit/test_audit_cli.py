"""`facesearch admin audit verify --table --bucket`: an auditor verifies directly with read-only credentials."""

from __future__ import annotations

import json

import pytest

from facesearch.cli import main as cli_main

from .conftest import AUDIT_TABLE, DIGEST_BUCKET, HOUR, START, World


def test_direct_verification_is_clean_then_fails_on_a_deleted_record(world: World,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    world.act("pd", "search", "r-deny")
    world.clock.now = START + HOUR + 360
    world.sealer.seal()
    args = ["admin", "audit", "verify", "--table", AUDIT_TABLE, "--bucket", DIGEST_BUCKET, "--json"]
    assert cli_main(args) == 0
    clean = json.loads(capsys.readouterr().out)
    assert clean["ok"] and clean["records_sealed"] == 1
    item = world.item("r-deny")
    world.table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    assert cli_main(args) == 1
    failed = json.loads(capsys.readouterr().out)
    assert failed["finding_counts"] == {"RECORD_DELETED_BEFORE_EXPIRY": 1}
    assert cli_main(args[:-1]) == 1  # as a table: the summary line and the findings
    text = capsys.readouterr().out
    assert text.startswith("FAILED") and "RECORD_DELETED_BEFORE_EXPIRY" in text and "head (anchor" in text


@pytest.mark.parametrize("extra", [["--table", AUDIT_TABLE], ["--table", AUDIT_TABLE, "--bucket", DIGEST_BUCKET,
                                                               "--anchor", "junk"]])
def test_direct_verification_refuses_bad_options(world: World, capsys: pytest.CaptureFixture[str],
                                                 extra: list[str]) -> None:
    assert cli_main(["admin", "audit", "verify", "--json", *extra]) == 1
    assert json.loads(capsys.readouterr().out)["code"] == "BAD_REQUEST"
