#!/usr/bin/env bash
# The browser the demo's end-to-end test drives: Debian's chromium (playwright cannot download
# its own browsers here). Node comes with the machine; the npm packages come from build-js.sh.
# Idempotent; needs root for apt-get.
set -euo pipefail
command -v node >/dev/null || { echo "browser-deps: node (20 or later) is required" >&2; exit 1; }
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "browser-deps: need root to install chromium" >&2
    exit 1
  fi
  echo "browser-deps: installing chromium" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
