#!/usr/bin/env bash
# dss reindex under kill -9 (issue 13), on a bigger corpus than the test suite's: ROUNDS nights of changes (30% of the
# documents rewritten, 2% deleted, 2% new), each `dss reindex` SIGKILLed after a random delay, then rerun to completion.
# After every rerun the collection must hold what a clean collection given the same nights without kills holds: the same
# document count and the same checksum of its contents (live ids + content SHA-256, sorted), and the same run counts.
# Usage: bench/reindex-crash.sh [ENCODER] [DOCS] [ROUNDS]   (default: the tiny test BERT from $SHARED, 3000, 20)
#        → bench/results/reindex-crash.md
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
DSS=${DSS:-bin/dss}
DOCS=${2:-3000}
ROUNDS=${3:-20}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DSS_INDEX_ROOT=$work/indexes
if [ -n "${1:-}" ]; then
  ENCODER=$1
else
  ENCODER=$work/tiny
  mkdir -p "$ENCODER"
  cp "$SHARED"/fixtures/bert-golden/tiny/hf/* "$ENCODER"/
  cp "$SHARED"/models/all-MiniLM-L6-v2-tokenizer/vocab.txt "$ENCODER"/
fi
src=$work/corpus.jsonl

night() { # round: rewrites $src (round 0: the initial corpus)
  python3 - "$src" "$1" "$DOCS" <<'PY'
import json, os, random, sys
path, rnd, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(rnd)
words = "magma crust lava protein cell gene market price court music planet orbit bridge steel ocean river".split()
text = lambda: f"v{rnd} " + " ".join(rng.choice(words) for _ in range(5 + rng.randrange(60))) + f" n{rng.randrange(10**6)}"
docs = {} if rnd == 0 else {d["id"]: d["text"] for d in map(json.loads, open(path))}
if rnd == 0:
    docs = {f"d{i}": text() for i in range(n)}
else:
    for k in list(docs):
        r = rng.random()
        if r < 0.02: del docs[k]
        elif r < 0.32: docs[k] = text()
    for i in range(n // 50): docs[f"r{rnd}-{i}"] = text()
with open(path + ".tmp", "w") as f:
    for k, v in docs.items(): f.write(json.dumps({"id": k, "title": "", "text": v}) + "\n")
os.replace(path + ".tmp", path)
PY
}
checksum() { # collection: "count sha256" of the live ids + content hashes
  local gen; gen=$(cat "$DSS_INDEX_ROOT/$1/CURRENT")
  python3 - "$DSS_INDEX_ROOT/$1/$gen/documents.sqlite" <<'PY'
import hashlib, sqlite3, sys
rows = sorted(f"{i}\t{s}" for i, s in sqlite3.connect(sys.argv[1]).execute("SELECT id, sha256 FROM documents WHERE deleted_seq IS NULL"))
print(len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
PY
}
counts() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["added"], r["changed"], r["unchanged"], r["deleted"], "resumed" if r["resumed"] else "fresh")' "$1"; }

night 0
for c in crash clean; do
  $DSS index -c $c --corpus "$src" --encoder "$ENCODER" --chunk-tokens 16 --chunk-overlap 4 > /dev/null 2>&1
  $DSS reindex -c $c --source "$src" > /dev/null 2>&1   # adopts the built documents
done
rows=(); killed=0; failures=0
for round in $(seq 1 "$ROUNDS"); do
  night "$round"
  $DSS reindex -c clean --source "$src" --report "$work/clean.json" > /dev/null 2>&1
  delay_ms=$((500 + RANDOM % 2500))
  $DSS reindex -c crash --source "$src" > /dev/null 2>&1 & pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  if kill -0 $pid 2>/dev/null; then kill -9 $pid; state=killed; killed=$((killed + 1)); else state="finished first"; fi
  wait $pid 2>/dev/null || true
  $DSS reindex -c crash --source "$src" --report "$work/crash.json" > /dev/null 2>"$work/rerun.err"
  a=$(checksum crash); b=$(checksum clean)
  cc=$(counts "$work/crash.json"); kc=$(counts "$work/clean.json")
  same=yes
  [ "$a" = "$b" ] || same=NO
  # counts: the continued (or fresh) run equals the clean one, unless the killed run had finished (then all unchanged)
  [ "${cc% *}" = "${kc% *}" ] || [ "$state" = "finished first" ] || case "$cc" in "0 0 "*" 0 fresh") ;; *) same=NO ;; esac
  [ "$same" = yes ] || failures=$((failures + 1))
  rows+=("| $round | ${delay_ms} ms | $state | $cc | $kc | ${a%% *} | $same |")
done
mkdir -p bench/results
{
  echo "# dss reindex under kill -9"
  echo
  echo "$DOCS documents, $ROUNDS nights (30% rewritten, 2% deleted, 2% new), encoder ${1:-tiny test BERT}; $killed kills landed mid-run; $failures mismatches."
  echo
  echo "| night | kill after | | rerun: added changed unchanged deleted | clean run | documents | equal to clean |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} > bench/results/reindex-crash.md
cat bench/results/reindex-crash.md
[ "$failures" -eq 0 ]
