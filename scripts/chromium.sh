#!/usr/bin/env bash
# The browser for the console's browser tests: Debian's chromium + chromium-driver (apt; nothing is
# downloaded by a tool at test time).
#   scripts/chromium.sh --check     say whether the browser tests will run (always exits 0)
#   scripts/chromium.sh --install   apt-get install them when missing (CI: .ci/run calls this)
set -euo pipefail

browser=$(command -v chromium || command -v chromium-browser || true)
driver=$(command -v chromedriver || true)

case "${1:---check}" in
  --check)
    if [ -n "$browser" ] && [ -n "$driver" ]; then
      echo "browser tests: on ($("$browser" --version 2>/dev/null | head -1), driver $driver)"
    else
      echo "browser tests: SKIPPED, chromium and chromium-driver are not installed" \
           "(apt-get install -y chromium chromium-driver, or run .ci/run, which installs them)"
    fi
    ;;
  --install)
    if [ -n "$browser" ] && [ -n "$driver" ]; then exit 0; fi
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
    echo "installing chromium and chromium-driver (apt) for the browser tests"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
    ;;
  *) echo "usage: $0 [--check|--install]" >&2; exit 2 ;;
esac
