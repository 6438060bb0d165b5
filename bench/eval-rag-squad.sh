#!/usr/bin/env bash
# Answers with citations on SQuAD dev (README: Evaluating answers): index the 2,067 paragraphs with the default encoder
# (minilm-l6, hybrid search), train the collection's own generator on them with dss train-lm, then answer 500 questions of
# the second half of the file (questions 5,286–5,785 of 10,570: --skip 5285 --limit 500) with dss eval-rag and write
# OUT/eval-rag-squad.json (per-question rows included) and OUT/eval-rag-squad.md. Steps already done are kept: an indexed
# collection and a trained generator are reused (delete ROOT/COLLECTION to start over).
#
# The generator: dss train-lm's default model (hidden 128, 2 layers, 8 experts top-2, a 4,096-id BPE trained on the corpus,
# about 1.8M parameters) on blocks of 1,024 tokens, so that a prompt of sources, question and answer stays inside the positions
# it was trained on (sources get 768 tokens below); 6 epochs over the corpus (~0.35M tokens: a 200-paragraph slice gave 34k),
# about 10 minutes on 2 CPU cores (a smoke run on that slice trained at 4,200 tokens/s on a busy machine). It is trained on the paragraphs only:
# it has never seen the chat format, a question or a citation, so its exact match is expected near 0 (what this measures then
# is retrieval: recall@k of the sources, answer string in a source, and the latency of each stage).
#
# usage: bench/eval-rag-squad.sh DSS SHARED ROOT OUT
#   DSS     the dss launcher (bin/dss after make build)
#   SHARED  the shared data folder (../shared: SHARED/data/squad-dev)
#   ROOT    an index root (the collection and its generator are made there)
#   OUT     where the reports go (bench/results)
# environment (for a smoke run on a slice; defaults are the benchmark's):
#   SQUAD=DIR (SHARED/data/squad-dev; corpus.jsonl, queries.jsonl, qrels/test.tsv)  COLLECTION=squad-dev  SKIP=5285  LIMIT=500
#   NAME=eval-rag-squad (report file names)  LM_OPTS="--epochs 6" (more dss train-lm options)  EVAL_OPTS="" (more dss eval-rag options)
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 DSS SHARED ROOT OUT (see the comments at its top)" >&2; exit 2; }
dss=$1; shared=$2; root=$3; out=$4
squad=${SQUAD:-$shared/data/squad-dev}
collection=${COLLECTION:-squad-dev}
skip=${SKIP:-5285}; limit=${LIMIT:-500}; name=${NAME:-eval-rag-squad}
lm_opts=${LM_OPTS:---epochs 6}; eval_opts=${EVAL_OPTS:-}
for f in corpus.jsonl queries.jsonl qrels/test.tsv; do
  [ -f "$squad/$f" ] || { echo "eval-rag-squad: $squad/$f not found" >&2; exit 2; }
done
mkdir -p "$out" "$root"

# 1. the collection, with the default encoder (as make eval and bench/rerank-scifact.sh index)
if [ -f "$root/$collection/CURRENT" ]; then
  echo "== $collection: already indexed under $root"
else
  echo "== indexing $squad/corpus.jsonl as $collection"
  "$dss" index --collection "$collection" --corpus "$squad/corpus.jsonl" --index-root "$root"
fi

# 2. the collection's own generator (ROOT/COLLECTION/generator: dss eval-rag's default model)
generator=$root/$collection/generator
if [ -f "$generator/config.json" ]; then
  echo "== generator: already trained in $generator"
else
  echo "== training the generator on $squad/corpus.jsonl"
  # shellcheck disable=SC2086  # LM_OPTS is a list of options
  "$dss" train-lm --corpus "$squad/corpus.jsonl" --out "$generator" --seq-len 1024 --batch-size 2 --log-every 50 --eval-every 500 $lm_opts
fi

# 3. the answers, scored
echo "== eval-rag: questions $((skip + 1))–$((skip + limit)) of $squad/queries.jsonl"
# shellcheck disable=SC2086  # EVAL_OPTS is a list of options
"$dss" eval-rag --collection "$collection" --index-root "$root" --questions "$squad/queries.jsonl" --qrels "$squad/qrels/test.tsv" \
  --skip "$skip" --limit "$limit" --max-sources 5 --source-tokens 768 --max-new 48 \
  --out "$out/$name.json" --markdown "$out/$name.md" $eval_opts

# 4. what generator that was, under the tables
python3 - "$generator/train_lm.json" "$out/$name.md" "$(nproc)" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["result"]
with open(sys.argv[2], "a") as md:
    md.write(f"\nGenerator: dss train-lm on the collection's {r['documents']:,} documents ({r['tokens']:,} tokens), "
             f"{r['parameters']:,} parameters, vocabulary {r['vocab_size']:,}, blocks of {r['seq_len']}, {r['steps']:,} steps in "
             f"{r['train_seconds']:.0f} s ({r['tokens_per_second']:,.0f} tokens/s, {r['device']}, {r['runtime']}); validation loss "
             f"{r['initial_validation_loss']:.3f} → {r['final_validation_loss']:.3f}. Made by bench/eval-rag-squad.sh on {sys.argv[3]} cores.\n")
EOF
echo "wrote $out/$name.json and $out/$name.md"
