"""Fault injection for the local stack: AWS calls that throttle or fail, crashing batches, a registry outage.

`facesearch local serve --faults "share=0.2,sticky=0.02,crash=0.25,outage=5/15,seed=7"` turns the stack
into a storm. What each knob does (all off by default):

- `share`: that fraction of the HTTP *attempts* the functions (and the SQS event source mapping) make
  to DynamoDB, S3 and SQS is answered with a throttle (DynamoDB/SQS `ThrottlingException`, S3 503
  `SlowDown`) or a 500, half each. Injected at botocore's `before-send` event, so the SDK's own retry
  policy sees them, as it would on AWS.
- `sticky`: that fraction of *calls* fails on every attempt, as when the SDK's retries are exhausted:
  the function itself sees the error (injected at `before-call`, no retries).
- `crash`: that fraction of the indexing function's batches crashes after handling part of the batch
  (the first k of n records; k = n is "work done, response lost"): Lambda's answer to a crash or a
  timeout is to redeliver the whole batch, so work is repeated and must stay idempotent.
- `outage=D/P`: every P seconds the registry table is unavailable for D seconds (every call on it fails).
- `for=S`: the storm lasts S seconds after arming, then AWS behaves again (0, the default: until stop),
  so a run can check that everything recovers once the storm has passed, at any machine speed.
- `seed`: the random generator's seed (the same spec gives the same share, not the same interleaving).

Only calls made after `arm()` are affected (the stack arms after provisioning). The hooks are
registered through `botocore.handlers.BUILTIN_HANDLERS`, as moto registers its own stubber, so every
botocore session created after `install()` in this process carries them; `uninstall()` removes them.
Counters of what was injected are kept in `counts()` and written by the stack at stop.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore import handlers
from botocore.awsrequest import AWSResponse

log = logging.getLogger(__name__)

SERVICES = ("dynamodb", "s3", "sqs")
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([a-z0-9-]+)/aws4_request")


class InjectedCrash(RuntimeError):
    """A function 'crashed' (the fault injector stopped it mid-batch)."""


@dataclass(frozen=True)
class FaultPlan:
    """What to inject; see the module docstring. `FaultPlan.parse("share=0.2,crash=0.25,...")`."""

    share: float = 0.0
    sticky: float = 0.0
    crash: float = 0.0
    outage_seconds: float = 0.0
    outage_every: float = 0.0
    duration: float = 0.0  # seconds of storm after arming; 0: until stop
    seed: int = 0
    services: tuple[str, ...] = SERVICES

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """Parse `key=value,...`; raises ValueError naming the bad part."""
        values: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, raw = part.partition("=")
            if not sep:
                raise ValueError(f"fault spec part {part!r} is not key=value")
            key = key.strip()
            try:
                if key in ("share", "sticky", "crash"):
                    values[key] = float(raw)
                    if not 0.0 <= values[key] <= 1.0:
                        raise ValueError
                elif key == "outage":
                    duration, _, every = raw.partition("/")
                    values["outage_seconds"], values["outage_every"] = float(duration), float(every)
                    if not 0 < values["outage_seconds"] < values["outage_every"]:
                        raise ValueError
                elif key == "for":
                    values["duration"] = float(raw)
                    if values["duration"] < 0:
                        raise ValueError
                elif key == "seed":
                    values["seed"] = int(raw)
                elif key == "services":
                    values["services"] = tuple(s for s in raw.split("+") if s)
                    if not set(values["services"]) <= set(SERVICES):
                        raise ValueError
                else:
                    raise ValueError(f"unknown fault knob {key!r} (share, sticky, crash, outage, for, seed, services)")
            except ValueError as exc:
                raise ValueError(str(exc) or f"bad value in fault spec part {part!r}") from None
        return cls(**values)

    @property
    def active(self) -> bool:
        return bool(self.share or self.sticky or self.crash or self.outage_seconds)

    def describe(self) -> str:
        outage = f"{self.outage_seconds:g}s every {self.outage_every:g}s" if self.outage_seconds else "none"
        lasting = f"for {self.duration:g} s" if self.duration else "until stop"
        return (f"share {self.share:g} of attempts, sticky {self.sticky:g} of calls "
                f"({'+'.join(self.services)}), crash {self.crash:g} of batches, registry outage {outage}, "
                f"{lasting}")


class _Raw:
    """The `raw` of an AWSResponse: botocore reads the body through `stream()`."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class FaultInjector:
    """Process-wide botocore hooks driven by a FaultPlan; thread-safe."""

    plan: FaultPlan
    registry_table: str = ""
    clock: Callable[[], float] = time.monotonic
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _counts: Counter[str] = field(init=False, default_factory=Counter)
    _armed_at: float | None = field(init=False, default=None)
    _handlers: list[tuple[str, Any]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.plan.seed)  # noqa: S311 - fault timing, not security

    # ------------------------------------------------------------------ lifecycle
    def install(self) -> FaultInjector:
        """Register the hooks for every botocore session created from now on (not armed yet)."""
        self._handlers = [("before-call", self._before_call), ("before-send", self._before_send)]
        handlers.BUILTIN_HANDLERS[:0] = self._handlers  # first: before anything (moto's stubber) answers
        return self

    def arm(self) -> None:
        self._armed_at = self.clock()
        log.warning("fault injection armed: %s", self.plan.describe())

    def uninstall(self) -> None:
        self._armed_at = None
        for entry in self._handlers:
            if entry in handlers.BUILTIN_HANDLERS:
                handlers.BUILTIN_HANDLERS.remove(entry)
        self._handlers = []

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._counts.items()))

    def write_report(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"plan": self.plan.describe(), "injected": self.counts()}, handle, indent=2)

    # ------------------------------------------------------------------ decisions
    def _roll(self, probability: float) -> bool:
        if probability <= 0:
            return False
        with self._lock:
            return self._rng.random() < probability

    def _count(self, what: str) -> None:
        with self._lock:
            self._counts[what] += 1

    def storming(self) -> bool:
        """Armed, and the storm has not passed yet (`for=`)."""
        armed_at = self._armed_at
        if armed_at is None:
            return False
        return not self.plan.duration or self.clock() - armed_at < self.plan.duration

    def registry_down(self) -> bool:
        """Whether the registry table is in one of its outage windows now."""
        if not self.storming() or not self.plan.outage_seconds or self._armed_at is None:
            return False
        elapsed = self.clock() - self._armed_at
        return elapsed >= self.plan.outage_every and elapsed % self.plan.outage_every < self.plan.outage_seconds

    # ------------------------------------------------------------------ hooks
    def _before_call(self, model: Any = None, params: Any = None, event_name: str = "", **kwargs: Any) -> Any:
        """Calls that fail whatever the retries: registry outage, sticky faults."""
        if not self.storming():
            return None
        service = event_name.split(".")[1] if event_name.count(".") >= 2 else ""
        if service not in SERVICES:
            return None
        if service == "dynamodb" and self.registry_table and self.registry_down():
            body = (params or {}).get("body") or b""
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
            if f'"{self.registry_table}"' in text:
                self._count("registry_outage")
                return _short_circuit(500, "InternalServerError", "injected: registry table unavailable")
        if service in self.plan.services and self._roll(self.plan.sticky):
            self._count(f"{service}_sticky")
            status, code = _error_for(service, throttle=self._roll(0.5))
            return _short_circuit(status, code, f"injected: {getattr(model, 'name', '')} keeps failing")
        return None

    def _before_send(self, request: Any = None, **kwargs: Any) -> AWSResponse | None:
        """Attempts answered with a throttle or a 500 (the SDK retries them)."""
        if not self.storming() or request is None or not self.plan.share:
            return None
        service = _service_of(request.headers.get("Authorization"))
        if service not in self.plan.services or not self._roll(self.plan.share):
            return None
        throttle = self._roll(0.5)
        self._count(f"{service}_{'throttled' if throttle else 'error'}")
        status, code = _error_for(service, throttle=throttle)
        return _http_error(request.url, service, status, code)

    # ------------------------------------------------------------------ crashes
    def crashing(self, handler: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
        """Wrap an SQS batch handler: a share of batches stops after part of the work (no response)."""

        def run(event: dict[str, Any]) -> Any:
            records = list(event.get("Records") or [])
            if not self.storming() or not records or not self._roll(self.plan.crash):
                return handler(event)
            with self._lock:
                done = self._rng.randint(1, len(records))
            self._count("batch_crash")
            handler({**event, "Records": records[:done]})
            raise InjectedCrash(f"injected crash after {done} of {len(records)} records")

        return run


def _service_of(authorization: Any) -> str:
    """The service in a SigV4 Authorization header's credential scope ("" if unsigned)."""
    text = authorization.decode("utf-8", "replace") if isinstance(authorization, bytes) else str(authorization or "")
    found = _SCOPE.search(text)
    return found.group(1) if found else ""


def _error_for(service: str, *, throttle: bool) -> tuple[int, str]:
    if service == "s3":
        return (503, "SlowDown") if throttle else (500, "InternalError")
    if service == "dynamodb":
        return (400, "ThrottlingException") if throttle else (500, "InternalServerError")
    return (400, "ThrottlingException") if throttle else (500, "InternalFailure")


def _http_error(url: str, service: str, status: int, code: str) -> AWSResponse:
    message = f"injected {code}"
    if service == "s3":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message>"
                "<RequestId>injected</RequestId></Error>").encode()
        headers = {"Content-Type": "application/xml"}
    elif service == "dynamodb":
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0"}
    else:
        body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": f"{code};Sender"}
    headers["x-amzn-RequestId"] = "injected"
    return AWSResponse(url, status, headers, _Raw(body))


class _Status:
    """The `http` half of a short-circuited call: botocore reads status_code (and headers for logs)."""

    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""


def _short_circuit(status: int, code: str, message: str) -> tuple[_Status, dict[str, Any]]:
    return _Status(status), {"Error": {"Code": code, "Message": message},
                             "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "injected"}}
