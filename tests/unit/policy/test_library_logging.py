"""The policy layer's modules log through the importing process's loggers and never add handlers of their own.

They once created Powertools service loggers at import: the CLI, which logs under the `facesearch` name (the
functions' service name too), then printed JSON log lines into its own stdout (`--json` output broken).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

MODULES = ("facepolicy.gate", "facepolicy.quota", "facepolicy.admin", "facepolicy.audit_actions", "facepolicy.seal")

PROBE = """
import importlib, json, logging, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
with_handlers = sorted(n for n, lg in logging.Logger.manager.loggerDict.items()
                       if isinstance(lg, logging.Logger)
                       and any(not isinstance(h, logging.NullHandler) for h in lg.handlers))
print(json.dumps(with_handlers + [n for n in ("",) if logging.getLogger().handlers]))
"""


def test_importing_the_policy_modules_adds_no_log_handler() -> None:
    env = {**os.environ, "POWERTOOLS_SERVICE_NAME": "facesearch"}
    done = subprocess.run([sys.executable, "-c", PROBE, *MODULES], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    assert json.loads(done.stdout) == []

