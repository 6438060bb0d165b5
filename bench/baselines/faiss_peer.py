#!/usr/bin/env python3
"""Python FAISS, driven by `make bench` (suite "faiss") so both sides are measured in one run, alternating.

Usage: faiss_peer.py THREADS. Reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"op": "load", "vectors": PATH, "queries": PATH, "d": D}   raw float32 row-major files -> IndexFlatIP (ids = rows);
                                                             "keep": true keeps the vectors for "build"
  {"op": "select", "bitmap": PATH | null}                    IDSelectorBitmap over row ids (byte i, bit j = id 8i+j)
  {"op": "time", "batch": B, "calls": C, "k": K}             seconds for C searches of B queries (cycling the queries)
  {"op": "search", "batch": B, "k": K}                       the ids of the first B queries' top K (to check both sides agree)
  {"op": "build", "factory": F}                              the loaded vectors in index_factory(d, F, inner product), trained on
                                                             them when F needs training, ids = rows; replies the build seconds
  {"op": "params", "value": "efSearch=64"}                   faiss.ParameterSpace().set_index_parameters on the index
The time is taken here (time.perf_counter around the search calls), so the pipe is not in it.
"""
import json
import sys
import time

import faiss
import numpy as np


def main() -> None:
    faiss.omp_set_num_threads(int(sys.argv[1]))
    index = queries = params = bitmap = vectors = None
    print(json.dumps({"faiss": faiss.__version__, "threads": faiss.omp_get_max_threads()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "load":
            d = cmd["d"]
            index = faiss.IndexFlatIP(d)
            vectors = np.fromfile(cmd["vectors"], dtype=np.float32).reshape(-1, d)
            index.add(vectors)
            if not cmd.get("keep", False):
                vectors = None
            queries = np.fromfile(cmd["queries"], dtype=np.float32).reshape(-1, d)
            params = bitmap = None
            reply = {"n": index.ntotal}
        elif op == "select":
            if cmd["bitmap"] is None:
                params = bitmap = None
            else:
                bitmap = np.fromfile(cmd["bitmap"], dtype=np.uint8)  # kept alive: the selector points into it
                params = faiss.SearchParameters()
                params.sel = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
            reply = {"selected": None if bitmap is None else int(np.unpackbits(bitmap).sum())}
        elif op == "time":
            b, c, k = cmd["batch"], cmd["calls"], cmd["k"]
            nq = len(queries)
            batches = [queries[(i * b) % nq:(i * b) % nq + b] for i in range(c)]
            t0 = time.perf_counter()
            for q in batches:
                index.search(q, k, params=params)
            reply = {"seconds": time.perf_counter() - t0}
        elif op == "build":
            t0 = time.perf_counter()
            index = faiss.index_factory(vectors.shape[1], cmd["factory"], faiss.METRIC_INNER_PRODUCT)
            if not index.is_trained:
                index.train(vectors)
            index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
            reply = {"seconds": time.perf_counter() - t0}
        elif op == "params":
            faiss.ParameterSpace().set_index_parameters(index, cmd["value"])
            reply = {}
        elif op == "search":
            _, ids = index.search(queries[:cmd["batch"]], cmd["k"], params=params)
            reply = {"ids": ids.tolist()}
        else:
            reply = {"error": f"unknown op {op!r}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
