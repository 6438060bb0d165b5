#!/usr/bin/env python3
"""Python FAISS, driven by `make bench` (suite "faiss") so both sides are measured in one run, alternating.

Usage: faiss_peer.py THREADS. Reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"op": "load", "vectors": PATH, "queries": PATH, "d": D}   raw float32 row-major files -> IndexFlatIP (ids = rows);
                                                             "keep": true keeps the vectors for "build"
  {"op": "select", "bitmap": PATH | null}                    IDSelectorBitmap over row ids (byte i, bit j = id 8i+j), in the
                                                             search parameters of the index's type (IVF: its nprobe, HNSW: its
                                                             efSearch); an IDMap/IDMap2 (which 1.7.3 lets take no parameters) is
                                                             searched through the index it wraps, whose ids are the rows here
  {"op": "time", "batch": B, "calls": C, "k": K}             seconds for C searches of B queries (cycling the queries)
  {"op": "search", "batch": B, "k": K}                       the ids of the first B queries' top K (to check both sides agree)
  {"op": "build", "factory": F}                              the loaded vectors in index_factory(d, F, inner product), trained on
                                                             them when F needs training, ids = rows; replies the build seconds
  {"op": "params", "value": "efSearch=64"}                   faiss.ParameterSpace().set_index_parameters on the index
                                                             ("build", "read" and "params" clear the selection)
  {"op": "read", "index": PATH, "queries": PATH, "d": D}     the index file the bench wrote (faiss.read_index: the same graph
                                                             or lists as ours) and new queries; replies its ntotal
The time is taken here (time.perf_counter around the search calls), so the pipe is not in it. A command that fails answers
{"error": "..."} and the peer goes on.
"""
import json
import sys
import time

import faiss
import numpy as np


def filtered(index, bitmap):
    """(the index to search, its search parameters, the selector) for a search restricted to the ids set in bitmap."""
    target = index
    if isinstance(target, (faiss.IndexIDMap, faiss.IndexIDMap2)):
        target = faiss.downcast_index(target.index)
    if isinstance(target, faiss.IndexIVF):
        params = faiss.SearchParametersIVF()
        params.nprobe = target.nprobe
    elif isinstance(target, faiss.IndexHNSW):
        params = faiss.SearchParametersHNSW()
        params.efSearch = target.hnsw.efSearch
    else:
        params = faiss.SearchParameters()
    selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
    params.sel = selector
    return target, params, selector


class Peer:
    def __init__(self):
        self.index = self.queries = self.vectors = None
        self.target = self.params = self.bitmap = self.selector = None  # what a search uses; kept alive together

    def unfiltered(self):
        self.target, self.params, self.bitmap, self.selector = self.index, None, None, None

    def handle(self, cmd):
        op = cmd["op"]
        if op == "load":
            d = cmd["d"]
            self.index = faiss.IndexFlatIP(d)
            self.vectors = np.fromfile(cmd["vectors"], dtype=np.float32).reshape(-1, d)
            self.index.add(self.vectors)
            if not cmd.get("keep", False):
                self.vectors = None
            self.queries = np.fromfile(cmd["queries"], dtype=np.float32).reshape(-1, d)
            self.unfiltered()
            return {"n": self.index.ntotal}
        if op == "select":
            if cmd["bitmap"] is None:
                self.unfiltered()
                return {"selected": None}
            self.bitmap = np.fromfile(cmd["bitmap"], dtype=np.uint8)  # kept alive: the selector points into it
            self.target, self.params, self.selector = filtered(self.index, self.bitmap)
            return {"selected": int(np.unpackbits(self.bitmap).sum())}
        if op == "time":
            b, c, k = cmd["batch"], cmd["calls"], cmd["k"]
            nq = len(self.queries)
            batches = [self.queries[(i * b) % nq:(i * b) % nq + b] for i in range(c)]
            t0 = time.perf_counter()
            for q in batches:
                self.target.search(q, k, params=self.params)
            return {"seconds": time.perf_counter() - t0}
        if op == "build":
            t0 = time.perf_counter()
            self.index = faiss.index_factory(self.vectors.shape[1], cmd["factory"], faiss.METRIC_INNER_PRODUCT)
            if not self.index.is_trained:
                self.index.train(self.vectors)
            self.index.add_with_ids(self.vectors, np.arange(len(self.vectors), dtype=np.int64))
            self.unfiltered()
            return {"seconds": time.perf_counter() - t0}
        if op == "read":
            self.index = faiss.read_index(cmd["index"])
            self.queries = np.fromfile(cmd["queries"], dtype=np.float32).reshape(-1, cmd["d"])
            self.unfiltered()
            return {"n": self.index.ntotal}
        if op == "params":
            faiss.ParameterSpace().set_index_parameters(self.index, cmd["value"])
            self.unfiltered()
            return {}
        if op == "search":
            _, ids = self.target.search(self.queries[:cmd["batch"]], cmd["k"], params=self.params)
            return {"ids": ids.tolist()}
        return {"error": f"unknown op {op!r}"}


def main() -> None:
    faiss.omp_set_num_threads(int(sys.argv[1]))
    print(json.dumps({"faiss": faiss.__version__, "threads": faiss.omp_get_max_threads()}), flush=True)
    peer = Peer()
    for line in sys.stdin:
        try:
            reply = peer.handle(json.loads(line))
        except Exception as e:  # noqa: BLE001 - reported to the bench, which decides what to do
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
