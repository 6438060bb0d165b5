#include "IndexIVF_c.h"
#include "ivf_lookup.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexScalarQuantizer.h>
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

// The inner-product IVF index inside `index` that a scan outside FAISS can read: IVF,Flat, or IVF,SQ8 (8-bit codes, one byte
// per dimension, vmin and vdiff per dimension), its lists in-memory arrays, its quantizer a flat inner-product index over
// the nlist centroids; else null. *kind receives DSS_FAISS_IVF_SCAN_FLAT or _SQ8.
const faiss::IndexIVF* scannable_ivf(const dss_faiss_Index* index, int* kind) {
    *kind = DSS_FAISS_IVF_SCAN_NONE;
    const auto* ivf = find_ivf(const_cast<faiss::Index*>(reinterpret_cast<const faiss::Index*>(index)));
    if (ivf == nullptr || ivf->metric_type != faiss::METRIC_INNER_PRODUCT || !ivf->is_trained) return nullptr;
    if (dynamic_cast<const faiss::ArrayInvertedLists*>(ivf->invlists) == nullptr) return nullptr;
    auto* quantizer = dynamic_cast<const faiss::IndexFlat*>(ivf->quantizer);
    if (quantizer == nullptr || quantizer->metric_type != faiss::METRIC_INNER_PRODUCT || quantizer->ntotal != static_cast<faiss::Index::idx_t>(ivf->nlist)) return nullptr;
    if (dynamic_cast<const faiss::IndexIVFFlat*>(ivf) != nullptr) {
        *kind = DSS_FAISS_IVF_SCAN_FLAT;
        return ivf;
    }
    if (auto* sq = dynamic_cast<const faiss::IndexIVFScalarQuantizer*>(ivf)) {
        if (sq->sq.qtype != faiss::ScalarQuantizer::QT_8bit) return nullptr;
        require(sq->code_size == static_cast<size_t>(sq->d), "an 8-bit scalar quantizer's code is not one byte per dimension");
        require(sq->sq.trained.size() == 2 * static_cast<size_t>(sq->d), "an 8-bit scalar quantizer is not trained with vmin and vdiff per dimension");
        *kind = DSS_FAISS_IVF_SCAN_SQ8;
        return ivf;
    }
    return nullptr;
}

} // namespace

int dss_faiss_IndexIVF_scan_storage(const dss_faiss_Index* index, int* kind, int64_t* nlist, const float** centroids, int64_t* nprobe,
                                    int64_t* max_codes, const int64_t** id_map, const float** trained, int* by_residual) {
    return guarded([&] {
        require(kind != nullptr && nlist != nullptr && centroids != nullptr && nprobe != nullptr && max_codes != nullptr && id_map != nullptr
                && trained != nullptr && by_residual != nullptr, "output pointer is null");
        *nlist = 0;
        *centroids = nullptr;
        *nprobe = 0;
        *max_codes = 0;
        *id_map = nullptr;
        *trained = nullptr;
        *by_residual = 0;
        const auto* ivf = scannable_ivf(index, kind);
        if (ivf == nullptr) return;
        auto* outer = reinterpret_cast<const faiss::Index*>(index);
        if (auto* idmap = dynamic_cast<const faiss::IndexIDMap*>(outer)) {
            require(idmap->index == ivf, "an IDMap over an IDMap");
            require(static_cast<int64_t>(idmap->id_map.size()) == ivf->ntotal, "the IDMap's ids and its IVF's vectors differ in count");
            *id_map = idmap->id_map.data();
        }
        if (auto* sq = dynamic_cast<const faiss::IndexIVFScalarQuantizer*>(ivf)) {
            *trained = sq->sq.trained.data();
            *by_residual = sq->by_residual ? 1 : 0;
        }
        *nlist = static_cast<int64_t>(ivf->nlist);
        *centroids = static_cast<const faiss::IndexFlat*>(ivf->quantizer)->get_xb();
        *nprobe = static_cast<int64_t>(ivf->nprobe);
        *max_codes = static_cast<int64_t>(ivf->max_codes);
    });
}

int dss_faiss_IndexIVF_scan_list(const dss_faiss_Index* index, int64_t list, const uint8_t** codes, const int64_t** ids, int64_t* size) {
    return guarded([&] {
        require(codes != nullptr && ids != nullptr && size != nullptr, "output pointer is null");
        int kind;
        const auto* ivf = scannable_ivf(index, &kind);
        require(ivf != nullptr, "not an in-memory inner-product IVF,Flat or IVF,SQ8 index");
        require(list >= 0 && list < static_cast<int64_t>(ivf->nlist), "list number out of range");
        auto* lists = static_cast<const faiss::ArrayInvertedLists*>(ivf->invlists);
        *size = static_cast<int64_t>(lists->ids[list].size());
        *codes = lists->codes[list].data();
        *ids = lists->ids[list].data();
    });
}

} // extern "C"
