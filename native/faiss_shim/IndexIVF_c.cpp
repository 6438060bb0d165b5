#include "IndexIVF_c.h"
#include "ivf_lookup.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/invlists/DirectMap.h>
#include <faiss/invlists/InvertedLists.h>

using dss_faiss::find_ivf;
using dss_faiss::guarded;
using dss_faiss::require;

extern "C" {

int dss_faiss_IndexIVF_direct_map_type(const dss_faiss_Index* index, int* type) {
    return guarded([&] {
        require(type != nullptr, "output pointer is null");
        // find_ivf only reads; the const_cast lets one helper serve getter and setter.
        auto* ivf = find_ivf(const_cast<faiss::Index*>(reinterpret_cast<const faiss::Index*>(index)));
        *type = ivf != nullptr ? static_cast<int>(ivf->direct_map.type) : -1;
    });
}

int dss_faiss_IndexIVF_make_direct_map(dss_faiss_Index* index) {
    return guarded([&] {
        auto* outer = reinterpret_cast<faiss::Index*>(index);
        auto* ivf = find_ivf(outer);
        require(ivf != nullptr, "not an IVF index: a direct map applies to IVF indexes only");
        if (!ivf->direct_map.no()) return;
        // Inside an IDMap the IVF's ids are positions 0..ntotal-1, added without ids: an array.
        // (FAISS 1.7.3's hashtable map records adds without ids under wrong keys.) A bare IVF
        // holds the caller's ids, which only a hashtable can map.
        bool wrapped = dynamic_cast<faiss::IndexIDMap*>(outer) != nullptr;
        ivf->set_direct_map_type(wrapped ? faiss::DirectMap::Array : faiss::DirectMap::Hashtable);
    });
}

namespace {

// The IVF,Flat inner-product index inside `index` whose lists are in-memory arrays, or null.
const faiss::IndexIVFFlat* flat_ivf(const dss_faiss_Index* index) {
    auto* ivf = dynamic_cast<const faiss::IndexIVFFlat*>(find_ivf(const_cast<faiss::Index*>(reinterpret_cast<const faiss::Index*>(index))));
    if (ivf == nullptr || ivf->metric_type != faiss::METRIC_INNER_PRODUCT || !ivf->is_trained) return nullptr;
    if (dynamic_cast<const faiss::ArrayInvertedLists*>(ivf->invlists) == nullptr) return nullptr;
    auto* quantizer = dynamic_cast<const faiss::IndexFlat*>(ivf->quantizer);
    if (quantizer == nullptr || quantizer->metric_type != faiss::METRIC_INNER_PRODUCT || quantizer->ntotal != static_cast<faiss::Index::idx_t>(ivf->nlist)) return nullptr;
    return ivf;
}

} // namespace

int dss_faiss_IndexIVF_flat_storage(const dss_faiss_Index* index, int64_t* nlist, const float** centroids, int64_t* nprobe,
                                    int64_t* max_codes, const int64_t** id_map) {
    return guarded([&] {
        require(nlist != nullptr && centroids != nullptr && nprobe != nullptr && max_codes != nullptr && id_map != nullptr, "output pointer is null");
        *nlist = 0;
        *centroids = nullptr;
        *nprobe = 0;
        *max_codes = 0;
        *id_map = nullptr;
        const auto* ivf = flat_ivf(index);
        if (ivf == nullptr) return;
        auto* outer = reinterpret_cast<const faiss::Index*>(index);
        if (auto* idmap = dynamic_cast<const faiss::IndexIDMap*>(outer)) {
            require(idmap->index == ivf, "an IDMap over an IDMap");
            require(static_cast<int64_t>(idmap->id_map.size()) == ivf->ntotal, "the IDMap's ids and its IVF's vectors differ in count");
            *id_map = idmap->id_map.data();
        }
        *nlist = static_cast<int64_t>(ivf->nlist);
        *centroids = static_cast<const faiss::IndexFlat*>(ivf->quantizer)->get_xb();
        *nprobe = static_cast<int64_t>(ivf->nprobe);
        *max_codes = static_cast<int64_t>(ivf->max_codes);
    });
}

int dss_faiss_IndexIVF_flat_list(const dss_faiss_Index* index, int64_t list, const float** rows, const int64_t** ids,
                                 int64_t* size) {
    return guarded([&] {
        require(rows != nullptr && ids != nullptr && size != nullptr, "output pointer is null");
        const auto* ivf = flat_ivf(index);
        require(ivf != nullptr, "not an in-memory inner-product IVF,Flat index");
        require(list >= 0 && list < static_cast<int64_t>(ivf->nlist), "list number out of range");
        auto* lists = static_cast<const faiss::ArrayInvertedLists*>(ivf->invlists);
        *size = static_cast<int64_t>(lists->ids[list].size());
        *rows = reinterpret_cast<const float*>(lists->codes[list].data());
        *ids = lists->ids[list].data();
    });
}

} // extern "C"
