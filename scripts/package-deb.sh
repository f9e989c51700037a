#!/usr/bin/env bash
# The Debian package (target/debian/ndr_*.deb): ndr, the module in /usr/lib/ndr, man pages and
# shell completions generated from the CLI definition, /etc/ndr/site.toml, and the systemd units
# ndr-milter and ndr-policy (packaging/). Prints the path of the .deb on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo-deb 3.8.0 builds with rustc 1.85 and later.
CARGO_DEB_VERSION=3.8.0
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
    cargo install --locked cargo-deb --version "$CARGO_DEB_VERSION" >&2
fi
bash scripts/build-module.sh >&2
cargo build --locked --release -p ndr-host --bin ndr >&2
out=target/ndr-package
rm -rf "$out"
target/release/ndr generate man "$out/man"
target/release/ndr generate completions "$out/completions"
cargo deb --locked --no-build -p ndr-host >&2
ls -t target/debian/ndr_*.deb | head -n 1
