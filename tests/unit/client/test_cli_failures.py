"""Clean failures of the `facesearch` command: one line (or {code, message} with --json), an exit status per
class, never a traceback, whatever the endpoint does."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from facesearch.cli import main
from facesearch.client import Client
from facesearch.errors import ExitCode

from .faultserver import Fault, FaultServer


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No local stack state, no endpoint from the environment; a key; one attempt unless a test says otherwise."""
    monkeypatch.setenv("FACESEARCH_STATE_FILE", str(tmp_path / "none.json"))
    monkeypatch.delenv("FACESEARCH_ENDPOINT", raising=False)
    monkeypatch.setenv("FACESEARCH_API_KEY", "fs_test")
    monkeypatch.setenv("FACESEARCH_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("FACESEARCH_TIMEOUT", "5")


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


Setup = Callable[[FaultServer, pytest.MonkeyPatch], str]


def answering(fault: Fault) -> Setup:
    def setup(server: FaultServer, _: pytest.MonkeyPatch) -> str:
        server.answer("/collections", fault)
        return server.url

    return setup


def unreachable(_: FaultServer, __: pytest.MonkeyPatch) -> str:
    return closed_port_url()


def dns_failure(_: FaultServer, monkeypatch: pytest.MonkeyPatch) -> str:
    def no_such_host(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    return "https://api.facesearch.invalid/prod"


def tls_to_plain_http(server: FaultServer, _: pytest.MonkeyPatch) -> str:
    return server.url.replace("http://", "https://")


def slow(server: FaultServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("FACESEARCH_TIMEOUT", "0.3")
    server.answer("/collections", Fault.slow(1.5))
    return server.url


CASES: dict[str, tuple[Setup, str, ExitCode]] = {
    "policy refusal": (answering(Fault.json(403, {"code": "SECTOR_DISALLOWED", "message": "law enforcement may not "
                                                  "search", "rule_id": "no-identification"})),
                       "SECTOR_DISALLOWED", ExitCode.REFUSED),
    "revoked key": (answering(Fault.json(403, {"message": "Forbidden"})), "FORBIDDEN", ExitCode.REFUSED),
    "not found": (answering(Fault.error(404, "RESOURCE_NOT_FOUND", "the collection does not exist")),
                  "RESOURCE_NOT_FOUND", ExitCode.NOT_FOUND),
    "throttled": (answering(Fault.error(429, "THROTTLED", "over quota", Retry_After="30")), "THROTTLED",
                  ExitCode.THROTTLED),
    "gateway throttled": (answering(Fault.json(429, {"message": "Too Many Requests"})), "THROTTLED",
                          ExitCode.THROTTLED),
    "policy unavailable": (answering(Fault.error(503, "POLICY_UNAVAILABLE", Retry_After="1")), "POLICY_UNAVAILABLE",
                           ExitCode.UNAVAILABLE),
    "gateway html page": (answering(Fault.page(502)), "BAD_GATEWAY", ExitCode.UNAVAILABLE),
    "gateway timeout": (answering(Fault.json(504, {"message": "Endpoint request timed out"})), "GATEWAY_TIMEOUT",
                        ExitCode.UNAVAILABLE),
    "captive portal": (answering(Fault.page(200, "<html>Sign in to the hotel wifi</html>")), "INVALID_RESPONSE",
                       ExitCode.UNAVAILABLE),
    "dropped": (answering(Fault.dropped()), "CONNECTION_LOST", ExitCode.UNAVAILABLE),
    "slow": (slow, "TIMEOUT", ExitCode.UNAVAILABLE),
    "unreachable": (unreachable, "ENDPOINT_UNREACHABLE", ExitCode.UNAVAILABLE),
    "dns": (dns_failure, "DNS_FAILURE", ExitCode.UNAVAILABLE),
    "tls": (tls_to_plain_http, "TLS_ERROR", ExitCode.UNAVAILABLE),
}


@pytest.mark.parametrize("case", CASES)
def test_each_failure_is_one_json_object_and_its_exit_status(case: str, server: FaultServer,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    setup, code, exit_code = CASES[case]
    endpoint = setup(server, monkeypatch)
    status, out, err = run(capsys, "collections", "list", "--json", "--endpoint", endpoint)
    answer = json.loads(out)
    assert status == exit_code
    assert answer["code"] == code and answer["message"]
    assert out.count("\n") == 1 and err == ""


@pytest.mark.parametrize("case", CASES)
def test_each_failure_is_one_line_without_json(case: str, server: FaultServer, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    setup, code, exit_code = CASES[case]
    endpoint = setup(server, monkeypatch)
    status, out, err = run(capsys, "collections", "list", "--endpoint", endpoint)
    assert status == exit_code
    assert out == "" and err.startswith(f"error {code}: ") and err.count("\n") == 1


def test_the_refusal_names_its_rule_and_the_throttle_its_wait(server: FaultServer,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    server.answer("/collections", Fault.json(403, {"code": "SECTOR_DISALLOWED", "message": "no", "rule_id": "r-1"}))
    assert json.loads(run(capsys, "collections", "list", "--json", "--endpoint", server.url)[1])["rule_id"] == "r-1"
    server.answer("/collections", Fault.error(429, "THROTTLED", Retry_After="30"))
    assert json.loads(run(capsys, "collections", "list", "--json", "--endpoint", server.url)[1])["retry_after"] == 30


def test_the_command_retries_with_max_attempts(server: FaultServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.script("/collections", [Fault.error(503, "POLICY_UNAVAILABLE", Retry_After="0"),
                                   Fault.error(503, "POLICY_UNAVAILABLE", Retry_After="0"),
                                   Fault.json(200, {"collections": []})])
    status, out, _ = run(capsys, "collections", "list", "--json", "--max-attempts", "3", "--endpoint", server.url)
    assert status == 0 and json.loads(out) == {"collections": []} and server.count() == 3


@pytest.mark.parametrize(("argv", "code"), [
    (["collections", "list"], "CONFIGURATION"),  # no endpoint anywhere
    (["collections", "list", "--endpoint", "ftp://example.com"], "CONFIGURATION"),
    (["collections", "lst"], "USAGE"),
    (["search"], "USAGE"),
    (["collections", "list", "--max-attempts", "0", "--endpoint", "http://127.0.0.1:9"], "CONFIGURATION"),
    (["search", "/no/such/file.jpg", "--collection", "c", "--endpoint", "http://127.0.0.1:9"], "FILE_NOT_READABLE"),
])
def test_usage_errors_exit_2(argv: list[str], code: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, *argv, "--json")
    assert status == ExitCode.USAGE and json.loads(out)["code"] == code
    status, out, err = run(capsys, *argv)
    assert status == ExitCode.USAGE and out == "" and f"error {code}: " in err


def test_a_missing_api_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, server: FaultServer,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("FACESEARCH_API_KEY")
    status, out, _ = run(capsys, "collections", "list", "--json", "--endpoint", server.url)
    assert status == ExitCode.USAGE and json.loads(out)["code"] == "CONFIGURATION" and server.count() == 0


def test_no_arguments_print_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys)
    assert status == 0 and "usage: facesearch" in out and "exit status:" in out


def test_the_help_documents_exit_statuses_and_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    for text in ("2  usage", "3  refused", "4  not found", "5  throttled", "6  unavailable",
                 "FACESEARCH_MAX_ATTEMPTS", "Retry-After"):
        assert text in out


def test_an_unexpected_error_is_one_line_too(monkeypatch: pytest.MonkeyPatch, server: FaultServer,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    def broken(self: Client) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Client, "list_collections", broken)
    status, out, _ = run(capsys, "collections", "list", "--json", "--endpoint", server.url)
    assert status == ExitCode.ERROR and json.loads(out)["code"] == "INTERNAL_ERROR"
