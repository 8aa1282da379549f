"""`facesearch local serve`: run the local stack in the foreground until interrupted.

The state file (default `.facesearch/local.json` at the repository root, or $FACESEARCH_STATE_FILE)
holds the endpoint, the moto endpoint, the region and the local admin access key; the client reads
it when no --endpoint is given. It is removed on exit.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from facesearch.local.faults import FaultPlan
from facesearch.local.stack import LocalStack, StackOptions, write_state
from facesearch.local.template import ROOT

log = logging.getLogger(__name__)


def default_state_file() -> Path:
    """Where `local serve` writes, and the client reads, the local stack's coordinates."""
    return Path(os.environ.get("FACESEARCH_STATE_FILE") or ROOT / ".facesearch" / "local.json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=int(os.environ.get("FACESEARCH_LOCAL_PORT", "0")),
                        help="HTTP API port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--moto-port", type=int, default=0, help="moto server port (default: a free one)")
    parser.add_argument("--state-file", type=Path, default=None, help="default: .facesearch/local.json")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--authorizer-cache-seconds", type=int, default=None,
                        help="override the template's ReauthorizeEvery (0: ask the authorizer every time)")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE",
                        help="template parameters, as sam deploy takes them (e.g. PolicyCacheSeconds=0)")
    parser.add_argument("--vector-lag-seconds", type=float, default=0.0,
                        help="emulated SearchVectors (SearchEngine=vector|auto): seconds until a new face is found")
    parser.add_argument("--no-metrics", action="store_true", help="disable Powertools metrics output")
    parser.add_argument("--faults", type=FaultPlan.parse, default=None, metavar="SPEC",
                        help="inject faults, e.g. 'share=0.2,sticky=0.02,crash=0.25,outage=5/15,seed=7' "
                             "(see facesearch.local.faults)")
    parser.add_argument("--faults-report", default="", metavar="FILE",
                        help="write the counts of injected faults to FILE (JSON) at stop")


def serve(args: argparse.Namespace, announce: Any = print) -> int:
    """Start the stack, write the state file, block until SIGINT/SIGTERM, clean up."""
    logging.basicConfig(level=getattr(logging, args.log_level), format="%(asctime)s %(levelname)s %(name)s %(message)s",
                        force=True)
    state_file: Path = args.state_file or default_state_file()
    parameters = dict(item.split("=", 1) for item in args.parameter_overrides if "=" in item)
    options = StackOptions(port=args.port, moto_port=args.moto_port, log_level=args.log_level,
                           metrics=not args.no_metrics, authorizer_cache_seconds=args.authorizer_cache_seconds,
                           parameters=parameters, faults=args.faults, faults_report=args.faults_report,
                           vector_lag_seconds=args.vector_lag_seconds)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with LocalStack(options) as stack:
            write_state(state_file, stack.state())
            try:
                announce(f"facesearch local stack ready\n  endpoint  {stack.endpoint}\n"
                         f"  console   {stack.endpoint}/console/\n"
                         f"  moto      {stack.moto_endpoint}\n  state     {state_file}\n"
                         "Ctrl-C to stop.", flush=True)
                stop.wait()
            finally:
                state_file.unlink(missing_ok=True)
                announce("stopping the local stack", flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
