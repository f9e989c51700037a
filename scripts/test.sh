#!/usr/bin/env bash
# Every test: unit, corpus, ABI conformance, native versus wasm, BATV/SRS interoperability with
# Exim and pysrs, the milter end-to-end test with a real Postfix (also against the installed
# Debian package), the npm package in Node and
# its demo in Chromium, the Python package. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-module.sh
bash scripts/build-js.sh
bash scripts/interop-deps.sh
bash scripts/browser-deps.sh
bash scripts/mta-deps.sh
cargo test --locked --release --workspace
# The patched mail-parser (not a workspace member): its patches against the published code they
# replace (tests named *plain; the crate's other tests need its resources/, left out of the copy).
CARGO_TARGET_DIR=target/vendor-test cargo test --locked --manifest-path vendor/mail-parser/Cargo.toml \
    --features serde,full_encoding --lib -- plain
# The Debian package: built, installed with dpkg (root), its units' services started as systemd
# would, and the Postfix end-to-end test run against them.
NDR_PACKAGE_E2E=1 bash scripts/package-test.sh
# The Python package: its wheel in a fresh virtual environment, same answers as target/release/ndr.
bash scripts/python-package.sh
# The package's tests compare Node's answers with the host's (target/release/ndr, built above).
(cd js && npm test)
# Benchmarks are run by hand (README, "Speed"); CI only checks that they still build.
cargo bench --locked --workspace --no-run
