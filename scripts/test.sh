#!/usr/bin/env bash
# Every test: unit, corpus, ABI conformance, native versus wasm. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-module.sh
cargo test --locked --release --workspace
