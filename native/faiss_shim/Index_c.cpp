#include "Index_c.h"
#include "guard.h"

#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IVFlib.h>
#include <faiss/impl/IDSelector.h>

#include <cstring>
#include <string>
#include <typeinfo>

using dss_faiss::guarded;
using dss_faiss::require;

namespace {

faiss::Index* unwrap(dss_faiss_Index* index) {
    require(index != nullptr, "index handle is null");
    return reinterpret_cast<faiss::Index*>(index);
}

const faiss::Index* unwrap(const dss_faiss_Index* index) {
    require(index != nullptr, "index handle is null");
    return reinterpret_cast<const faiss::Index*>(index);
}

template <class T>
bool is_exactly(const faiss::Index* index) {
    return typeid(*index) == typeid(T);
}

// Reverse of index_factory for the index types this project builds; "" when unknown.
std::string describe(const faiss::Index* index) {
    if (index == nullptr) return "";
    auto wrap = [](const char* prefix, const faiss::Index* inner) -> std::string {
        std::string rest = describe(inner);
        return rest.empty() ? std::string() : std::string(prefix) + "," + rest;
    };
    if (is_exactly<faiss::IndexIDMap2>(index))
        return wrap("IDMap2", static_cast<const faiss::IndexIDMap2*>(index)->index);
    if (is_exactly<faiss::IndexIDMap>(index))
        return wrap("IDMap", static_cast<const faiss::IndexIDMap*>(index)->index);
    if (is_exactly<faiss::IndexFlat>(index) || is_exactly<faiss::IndexFlatIP>(index) ||
        is_exactly<faiss::IndexFlatL2>(index))
        return "Flat";
    if (is_exactly<faiss::IndexHNSWFlat>(index)) {
        int m = static_cast<const faiss::IndexHNSWFlat*>(index)->hnsw.nb_neighbors(0) / 2;
        return "HNSW" + std::to_string(m) + ",Flat";
    }
    if (is_exactly<faiss::IndexIVFFlat>(index)) {
        auto* ivf = static_cast<const faiss::IndexIVFFlat*>(index);
        if (describe(ivf->quantizer) != "Flat") return "";
        return "IVF" + std::to_string(ivf->nlist) + ",Flat";
    }
    return "";
}

} // namespace

namespace dss_faiss {

void check_structure(const faiss::Index* index) {
    require(index != nullptr, "index is null");
    const faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(index);
    if (ivf != nullptr && ivf->nlist == 0)
        throw ArgumentError("IVF index with 0 inverted lists (nlist must be at least 1)");
}

} // namespace dss_faiss

extern "C" {

void dss_faiss_Index_free(dss_faiss_Index* index) {
    // Not guarded: freeing must leave this thread's last error alone (a handle may be
    // released between a failing call and the read of its message). FAISS destructors
    // do not throw; the catch is belt and braces.
    try {
        delete reinterpret_cast<faiss::Index*>(index);
    } catch (...) {
    }
}

int dss_faiss_Index_d(const dss_faiss_Index* index, int* d) {
    return guarded([&] {
        require(d != nullptr, "output pointer is null");
        *d = unwrap(index)->d;
    });
}

int dss_faiss_Index_ntotal(const dss_faiss_Index* index, int64_t* ntotal) {
    return guarded([&] {
        require(ntotal != nullptr, "output pointer is null");
        *ntotal = unwrap(index)->ntotal;
    });
}

int dss_faiss_Index_is_trained(const dss_faiss_Index* index, int* is_trained) {
    return guarded([&] {
        require(is_trained != nullptr, "output pointer is null");
        *is_trained = unwrap(index)->is_trained ? 1 : 0;
    });
}

int dss_faiss_Index_metric_type(const dss_faiss_Index* index, int* metric) {
    return guarded([&] {
        require(metric != nullptr, "output pointer is null");
        *metric = static_cast<int>(unwrap(index)->metric_type);
    });
}

int dss_faiss_Index_train(dss_faiss_Index* index, int64_t n, const float* x) {
    return guarded([&] {
        faiss::Index* ix = unwrap(index);
        require(n >= 0, "n must not be negative");
        require(n == 0 || x != nullptr, "vector pointer is null");
        ix->train(n, x);
    });
}

int dss_faiss_Index_add_with_ids(dss_faiss_Index* index, int64_t n, const float* x, const int64_t* ids) {
    return guarded([&] {
        faiss::Index* ix = unwrap(index);
        require(n >= 0, "n must not be negative");
        require(n == 0 || (x != nullptr && ids != nullptr), "vector or id pointer is null");
        ix->add_with_ids(n, x, ids);
    });
}

int dss_faiss_Index_search(const dss_faiss_Index* index, int64_t n, const float* x, int64_t k,
                           float* distances, int64_t* labels) {
    return guarded([&] {
        const faiss::Index* ix = unwrap(index);
        require(n >= 0, "n must not be negative");
        require(k > 0, "k must be positive");
        require(n == 0 || (x != nullptr && distances != nullptr && labels != nullptr),
                "query or result pointer is null");
        if (n == 0) return;
        ix->search(n, x, k, distances, labels);
    });
}

int dss_faiss_Index_remove_ids(dss_faiss_Index* index, int64_t n, const int64_t* ids, int64_t* nremoved) {
    return guarded([&] {
        faiss::Index* ix = unwrap(index);
        require(n >= 0, "n must not be negative");
        require(n == 0 || ids != nullptr, "id pointer is null");
        require(nremoved != nullptr, "output pointer is null");
        faiss::IDSelectorBatch selector(n, ids);
        *nremoved = static_cast<int64_t>(ix->remove_ids(selector));
    });
}

int dss_faiss_Index_reset(dss_faiss_Index* index) {
    return guarded([&] { unwrap(index)->reset(); });
}

int dss_faiss_Index_describe(const dss_faiss_Index* index, char* buffer, size_t capacity, size_t* length) {
    return guarded([&] {
        require(length != nullptr, "output pointer is null");
        require(capacity == 0 || buffer != nullptr, "buffer is null");
        std::string text = describe(unwrap(index));
        *length = text.size();
        if (capacity > 0) {
            size_t copied = text.size() < capacity ? text.size() : capacity - 1;
            std::memcpy(buffer, text.data(), copied);
            buffer[copied] = '\0';
        }
    });
}

} // extern "C"
