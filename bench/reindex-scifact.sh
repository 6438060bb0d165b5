#!/usr/bin/env bash
# The nightly re-index on SciFact (issue 13 acceptance), from the CLI as a user runs it:
#   1. `dss index` of the whole corpus, then `dss reindex` adopting it (the registry learns the source; nothing embedded);
#   2. a "night" of changes, seeded: 10% of the documents rewritten, 1% deleted, 1% added;
#   3. `dss reindex` of the changed source: its report must count exactly those and embed only their chunks;
#   4. a full rebuild (`dss index`) of the changed source: every query's top 100 in bm25, dense and hybrid mode must equal
#      the re-indexed collection's (same ids in the same order wherever scores are not tied, scores within 1e-4), and so nDCG@10;
#   5. a second `dss reindex` in a row: embeds nothing.
# Usage: bench/reindex-scifact.sh [ENCODER]   (default minilm-l6; SHARED=../shared, DSS=bin/dss, DEVICE=cpu)
#        → bench/results/reindex-scifact.{md,json}
set -euo pipefail
cd "$(dirname "$0")/.."
ENCODER=${1:-minilm-l6}
SHARED=${SHARED:-../shared}
DSS=${DSS:-bin/dss}
DEVICE=${DEVICE:-cpu}
RESULTS=${RESULTS:-bench/results}
corpus=$SHARED/data/scifact/corpus.jsonl
queries=$SHARED/data/scifact/queries.jsonl
qrels=$SHARED/data/scifact/qrels/test.tsv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$RESULTS"
export DSS_INDEX_ROOT=$work/indexes
src=$work/source.jsonl
cp "$corpus" "$src"

seconds() { python3 -c "import time,sys; print('%.1f' % (time.time() - float(sys.argv[1])))" "$1"; }

t=$(date +%s.%N)
$DSS index -c nightly --corpus "$src" --encoder "$ENCODER" --device "$DEVICE" > /dev/null
index_s=$(seconds "$t")
$DSS reindex -c nightly --source "$src" --device "$DEVICE" --report "$work/adopt.json" > /dev/null 2>&1

