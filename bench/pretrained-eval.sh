#!/usr/bin/env bash
# Zero-shot (or any) encoders on BEIR data: index SciFact and SQuAD dev with each encoder, then evaluate BM25, dense, RRF and
# min-max hybrids. The min-max dense weight is meant to be chosen on SciFact's *train* queries (qrels/train.tsv) and reported on
# test: bench/pretrained-summary.py does that from the summary this writes.
# usage: bench/pretrained-eval.sh DSS SHARED_DATA OUT ENCODER... [-- extra dss options, e.g. --device cuda]
#   ENCODER: a pretrained name (minilm-l6, arctic-xs) or an encoder folder; name=FOLDER labels a folder.
# Writes OUT/summary.tsv: encoder, collection, split, setting, nDCG@10, Recall@100, MRR@10, seconds.
set -euo pipefail
dss=$1; data=$2; out=$3; shift 3
encoders=(); extra=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; extra=("$@"); break; fi
  encoders+=("$1"); shift
done
mkdir -p "$out"
summary="$out/summary.tsv"
[ -f "$summary" ] || printf 'encoder\tcollection\tsplit\tsetting\tndcg10\trecall100\tmrr10\tseconds\n' > "$summary"
ev() { # encoder-label collection split setting eval-args...
  local label=$1 coll=$2 split=$3 setting=$4; shift 4
  local t0=$(date +%s.%N) json="$out/eval-$label-$coll-$split-$setting.json"
  "$dss" eval -c "$label-$coll" --queries "$data/$coll/queries.jsonl" --qrels "$data/$coll/qrels/$split.tsv" \
    --index-root "$out/indexes" --json "$json" "${extra[@]}" "$@" > /dev/null
  python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(*sys.argv[2:6], m['ndcg'], m['recall'], m['mrr'], sys.argv[6], sep='\t')" \
    "$json" "$label" "$coll" "$split" "$setting" "$(python3 -c "import time,sys; print(round(time.time()-float(sys.argv[1]),1))" $t0)" | tee -a "$summary"
}
for spec in "${encoders[@]}"; do
  label=${spec%%=*}; enc=${spec#*=}; label=$(basename "$label")
  for coll in scifact squad-dev; do
    [ -f "$data/$coll/corpus.jsonl" ] || continue
    t0=$(date +%s)
    /usr/bin/time -v "$dss" index -c "$label-$coll" --corpus "$data/$coll/corpus.jsonl" --encoder "$enc" --index-root "$out/indexes" "${extra[@]}" \
      > "$out/index-$label-$coll.log" 2> "$out/index-$label-$coll.time"
    echo "# indexed $coll with $label in $(( $(date +%s) - t0 )) s, peak RSS $(grep 'Maximum resident' "$out/index-$label-$coll.time" | awk '{print $NF}') KiB" | tee -a "$out/notes.txt"
    splits="test"; [ -f "$data/$coll/qrels/train.tsv" ] && splits="train test"
    for split in $splits; do
      ev "$label" $coll $split bm25 --mode bm25
      ev "$label" $coll $split dense --mode dense
      ev "$label" $coll $split rrf --mode hybrid --fusion rrf
      alphas="0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9"; [ "$coll" = squad-dev ] && alphas="0.3 0.5 0.7"
      for a in $alphas; do ev "$label" $coll $split minmax-$a --mode hybrid --fusion minmax --alpha $a; done
    done
  done
done
