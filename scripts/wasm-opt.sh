#!/usr/bin/env bash
# Optimise a wasm module in place with binaryen's wasm-opt -O3 (about 15% smaller, a little
# faster). binaryen comes from npm (Debian's is too old), pinned, into target/tools. Skips a
# module it already optimised (a stamp holds the optimised file's checksum).
#   bash scripts/wasm-opt.sh MODULE.wasm
set -euo pipefail
cd "$(dirname "$0")/.."
module=$1
version=132.0.0
tools=target/tools
wasm_opt=$tools/node_modules/.bin/wasm-opt
stamp=$module.opt-stamp
if [ -f "$stamp" ] && [ "$(sha256sum < "$module")" = "$(cat "$stamp")" ]; then
  exit 0
fi
if [ ! -x "$wasm_opt" ] || ! grep -q "\"version\": \"$version\"" "$tools/node_modules/binaryen/package.json" 2>/dev/null; then
  echo "wasm-opt: installing binaryen $version from npm" >&2
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "binaryen@$version" >&2
fi
# The features rustc 1.95 emits for wasm32-unknown-unknown (build-notes.md); nothing new.
"$wasm_opt" -O3 --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-mutable-globals --enable-reference-types --enable-multivalue "$module" -o "$module.tmp"
mv "$module.tmp" "$module"
sha256sum < "$module" > "$stamp"
