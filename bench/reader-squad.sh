#!/usr/bin/env bash
# The from-scratch RAG reader on SQuAD dev (README: A RAG reader trained here): on the collection and generator that
# bench/eval-rag-squad.sh made (run it first), LoRA SFT on the first half of the SQuAD dev questions (1–5,285), then the answers
# to the same 500 questions of the second half that eval-rag-squad.sh scores the untrained generator on.
#   1. dss train-reader --pairs-only: every question of the first half prepared exactly as dss ask / eval-rag prepare it (hybrid
#      recall, 5 sources in 768 tokens, answers of at most 48 tokens: eval-rag-squad.sh's options), its gold answer cited as [n]
#      of the source holding it → ROOT/squad-dev/reader.pairs.jsonl;
#   2. dss train-lm --sft on those pairs with LoRA (attention + lm_head, rank 16) over the collection's generator → ROOT/squad-dev/reader
#      (this step needs no collection: with TRAIN_ON=gpu it is skipped here, and the command to run on a CUDA machine — the
#      bundle of make gpu-bundle, DSS_LIBTORCH set — is printed; put the folder it writes at ROOT/squad-dev/reader and run again);
#   3. dss eval-rag --model ROOT/squad-dev/reader on questions 5,286–5,785 → OUT/eval-rag-squad-reader.{json,md}.
# usage: bench/reader-squad.sh DSS SHARED ROOT OUT    environment: TRAIN_ON=cpu|gpu (cpu)  LORA_OPTS="--epochs 3 ..." (more train-lm options)
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 DSS SHARED ROOT OUT (see the comments at its top)" >&2; exit 2; }
dss=$1; shared=$2; root=$3; out=$4
squad=$shared/data/squad-dev
collection=squad-dev
generator=$root/$collection/generator
reader=$root/$collection/reader
pairs=$reader.pairs.jsonl
prompt_opts=(--max-sources 5 --source-tokens 768 --max-new 48)
lora_opts=${LORA_OPTS:---epochs 3}
[ -f "$generator/config.json" ] || { echo "reader-squad: no generator in $generator: run bench/eval-rag-squad.sh first" >&2; exit 2; }
mkdir -p "$out"

if [ -f "$reader/adapter_config.json" ]; then
  echo "== reader: already trained in $reader"
else
  if [ -f "$pairs" ]; then echo "== pairs: already written to $pairs"
  else
    echo "== training pairs from questions 1–5,285 of $squad/queries.jsonl"
    "$dss" train-reader -c "$collection" --index-root "$root" --questions "$squad/queries.jsonl" --qrels "$squad/qrels/test.tsv" \
      --limit 5285 "${prompt_opts[@]}" --out "$reader" --pairs-only
  fi
  # the generator's trained context: the prompts were packed to fit it with their answers (dss train-reader leaves out a
  # pair that does not), so eval-rag packs the same prompts for the reader
  seq=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["result"]["seq_len"])' "$generator/train_lm.json")
  # shellcheck disable=SC2206  # LORA_OPTS is a list of options
  train=(train-lm --init "$generator" --sft "$pairs" --seq-len "$seq" --out "$reader" --lora-rank 16 --lora-targets attention,lm_head
         --lr 3e-3 --batch-size 16 --log-every 50 --eval-every 200 $lora_opts)
  if [ "${TRAIN_ON:-cpu}" = gpu ]; then
    echo "== train on a CUDA machine: dss ${train[*]} --device cuda  (then copy the folder to $reader and run this again)"
    exit 0
  fi
  "$dss" "${train[@]}"
fi

echo "== eval-rag with the reader: questions 5,286–5,785"
"$dss" eval-rag -c "$collection" --index-root "$root" --questions "$squad/queries.jsonl" --qrels "$squad/qrels/test.tsv" \
  --skip 5285 --limit 500 "${prompt_opts[@]}" --model "$reader" --out "$out/eval-rag-squad-reader.json" --markdown "$out/eval-rag-squad-reader.md"
echo "wrote $out/eval-rag-squad-reader.json and $out/eval-rag-squad-reader.md"
