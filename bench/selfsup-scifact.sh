#!/usr/bin/env bash
# Self-supervised recipe (no qrels at all): train on the corpus alone, then compare BM25 with dense and hybrid on judged queries
# (RRF, and min-max at several dense weights). Works for any BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv).
# usage: bench/selfsup-scifact.sh DSS BEIR_DIR OUT_DIR [extra dss train options, e.g. --device cuda]
# Model size and schedule: LAYERS HIDDEN HEADS FFN LR EPOCHS BATCH in the environment (defaults 2/128/4/512, 5e-4, 10, 64).
# Writes OUT_DIR/summary.tsv (mode, nDCG@10, Recall@100, MRR@10).
set -euo pipefail
dss=$1; s=$2; out=$3; shift 3
start=$(date +%s)
"$dss" train -o "$out/model" --corpus "$s/corpus.jsonl" --self-supervised mix \
  --layers ${LAYERS:-2} --hidden ${HIDDEN:-128} --heads ${HEADS:-4} --ffn ${FFN:-512} --max-query-length 64 --max-doc-length 256 \
  --lr ${LR:-5e-4} --epochs ${EPOCHS:-10} --batch-size ${BATCH:-64} --log-every 100 "$@"
echo "train seconds: $(( $(date +%s) - start ))"
dev=cpu; for a in "$@"; do [ "$a" = cuda ] && dev=cuda; done
"$dss" index -c selfsup --corpus "$s/corpus.jsonl" --encoder "$out/model" --index-root "$out/indexes" --device $dev
: > "$out/summary.tsv"
run() {
  local name=$1; shift
  "$dss" eval -c selfsup --queries "$s/queries.jsonl" --qrels "$s/qrels/test.tsv" --index-root "$out/indexes" --device $dev \
    --json "$out/eval-$name.json" "$@" > /dev/null
  python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(sys.argv[2], m['ndcg'], m['recall'], m['mrr'], sep='\t')" \
    "$out/eval-$name.json" "$name" | tee -a "$out/summary.tsv"
}
run bm25 --mode bm25
run dense --mode dense
run rrf --mode hybrid --fusion rrf
for a in 0.1 0.2 0.3 0.5; do run minmax-$a --mode hybrid --fusion minmax --alpha $a; done
