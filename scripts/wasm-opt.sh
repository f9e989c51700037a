#!/usr/bin/env bash
# Optimise a wasm module in place with binaryen's wasm-opt -O3 (about 15% smaller, a little
# faster), or into OUT with more wasm-opt passes and options after -O3 (scripts/fuel-profile.sh
# instruments a copy so). binaryen comes from npm (Debian's is too old), pinned, into
# target/tools. Skips work already done (a stamp holds the optimised file's checksum, or the
# input's and the extra options for an OUT).
#   bash scripts/wasm-opt.sh MODULE.wasm [OUT.wasm OPTION...]
set -euo pipefail
cd "$(dirname "$0")/.."
module=$1
out=${2:-$1}
extra=("${@:3}")
version=132.0.0
tools=target/tools
wasm_opt=$tools/node_modules/.bin/wasm-opt
stamp=$out.opt-stamp
if [ "$out" = "$module" ]; then
  done_key() { sha256sum < "$out"; }
else
  done_key() { echo "$(sha256sum < "$module") ${extra[*]}"; }
fi
if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(done_key)" = "$(cat "$stamp")" ]; then
  exit 0
fi
if [ ! -x "$wasm_opt" ] || ! grep -q "\"version\": \"$version\"" "$tools/node_modules/binaryen/package.json" 2>/dev/null; then
  echo "wasm-opt: installing binaryen $version from npm" >&2
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "binaryen@$version" >&2
fi
# The features rustc 1.95 emits for wasm32-unknown-unknown (build-notes.md); nothing new.
"$wasm_opt" -O3 "${extra[@]}" --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-mutable-globals --enable-reference-types --enable-multivalue "$module" -o "$out.tmp"
mv "$out.tmp" "$out"
done_key > "$stamp"
