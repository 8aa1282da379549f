"""The local stack for end-to-end tests: one child process per test session (moto + HTTP API + pollers).

The stack runs in a child process so that its process-wide state (AWS_ENDPOINT_URL, the functions'
modules, moto's S3 event patches) never leaks into the other suites of the same pytest run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.credentials import Credentials

from facesearch.client import Client
from facesearch.local.process import RunningStack, spawn

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """Given a running local stack (authorizer results and registry reads not cached: revocations apply at once;
    audit periods of one minute, sealed as soon as they close)."""
    work = tmp_path_factory.mktemp("localstack")
    with spawn(work / "local.json", work / "stack.log",
               extra_args=["--no-metrics", "--log-level", "WARNING", "--authorizer-cache-seconds", "0",
                           "--parameter-overrides", "PolicyCacheSeconds=0", "AuditSealPeriodMinutes=1",
                           "AuditSealSettleSeconds=0"]) as running:
        yield running


@pytest.fixture(scope="session")
def admin(stack: RunningStack) -> Client:
    """A client holding the local admin key (IAM-signed admin routes)."""
    state = stack.state
    return Client(stack.endpoint, region=state["region"],
                  admin_credentials=Credentials(state["admin_access_key_id"], state["admin_secret_access_key"]))


@pytest.fixture(scope="session")
def photos() -> Path:
    return PHOTOS


@pytest.fixture
def as_operator(stack: RunningStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's shell: the stack's state file (the local admin key), no customer key or endpoint set."""
    monkeypatch.setenv("FACESEARCH_STATE_FILE", str(stack.log_file.parent / "local.json"))
    monkeypatch.delenv("FACESEARCH_API_KEY", raising=False)
    monkeypatch.delenv("FACESEARCH_ENDPOINT", raising=False)
