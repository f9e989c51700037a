#!/usr/bin/env bash
# Build the zero-import ABI module: target/wasm32-unknown-unknown/wasm/ndr_filter.wasm (optimised
# with wasm-opt; needs node and npm, which the JS package needs too)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --quiet --locked -p ndr-filter --features abi --target wasm32-unknown-unknown --profile wasm
bash scripts/wasm-opt.sh target/wasm32-unknown-unknown/wasm/ndr_filter.wasm
ls -l target/wasm32-unknown-unknown/wasm/ndr_filter.wasm | awk '{print "module: " $NF " (" $5 " bytes)"}' >&2
