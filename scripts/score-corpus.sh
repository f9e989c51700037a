#!/usr/bin/env bash
# Scores the corpus's bounces the evaluation's way (tests/eval/score.py on `ndr scan --json`),
# separately for the tuned part, the blind part and the whole, then the ham's false positives.
# The blind part is the third of files whose base name's FNV-1a 64 hash is ≡ 0 (mod 3), as
# `is_blind` in tests/lib.rs; unlike tests/tests/accuracy.rs, score.py also scores the CRLF/CR
# copies and the damaged mail. NDR_CORPUS points at another copy of the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${NDR_CORPUS:-tests/corpus}
bash scripts/build-module.sh >/dev/null
cargo build --quiet --locked --release -p ndr-host
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# `ndr scan` exits 1 when it found backscatter; only a higher status is a failure.
scan() { ./target/release/ndr scan --json "$1" >"$2" || [ $? -eq 1 ]; }
scan "$corpus/bounces/eml" "$work/bounces.json"
python3 tests/eval/adapt.py <"$work/bounces.json" >"$work/bounces.pred"

# score.py picks its scorer by the folder's name, so each part is a folder named `bounces`.
python3 - "$corpus/bounces" "$work" <<'PY'
import json, os, sys

def is_blind(name):
    h = 0xCBF29CE484222325
    for b in os.path.basename(name).encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h % 3 == 0

src, work = sys.argv[1], sys.argv[2]
for part, keep in (("whole", lambda f: True), ("tuned", lambda f: not is_blind(f)), ("blind", is_blind)):
    out = os.path.join(work, part, "bounces")
    os.makedirs(out)
    for name in ("expected.jsonl", "files.jsonl"):
        with open(os.path.join(src, name)) as i, open(os.path.join(out, name), "w") as o:
            o.writelines(l for l in i if l.strip() and keep(json.loads(l)["file"]))
PY
for part in tuned blind whole; do
  python3 tests/eval/score.py "$work/$part/bounces" "$work/bounces.pred" --name "$part"
done

scan "$corpus/ham/eml" "$work/ham.json"
python3 tests/eval/adapt.py <"$work/ham.json" >"$work/ham.pred"
python3 tests/eval/score.py "$corpus/ham" "$work/ham.pred" --name ham
