#!/usr/bin/env bash
# Query-likelihood re-ranking on SciFact (README: Re-ranking and answers): train the collection's own generator with
# dss train-lm's defaults, then evaluate the hybrid top 100 re-ranked at several weights, on 200 train queries (to choose)
# and on the test queries (to report). Needs a SciFact collection indexed with the default encoder under INDEX_ROOT.
# usage: bench/rerank-scifact.sh DSS SCIFACT_DIR INDEX_ROOT OUT_DIR
set -euo pipefail
dss=$1; s=$2; root=$3; out=$4
mkdir -p "$out"
[ -f "$root/scifact/generator/config.json" ] || "$dss" train-lm --corpus "$s/corpus.jsonl" --out "$root/scifact/generator"
# the first 200 query ids of qrels/train.tsv (with all their judgments)
awk -F'\t' 'NR == 1 { print; next } { if (!($1 in seen)) { if (n >= 200) next; seen[$1] = 1; n++ } print }' "$s/qrels/train.tsv" > "$out/train200.tsv"
md="$out/rerank-scifact.md"
echo "# Query-likelihood re-ranking on SciFact (bench/rerank-scifact.sh; $(nproc) cores)" > "$md"
for split in train200 test; do
  qrels="$out/train200.tsv"; [ $split = test ] && qrels="$s/qrels/test.tsv"
  printf '\n## %s\n\n```\n' "$split" >> "$md"
  "$dss" eval -c scifact --index-root "$root" --queries "$s/queries.jsonl" --qrels "$qrels" \
    --rerank --rerank-sweep 0.05,0.1,0.2,0.3,0.5,1 --json "$out/rerank-scifact-$split.json" 2>/dev/null \
    | grep -v '^report' | sed "s#$root/#INDEX_ROOT/#" | tee -a "$md"
  printf '```\n' >> "$md"
done
