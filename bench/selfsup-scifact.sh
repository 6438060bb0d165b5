#!/usr/bin/env bash
# Self-supervised recipe (no qrels at all): train on the corpus alone, then compare BM25 with hybrid on the test qrels.
# usage: bench/selfsup-scifact.sh DSS SCIFACT_DIR OUT_DIR [extra dss train options, e.g. --device cuda]
set -euo pipefail
dss=$1; s=$2; out=$3; shift 3
start=$(date +%s)
"$dss" train -o "$out/model" --corpus "$s/corpus.jsonl" --self-supervised mix \
  --layers 2 --hidden 128 --heads 4 --ffn 512 --max-query-length 64 --max-doc-length 256 \
  --lr 5e-4 --epochs 10 --batch-size 64 --log-every 100 "$@"
echo "train seconds: $(( $(date +%s) - start ))"
dev=cpu; for a in "$@"; do [ "$a" = cuda ] && dev=cuda; done
"$dss" index -c scifact-selfsup --corpus "$s/corpus.jsonl" --encoder "$out/model" --index-root "$out/indexes" --device $dev
for m in bm25 dense "hybrid --fusion rrf" "hybrid --fusion minmax"; do
  echo "== $m"
  "$dss" eval -c scifact-selfsup --queries "$s/queries.jsonl" --qrels "$s/qrels/test.tsv" --index-root "$out/indexes" --device $dev --mode $m
done
