#!/usr/bin/env bash
# locust in its own virtual environment (.venv-load): it brings gevent and its own Flask, which must not
# touch the project's .venv. Safe to re-run (stamp file with the requirements' hash).
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sha256sum requirements/load.txt | cut -d' ' -f1)
if [ -x .venv-load/bin/locust ] && [ "$(cat .venv-load/.installed 2>/dev/null)" = "$want" ]; then exit 0; fi
PY=$(bash scripts/setup.sh --print-python 2>/dev/null || command -v python3)
echo "setup_load: installing locust into .venv-load"
"$PY" -m venv .venv-load
.venv-load/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/load.txt 2>&1 \
  | grep -v '^WARNING: Location' || true
.venv-load/bin/locust --version
echo "$want" > .venv-load/.installed
