#!/usr/bin/env bash
# Install convt with everything its tests compare against, on a fresh machine.
# - Debian's chromium for the browser test (only when missing, and only as root)
# - the package itself (editable) with the test extra: the real frameworks
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "setup: could not install chromium; the browser test will fail" >&2
fi
python -m pip install -q -e ".[test]"
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
