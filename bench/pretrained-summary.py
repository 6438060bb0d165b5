#!/usr/bin/env python3
"""Markdown table from bench/pretrained-eval.sh's summary.tsv: per encoder and collection (test qrels), BM25, dense, RRF,
min-max 0.5 and the setting chosen on SciFact's train queries (marked), with nDCG@10 / Recall@100 / MRR@10.
usage: bench/pretrained-summary.py OUT/summary.tsv [OUT/notes.txt]"""
import csv, re, sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter='\t'))
chosen = {}
if len(sys.argv) > 2:
    for line in open(sys.argv[2]):
        m = re.match(r'# (\S+): best hybrid on SciFact train queries: (\S+)', line)
        if m: chosen[m.group(1)] = m.group(2)
def name(setting, enc):
    s = {'bm25': 'BM25', 'dense': 'dense', 'rrf': 'hybrid RRF'}.get(setting, setting.replace('minmax-', 'hybrid min-max '))
    return s + (' (chosen on train: the recorded default)' if chosen.get(enc) == setting else '')
print('| collection | encoder | retriever | nDCG@10 | Recall@100 | MRR@10 | SciFact train nDCG@10 |')
print('|---|---|---|---|---|---|---|')
train = {(r['encoder'], r['setting']): float(r['ndcg10']) for r in rows if r['split'] == 'train'}
order = ['bm25', 'dense', 'rrf', 'minmax-0.5']
for coll in ['scifact', 'squad-dev']:
    bm25_done = False
    for enc in dict.fromkeys(r['encoder'] for r in rows):
        test = {r['setting']: r for r in rows if r['encoder'] == enc and r['collection'] == coll and r['split'] == 'test'}
        settings = [s for s in order if s in test] + [s for s in test if s not in order]
        for s in settings:
            if s == 'bm25':
                if bm25_done: continue
                bm25_done = True
            r = test[s]
            t = train.get((enc, s)) if coll == 'scifact' else None
            print(f"| {'SciFact test' if coll == 'scifact' else 'SQuAD dev'} | {'' if s == 'bm25' else enc} | {name(s, enc)} | "
                  f"{float(r['ndcg10']):.4f} | {float(r['recall100']):.4f} | {float(r['mrr10']):.4f} | {'' if t is None else f'{t:.4f}'} |")
