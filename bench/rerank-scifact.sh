#!/usr/bin/env bash
# Re-ranking on SciFact (README: Re-ranking and answers): the hybrid top 100 re-ranked by query likelihood under the collection's
# own generator (dss train-lm's defaults), and by the pointwise re-ranker dss train-reranker fine-tunes from that generator on
# SciFact's qrels/train.tsv without its first 200 query ids; weights are chosen on those 200 held-out *train* queries (to choose)
# and reported on the test queries (to report). Needs a SciFact collection indexed with the default encoder under INDEX_ROOT.
# usage: bench/rerank-scifact.sh DSS SCIFACT_DIR INDEX_ROOT OUT_DIR [ql|pointwise ...]
set -euo pipefail
dss=$1; s=$2; root=$3; out=$4; shift 4
methods=("$@"); [ ${#methods[@]} -gt 0 ] || methods=(ql pointwise)
mkdir -p "$out"
[ -f "$root/scifact/generator/config.json" ] || "$dss" train-lm --corpus "$s/corpus.jsonl" --out "$root/scifact/generator"
# the first 200 query ids of qrels/train.tsv (with all their judgments) choose weights; the rest train the pointwise re-ranker
awk -F'\t' 'NR == 1 { print; next } { if (!($1 in seen)) { if (n >= 200) next; seen[$1] = 1; n++ } print }' "$s/qrels/train.tsv" > "$out/train200.tsv"
awk -F'\t' 'NR == 1 { print; next } { if (!($1 in seen)) { seen[$1] = 1; n++ } if (n > 200) print }' "$s/qrels/train.tsv" > "$out/train-rest.tsv"
md="$out/rerank-scifact.md"
echo "# Re-ranking on SciFact (bench/rerank-scifact.sh; $(nproc) cores)" > "$md"
for method in "${methods[@]}"; do
  model="$root/scifact/generator"; name="query likelihood"
  if [ "$method" = pointwise ]; then
    model="$root/scifact/reranker-pointwise"; name="pointwise re-ranker (dss train-reranker on train-rest.tsv)"
    if [ ! -f "$model/reranker.json" ]; then
      start=$SECONDS
      "$dss" train-reranker -c scifact --index-root "$root" --queries "$s/queries.jsonl" --qrels "$out/train-rest.tsv" --out "$model" 2>/dev/null \
        | tee "$out/train-reranker-scifact.log"
      echo "wall       $((SECONDS - start)) s" | tee -a "$out/train-reranker-scifact.log"
    fi
  fi
  printf '\n# %s\n' "$name" >> "$md"
  [ -f "$out/train-reranker-scifact.log" ] && [ "$method" = pointwise ] && { printf '\n```\n'; sed "s#$root/#INDEX_ROOT/#g" "$out/train-reranker-scifact.log"; printf '```\n'; } >> "$md"
  for split in train200 test; do
    qrels="$out/train200.tsv"; [ $split = test ] && qrels="$s/qrels/test.tsv"
    printf '\n## %s\n\n```\n' "$split" >> "$md"
    "$dss" eval -c scifact --index-root "$root" --queries "$s/queries.jsonl" --qrels "$qrels" \
      --rerank --model "$model" --rerank-sweep 0.05,0.1,0.2,0.3,0.5,0.7,1 --json "$out/rerank-scifact-$method-$split.json" 2>/dev/null \
      | grep -v '^report' | sed "s#$root/#INDEX_ROOT/#g" | tee -a "$md"
    printf '```\n' >> "$md"
  done
done
