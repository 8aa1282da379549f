"""PolicyGate: the one call every entry point makes before any work.

check = read the (cached) registry, decide, audit (table record + structured log line + metric per
deny reason). It fails closed: a registry that cannot be read, or an audit record that cannot be
written for an allow, is a deny with POLICY_UNAVAILABLE.

`begin` is `check` for a route that parses its request while the allow's record is being written:
the record goes out on a worker thread, and `PendingDecision.settle()` waits for it and gives the final
decision. A deny is always audited before `begin` returns. The caller settles before any face work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit

from facepolicy.audit import AuditSink, iso_time
from facepolicy.errors import AuditUnavailable, PolicyDenied, RegistryUnavailable
from facepolicy.model import AuditRecord, Customer, Decision, ReasonCode
from facepolicy.policy import Policy, decide, stamped
from facepolicy.quota import QuotaEnforcer
from facepolicy.registry import CustomerRegistry

if TYPE_CHECKING:
    from concurrent.futures import Executor

logger = Logger(child=True)  # a library module: logs through the function's service logger, no handler of its own

ANONYMOUS = "anonymous"  # the audit partition of calls that carry no customer id


class MetricsSink(Protocol):
    """What the gate needs of Powertools' Metrics (flushed by the handler's @log_metrics)."""

    def add_metric(self, name: str, unit: Any, value: float, *args: Any, **kwargs: Any) -> None: ...


def deny_metric_name(reason_code: str) -> str:
    """One metric per deny reason, e.g. PolicyDenied_SECTOR_DISALLOWED."""
    return f"PolicyDenied_{reason_code}"


class PendingDecision:
    """A decision whose audit record may still be on its way (PolicyGate.begin)."""

    def __init__(self, provisional: Decision, settle: Callable[[], Decision]) -> None:
        self.provisional = provisional  # the decision before its record is stored: never act on an allow
        self._settle = settle
        self._final: Decision | None = None

    def settle(self) -> Decision:
        """The final decision, once its record is stored (waits; the first call logs it)."""
        if self._final is None:
            self._final = self._settle()
        return self._final


_writer: Executor | None = None
_writer_lock = threading.Lock()


def _audit_writer() -> Executor:
    """The thread that writes allows' audit records for `begin` (made on first use: the authorizer never)."""
    global _writer
    with _writer_lock:
        if _writer is None:
            from concurrent.futures import ThreadPoolExecutor
            _writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policy-audit")
        return _writer


class PolicyGate:
    """Built once per container (by `facepolicy.env.gate_from_env` in a composition root); `check` is
    safe to call on every request."""

    def __init__(self, registry: CustomerRegistry, audit: AuditSink, policy: Policy,
                 clock: Callable[[], float] = time.time, metrics: MetricsSink | None = None,
                 quota: QuotaEnforcer | None = None) -> None:
        self.registry = registry
        self.audit = audit
        self.policy = policy
        self.clock = clock
        self.metrics = metrics
        self.quota = quota  # the customer's quotas, applied after an allow (facepolicy.quota)

    def check(self, customer_id: str, operation: str, *, request_id: str, source: str) -> Decision:
        """Decide and audit; never raises for a deny (see `enforce`)."""
        return self._begin(customer_id, operation, request_id=request_id, source=source, defer=False).settle()

    def begin(self, customer_id: str, operation: str, *, request_id: str, source: str) -> PendingDecision:
        """`check`, with an allow's audit record written on a worker thread while the caller goes on (it
        may parse its request, nothing more): `settle()` on the answer waits for the write and gives the
        final decision, POLICY_UNAVAILABLE when the record could not be stored. A deny is audited first."""
        return self._begin(customer_id, operation, request_id=request_id, source=source, defer=True)

    def _begin(self, customer_id: str, operation: str, *, request_id: str, source: str,
               defer: bool) -> PendingDecision:
        started = time.perf_counter()
        customer, decision = self._decide(customer_id, operation, request_id)
        audit = partial(self._audit, customer_id, operation, decision, request_id=request_id, source=source,
                        sector=customer.sector if customer else "")
        write: Callable[[], Decision]
        if decision.allowed and defer:
            write = _audit_writer().submit(audit).result
        else:
            written = audit()
            write = lambda: written  # noqa: E731

        def settle() -> Decision:
            final = write()
            self._log_and_count(customer_id, operation, final, request_id=request_id, source=source,
                                elapsed_ms=(time.perf_counter() - started) * 1000)
            return final

        pending = PendingDecision(decision, settle)
        if not (decision.allowed and defer):
            pending.settle()  # audited and logged before this returns
        return pending

    def _decide(self, customer_id: str, operation: str, request_id: str) -> tuple[Customer | None, Decision]:
        """(the customer or None, the stamped decision); fails closed."""
        customer = None
        try:
            customer = self.registry.get_customer(customer_id) if customer_id else None
            decision = decide(customer, operation, self.policy)
        except RegistryUnavailable as exc:
            logger.error("policy registry unavailable", customer_id=customer_id, operation=operation,
                         request_id=request_id, error=str(exc))
            decision = Decision(False, ReasonCode.POLICY_UNAVAILABLE, None,
                                "the customer registry cannot be read; refusing rather than guessing")
        except Exception:  # fail closed on anything unforeseen, and say so loudly
            logger.exception("policy check failed", customer_id=customer_id, operation=operation,
                             request_id=request_id)
            decision = Decision(False, ReasonCode.POLICY_UNAVAILABLE, None, "the policy check failed")
        return customer, stamped(decision, self.policy)

    def enforce(self, customer_id: str, operation: str, *, request_id: str, source: str) -> Decision:
        """`check`, raising PolicyDenied(decision) on a deny."""
        decision = self.check(customer_id, operation, request_id=request_id, source=source)
        if not decision.allowed:
            raise PolicyDenied(decision)
        return decision

    def _audit(self, customer_id: str, operation: str, decision: Decision, *, request_id: str,
               source: str, sector: str) -> Decision:
        """Store the decision's record: the decision, or POLICY_UNAVAILABLE for an allow that cannot be."""
        record = AuditRecord(
            customer_id=customer_id or ANONYMOUS, operation=operation, allowed=decision.allowed,
            reason_code=decision.reason_code, rule_id=decision.rule_id, request_id=request_id,
            source=source, at=iso_time(self.clock()), message=decision.message,
            policy_version=decision.policy_version, policy_sha256=decision.policy_sha256, sector=sector,
        )
        try:
            self.audit.record(record)
        except AuditUnavailable as exc:
            logger.error("policy audit unavailable", customer_id=customer_id, operation=operation,
                         request_id=request_id, error=str(exc))
            if decision.allowed:  # no unaudited work
                return stamped(Decision(False, ReasonCode.POLICY_UNAVAILABLE, None,
                                        "the audit log cannot be written; refusing rather than acting unaudited"),
                               self.policy)
        return decision

    def _log_and_count(self, customer_id: str, operation: str, decision: Decision, *, request_id: str,
                       source: str, elapsed_ms: float) -> None:
        fields: dict[str, Any] = {"customer_id": customer_id, "operation": operation, "allowed": decision.allowed,
                  "reason_code": decision.reason_code, "rule_id": decision.rule_id, "request_id": request_id,
                  "source": source, "elapsed_ms": round(elapsed_ms, 3)}
        if decision.allowed:
            logger.info("policy decision", **fields)
        else:
            logger.warning("policy decision", **fields)
            if self.metrics is not None:
                self.metrics.add_metric(name=deny_metric_name(decision.reason_code), unit=MetricUnit.Count,
                                        value=1)
