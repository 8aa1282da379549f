"""Run a template function in-process the way Lambda would: a context object, one container each.

A function's module is imported once (a warm container) and invocations are serialised per
function, because Powertools' resolvers and loggers keep per-invocation state on module-level
objects, exactly as one Lambda container runs one invocation at a time.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from facesearch.local.functions import Handler, load_handler
from facesearch.local.template import ACCOUNT_ID

log = logging.getLogger(__name__)


@dataclass
class LambdaContext:
    """The attributes and method of Lambda's context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionRuntime:
    """One warm container of a template function: loads its handler once, invokes it serially."""

    def __init__(self, function_id: str, template: Mapping[str, Any], *, region: str, prefix: str) -> None:
        self.function_id = function_id
        self.template = template
        props = template["Resources"][function_id]["Properties"]
        glob = template.get("Globals", {}).get("Function", {})
        self.memory_mb = int(props.get("MemorySize", glob.get("MemorySize", 128)))
        self.timeout_s = float(props.get("Timeout", glob.get("Timeout", 3)))
        self.name = f"{prefix}-{function_id}"
        self.arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{self.name}"
        self._handler: Handler | None = None
        self._lock = threading.Lock()
        self.invocations = 0

    def load(self) -> Handler:
        """Import the function's module (a cold start); later calls reuse it."""
        if self._handler is None:
            started = time.monotonic()
            self._handler = load_handler(self.function_id, self.template, fresh=True)
            log.info("cold start %s in %.2fs", self.function_id, time.monotonic() - started)
        return self._handler

    def context(self) -> LambdaContext:
        return LambdaContext(function_name=self.name, memory_limit_in_mb=self.memory_mb,
                             invoked_function_arn=self.arn, timeout_seconds=self.timeout_s)

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler with a fresh context; exceptions propagate (the caller maps them)."""
        with self._lock:
            handler = self.load()
            ctx = self.context()
            self.invocations += 1
            started = time.monotonic()
            try:
                return handler(event, ctx)
            finally:
                elapsed = time.monotonic() - started
                if elapsed > self.timeout_s:
                    log.warning("%s ran %.1fs, over its %.0fs timeout (Lambda would have stopped it)",
                                self.function_id, elapsed, self.timeout_s)
