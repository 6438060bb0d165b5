#!/usr/bin/env bash
# Sharded SciFact (issue 13, deliverable 5), from the CLI as a user runs it:
#   1. one collection built from the whole corpus (`dss index`), evaluated in-process in bm25, dense and hybrid mode;
#   2. split into N = 1, 2 and 4 shards (`dss shard split`: vectors reused, nothing re-encoded), each shard served by its own
#      `dss serve` process on 127.0.0.1, a query front (`dss serve --shards ...`) over them;
#   3. the same evaluation through the front (`dss eval --server`): nDCG@10 must equal the one collection's (within 0.002;
#      with collection-wide BM25 statistics it is equal to float rounding);
#   4. `dss loadtest` against the front for each N: QPS and p50/p99 against shard count (all processes share this machine).
# Usage: bench/shard-scifact.sh [ENCODER]   (default minilm-l6; SHARED=../shared, DSS=bin/dss, DEVICE=cpu for the build,
#        LOAD_SECONDS=20, LOAD_CONCURRENCY=16, LOAD_MODE=hybrid)   → bench/results/shard-scifact.{md,json}
set -euo pipefail
cd "$(dirname "$0")/.."
ENCODER=${1:-minilm-l6}
SHARED=${SHARED:-../shared}
DSS=${DSS:-bin/dss}
DEVICE=${DEVICE:-cpu}
LOAD_SECONDS=${LOAD_SECONDS:-20}
LOAD_CONCURRENCY=${LOAD_CONCURRENCY:-16}
LOAD_MODE=${LOAD_MODE:-hybrid}
RESULTS=${RESULTS:-bench/results}
corpus=$SHARED/data/scifact/corpus.jsonl
queries=$SHARED/data/scifact/queries.jsonl
qrels=$SHARED/data/scifact/qrels/test.tsv
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$RESULTS"
export DSS_HOME=$work/home
key=$($DSS keys add --principal bench --right read 2>/dev/null | head -1 | tr -d '[:space:]')
[ -n "$key" ] || { echo "shard-scifact: could not make an API key" >&2; exit 1; }

ndcg() { python3 -c 'import json,sys; print("%.6f" % json.load(open(sys.argv[1]))["ndcg"])' "$1"; }

t0=$(date +%s.%N)
$DSS index -c scifact --index-root "$work/whole" --corpus "$corpus" --encoder "$ENCODER" --device "$DEVICE" > "$work/index.out"
build_s=$(python3 -c "import time,sys; print('%.1f' % (time.time() - float(sys.argv[1])))" "$t0")
declare -A one
for mode in bm25 dense hybrid; do
  $DSS eval -c scifact --index-root "$work/whole" --queries "$queries" --qrels "$qrels" --mode $mode --json "$work/one-$mode.json" > /dev/null
  one[$mode]=$(ndcg "$work/one-$mode.json")
done

port=$((20000 + RANDOM % 20000))
wait_port() { # port: wait until something listens there (60 s)
  for _ in $(seq 600); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done
  echo "shard-scifact: nothing listens on port $1" >&2; return 1
}
declare -A front_ndcg load_line
for n in 1 2 4; do
  $DSS shard split -c scifact --index-root "$work/whole" --shards $n --out "$work/s$n" > "$work/split-$n.out"
  urls=()
  for ((i = 0; i < n; i++)); do
    p=$((port++))
    $DSS serve --index-root "$work/s$n/shard-$i" --port $p --no-call-log > "$work/shard-$n-$i.log" 2>&1 &
    pids+=($!)
    urls+=("http://127.0.0.1:$p")
  done
  f=$((port++))
  $DSS serve --shards "$(IFS=,; echo "${urls[*]}")" --port $f --no-call-log > "$work/front-$n.log" 2>&1 &
  pids+=($!)
  for u in "${urls[@]}"; do wait_port "${u##*:}"; done
  wait_port $f
  for mode in bm25 dense hybrid; do
    $DSS eval -c scifact --server "http://127.0.0.1:$f" --key "$key" --queries "$queries" --qrels "$qrels" --mode $mode \
      --json "$work/front-$n-$mode.json" > /dev/null
    front_ndcg[$n,$mode]=$(ndcg "$work/front-$n-$mode.json")
  done
  $DSS loadtest --server "http://127.0.0.1:$f" --key "$key" -c scifact --queries "$queries" --mode "$LOAD_MODE" \
    --concurrency "$LOAD_CONCURRENCY" --duration "$LOAD_SECONDS" --out "$work" --name "shards-$n" > /dev/null
  load_line[$n]=$(python3 - "$work/loadtest-shards-$n.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))["service"]
print("%d %.1f %.1f %.1f %d" % (p["searches"], p["qps"], p["p50_ms"], p["p99_ms"], sum(p["errors"].values())))
EOF
)
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
done

