#!/usr/bin/env bash
# One real comparison (README: Comparing runs): the default zero-shot encoder (minilm-l6) against the same encoder fine-tuned
# on SciFact's qrels/train.tsv, both evaluated on the test qrels in their recorded default search (plain dss eval), written as
# TREC runs and compared query by query with dss compare; then the paired t-test is recomputed with SciPy's
# scipy.stats.ttest_rel and the randomization test with scipy.stats.permutation_test on the same per-query values.
# usage: bench/compare-scifact.sh DSS SCIFACT_DIR OUT [--device cuda]
#   steps already done are kept (OUT/ft, OUT/indexes/scifact-zs|ft, OUT/*.run): the runs can be made on a GPU machine
#   (the fine-tune takes ~45 s on an H200, much longer on 2 CPU cores) and the comparison anywhere.
#   ENCODER=minilm-l6 (the start encoder: a name or a folder)  PYTHON=/usr/bin/python3 (with SciPy; skipped without it)
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 DSS SCIFACT_DIR OUT [--device cuda]" >&2; exit 2; }
dss=$1; s=$2; out=$3; shift 3
enc=${ENCODER:-minilm-l6}; py=${PYTHON:-/usr/bin/python3}
mkdir -p "$out"
if [ ! -f "$out/ft/dual_encoder.json" ]; then
  "$dss" train -o "$out/ft" --init "$enc" --corpus "$s/corpus.jsonl" --queries "$s/queries.jsonl" --qrels "$s/qrels/train.tsv" \
    --epochs 12 --lr 3e-5 --batch-size 64 --refresh-negatives 3 --log-every 50 "$@"
fi
for e in zs ft; do
  model=$out/ft; [ $e = zs ] && model=$enc
  [ -f "$out/indexes/scifact-$e/CURRENT" ] || "$dss" index -c "scifact-$e" --corpus "$s/corpus.jsonl" --encoder "$model" --index-root "$out/indexes" "$@"
  [ -f "$out/$e-default.run" ] || "$dss" eval -c "scifact-$e" --queries "$s/queries.jsonl" --qrels "$s/qrels/test.tsv" --index-root "$out/indexes" \
    --run "$out/$e-default.run" "$@"
done
"$dss" compare --qrels "$s/qrels/test.tsv" "$out/zs-default.run" "$out/ft-default.run" \
  --json "$out/compare-scifact.json" --markdown "$out/compare-scifact.md" --plot "$out/compare-scifact.png"
if "$py" -c 'import scipy, numpy' 2>/dev/null; then
  "$py" - "$out/compare-scifact.json" <<'PY' | tee -a "$out/compare-scifact.md"
import json, sys
import numpy as np
from scipy import stats
r = json.load(open(sys.argv[1]))
print("\nThe same per-query values through SciPy " + __import__("scipy").__version__ + " (ttest_rel; permutation_test, paired, 10,000 resamples):\n")
print("| metric | t (dss) | t (SciPy) | p t-test (dss) | p t-test (SciPy) | p randomization (dss) | p permutation (SciPy) |")
print("|---|---|---|---|---|---|---|")
for m in r["metrics"]:
    a, b = map(np.array, m["perQuery"])
    c = m["comparisons"][0]
    t = stats.ttest_rel(b, a)
    perm = stats.permutation_test((b, a), lambda x, y, axis: np.mean(x - y, axis=axis), permutation_type="samples",
                                  n_resamples=10000, alternative="two-sided", random_state=1)
    print(f"| {m['metric']} | {c['t']:.10f} | {t.statistic:.10f} | {c['tTestP']:.10g} | {t.pvalue:.10g} | {c['randomizationP']:.4f} | {perm.pvalue:.4f} |")
PY
else
  echo "compare-scifact: no SciPy for $py: the SciPy check is skipped" >&2
fi
echo "wrote $out/compare-scifact.{json,md,png}"
