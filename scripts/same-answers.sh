#!/usr/bin/env bash
# The module's answers on the whole corpus, message by message, before and after a change that
# must not change them (a speed change): record them once, then check against the record.
#   bash scripts/same-answers.sh record DIR   # before the change (DIR outside the repository)
#   bash scripts/same-answers.sh check DIR    # after it: exit 1 and the differing messages
# Three runs: no configuration; a site with domains, relays and a BATV key; the same with an
# SMTP envelope of a null sender. The clock is fixed, so the verdicts cannot drift.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: same-answers.sh record|check DIR}
dir=${2:?usage: same-answers.sh record|check DIR}
mkdir -p "$dir"
[ -x target/release/ndr ] || cargo build --quiet --release -p ndr-host
cat >"$dir/site.toml" <<'TOML'
[site]
domains = ["example.com", "example.jp", "example.org", "example.net", "example.co.jp", "example.ne.jp"]
relays = ["out.example.com", "198.51.100.0/24", "192.0.2.0/24", "*.example.jp"]

[batv]
mode = "canonical"

[[batv.keys]]
digit = 1
secret_hex = "6f6c642d7365637265742d6b65792d3230323631303031"
sign_from = 1700000000
TOML
scan() { ./target/release/ndr scan --json --now 1764633600 "$@" tests/corpus; }
run() {
  scan >"$1/default.jsonl"
  scan --config "$dir/site.toml" >"$1/site.jsonl"
  scan --config "$dir/site.toml" --mail-from '<>' --rcpt bob@example.com --client-ip 203.0.113.5 >"$1/nullsender.jsonl"
}
if [ "$mode" = record ]; then
  run "$dir"
  wc -l "$dir"/*.jsonl
  exit 0
fi
now=$(mktemp -d)
trap 'rm -rf "$now"' EXIT
run "$now"
status=0
for f in default site nullsender; do
  python3 - "$dir/$f.jsonl" "$now/$f.jsonl" "$f" <<'PY' || status=1
import json, sys
old, new = ([json.loads(line) for line in open(p)] for p in sys.argv[1:3])
name = sys.argv[3]
key = lambda r: (r["file"], r.get("index"))
o, n = {key(r): r for r in old}, {key(r): r for r in new}
diff = [k for k in o.keys() | n.keys() if o.get(k) != n.get(k)]
for k in sorted(diff, key=str)[:20]:
    a, b = o.get(k) or {}, n.get(k) or {}
    fields = sorted(f for f in a.keys() | b.keys() if a.get(f) != b.get(f))
    print(f"{name}: {k[0]}#{k[1]}: {', '.join(fields)}")
    for f in fields[:3]:
        print(f"   was {json.dumps(a.get(f))[:300]}\n   now {json.dumps(b.get(f))[:300]}")
print(f"{name}: {len(o)} messages, {len(diff)} differ")
sys.exit(1 if diff else 0)
PY
done
exit $status
