#!/usr/bin/env bash
# Throughput per core of the module (ndr bench: wasmtime, fuel, a reused instance) beside
# sisimai's on the same files, for each folder given (default: the corpus bounces and ham):
#   bash scripts/bench-compare.sh [FOLDER...]
# sisimai is Debian's libsisimai-perl (4.25); without it only the module's figures are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- tests/corpus/bounces/eml tests/corpus/ham
[ -x target/release/ndr ] || cargo build --quiet --release -p ndr-host
have_sisimai=1
perl -MSisimai -e1 2>/dev/null || have_sisimai=0
printf '%-28s %9s %9s %10s %9s %7s\n' folder 'ndr msg/s' 'ndr p50' 'sisimai/s' 'sis. p50' ratio
for folder in "$@"; do
  ndr=$(./target/release/ndr bench --json "$folder")
  if [ $have_sisimai = 1 ]; then
    sis=$(perl scripts/bench-sisimai.pl "$folder" 2>/dev/null)
  else
    sis='{}'
  fi
  python3 - "$folder" "$ndr" "$sis" <<'PY'
import json, sys
folder, ndr, sis = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
n, s = ndr["messages_per_second"], sis.get("messages_per_second")
p50 = sis.get("us_per_message", {}).get("p50")
print(f"{folder:<28} {n:9.0f} {ndr['us_per_message']['p50']:7.0f}µs "
      + (f"{s:10.0f} {p50:7.0f}µs {n / s:6.1f}×" if s else f"{'-':>10} {'-':>9} {'-':>7}  (sisimai not installed)"))
PY
done
