#!/usr/bin/env bash
# The from-scratch SciFact recipe (README: Training): train a small dual encoder on the corpus and qrels/train.tsv only,
# index SciFact with it, and evaluate BM25, dense and hybrid on the test qrels.
# usage: bench/train-scifact.sh DSS SCIFACT_DIR OUT_DIR [extra dss train options, e.g. --device cuda]
set -euo pipefail
dss=$1; s=$2; out=$3; shift 3
start=$(date +%s)
"$dss" train -o "$out/model" --corpus "$s/corpus.jsonl" --queries "$s/queries.jsonl" --qrels "$s/qrels/train.tsv" \
  --layers 2 --hidden 128 --heads 4 --ffn 512 --max-query-length 48 --max-doc-length 256 \
  --lr 5e-4 --epochs 20 --eval-every 56 --dev-metric hybrid --batch-size 32 "$@"
echo "train seconds: $(( $(date +%s) - start ))"
dev=cpu; for a in "$@"; do [ "$a" = cuda ] && dev=cuda; done
"$dss" index -c scifact-trained --corpus "$s/corpus.jsonl" --encoder "$out/model" --index-root "$out/indexes" --device $dev
for m in bm25 dense "hybrid --fusion rrf" "hybrid --fusion minmax"; do
  echo "== $m"
  "$dss" eval -c scifact-trained --queries "$s/queries.jsonl" --qrels "$s/qrels/test.tsv" --index-root "$out/indexes" --device $dev --mode $m
done
