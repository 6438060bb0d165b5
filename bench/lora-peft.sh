#!/usr/bin/env bash
# The CPU half of the PEFT check of LoRA adapters (README: LoRA fine-tuning): a small base trained by dss train-lm, two adapters
# written by dss train-lm --lora-rank (the default targets, and attention + lm_head), and the logits dss generate computes for a fixed
# prompt with each (float32 and bfloat16) and without one. The GPU half, on a machine with transformers + peft:
#   cd OUT && python3 bench/baselines/peft_lora_check.py --base base --adapter ad-default --ours-fp32 ours-default-float32.st \
#     --ours-bf16 ours-default-bfloat16.st --ours-base-fp32 ours-base-float32.st --ours-base-bf16 ours-base-bfloat16.st --out lora-peft-default.json
# (and the same with ad-lmhead / ours-lmhead-*). usage: bench/lora-peft.sh DSS CORPUS.jsonl OUT
set -euo pipefail
dss=$1; corpus=$2; out=$3
mkdir -p "$out"
head -300 "$corpus" > "$out/c.jsonl"
cd "$out"
[ -f base/config.json ] || "$dss" train-lm --corpus c.jsonl --out base --vocab-size 600 --max-steps 30
prompt=0,5,17,42,99,150,200,250,300,350,400,450,500,550,12,13,14,15,16,18,19,20,21,22,23,24,25,26
for t in default lmhead; do
  targets=(); [ $t = lmhead ] && targets=(--lora-targets attention,lm_head)
  [ -f ad-$t/adapter_config.json ] || "$dss" train-lm --init base --corpus c.jsonl --out ad-$t --lora-rank 8 --max-steps 40 --lr 0.01 "${targets[@]}"
  for d in float32 bfloat16; do
    "$dss" generate --model base --adapter ad-$t --prompt-ids $prompt --max-new 1 --greedy --dtype $d --logits ours-$t-$d.st > /dev/null
  done
done
for d in float32 bfloat16; do "$dss" generate --model base --prompt-ids $prompt --max-new 1 --greedy --dtype $d --logits ours-base-$d.st > /dev/null; done
echo "wrote $out: base/, ad-default/, ad-lmhead/ and their logits; run bench/baselines/peft_lora_check.py there (see the header)"
