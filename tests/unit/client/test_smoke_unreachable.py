"""`facesearch smoke` against an endpoint that does not answer: a failed step, not a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

from facesearch.client import Client, RetrySettings
from facesearch.smoke import Smoke, SmokeOptions


def closed_port() -> int:
    with socket.socket() as s:  # bound and closed again: nothing listens there
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_endpoint_fails_the_first_step_with_the_transport_error(tmp_path: Path) -> None:
    photo = tmp_path / "face.jpg"
    photo.write_bytes(b"not read: the first step fails before any upload")
    client = Client(f"http://127.0.0.1:{closed_port()}", api_key="fsk_test",
                    retry=RetrySettings(max_attempts=1, connect_timeout=2, read_timeout=2))
    # When the smoke test runs against it
    report = Smoke(client, SmokeOptions(photo=photo, query=photo, timeout=1)).run()
    # Then it reports the failed step with the client's code, and nothing else ran
    assert not report.ok
    assert [s.name for s in report.steps] == ["create a temporary collection"]
    assert "ENDPOINT_UNREACHABLE" in report.steps[0].detail
