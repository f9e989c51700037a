#!/usr/bin/env bash
# Postfix for the milter end-to-end test (tests/tests/postfix.rs) and the load test. The test
# runs a private Postfix instance (its own config, queue and mail directories under target/), so
# the package's own instance is neither configured nor used. rspamd for the rspamd rule's test
# (tests/tests/serve.rs), run the same way from a private configuration. redis-server for the
# shared-state tests (tests/tests/state.rs), which start their own servers on loopback (the
# package's own service is not used; valkey-server is not in Debian bookworm, those tests say so
# and skip it). Idempotent; needs root for apt-get.
set -euo pipefail
if command -v postfix >/dev/null && [ -x /usr/lib/postfix/sbin/master ] && command -v rspamd >/dev/null \
  && command -v redis-server >/dev/null; then
  echo "mta-deps: ready ($(postconf -d -h mail_version 2>/dev/null | sed 's/^/Postfix /'))" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "mta-deps: need root to install postfix, rspamd and redis-server" >&2
  exit 1
fi
echo "mta-deps: installing postfix, rspamd and redis-server" >&2
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix rspamd redis-server >&2
# The package starts its own server on port 6379 where it can; the tests never use it.
echo "mta-deps: ready (Postfix $(postconf -d -h mail_version))" >&2