# The night: seeded choice of 10% rewritten (the text's sentences in reverse order, plus a revision note), 1% deleted, 1% new
# (a new id; title and text of another document, its sentences reversed, so the text is real prose and new).
python3 - "$src" "$work/expected.json" <<'PY'
import json, random, sys
path, expected = sys.argv[1], sys.argv[2]
docs = [json.loads(l) for l in open(path) if l.strip()]
rng = random.Random(13)
n = len(docs)
ids = [d["_id"] for d in docs]
chosen = rng.sample(range(n), n // 10 + n // 100)
changed, deleted = set(chosen[: n // 10]), set(chosen[n // 10:])
rev = lambda t: ". ".join(reversed([s for s in t.split(". ") if s]))
out = []
for i, d in enumerate(docs):
    if i in deleted: continue
    if i in changed: d = dict(d, text=rev(d["text"]) + " (revised)")
    out.append(d)
added = []
for j, i in enumerate(rng.sample(range(n), n // 100)):
    d = docs[i]
    added.append({"_id": f"new-{j}", "title": d["title"], "text": rev(d["text"]) + f" (new {j})"})
out += added
with open(path, "w") as f:
    for d in out: f.write(json.dumps(d) + "\n")
json.dump({"documents_before": n, "changed": len(changed), "deleted": len(deleted), "added": len(added), "documents_after": len(out)}, open(expected, "w"))
PY

t=$(date +%s.%N)
$DSS reindex -c nightly --source "$src" --device "$DEVICE" --report "$work/night.json" > /dev/null 2>&1
reindex_s=$(seconds "$t")
t=$(date +%s.%N)
$DSS index -c rebuild --corpus "$src" --encoder "$ENCODER" --device "$DEVICE" > /dev/null
rebuild_s=$(seconds "$t")
t=$(date +%s.%N)
$DSS reindex -c nightly --source "$src" --device "$DEVICE" --report "$work/again.json" > /dev/null 2>&1
again_s=$(seconds "$t")
for mode in bm25 dense hybrid; do
  for c in nightly rebuild; do
    $DSS eval -c $c --queries "$queries" --qrels "$qrels" --mode $mode --json "$work/$c-$mode.json" --run "$work/$c-$mode.run" > /dev/null
  done
done
# The chunks the changed and added documents have in the rebuild: what the night must embed, no more.
expected_chunks=$(python3 - "$DSS_INDEX_ROOT/rebuild" "$work/expected.json" "$src" <<'PY'
import json, sqlite3, sys, os
root, expected, src = sys.argv[1:]
gen = open(os.path.join(root, "CURRENT")).read().strip()
db = sqlite3.connect(os.path.join(root, gen, "documents.sqlite"))
e = json.load(open(expected))
# changed and added ids: those whose text carries the marks the night wrote
ids = [d["_id"] for d in map(json.loads, open(src)) if d["text"].endswith(" (revised)") or d["_id"].startswith("new-")]
q = "SELECT COALESCE(SUM(chunk_count), 0) FROM documents WHERE deleted_seq IS NULL AND id IN (%s)" % ",".join("?" * len(ids))
print(db.execute(q, ids).fetchone()[0])
PY
)

python3 - "$work" "$RESULTS" "$ENCODER" "$DEVICE" "$index_s" "$reindex_s" "$rebuild_s" "$expected_chunks" "$(nproc)" "$again_s" <<'PY'
import json, sys, datetime
work, results, encoder, device, index_s, reindex_s, rebuild_s, expected_chunks, cores, again_s = sys.argv[1:]
e = json.load(open(f"{work}/expected.json"))
night, again = json.load(open(f"{work}/night.json")), json.load(open(f"{work}/again.json"))

def run(path):
    r = {}
    for line in open(path):
        q, _, doc, rank, score, _ = line.split()
        r.setdefault(q, []).append((doc, float(score)))
    return r

def same(a, b):
    """Same ids at every rank not tied with a neighbour, and the same score at every rank, to 1e-4 relative."""
    bad = 0
    for q in set(a) | set(b):
        x, y = a.get(q, []), b.get(q, [])
        if len(x) != len(y): bad += 1; continue
        near = lambda u, v: abs(u - v) <= 1e-4 * max(1.0, abs(u))
        for i in range(len(x)):
            tied = (i > 0 and near(x[i][1], x[i - 1][1])) or (i + 1 < len(x) and near(x[i][1], x[i + 1][1]))
            if not near(x[i][1], y[i][1]) or (not tied and x[i][0] != y[i][0]): bad += 1; break
    return bad

rows, modes = [], {}
for m in ["bm25", "dense", "hybrid"]:
    a, b = run(f"{work}/nightly-{m}.run"), run(f"{work}/rebuild-{m}.run")
    na, nb = json.load(open(f"{work}/nightly-{m}.json"))["ndcg"], json.load(open(f"{work}/rebuild-{m}.json"))["ndcg"]
    modes[m] = {"ndcg10_reindexed": na, "ndcg10_rebuild": nb, "queries_differing": same(a, b), "queries": len(a)}
ok_counts = (night["changed"], night["deleted"], night["added"]) == (e["changed"], e["deleted"], e["added"])
ok_chunks = night["chunks_embedded"] == int(expected_chunks)
ok_again = (again["added"], again["changed"], again["deleted"], again["chunks_embedded"]) == (0, 0, 0, 0)
ok_same = all(v["queries_differing"] == 0 for v in modes.values())
report = {"encoder": encoder, "device": device, "cores": int(cores), "expected": e, "expected_chunks": int(expected_chunks),
          "night": night, "second_run": again, "index_seconds": float(index_s), "reindex_seconds": float(reindex_s),
          "rebuild_seconds": float(rebuild_s), "modes": modes,
          "checks": {"counts_exact": ok_counts, "only_their_chunks_embedded": ok_chunks, "second_run_embeds_nothing": ok_again,
                     "results_equal_rebuild": ok_same}}
json.dump(report, open(f"{results}/reindex-scifact.json", "w"), indent=2)
yes = lambda b: "yes" if b else "**NO**"
with open(f"{results}/reindex-scifact.md", "w") as f:
    f.write(f"# Nightly re-index on SciFact ({encoder})\n\n")
    f.write(f"`bench/reindex-scifact.sh {encoder}` (DEVICE={device}) on {cores} cores, {datetime.datetime.utcnow():%Y-%m-%d}. "
            f"{e['documents_before']} documents; the night rewrites {e['changed']} (10%), deletes {e['deleted']} (1%), adds {e['added']} (1%).\n\n")
    f.write("| | added | changed | unchanged | deleted | chunks embedded | seconds |\n|---|---|---|---|---|---|---|\n")
    f.write(f"| expected | {e['added']} | {e['changed']} | {e['documents_before'] - e['changed'] - e['deleted']} | {e['deleted']} | {expected_chunks} | |\n")
    for name, r, s in [("`dss reindex` (the night)", night, reindex_s), ("`dss reindex` again", again, again_s)]:
        f.write(f"| {name} | {r['added']} | {r['changed']} | {r['unchanged']} | {r['deleted']} | {r['chunks_embedded']} | {s} |\n")
    f.write(f"| full rebuild (`dss index`) | | | | | all | {rebuild_s} |\n\n")
    f.write(f"The first build (`dss index` of the {e['documents_before']} documents) took {index_s} s.\n\n")
    f.write("| mode | nDCG@10 re-indexed | nDCG@10 full rebuild | queries whose top 100 differ |\n|---|---|---|---|\n")
    for m, v in modes.items():
        f.write(f"| {m} | {v['ndcg10_reindexed']:.6f} | {v['ndcg10_rebuild']:.6f} | {v['queries_differing']} of {v['queries']} |\n")
    f.write(f"\nCounts exactly the night's: {yes(ok_counts)}. Embedded only their chunks: {yes(ok_chunks)}. "
            f"Search results equal the full rebuild's: {yes(ok_same)}. A second run embeds nothing: {yes(ok_again)}.\n")
print(open(f"{results}/reindex-scifact.md").read())
PY
