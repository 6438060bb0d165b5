#!/usr/bin/env bash
# Fine-tuning from a pretrained encoder (README: Pretrained encoders), on any machine (add --device cuda on a GPU):
#   supervised  DSS ENCODER BEIR_DIR OUT [dss train options]  train on BEIR_DIR's corpus + qrels/train.tsv only, then evaluate
#               the test qrels in the encoder's recorded default mode (plain `dss eval`), dense alone, RRF and min-max 0.5
#   labelfree   DSS ENCODER BEIR_DIR OUT [dss train options]  self-supervised on the corpus alone (no labels), same evaluation
#   zeroshot    DSS ENCODER BEIR_DIR OUT [dss options]        the encoder as it is, same evaluation
# Each appends "recipe  setting  nDCG@10  Recall@100  MRR@10" lines to OUT/summary.tsv (recipe = basename of OUT).
set -euo pipefail
stage=$1 dss=$2 enc=$3 s=$4 out=$5; shift 5
dev=cpu; for a in "$@"; do case "$a" in cuda*) dev=cuda;; esac; done
recipe=$(basename "$out")
mkdir -p "$out"
t0=$(date +%s)
case $stage in
  supervised)
    "$dss" train -o "$out/model" --init "$enc" --corpus "$s/corpus.jsonl" --queries "$s/queries.jsonl" --qrels "$s/qrels/train.tsv" \
      --log-every 50 "$@" 2>&1 | tee "$out/train.log"
    model="$out/model";;
  labelfree)
    "$dss" train -o "$out/model" --init "$enc" --corpus "$s/corpus.jsonl" --log-every 50 "$@" 2>&1 | tee "$out/train.log"
    model="$out/model";;
  zeroshot) model=$enc;;
  *) echo "unknown stage $stage" >&2; exit 2;;
esac
echo "train seconds: $(( $(date +%s) - t0 ))" | tee -a "$out/train.log"
"$dss" index -c "$recipe" --corpus "$s/corpus.jsonl" --encoder "$model" --index-root "$out/indexes" --device $dev > "$out/index.log"
# EVAL_SPLITS (default: test) and EVAL_SETTINGS (default: default dense rrf minmax-0.5) narrow or widen the evaluation
ev() {
  local split=$1 setting=$2; shift 2
  "$dss" eval -c "$recipe" --queries "$s/queries.jsonl" --qrels "$s/qrels/$split.tsv" --index-root "$out/indexes" --device $dev \
    --json "$out/eval-$split-$setting.json" "$@" > /dev/null
  python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(sys.argv[2], sys.argv[3], m['ndcg'], m['recall'], m['mrr'], sep='\t')" \
    "$out/eval-$split-$setting.json" "$recipe" "$setting${split/test/}" | tee -a "$(dirname "$out")/summary.tsv"
}
for split in ${EVAL_SPLITS:-test}; do
  for setting in ${EVAL_SETTINGS:-default dense rrf minmax-0.5}; do
    case $setting in
      default) ev $split default;;
      dense) ev $split dense --mode dense;;
      rrf) ev $split rrf --mode hybrid --fusion rrf;;
      minmax-*) ev $split $setting --mode hybrid --fusion minmax --alpha ${setting#minmax-};;
    esac
  done
done
python3 -c "import json,sys; c=json.load(open(sys.argv[1])); print(sys.argv[2], 'recorded', c.get('hybrid_fusion'), c.get('hybrid_alpha'), sep='\t')" \
  "$model/dual_encoder.json" "$recipe" | tee -a "$(dirname "$out")/summary.tsv"
