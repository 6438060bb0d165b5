#!/usr/bin/env bash
# Zero-shot (or any) encoders on BEIR data, the fusion weight chosen on train queries and reported on test:
# for each encoder, index SciFact and SQuAD dev; on SciFact's *train* qrels evaluate dense, RRF and min-max at dense weights
# 0.1 … 0.9 and keep the best setting; then evaluate BM25, dense, RRF, min-max 0.5 and the chosen setting on the test qrels of
# both collections (SQuAD dev has no train queries: it gets SciFact's choice).
# usage: bench/pretrained-eval.sh DSS SHARED_DATA OUT ENCODER... [-- extra dss options, e.g. --device cuda]
#   ENCODER: a pretrained name (minilm-l6, arctic-xs) or an encoder folder; LABEL=FOLDER names a folder.
# Writes OUT/summary.tsv (encoder, collection, split, setting, nDCG@10, Recall@100, MRR@10, seconds) and OUT/notes.txt
# (index time and peak RSS, the chosen setting). An index already built under OUT/indexes is reused.
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
ev() { # label collection split setting
  local label=$1 coll=$2 split=$3 setting=$4 args
  case $setting in
    bm25) args=(--mode bm25);; dense) args=(--mode dense);; rrf) args=(--mode hybrid --fusion rrf);;
    minmax-*) args=(--mode hybrid --fusion minmax --alpha ${setting#minmax-});;
  esac
  local t0=$(date +%s) json="$out/eval-$label-$coll-$split-$setting.json"
  "$dss" eval -c "$label-$coll" --queries "$data/$coll/queries.jsonl" --qrels "$data/$coll/qrels/$split.tsv" \
    --index-root "$out/indexes" --json "$json" "${extra[@]}" "${args[@]}" > /dev/null
  python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(*sys.argv[2:6], m['ndcg'], m['recall'], m['mrr'], sys.argv[6], sep='\t')" \
    "$json" "$label" "$coll" "$split" "$setting" "$(( $(date +%s) - t0 ))" | tee -a "$summary"
}
index() { # label collection encoder
  local label=$1 coll=$2 enc=$3 t0=$(date +%s)
  [ -f "$out/indexes/$label-$coll/CURRENT" ] && return 0
  /usr/bin/time -v "$dss" index -c "$label-$coll" --corpus "$data/$coll/corpus.jsonl" --encoder "$enc" --index-root "$out/indexes" "${extra[@]}" \
    > "$out/index-$label-$coll.log" 2> "$out/index-$label-$coll.time"
  echo "# indexed $coll with $label in $(( $(date +%s) - t0 )) s, peak RSS $(grep 'Maximum resident' "$out/index-$label-$coll.time" | awk '{print $NF}') KiB" | tee -a "$out/notes.txt"
}
for spec in "${encoders[@]}"; do
  label=${spec%%=*}; enc=${spec#*=}; label=$(basename "$label")
  index "$label" scifact "$enc"
  for s in dense rrf minmax-0.1 minmax-0.2 minmax-0.3 minmax-0.4 minmax-0.5 minmax-0.6 minmax-0.7 minmax-0.8 minmax-0.9; do
    grep -qP "^$label\tscifact\ttrain\t$s\t" "$summary" || ev "$label" scifact train $s
  done
  best=$(awk -F'\t' -v l="$label" '$1==l && $2=="scifact" && $3=="train" && $4!="dense" {print $5"\t"$4}' "$summary" | sort -g | tail -1 | cut -f2)
  echo "# $label: best hybrid on SciFact train queries: $best" | tee -a "$out/notes.txt"
  for coll in scifact squad-dev; do
    [ -f "$data/$coll/corpus.jsonl" ] || continue
    index "$label" $coll "$enc"
    for s in bm25 dense rrf minmax-0.5 $best; do
      grep -qP "^$label\t$coll\ttest\t$s\t" "$summary" || ev "$label" $coll test $s
    done
  done
done
