"""Lambda runtime helpers every function may use (this layer is the one all functions carry):
tracing where it is switched on, and SnapStart's runtime hooks.

Tracing. Powertools' Tracer imports the X-Ray SDK (about 0.3 s of a cold start) even when it is
disabled, so `tracer()` returns it only where tracing is switched on (POWERTOOLS_TRACE_DISABLED unset
or false) and otherwise a stand-in with the same decorators that imports nothing. Lambda's active
tracing (`Tracing: Active`) still records each invocation's init and duration without the SDK.

SnapStart. `before_snapshot` / `after_restore` register hooks with the managed runtime's
`snapshot_restore_py`; outside it (tests, the local stack) they are kept here, and
`run_before_snapshot()` / `run_after_restore()` simulate what the runtime does.

Garbage collection at init. A function's init allocates its long-lived objects (modules, botocore's
service models, pydantic validators, the engine): some 60-115k objects, over which CPython runs a hundred
collections or more, several of them full (10-20% of a cold start, measured here). In Lambda
(AWS_EXECUTION_ENV) an app module calls `pause_gc()` first and `end_init()` last, and the composition roots
build inside `init_phase()`: no collection while they run, then `gc.freeze()` moves what they built out of
every later collection, and collection resumes. Elsewhere (tests, the local stack, the CLI) these do nothing.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_TRUTHY = ("1", "true", "yes", "on")


def tracing_enabled(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in _TRUTHY


class _NoTracer:
    """The decorators of Powertools' Tracer, doing nothing (used where tracing is off)."""

    def capture_lambda_handler(self, lambda_handler: F | None = None, **_: Any) -> Any:
        return lambda_handler if lambda_handler is not None else (lambda handler: handler)

    def capture_method(self, method: F | None = None, **_: Any) -> Any:
        return method if method is not None else (lambda function: function)


def tracer() -> Any:
    """Powertools' Tracer where tracing is on, else a stand-in with the same decorators."""
    if not tracing_enabled():
        return _NoTracer()
    from aws_lambda_powertools import Tracer

    return Tracer()


# ------------------------------------------------------------------ garbage collection at init
def in_lambda(environ: dict[str, str] | None = None) -> bool:
    """Whether this is Lambda's managed Python runtime (it sets AWS_EXECUTION_ENV=AWS_Lambda_python3.x)."""
    env = os.environ if environ is None else environ
    return env.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda_python")


def pause_gc() -> None:
    """First thing of an app module's init (Lambda only): no collections until `end_init()`."""
    if in_lambda():
        gc.disable()


def end_init() -> None:
    """Last thing of an app module's init (Lambda only): what init built is frozen out of later collections
    (`gc.freeze()`), then collection resumes."""
    if in_lambda():
        gc.freeze()
        gc.enable()


@contextmanager
def init_phase() -> Iterator[None]:
    """Around a composition root built on the first request (Lambda only): no collections while it builds,
    then what it built is frozen and collection resumes (also when it fails)."""
    pause_gc()
    try:
        yield
    finally:
        end_init()


# ------------------------------------------------------------------ SnapStart runtime hooks
# keyed by the hook's module and name: a module imported afresh (tests) replaces its hooks
_before: dict[str, Callable[[], Any]] = {}
_after: dict[str, Callable[[], Any]] = {}


def _key(hook: Callable[..., Any]) -> str:
    return f"{hook.__module__}.{hook.__qualname__}"


def before_snapshot(hook: F) -> F:
    """Run `hook` before Lambda takes the snapshot (e.g. load models, build adapters)."""
    _before.pop(_key(hook), None)
    _before[_key(hook)] = hook
    _runtime_register("register_before_snapshot", hook)
    return hook


def after_restore(hook: F) -> F:
    """Run `hook` when Lambda resumes from the snapshot (re-create what must not be shared)."""
    _after.pop(_key(hook), None)
    _after[_key(hook)] = hook
    _runtime_register("register_after_restore", hook)
    return hook


def _runtime_register(name: str, hook: Callable[[], Any]) -> None:
    try:
        import snapshot_restore_py
    except ImportError:  # not Lambda's managed runtime: run_* simulate it
        return
    getattr(snapshot_restore_py, name)(hook)


def run_before_snapshot(*modules: str) -> None:
    """What the runtime does before a snapshot: the hooks (of `modules`, else all), in the reverse
    order of registration."""
    for hook in reversed(_of(_before, modules)):
        hook()


def run_after_restore(*modules: str) -> None:
    """What the runtime does on restore: the hooks (of `modules`, else all), in the order of registration."""
    for hook in _of(_after, modules):
        hook()


def _of(hooks: dict[str, Callable[[], Any]], modules: tuple[str, ...]) -> list[Callable[[], Any]]:
    return [h for h in hooks.values() if not modules or h.__module__ in modules]
