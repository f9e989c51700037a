#!/usr/bin/env bash
# Everything a fresh Debian machine with rustup needs before building: the wasm target.
# Idempotent; sourced by the other scripts.
set -euo pipefail
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "setup: installing the wasm32-unknown-unknown target" >&2
  rustup target add wasm32-unknown-unknown >&2
fi
