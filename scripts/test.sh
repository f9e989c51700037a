#!/usr/bin/env bash
# Every test: unit, corpus, ABI conformance, native versus wasm, BATV/SRS interoperability with
# Exim and pysrs, and the milter end-to-end test with a real Postfix. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-module.sh
bash scripts/interop-deps.sh
bash scripts/mta-deps.sh
cargo test --locked --release --workspace
# Benchmarks are run by hand (README, "Speed"); CI only checks that they still build.
cargo bench --locked --workspace --no-run
