#!/usr/bin/env bash
# The main job on the bundled sample mail: build the module and the ndr command, then scan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-module.sh
cargo build --quiet --locked --release -p ndr-host
./target/release/ndr scan --config samples/site.toml samples/mail "$@"
