#!/usr/bin/env bash
# Build the npm package in js/: the core with its wasm-bindgen bindings (feature `js`, in a cargo
# invocation of its own so that the ABI exports stay out of it), the glue for Node (CommonJS) and
# browsers (ES module), and the demo's bundled samples. Installs wasm-bindgen-cli at exactly the
# library's version, and the package's npm dev dependencies, when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The CLI must match the wasm-bindgen crate exactly; the lock file says which one that is.
version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/[^0-9.]/, ""); print }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
  echo "build-js: installing wasm-bindgen-cli $version (a few minutes, once)" >&2
  cargo install --quiet wasm-bindgen-cli --version "=$version"
fi
cargo build --quiet --locked -p ndr-filter --features js --target wasm32-unknown-unknown --profile wasm-js
wasm=target/wasm32-unknown-unknown/wasm-js/ndr_filter.wasm
rm -rf js/dist
wasm-bindgen --target nodejs --out-dir js/dist/node "$wasm"
wasm-bindgen --target web --out-dir js/dist/web "$wasm"
# The demo's samples: the README's sample mail and its site configuration, as one JSON document.
python3 - > js/dist/samples.json <<'PY'
import json, pathlib, tomllib
mail = sorted(pathlib.Path("samples/mail").glob("*.eml"))
config = tomllib.loads(pathlib.Path("samples/site.toml").read_text())
print(json.dumps({"config": config, "messages": [{"name": p.name, "text": p.read_text()} for p in mail]}))
PY
if [ ! -d js/node_modules ] || [ js/package-lock.json -nt js/node_modules ]; then
  (cd js && npm ci --no-audit --no-fund --loglevel=error)
fi
ls -l js/dist/web/ndr_filter_bg.wasm | awk '{print "js module: " $NF " (" $5 " bytes)"}' >&2
