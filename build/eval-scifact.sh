#!/usr/bin/env bash
# `make eval`: index BEIR SciFact (and SQuAD dev) from the shared data folder with BM25 and print the rows of the
# README's quality table. With an encoder folder, SciFact is also evaluated dense and hybrid.
# usage: build/eval-scifact.sh SHARED_DIR [ENCODER: a folder or a pretrained name, e.g. minilm-l6]
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
encoder=${2:-}
mkdir -p bench/results
scifact=$shared/data/scifact
[ -d "$scifact" ] || { echo "eval: $scifact not found (pass SHARED=...)" >&2; exit 2; }

for fields in flat multifield; do
  bin/dss index --collection scifact-$fields --corpus "$scifact/corpus.jsonl" --fields $fields --encoder none
  echo "== SciFact bm25 ($fields)"
  bin/dss eval --collection scifact-$fields --queries "$scifact/queries.jsonl" --qrels "$scifact/qrels/test.tsv" --mode bm25 \
    --json "bench/results/eval-scifact-bm25-$fields.json"
done

squad=$shared/data/squad-dev
if [ -d "$squad" ]; then
  bin/dss index --collection squad-dev --corpus "$squad/corpus.jsonl" --encoder none
  echo "== SQuAD dev bm25"
  bin/dss eval --collection squad-dev --queries "$squad/queries.jsonl" --qrels "$squad/qrels/test.tsv" --mode bm25 \
    --json "bench/results/eval-squad-dev-bm25.json"
fi

if [ -n "$encoder" ]; then
  bin/dss index --collection scifact-dense --corpus "$scifact/corpus.jsonl" --encoder "$encoder"
  for mode in dense hybrid; do
    echo "== SciFact $mode"
    bin/dss eval --collection scifact-dense --queries "$scifact/queries.jsonl" --qrels "$scifact/qrels/test.tsv" --mode $mode \
      --json "bench/results/eval-scifact-$mode.json"
  done
fi
