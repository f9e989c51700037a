#!/usr/bin/env bash
# Where the module's wall time goes, per function, under perf (Debian: apt-get install linux-perf):
# builds the module, a copy of it with its function names (the same build, wasm-opt -O3 -g), and
# host-harness/examples/wall_profile.rs, then records every message under the paths being
# classified PASSES times and prints the compiled module's functions by share of its samples.
# Also prints each message's fastest time with fuel metering and, alternated, without it.
# Time is noisy where fuel is not: compare runs made one after the other on a quiet machine.
#   bash scripts/wall-profile.sh PATH... [--top N] [--passes N] [--middle]
# --middle: only the median fifth of the messages by fuel (p40-p60), to describe the p50 one.
set -euo pipefail
cd "$(dirname "$0")/.."
top=40
passes=50
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --top) top=$2; shift 2 ;;
    --passes) passes=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
command -v perf >/dev/null || { echo "wall-profile: perf is needed (apt-get install linux-perf)" >&2; exit 1; }
bash scripts/build-module.sh
# cargo's own output, before wasm-opt replaced the copy: the same code, with its names.
named_in=target/wasm32-unknown-unknown/wasm/deps/ndr_filter.wasm
out=target/wall-profile
mkdir -p "$out"
bash scripts/wasm-opt.sh "$named_in" "$out/ndr_filter.named.wasm" -g
nice -n 10 cargo build --quiet --locked --release -p ndr-host --features wall-profile --example wall_profile
target/release/examples/wall_profile target/wasm32-unknown-unknown/wasm/ndr_filter.wasm "${args[@]}" \
  --passes "$passes" --compare-fuel
perf record --quiet -F 4000 -o "$out/perf.data" \
  target/release/examples/wall_profile "$out/ndr_filter.named.wasm" "${args[@]}" --passes "$passes" --perf-map >/dev/null
# The compiled module is perf's "[JIT] tid N" object; its share of all samples comes first.
perf report -i "$out/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -F '[JIT]' | head -1 |
  sed 's/^ *\([0-9.]*%\).*/module code: \1 of the samples (the rest is the host and compiling the module)/'
jit=$(perf report -i "$out/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -o '\[JIT\] tid [0-9]*' | head -1)
echo "share of the module's samples, by function:"
perf report -i "$out/perf.data" --no-children --dsos "$jit" --sort sym --stdio --percentage relative 2>/dev/null |
  grep -v '^#' | grep -v '^$' | sed 's/\[\.\] //' | c++filt | sed 's/::h[0-9a-f]\{16\}$//' | head -n "$top"