cores=$(nproc)
{
  echo "# Sharded SciFact: one collection vs. a query front over 1, 2 and 4 shard processes ($ENCODER)"
  echo
  echo "\`bench/shard-scifact.sh $ENCODER\` on $cores cores, $(date -u +%Y-%m-%d). One build of the $(grep -c . "$corpus") documents (${build_s} s, device $DEVICE), split by \`dss shard split\` (vectors reused);"
  echo "each shard a \`dss serve\` process on 127.0.0.1, the front \`dss serve --shards\`; evaluation through the front with \`dss eval --server\` (SciFact test, $(tail -n +2 "$qrels" | cut -f1 | sort -u | wc -l) queries)."
  echo
  echo "| mode | one collection (in-process) | front, 1 shard | front, 2 shards | front, 4 shards | largest difference |"
  echo "|---|---|---|---|---|---|"
  for mode in bm25 dense hybrid; do
    diff=$(python3 -c "import sys; a=float(sys.argv[1]); print('%.6f' % max(abs(float(x)-a) for x in sys.argv[2:]))" "${one[$mode]}" "${front_ndcg[1,$mode]}" "${front_ndcg[2,$mode]}" "${front_ndcg[4,$mode]}")
    echo "| $mode | ${one[$mode]} | ${front_ndcg[1,$mode]} | ${front_ndcg[2,$mode]} | ${front_ndcg[4,$mode]} | $diff |"
  done
  echo
  echo "Load through the front (\`dss loadtest\`, $LOAD_MODE, k = 10, $LOAD_CONCURRENCY concurrent searchers × $LOAD_SECONDS s; every process on the same $cores cores):"
  echo
  echo "| shards | searches | QPS | p50 ms | p99 ms | errors |"
  echo "|---|---|---|---|---|---|"
  for n in 1 2 4; do read s q p50 p99 e <<< "${load_line[$n]}"; echo "| $n | $s | $q | $p50 | $p99 | $e |"; done
  echo
  echo "On one machine more shards add work (each shard encodes the query and runs its own BM25 and FAISS search, the front merges),"
  echo "so QPS does not grow with N here: the loopback run measures the fan-out's overhead, not the capacity of N machines. See docs/SCALING.md."
} > "$RESULTS/shard-scifact.md"
python3 - "$RESULTS/shard-scifact.json" "$ENCODER" "$build_s" "$cores" <<EOF
import json, sys
one = {"bm25": ${one[bm25]}, "dense": ${one[dense]}, "hybrid": ${one[hybrid]}}
front = {str(n): {m: float(v) for m, v in zip(["bm25", "dense", "hybrid"], vals)} for n, vals in
         [("1", "${front_ndcg[1,bm25]} ${front_ndcg[1,dense]} ${front_ndcg[1,hybrid]}".split()),
          ("2", "${front_ndcg[2,bm25]} ${front_ndcg[2,dense]} ${front_ndcg[2,hybrid]}".split()),
          ("4", "${front_ndcg[4,bm25]} ${front_ndcg[4,dense]} ${front_ndcg[4,hybrid]}".split())]}
load = {}
for n, line in [("1", "${load_line[1]}"), ("2", "${load_line[2]}"), ("4", "${load_line[4]}")]:
    s, q, p50, p99, e = line.split()
    load[n] = {"searches": int(float(s)), "qps": float(q), "p50_ms": float(p50), "p99_ms": float(p99), "errors": int(float(e))}
json.dump({"encoder": sys.argv[2], "build_seconds": float(sys.argv[3]), "cores": int(sys.argv[4]), "ndcg10_one_collection": one,
           "ndcg10_front": front, "loadtest": load, "load_mode": "$LOAD_MODE", "load_seconds": $LOAD_SECONDS,
           "load_concurrency": $LOAD_CONCURRENCY}, open(sys.argv[1], "w"), indent=2)
EOF
cat "$RESULTS/shard-scifact.md"
