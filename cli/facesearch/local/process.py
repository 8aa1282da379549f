"""Run the local stack in a child process (the demo and the end-to-end tests do).

A child keeps the stack's process-wide state (environment, moto's patches, the functions' modules,
their log output) away from the caller. `spawn()` starts `python -m facesearch.local` with its own
state file, waits until the file appears, and stops the child (SIGINT, then SIGKILL) on exit.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


class StackFailed(RuntimeError):
    """The child exited or did not get ready in time."""


@dataclass(frozen=True)
class RunningStack:
    """A stack in a child process: its state (endpoint, admin key...) and its log file."""

    state: dict[str, Any]
    log_file: Path
    pid: int

    @property
    def endpoint(self) -> str:
        return str(self.state["endpoint"])


@contextmanager
def spawn(state_file: Path, log_file: Path, *, extra_args: list[str] | None = None,
          timeout: float = 120.0) -> Iterator[RunningStack]:
    """Start a stack in a child process; yields once it serves, stops it afterwards."""
    state_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.unlink(missing_ok=True)
    args = [sys.executable, "-m", "facesearch.local", "--state-file", str(state_file), *(extra_args or [])]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    log: IO[bytes] = log_file.open("wb")
    child = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        state = _wait_ready(child, state_file, log_file, timeout)
        yield RunningStack(state=state, log_file=log_file, pid=child.pid)
    finally:
        _stop(child)
        log.close()
        state_file.unlink(missing_ok=True)


def _wait_ready(child: subprocess.Popen[bytes], state_file: Path, log_file: Path, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise StackFailed(f"local stack exited with {child.returncode}; see {log_file}:\n{_tail(log_file)}")
        if state_file.exists():
            try:
                state: dict[str, Any] = json.loads(state_file.read_text())
            except ValueError:  # being written
                state = {}
            if state.get("pid") == child.pid:
                return state
        time.sleep(0.1)
    raise StackFailed(f"local stack not ready after {timeout:.0f}s; see {log_file}:\n{_tail(log_file)}")


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=15)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(timeout=5)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
