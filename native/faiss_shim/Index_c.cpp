#include "Index_c.h"
#include "guard.h"

#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/IVFlib.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/invlists/DirectMap.h>

#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <typeinfo>
#include <vector>

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

// For messages: describe() where it knows the type, else the C++ class ("faiss::IndexIVFPQ"),
// behind the IDMap wrapper if any ("IDMap2,faiss::IndexScalarQuantizer").
std::string type_name(const faiss::Index* index) {
    if (index == nullptr) return "(none)";
    std::string described = describe(index);
    if (!described.empty()) return described;
    if (is_exactly<faiss::IndexIDMap2>(index))
        return "IDMap2," + type_name(static_cast<const faiss::IndexIDMap2*>(index)->index);
    if (is_exactly<faiss::IndexIDMap>(index))
        return "IDMap," + type_name(static_cast<const faiss::IndexIDMap*>(index)->index);
    const char* mangled = typeid(*index).name();
    int status = 0;
    char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
    std::string name = status == 0 && demangled != nullptr ? demangled : mangled;
    std::free(demangled);
    return name;
}

using idx_t = faiss::Index::idx_t;

// The index inside an IDMap numbers its vectors 0..ntotal-1 (positions); position p is
// selected when the caller's id stored for it, id_map[p], is selected.
struct StoredIdSelector : faiss::IDSelector {
    const std::vector<idx_t>& id_map;
    const faiss::IDSelector& by_id;

    StoredIdSelector(const std::vector<idx_t>& id_map, const faiss::IDSelector& by_id)
            : id_map(id_map), by_id(by_id) {}

    bool is_member(idx_t position) const override {
        return position >= 0 && static_cast<size_t>(position) < id_map.size() && by_id.is_member(id_map[position]);
    }
};

// SearchParameters for the index that holds the vectors, carrying the search-time settings
// it would use unfiltered (FAISS takes them from the parameters once any are passed: the
// defaults of SearchParametersHNSW / SearchParametersIVF would override efSearch / nprobe).
// Only the types whose FAISS 1.7.3 search honours params->sel are accepted.
std::unique_ptr<faiss::SearchParameters> selecting_parameters(const faiss::Index* holder,
                                                              const faiss::Index* whole) {
    if (is_exactly<faiss::IndexFlat>(holder) || is_exactly<faiss::IndexFlatIP>(holder) ||
        is_exactly<faiss::IndexFlatL2>(holder))
        return std::make_unique<faiss::SearchParameters>();
    if (is_exactly<faiss::IndexHNSWFlat>(holder)) {
        auto* hnsw = static_cast<const faiss::IndexHNSWFlat*>(holder);
        auto params = std::make_unique<faiss::SearchParametersHNSW>();
        params->efSearch = hnsw->hnsw.efSearch;
        params->check_relative_distance = hnsw->hnsw.check_relative_distance;
        return params;
    }
    // Every IVF type: FAISS 1.7.3's IndexIVF::search_preassigned tests params->sel for each listed id, whatever the
    // codes (Flat, SQ, PQ), before scoring it.
    if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(holder)) {
        auto params = std::make_unique<faiss::SearchParametersIVF>();
        params->nprobe = ivf->nprobe;
        params->max_codes = ivf->max_codes;
        return params;
    }
    throw dss_faiss::ArgumentError("filtered search is not supported for index type " + type_name(whole) +
                                   " (supported: Flat, HNSW<M>,Flat and IVF<nlist>,<any codes>, bare or inside "
                                   "IDMap / IDMap2)");
}

// Whether reconstruct_batch works on index (a DSS_FAISS_RECONSTRUCT_* value); why says why not.
int reconstruct_support(const faiss::Index* index, std::string& why) {
    if (index == nullptr) {
        why = "the index wraps no index";
        return DSS_FAISS_RECONSTRUCT_NO;
    }
    if (auto* idmap2 = dynamic_cast<const faiss::IndexIDMap2*>(index)) return reconstruct_support(idmap2->index, why);
    if (dynamic_cast<const faiss::IndexIDMap*>(index) != nullptr) {
        why = "IDMap keeps no map from ids back to vectors (build it as IDMap2)";
        return DSS_FAISS_RECONSTRUCT_NO;
    }
    if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
        if (!ivf->direct_map.no()) return DSS_FAISS_RECONSTRUCT_YES;
        why = "the IVF index has no direct map (dss_faiss_IndexIVF_make_direct_map adds one)";
        return DSS_FAISS_RECONSTRUCT_NEEDS_DIRECT_MAP;
    }
    if (auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(index)) return reconstruct_support(hnsw->storage, why);
    if (dynamic_cast<const faiss::IndexFlatCodes*>(index) != nullptr) return DSS_FAISS_RECONSTRUCT_YES;
    why = "FAISS cannot decode its stored vectors by id";
    return DSS_FAISS_RECONSTRUCT_NO;
}

