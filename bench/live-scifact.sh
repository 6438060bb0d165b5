#!/usr/bin/env bash
# Live collections on SciFact (issue 10 acceptance), from the CLI as a user runs it:
#   1. a bulk build of the whole corpus (time and peak resident memory, from /usr/bin/time -v);
#   2. a collection indexed from all but the last 1,000 documents, then `dss upsert` of those 1,000: its nDCG@10 must equal
#      the whole build's to 1e-4 in every mode;
#   3. `dss delete` of the 1,000 again (which compacts): equal to a build without them.
# Usage: bench/live-scifact.sh [ENCODER]   (default minilm-l6; SHARED=../shared)   → bench/results/live-scifact.md
set -euo pipefail
cd "$(dirname "$0")/.."
ENCODER=${1:-minilm-l6}
SHARED=${SHARED:-../shared}
DSS=${DSS:-bin/dss}
corpus=$SHARED/data/scifact/corpus.jsonl
queries=$SHARED/data/scifact/queries.jsonl
qrels=$SHARED/data/scifact/qrels/test.tsv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/indexes
export DSS_INDEX_ROOT=$root
total=$(grep -c . "$corpus")
head -n $((total - 1000)) "$corpus" > "$work/rest.jsonl"
tail -n 1000 "$corpus" > "$work/last.jsonl"
python3 -c 'import json,sys; [print(json.loads(l)["_id"]) for l in open(sys.argv[1]) if l.strip()]' "$work/last.jsonl" > "$work/last-ids.txt"

measure() { # name, command...: prints "seconds peak_kib"
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" > "$work/$name.out" 2> "$work/$name.err" || { cat "$work/$name.err"; exit 1; }
  cat "$work/$name.time"
}
ndcg() { # collection mode
  $DSS eval -c "$1" --queries "$queries" --qrels "$qrels" --mode "$2" --json "$work/$1-$2.json" > /dev/null
  python3 -c 'import json,sys; print("%.6f" % json.load(open(sys.argv[1]))["ndcg"])' "$work/$1-$2.json"
}

read whole_s whole_kib < <(measure whole $DSS index -c whole --corpus "$corpus" --encoder "$ENCODER")
measure rest $DSS index -c rest --corpus "$work/rest.jsonl" --encoder "$ENCODER" > /dev/null
measure live $DSS index -c live --corpus "$work/rest.jsonl" --encoder "$ENCODER" > /dev/null
read up_s up_kib < <(measure upsert $DSS upsert -c live --input "$work/last.jsonl" --batch-size 100)

{
  echo "# Live collections on SciFact ($ENCODER)"
  echo
  echo "\`bench/live-scifact.sh $ENCODER\` on $(nproc) cores, $(date -u +%Y-%m-%d). Bulk build of all $total documents: ${whole_s} s, peak RSS $((whole_kib / 1024)) MiB."
  echo "\`dss upsert\` of the last 1,000 (batches of 100) into a build of the rest: ${up_s} s, peak RSS $((up_kib / 1024)) MiB."
  echo
  echo "| mode | whole build | rest + upsert 1,000 | difference | rest build | after deleting the 1,000 | difference |"
  echo "|---|---|---|---|---|---|---|"
} > "$work/report.md"
declare -A live_before
for mode in bm25 dense hybrid; do live_before[$mode]=$(ndcg live $mode); done
read del_s del_kib < <(measure delete $DSS delete -c live --ids-file "$work/last-ids.txt")
for mode in bm25 dense hybrid; do
  w=$(ndcg whole $mode); r=$(ndcg rest $mode); a=$(ndcg live $mode); b=${live_before[$mode]}
  python3 - "$mode" "$w" "$b" "$r" "$a" >> "$work/report.md" <<'PY'
import sys
mode, w, b, r, a = sys.argv[1], *map(float, sys.argv[2:])
print(f"| {mode} | {w:.4f} | {b:.4f} | {b - w:+.6f} | {r:.4f} | {a:.4f} | {a - r:+.6f} |")
PY
done
echo >> "$work/report.md"
echo "\`dss delete\` of the 1,000 (one batch, then the compaction it triggers): ${del_s} s. Equal to 1e-4 means |difference| ≤ 0.0001." >> "$work/report.md"
mkdir -p bench/results
cp "$work/report.md" bench/results/live-scifact.md
cat bench/results/live-scifact.md
