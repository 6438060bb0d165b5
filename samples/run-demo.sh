#!/usr/bin/env bash
# `make run`: index the bundled sample collection (this project's own documentation, samples/docs) and run
# example searches in every mode. Needs nothing outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
dss=bin/dss
encoder=out/sample-encoder

# No pretrained weights ship with the project: the sample encoder is a small BERT initialised from a fixed seed
# over the bundled bert-base-uncased WordPiece vocabulary. Its dense ranking is weak until trained (see README: training).
if [ ! -f "$encoder/model.safetensors" ]; then
  $dss encoder init --out "$encoder" --layers 2 --hidden 128 --heads 4 --ffn 512 --seed 42
fi

echo "== dss index"
$dss index --collection sample --corpus samples/docs --encoder "$encoder" --chunk-tokens 128 --chunk-overlap 16
echo
echo "== dss info"
$dss info --collection sample
for q in "how are raw BM25 and cosine scores fused" "what happens when a build crashes" "stemming and term frequency saturation"; do
  for mode in bm25 dense hybrid; do
    echo
    echo "== dss search --mode $mode"
    $dss search --collection sample --query "$q" --mode $mode --k 3
  done
done
echo
echo "== dss search --mode hybrid --fusion minmax --json"
$dss search --collection sample --query "GPU libtorch" --mode hybrid --fusion minmax --alpha 0.3 --k 2 --json