// Where the vector of id is stored: the index that decodes it (holder) and its key there.
// False when the index does not hold id. Assumes reconstruct_support said yes.
bool locate(const faiss::Index* index, idx_t id, const faiss::Index*& holder, idx_t& key) {
    if (auto* idmap2 = dynamic_cast<const faiss::IndexIDMap2*>(index)) {
        auto found = idmap2->rev_map.find(id);
        return found != idmap2->rev_map.end() && locate(idmap2->index, found->second, holder, key);
    }
    if (auto* ivf = dynamic_cast<const faiss::IndexIVF*>(index)) {
        const faiss::DirectMap& map = ivf->direct_map;
        bool present = map.type == faiss::DirectMap::Array
                ? id >= 0 && static_cast<size_t>(id) < map.array.size() && map.array[id] >= 0
                : map.hashtable.count(id) != 0;
        if (!present) return false;
    } else if (id < 0 || id >= index->ntotal) {
        return false; // Flat codes and HNSW: the key is the position
    }
    holder = index;
    key = id;
    return true;
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

int dss_faiss_Index_flat_data(const dss_faiss_Index* index, const float** vectors, const int64_t** ids,
                              int64_t* count) {
    return guarded([&] {
        require(vectors != nullptr && ids != nullptr && count != nullptr, "output pointer is null");
        *vectors = nullptr;
        *ids = nullptr;
        *count = 0;
        const faiss::Index* ix = unwrap(index);
        auto* idmap = dynamic_cast<const faiss::IndexIDMap*>(ix);
        const faiss::Index* holder = idmap != nullptr ? idmap->index : ix;
        auto* flat = dynamic_cast<const faiss::IndexFlat*>(holder);
        if (flat == nullptr) return;
        if (idmap != nullptr) {
            require(static_cast<int64_t>(idmap->id_map.size()) == flat->ntotal, "the IDMap's ids and its Flat's vectors differ in count");
            *ids = idmap->id_map.data();
        }
        *vectors = flat->get_xb();
        *count = flat->ntotal;
    });
}

int dss_faiss_Index_sq8_data(const dss_faiss_Index* index, const uint8_t** codes, const float** trained,
                             const int64_t** ids, int64_t* count) {
    return guarded([&] {
        require(codes != nullptr && trained != nullptr && ids != nullptr && count != nullptr, "output pointer is null");
        *codes = nullptr;
        *trained = nullptr;
        *ids = nullptr;
        *count = 0;
        const faiss::Index* ix = unwrap(index);
        auto* idmap = dynamic_cast<const faiss::IndexIDMap*>(ix);
        const faiss::Index* holder = idmap != nullptr ? idmap->index : ix;
        auto* sq = dynamic_cast<const faiss::IndexScalarQuantizer*>(holder);
        if (sq == nullptr || sq->sq.qtype != faiss::ScalarQuantizer::QT_8bit || !sq->is_trained) return;
        require(sq->code_size == static_cast<size_t>(sq->d), "an 8-bit scalar quantizer's code is not one byte per dimension");
        require(sq->sq.trained.size() == 2 * static_cast<size_t>(sq->d), "an 8-bit scalar quantizer is not trained with vmin and vdiff per dimension");
        if (idmap != nullptr) {
            require(static_cast<int64_t>(idmap->id_map.size()) == sq->ntotal, "the IDMap's ids and its index's codes differ in count");
            *ids = idmap->id_map.data();
        }
        *codes = sq->codes.data();
        *trained = sq->sq.trained.data();
        *count = sq->ntotal;
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

int dss_faiss_Index_search_selected(const dss_faiss_Index* index, int64_t n, const float* x, int64_t k,
                                    const uint8_t* bitmap, int64_t capacity, float* distances, int64_t* labels) {
    return guarded([&] {
        const faiss::Index* ix = unwrap(index);
        require(n >= 0, "n must not be negative");
        require(k > 0, "k must be positive");
        require(capacity >= 0, "selection capacity must not be negative");
        require(capacity == 0 || bitmap != nullptr, "bitmap pointer is null");
        require(n == 0 || (x != nullptr && distances != nullptr && labels != nullptr),
                "query or result pointer is null");
        size_t bytes = static_cast<size_t>((capacity + 7) / 8);
        // IDSelectorBitmap tests whole bytes; bits past capacity in the last one must be clear.
        require(capacity % 8 == 0 || (bitmap[bytes - 1] >> (capacity % 8)) == 0,
                "selection bitmap has bits set at or beyond its capacity");

        auto* idmap = dynamic_cast<const faiss::IndexIDMap*>(ix);
        const faiss::Index* holder = idmap != nullptr ? idmap->index : ix;
        require(holder != nullptr, "the IDMap wraps no index");
        std::unique_ptr<faiss::SearchParameters> params = selecting_parameters(holder, ix);
        if (n == 0) return;

        faiss::IDSelectorBitmap by_id(bytes, bitmap);
        std::optional<StoredIdSelector> by_position;
        if (idmap != nullptr) by_position.emplace(idmap->id_map, by_id);
        // SearchParameters::sel is a non-const pointer in 1.7.3; FAISS only calls is_member on it.
        params->sel = by_position ? static_cast<faiss::IDSelector*>(&*by_position) : &by_id;
        holder->search(n, x, k, distances, labels, params.get());
        if (idmap != nullptr) {
            const std::vector<idx_t>& id_map = idmap->id_map;
            for (int64_t i = 0; i < n * k; i++)
                if (labels[i] >= 0) labels[i] = id_map[labels[i]];
        }
    });
}

int dss_faiss_Index_can_reconstruct(const dss_faiss_Index* index, int* answer) {
    return guarded([&] {
        require(answer != nullptr, "output pointer is null");
        std::string why;
        *answer = reconstruct_support(unwrap(index), why);
    });
}

int dss_faiss_Index_reconstruct_batch(const dss_faiss_Index* index, int64_t n, const int64_t* ids, float* recons,
                                      int64_t* missing) {
    if (missing != nullptr) *missing = -1;
    return guarded([&] {
        const faiss::Index* ix = unwrap(index);
        require(missing != nullptr, "output pointer is null");
        require(n >= 0, "n must not be negative");
        require(n == 0 || (ids != nullptr && recons != nullptr), "id or vector pointer is null");
        std::string why;
        if (reconstruct_support(ix, why) != DSS_FAISS_RECONSTRUCT_YES)
            throw dss_faiss::ArgumentError("cannot reconstruct vectors by id from index type " + type_name(ix) +
                                           ": " + why);
        for (int64_t i = 0; i < n; i++) {
            const faiss::Index* holder = nullptr;
            idx_t key = -1;
            if (!locate(ix, ids[i], holder, key)) {
                *missing = i;
                throw dss_faiss::ArgumentError("id " + std::to_string(ids[i]) + " is not in the index");
            }
            holder->reconstruct(key, recons + i * ix->d);
        }
    });
}

int dss_faiss_Index_remove_ids(dss_faiss_Index* index, int64_t n, const int64_t* ids, int64_t* nremoved) {
    return guarded([&] {
        faiss::Index* ix = unwrap(index);
        require(n >= 0, "n must not be negative");
        require(n == 0 || ids != nullptr, "id pointer is null");
        require(nremoved != nullptr, "output pointer is null");
        if (auto* idmap = dynamic_cast<faiss::IndexIDMap*>(ix))
            if (dynamic_cast<const faiss::IndexIVF*>(idmap->index) != nullptr)
                // FAISS 1.7.3 compacts the IDMap's id list but not the positions stored in the
                // IVF lists: every later hit would carry another vector's id.
                throw dss_faiss::ArgumentError("removing from " + type_name(ix) +
                                               " is not supported: FAISS 1.7.3 would mix up the ids of the "
                                               "remaining vectors (a bare IVF index, which stores the ids "
                                               "itself, can remove)");
        auto* ivf = dynamic_cast<const faiss::IndexIVF*>(ix);
        if (ivf != nullptr && ivf->direct_map.type == faiss::DirectMap::Hashtable) {
            // A hashtable direct map removes only through an IDSelectorArray (it looks each id up).
            faiss::IDSelectorArray selector(n, ids);
            *nremoved = static_cast<int64_t>(ix->remove_ids(selector));
        } else {
            faiss::IDSelectorBatch selector(n, ids);
            *nremoved = static_cast<int64_t>(ix->remove_ids(selector));
        }
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
