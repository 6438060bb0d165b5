#!/usr/bin/env bash
# Label-free adaptation with the adaptation gate (README: Pretrained encoders), one dataset, on any machine (add --device cuda):
#   bench/labelfree-gate.sh DSS ENCODER BEIR_DIR OUT [dss train options shared by every recipe]
# Runs the encoder zero-shot and three label-free recipes (1 epoch, batch 64: mix / ict / title at lr 1e-5) through
# bench/finetune-pretrained.sh (RECIPES narrows them), evaluating each on qrels/test.tsv in its recorded default mode and dense alone; every line lands in
# OUT/summary.tsv, and each recipe's train.log says whether the gate kept the --init weights.
set -euo pipefail
dss=$1 enc=$2 s=$3 out=$4; shift 4
here=$(dirname "$0")
export EVAL_SETTINGS=${EVAL_SETTINGS:-default dense}
"$here/finetune-pretrained.sh" zeroshot "$dss" "$enc" "$s" "$out/zeroshot" "$@"
for recipe in ${RECIPES:-mix ict title}; do
  "$here/finetune-pretrained.sh" labelfree "$dss" "$enc" "$s" "$out/$recipe-1e-5" --epochs 1 --batch-size 64 --lr 1e-5 \
    --self-supervised $recipe "$@"
  grep -E "kept the --init|adapted weights of step" "$out/$recipe-1e-5/train.log" | sed "s/^/$recipe: /" >> "$out/gate.txt" || true
done
