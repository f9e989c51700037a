#!/usr/bin/env bash
# The Python package (python/): the ABI module copied in, a wheel built into target/python/, and
# its tests run against that wheel installed in a fresh virtual environment (pytest; the
# same-answer test needs target/release/ndr). Needs python3 with venv, and PyPI for wasmtime,
# setuptools and pytest. Pass "--build-only" to stop after the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
module=target/wasm32-unknown-unknown/wasm/ndr_filter.wasm
[ -f "$module" ] || bash scripts/build-module.sh
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "python-package: python3-venv is missing (install it as root)" >&2; exit 1; }
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >&2
fi
cp "$module" python/src/ndr_filter/ndr_filter.wasm
rm -rf target/python target/python-venv
python3 -m venv target/python-venv
venv=target/python-venv/bin
"$venv/pip" install -q --upgrade pip setuptools wheel >&2
"$venv/pip" wheel -q --no-deps -w target/python ./python >&2
wheel=$(ls target/python/ndr_filter-*.whl)
echo "python: $wheel ($(stat -c %s "$wheel") bytes)" >&2
[ "${1:-}" = "--build-only" ] && exit 0
"$venv/pip" install -q "$wheel" pytest >&2
# Run from outside python/ so that the installed wheel, not python/src, is what is tested.
# Paths from the checkout's root: `target` may be a link to a folder elsewhere.
root=$PWD
(cd target && NDR_BIN="$PWD/release/ndr" NDR_CORPUS="$root/tests/corpus" \
  python-venv/bin/python -m pytest -q -p no:cacheprovider "$root/python/tests")
