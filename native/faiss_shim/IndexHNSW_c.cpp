#include "IndexHNSW_c.h"
#include "guard.h"

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>

using dss_faiss::guarded;
using dss_faiss::require;

namespace {

// IndexIDMap2 derives from IndexIDMap, so one cast covers both wrappers.
faiss::IndexHNSW* find_hnsw(faiss::Index* index) {
    require(index != nullptr, "index handle is null");
    while (auto* idmap = dynamic_cast<faiss::IndexIDMap*>(index)) index = idmap->index;
    return dynamic_cast<faiss::IndexHNSW*>(index);
}

} // namespace

extern "C" {

int dss_faiss_IndexHNSW_efConstruction(const dss_faiss_Index* index, int* ef_construction) {
    return guarded([&] {
        require(ef_construction != nullptr, "output pointer is null");
        // find_hnsw only reads; the const_cast lets one helper serve getter and setter.
        auto* hnsw = find_hnsw(const_cast<faiss::Index*>(reinterpret_cast<const faiss::Index*>(index)));
        *ef_construction = hnsw != nullptr ? hnsw->hnsw.efConstruction : -1;
    });
}

int dss_faiss_IndexHNSW_set_efConstruction(dss_faiss_Index* index, int ef_construction) {
    return guarded([&] {
        require(ef_construction >= 1, "efConstruction must be at least 1");
        auto* hnsw = find_hnsw(reinterpret_cast<faiss::Index*>(index));
        require(hnsw != nullptr, "not an HNSW index: efConstruction applies to HNSW indexes only");
        hnsw->hnsw.efConstruction = ef_construction;
    });
}

} // extern "C"
