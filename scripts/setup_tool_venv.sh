#!/usr/bin/env bash
# setup_tool_venv.sh sam|checkov|load : a tool in its own virtual environment (.venv-<name>) from the pins in
# requirements/<name>.txt, because each pins its own boto3/Flask/gevent that must not touch the project's
# .venv. Safe to re-run: a stamp with the requirements' SHA-256 skips a venv that is already right.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: setup_tool_venv.sh sam|checkov|load}
case "$name" in
  sam) tool=sam ;;
  checkov) tool=checkov ;;
  load) tool=locust ;;
  *) echo "setup_tool_venv: unknown tool '$name' (sam, checkov or load)" >&2; exit 2 ;;
esac
venv=.venv-$name
requirements=requirements/$name.txt
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ -x "$venv/bin/$tool" ] && [ "$(cat "$venv/.installed" 2>/dev/null)" = "$want" ]; then exit 0; fi
PY=$(bash scripts/setup.sh --print-python 2>/dev/null || command -v python3)
echo "setup: installing $tool into $venv"
"$PY" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" 2>&1 \
  | grep -v '^WARNING: Location' || true
version=$("$venv/bin/$tool" --version 2>&1) || { echo "setup: $tool install failed in $venv" >&2; exit 1; }
echo "setup: $(head -1 <<<"$version") in $venv"
echo "$want" > "$venv/.installed"
