#!/usr/bin/env bash
# The INT8 encoder's quality on SciFact test against float32: the same corpus indexed twice with the default encoder
# (dss index --encoder-precision fp32 | int8; queries are encoded in float32 either way), each evaluated dense and hybrid,
# and the indexing time of each. Writes bench/results/int8-scifact.md (and the eval JSON beside it).
# usage: bench/int8-scifact.sh [SHARED_DIR] [ENCODER]
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
encoder=${2:-minilm-l6}
scifact=$shared/data/scifact
[ -d "$scifact" ] || { echo "int8-scifact: $scifact not found" >&2; exit 2; }
root=$(mktemp -d /tmp/dss-int8-scifact-XXXXXX)
trap 'rm -rf "$root"' EXIT
out=bench/results
mkdir -p "$out"
rows=()
for precision in fp32 int8; do
  start=$(date +%s.%N)
  bin/dss index --collection scifact-$precision --corpus "$scifact/corpus.jsonl" --encoder "$encoder" --encoder-precision $precision --index-root "$root" >/dev/null
  seconds=$(echo "$(date +%s.%N) - $start" | bc)
  for mode in dense hybrid; do
    bin/dss eval --collection scifact-$precision --queries "$scifact/queries.jsonl" --qrels "$scifact/qrels/test.tsv" --mode $mode \
      --index-root "$root" --json "$out/int8-scifact-$precision-$mode.json" >/dev/null
    read -r ndcg recall mrr < <(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); m=m.get('first_stage', m); print('%.4f %.4f %.4f' % (m['ndcg'], m['recall'], m['mrr']))" "$out/int8-scifact-$precision-$mode.json")
    rows+=("| $precision | $mode | $ndcg | $recall | $mrr | $(printf %.0f "$seconds") |")
  done
done
{
  echo "### SciFact test: documents encoded in float32 and in INT8 (\`bench/int8-scifact.sh\`, encoder $encoder)"
  echo
  echo "| documents encoded | mode | nDCG@10 | Recall@100 | MRR@10 | index time (s) |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "_$(nproc) CPU threads, $(date -u +%Y-%m-%dT%H:%MZ); queries encoded in float32 in both; index time: the whole dss index (BM25 + chunking + encoding + FAISS)._"
} > "$out/int8-scifact.md"
cat "$out/int8-scifact.md"
