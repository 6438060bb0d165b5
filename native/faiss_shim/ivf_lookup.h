/*
 * DeepSeek.Search FAISS shim: the IVF index inside an index, looking through IndexIDMap / IndexIDMap2 wrappers
 * (IndexIDMap2 derives from IndexIDMap, so one cast covers both). Null when the index is not IVF.
 */
#ifndef DSS_FAISS_IVF_LOOKUP_H
#define DSS_FAISS_IVF_LOOKUP_H

#include "guard.h"

#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>

namespace dss_faiss {

inline faiss::IndexIVF* find_ivf(faiss::Index* index) {
    require(index != nullptr, "index handle is null");
    while (auto* idmap = dynamic_cast<faiss::IndexIDMap*>(index)) index = idmap->index;
    return dynamic_cast<faiss::IndexIVF*>(index);
}

} // namespace dss_faiss

#endif
