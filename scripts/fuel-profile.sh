#!/usr/bin/env bash
# Where the module's fuel goes, per function: builds the module, a copy of it with wasm-opt's
# execution probes (function names kept), and the profiler (host-harness/examples/fuel_profile.rs),
# then runs every message under the paths through both and prints the functions by self and
# inclusive fuel. Fails if a message's profile does not add up to the shipped module's fuel.
#   bash scripts/fuel-profile.sh PATH... [--top N] [--middle] [--callers] [--within NAME]
# --middle: only the median fifth of the messages by fuel (p40-p60), to describe the p50 one;
# --callers: each function's main caller; --within NAME: only fuel spent under functions named so.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-module.sh
module=target/wasm32-unknown-unknown/wasm/ndr_filter.wasm
# cargo's own output, before wasm-opt replaced the copy above: the same code, with its names.
named=target/wasm32-unknown-unknown/wasm/deps/ndr_filter.wasm
probed=target/fuel-profile/ndr_filter.probed.wasm
mkdir -p target/fuel-profile
# -O3 and the probes in one run: a second wasm-opt run would reshape the optimised code.
bash scripts/wasm-opt.sh "$named" "$probed" -g --log-execution
nice -n 10 cargo build --quiet --locked --release -p ndr-host --example fuel_profile
exec target/release/examples/fuel_profile "$module" "$probed" "$@"
