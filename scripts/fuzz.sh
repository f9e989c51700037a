#!/usr/bin/env bash
# Fuzz one target with cargo-fuzz (libFuzzer) for a fixed time; by hand, not in CI:
#   bash scripts/fuzz.sh classify|gate|requests|batv_srs|abi [SECONDS=300]
# Installs cargo-fuzz and a nightly toolchain if missing. The corpus grows in
# target/fuzz-corpus/TARGET, seeded from tests/corpus on the first run; crashes land in
# fuzz/artifacts/TARGET. Each crash becomes a regression test (see fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz.sh TARGET [SECONDS]}
seconds=${2:-300}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
[ "$target" = abi ] && bash scripts/build-module.sh
corpus=target/fuzz-corpus/$target
if [ ! -d "$corpus" ]; then
  mkdir -p "$corpus"
  python3 - "$target" "$corpus" "${NDR_CORPUS:-tests/corpus}" <<'PY'
import hashlib, json, os, pathlib, struct, sys
target, out, shared = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
def put(data):
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)
mail = sorted(p for p in shared.rglob("*.eml") if p.is_file())
if target in ("classify", "gate"):
    for p in mail:
        data = p.read_bytes()
        if len(data) <= 64 << 10:
            put(data)
elif target == "requests":
    config = {"site": {"domains": ["example.com"], "relays": ["10.0.0.0/8"]},
              "batv": {"keys": [{"digit": 1, "secret": "k", "sign_from": 0}], "lifetime_days": 7},
              "srs": {"domain": "fwd.example.com", "secrets": ["s"]}, "policy": {"mode": "enforce"},
              "limits": {"max_parts": 10}}
    docs = [{"config": config, "now": 1795521600},
            {"config": config, "address": "prvs=1123abcdef=a@example.com", "now": 1795521600},
            {"config": config, "address": "SRS0=ab=CD=x.example=u@fwd.example.com", "now": 1795521600},
            {"envelope": {"mail_from": "", "rcpt_to": ["a@example.com"]}, "config": config},
            {"envelope": {"mail_from": "a@example.com"}, "failure": {"recipients": [{"address": "b@x.example", "status": "5.1.1"}], "reporting_mta": "mx"}}]
    for pick in range(7):
        for d in docs:
            put(bytes([pick]) + json.dumps(d).encode())
elif target == "batv_srs":
    for a in ["prvs=1123abcdef=alice@example.com", "alice@example.com", "SRS0=ab=CD=x.example=u@fwd.example.com",
              "SRS1=xx=other.example==ab=CD=x.example=u@fwd.example.com", "btv1==123==a@b.example", "\"q u\"@example.com"]:
        put(struct.pack("<Q", 1795521600) + a.encode())
else:
    put(bytes(range(64)))
print(f"seeded {len(os.listdir(out))} inputs", file=sys.stderr)
PY
fi
cd fuzz
features=()
timeout=20
# The abi target compiles the module (instrumented cranelift) on its first input: allow that.
[ "$target" = abi ] && features=(--features abi) && timeout=600
# -O: optimised like the shipped module, without debug assertions. mail-parser 0.11.9 has a
# debug_assert that fires on valid-but-odd nesting (tests/tests/hostile.rs, the first fuzz find);
# the release code it guards handles that input, and the assertion would stop every run.
exec cargo +nightly fuzz run -O "${features[@]}" "$target" "../$corpus" -- -max_total_time="$seconds" -rss_limit_mb=4096 -timeout="$timeout" -print_final_stats=1
