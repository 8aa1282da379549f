"""A scripted HTTP server on 127.0.0.1 that injects faults: dropped connections, 429/503 with Retry-After,
gateway bodies, HTML pages, slow answers. It records every request it receives, so tests can count attempts.

`FaultServer.script(path_prefix, [Fault, ...])` queues answers for requests whose path starts with the
prefix; when a queue is empty the route's `default` answers (404 when there is none). Threads are daemons
and the server stops when the fixture ends, so no test leaves it running.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Fault:
    """One answer: a status with a JSON or raw body and headers, or `drop` (close without answering),
    optionally after `delay` seconds."""

    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    drop: bool = False
    delay: float = 0.0

    @classmethod
    def json(cls, status: int, body: Any, **headers: str) -> Fault:
        return cls(status=status, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})

    @classmethod
    def error(cls, status: int, code: str, message: str = "", **headers: str) -> Fault:
        return cls.json(status, {"code": code, "message": message or code.lower()}, **headers)

    @classmethod
    def page(cls, status: int, html: str = "<html><body><h1>502 Bad Gateway</h1></body></html>") -> Fault:
        return cls(status=status, raw=html.encode(), headers={"Content-Type": "text/html"})

    @classmethod
    def dropped(cls) -> Fault:
        return cls(drop=True)

    @classmethod
    def slow(cls, seconds: float, status: int = 200, body: Any = None) -> Fault:
        return cls(status=status, body={} if body is None else body, delay=seconds)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Responder = Callable[[Seen], Fault]


class FaultServer:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._queues: dict[str, list[Fault]] = {}
        self._defaults: dict[str, Fault | Responder] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, self.path, dict(self.headers.items()), self.rfile.read(length))
                fault = server._next(seen)
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.drop:
                    self.close_connection = True
                    return
                data = fault.raw if fault.raw is not None else json.dumps(fault.body).encode()
                self.send_response(fault.status)
                headers = {"Content-Type": "application/json", **fault.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (read timeout)
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def script(self, prefix: str, faults: list[Fault], default: Fault | Responder | None = None) -> None:
        with self._lock:
            self._queues[prefix] = list(faults)
            if default is not None:
                self._defaults[prefix] = default

    def answer(self, prefix: str, responder: Fault | Responder) -> None:
        """Answer every request under `prefix` with this fault (or function of the request)."""
        self.script(prefix, [], responder)

    def count(self, method: str | None = None, prefix: str = "") -> int:
        return sum(1 for s in self.seen if (method is None or s.method == method) and s.path.startswith(prefix))

    def _next(self, seen: Seen) -> Fault:
        with self._lock:
            self.seen.append(seen)
            for prefix in sorted(self._queues, key=len, reverse=True):
                if seen.path.startswith(prefix):
                    if self._queues[prefix]:
                        return self._queues[prefix].pop(0)
                    default = self._defaults.get(prefix)
                    if default is not None:
                        return default(seen) if callable(default) else default
        return Fault.error(404, "RESOURCE_NOT_FOUND", "no such route")


@contextmanager
def running() -> Iterator[FaultServer]:
    server = FaultServer()
    thread = threading.Thread(target=server.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        thread.join(timeout=5)
