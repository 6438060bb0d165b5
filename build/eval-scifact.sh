#!/usr/bin/env bash
# `make eval`: index BEIR SciFact from the shared data folder and print the quality table rows.
# usage: build/eval-scifact.sh SHARED_DIR [ENCODER_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
encoder=${2:-}
data=$shared/data/scifact
[ -d "$data" ] || { echo "eval: $data not found (pass SHARED=...)" >&2; exit 2; }
mkdir -p bench/results
if [ -n "$encoder" ]; then
  bin/dss index --collection scifact --corpus "$data/corpus.jsonl" --encoder "$encoder"
  modes="bm25 dense hybrid"
else
  bin/dss index --collection scifact --corpus "$data/corpus.jsonl"
  modes="bm25"
fi
for mode in $modes; do
  echo "== $mode"
  bin/dss eval --collection scifact --queries "$data/queries.jsonl" --qrels "$data/qrels/test.tsv" --mode $mode --json "bench/results/eval-scifact-$mode.json"
done
