"""The whole deployment on one machine: moto for AWS, the HTTP API adapter, the SQS pollers.

`LocalStack` reads template.yaml, starts a moto server on 127.0.0.1, provisions every table,
bucket (with its notifications) and queue (with its redrive policy), sets the functions'
environment (their resolved template variables plus AWS_ENDPOINT_URL pointing at moto), and
serves the template's HttpApi events and SQS event source mappings with the functions' own
handlers, in this process. The environment is process-wide, so one stack runs per process; `stop()`
restores it. Use `spawn()` (in `facesearch.local.process`) to run a stack in a child process.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from facesearch.local import s3events, search_vectors
from facesearch.local.faults import FaultInjector, FaultPlan
from facesearch.local.functions import function_ids
from facesearch.local.httpapi import AdminKey, Gateway, HttpApiServer
from facesearch.local.poller import SqsPoller, read_sqs_mappings
from facesearch.local.runtime import FunctionRuntime
from facesearch.local.template import Names, Provisioned, load_template, provision

log = logging.getLogger(__name__)

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StackOptions:
    """Knobs of the local stack; defaults mirror the template."""

    port: int = 0
    moto_port: int = 0
    region: str = "us-east-1"
    stage: str = "local"
    log_level: str = "INFO"
    metrics: bool = True
    authorizer_cache_seconds: int | None = None  # None: the template's ReauthorizeEvery
    retry_delay_seconds: int = 1
    parameters: dict[str, str] = field(default_factory=dict)  # template parameter overrides
    extra_env: dict[str, str] = field(default_factory=dict)
    faults: FaultPlan | None = None  # a storm (facesearch.local.faults); None: AWS behaves
    faults_report: str = ""  # where to write what was injected, at stop
    # in a storm, messages whose batch crashed or whose delete failed come back after this (not 6 minutes)
    storm_visibility_seconds: int = 5
    vector_lag_seconds: float = 0.0  # emulated SearchVectors: how long a new face takes to become searchable


class LocalStack:
    """Context manager: `with LocalStack() as stack: ... stack.endpoint ...`."""

    def __init__(self, options: StackOptions | None = None, template: Mapping[str, Any] | None = None) -> None:
        self.options = options or StackOptions()
        self.template = template if template is not None else load_template()
        self.names = Names(prefix="facesearch-local", region=self.options.region,
                           parameters={"Stage": self.options.stage, "LogLevel": self.options.log_level,
                                       **self.options.parameters})
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.pollers: list[SqsPoller] = []
        self.provisioned: Provisioned | None = None
        self.admin_key: AdminKey | None = None
        self.moto_endpoint = ""
        self.endpoint = ""
        self._moto: ThreadedMotoServer | None = None
        self._http: HttpApiServer | None = None
        self._saved_env: dict[str, str | None] = {}
        self._loaded_modules: list[str] = []
        self.faults: FaultInjector | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> LocalStack:
        opts = self.options
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto_port = opts.moto_port or free_port()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        self._moto.start()
        self.moto_endpoint = f"http://127.0.0.1:{moto_port}"
        s3events.install()
        if opts.faults is not None and opts.faults.active:  # before any session: its clients carry the hooks
            self.faults = FaultInjector(opts.faults).install()
        search_vectors.install(lag_seconds=self.options.vector_lag_seconds)
        session = boto3.Session(aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                                region_name=opts.region)
        self.provisioned = provision(_EndpointSession(session, self.moto_endpoint), self.template, self.names)
        self.admin_key = self._create_admin(session)
        self._set_env(self._function_env())
        ids = function_ids(self.template)
        self.runtimes = {fid: FunctionRuntime(fid, self.template, region=opts.region, prefix=self.names.prefix)
                         for fid in ids}
        for fid, runtime in self.runtimes.items():  # cold starts now, so the first request is warm
            own = self.provisioned.env(self.template, fid, self.names)
            try:
                with _env_overrides({k: v for k, v in own.items() if os.environ.get(k) != v}):
                    runtime.load()
                self._loaded_modules.append(f"_fn_{fid}_app")
            except Exception:
                log.exception("function %s failed to load; its routes will answer 500", fid)
        gateway = Gateway(self.template, self.invoke, stage=opts.stage, region=opts.region,
                          admin_key=self.admin_key, authorizer_cache_seconds=opts.authorizer_cache_seconds)
        self._http = HttpApiServer(gateway, opts.port).start()
        self.endpoint = self._http.endpoint
        self._start_pollers(session)
        if self.faults is not None:
            self.faults.registry_table = self.provisioned.tables.get("RegistryTable", "")
            self.faults.arm()
        log.info("local stack up: api %s, moto %s", self.endpoint, self.moto_endpoint)
        return self

    def stop(self) -> None:
        """Stop pollers, the HTTP server and moto; restore the environment and moto's code."""
        for poller in self.pollers:
            poller.stop()
        self.pollers = []
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        s3events.uninstall()
        if self.faults is not None:
            log.warning("faults injected: %s", self.faults.counts())
            if self.options.faults_report:
                self.faults.write_report(self.options.faults_report)
            self.faults.uninstall()
            self.faults = None
        search_vectors.uninstall()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}
        for name in self._loaded_modules:  # clients inside point at a moto that is gone
            sys.modules.pop(name, None)
        self._loaded_modules = []

    # ------------------------------------------------------------------ pieces
    def invoke(self, function_id: str, event: dict[str, Any]) -> Any:
        """Invoke a template function with an event (as `aws lambda invoke` would)."""
        return self.runtimes[function_id].invoke(event)

    def state(self) -> dict[str, Any]:
        """What a client needs to talk to this stack (the content of the state file)."""
        if self.admin_key is None or self.provisioned is None:
            raise RuntimeError("stack not started")
        return {
            "endpoint": self.endpoint,
            "moto_endpoint": self.moto_endpoint,
            "region": self.options.region,
            "admin_access_key_id": self.admin_key.access_key_id,
            "admin_secret_access_key": self.admin_key.secret_access_key,
            "admin_user_arn": self.admin_key.user_arn,
            "pid": os.getpid(),
            "resources": {**self.provisioned.tables, **self.provisioned.buckets, **self.provisioned.queues},
        }

    def _create_admin(self, session: boto3.Session) -> AdminKey:
        iam = session.client("iam", endpoint_url=self.moto_endpoint)
        user = iam.create_user(UserName=f"{self.names.prefix}-admin")["User"]
        key = iam.create_access_key(UserName=user["UserName"])["AccessKey"]
        return AdminKey(key["AccessKeyId"], key["SecretAccessKey"], user["Arn"])

    def _function_env(self) -> dict[str, str]:
        if self.provisioned is None:
            raise RuntimeError("not provisioned")
        env: dict[str, str] = {}
        for fid in function_ids(self.template):
            for key, value in self.provisioned.env(self.template, fid, self.names).items():
                if key in env and env[key] != value:  # one process, one environment: the first wins after import
                    log.info("env %s differs between functions (%s vs %s): each gets its own value while its "
                             "module is imported, then %s", key, env[key], value, env[key])
                env.setdefault(key, value)
        env.update(FAKE_CREDENTIALS)
        env.update({
            "AWS_ENDPOINT_URL": self.moto_endpoint,
            "AWS_DEFAULT_REGION": self.options.region,
            "AWS_REGION": self.options.region,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": self.options.log_level,
            "POWERTOOLS_DEV": "false",
            "FACESEARCH_LOCAL": "1",
        })
        env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "FaceSearch")
        if not self.options.metrics:
            env["POWERTOOLS_METRICS_DISABLED"] = "true"
        env.update(self.options.extra_env)
        return env

    def _set_env(self, env: Mapping[str, str]) -> None:
        for key, value in env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _start_pollers(self, session: boto3.Session) -> None:
        if self.provisioned is None:
            return
        sqs = session.client("sqs", endpoint_url=self.moto_endpoint)
        for mapping in read_sqs_mappings(self.template):
            runtime = self.runtimes[mapping.function_id]
            queue_url = self.provisioned.queues[mapping.queue_logical_id]
            handler: Any = lambda event, runtime=runtime: runtime.invoke(event)  # noqa: E731
            if self.faults is not None:
                handler = self.faults.crashing(handler)
            poller = SqsPoller(sqs, queue_url, self.provisioned.queue_arns[mapping.queue_logical_id],
                               handler, mapping, region=self.options.region,
                               retry_delay=self.options.retry_delay_seconds,
                               visibility_timeout=self.options.storm_visibility_seconds if self.faults else None)
            self.pollers.append(poller.start())


@contextmanager
def _env_overrides(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block (a function's own values at import)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _EndpointSession:
    """A boto3 Session stand-in whose clients all talk to one endpoint (moto)."""

    def __init__(self, session: boto3.Session, endpoint: str) -> None:
        self._session = session
        self._endpoint = endpoint

    def client(self, name: str, **kwargs: Any) -> Any:
        return self._session.client(name, endpoint_url=self._endpoint, **kwargs)  # type: ignore[call-overload]


def write_state(path: os.PathLike[str] | str, state: Mapping[str, Any]) -> None:
    """Write the state file (0600: it holds the local admin secret)."""
    target = os.fspath(path)
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    tmp = f"{target}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle, indent=2)
    os.replace(tmp, target)

