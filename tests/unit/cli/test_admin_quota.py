"""`facesearch admin customers update --quota NAME=VALUE` and the quota table of `admin customers show`."""

from __future__ import annotations

from typing import Any

import pytest

from facesearch.cli import build_parser
from facesearch.commands import admin


class FakeClient:
    def __init__(self, customer: dict[str, Any]) -> None:
        self.customer = customer
        self.updates: list[tuple[str, dict[str, Any], int | None]] = []

    def update_customer(self, customer_id: str, changes: dict[str, Any], version: int | None = None) -> dict[str, Any]:
        self.updates.append((customer_id, changes, version))
        return {"customer": self.customer}

    def get_customer(self, customer_id: str) -> dict[str, Any]:
        return {"customer": self.customer, "keys": []}


CUSTOMER = {"customer_id": "cus_1", "name": "Archive", "sector": "media", "status": "active", "version": 4,
            "quotas": {"requests_per_second": 5, "search": 2},
            "quota_limits": {"requests_per_second": 5, "search": 2, "max_collections": 100,
                             "max_faces_per_collection": None}}


def test_repeated_quota_options_become_one_quotas_change() -> None:
    args = build_parser().parse_args(["admin", "customers", "update", "cus_1", "--quota", "requests_per_second=5",
                                      "--quota", "search=2", "--quota", "max_collections=default"])
    client = FakeClient(CUSTOMER)
    assert admin._update_customer(args, client) == 0  # type: ignore[arg-type]
    assert client.updates == [("cus_1", {"quotas": {"requests_per_second": 5, "search": 2, "max_collections": None}},
                               None)]


@pytest.mark.parametrize("bad", ["search", "search=", "=2", "search=fast", "search=2.5"])
def test_a_malformed_quota_is_a_usage_error(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["admin", "customers", "update", "cus_1", "--quota", bad])
    assert exit_info.value.code == 2 and "--quota" in capsys.readouterr().err


def test_show_prints_each_quota_in_force_and_its_override(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["admin", "customers", "show", "cus_1"])
    assert admin._show_customer(args, FakeClient(CUSTOMER)) == 0  # type: ignore[arg-type]
    lines = capsys.readouterr().out.splitlines()
    quota_rows = {line.split()[0]: line.split()[1:] for line in lines if line.startswith(("requests_", "search",
                                                                                          "max_"))}
    assert quota_rows["requests_per_second"] == ["5", "5"]
    assert quota_rows["max_collections"] == ["100", "-"]
    assert quota_rows["max_faces_per_collection"] == ["unlimited", "-"]
