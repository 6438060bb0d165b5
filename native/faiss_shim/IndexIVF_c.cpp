#include "IndexIVF_c.h"
#include "ivf_lookup.h"

#include <faiss/invlists/DirectMap.h>

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

} // extern "C"
