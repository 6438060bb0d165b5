/*
 * DeepSeek.Search FAISS shim: faiss::IndexIVF's direct map (id -> stored vector).
 * Both functions look through IndexIDMap / IndexIDMap2 wrappers to the IVF index.
 */
#ifndef DSS_FAISS_INDEX_IVF_C_H
#define DSS_FAISS_INDEX_IVF_C_H

#include "Index_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Same values as faiss::DirectMap::Type. */
enum { DSS_FAISS_DIRECT_MAP_NONE = 0, DSS_FAISS_DIRECT_MAP_ARRAY = 1, DSS_FAISS_DIRECT_MAP_HASHTABLE = 2 };

/** *type receives the IVF index's direct map type (DSS_FAISS_DIRECT_MAP_*), or -1 when the index is not IVF. */
int dss_faiss_IndexIVF_direct_map_type(const dss_faiss_Index* index, int* type);

/**
 * Gives an IVF index without a direct map one, so that its vectors can be reconstructed
 * by id; later adds keep it up to date and it is written with the index. Inside an
 * IDMap / IDMap2 (whose IVF numbers its vectors 0..ntotal-1) an array map; a bare IVF
 * (holding the caller's ids) a hashtable map, with which dss_faiss_Index_remove_ids
 * still works. A no-op when the index has a map. Mutates the index: callers must not
 * search it concurrently. Fails when the index is not IVF.
 */
int dss_faiss_IndexIVF_make_direct_map(dss_faiss_Index* index);

/**
 * An inner-product IVF,Flat index's storage, for a scan outside FAISS: *nlist lists, their centroids (*centroids, nlist x d
 * floats: the quantizer is a flat inner-product index), the search-time *nprobe and *max_codes (0: no limit), and
 * *id_map: the ids of an IDMap / IDMap2 wrapper (the lists then hold positions into it), or null for a bare IVF (the lists
 * hold the ids). *nlist is 0 (nothing else set) when the index is not such an index or its lists are not in memory arrays.
 */
int dss_faiss_IndexIVF_flat_storage(const dss_faiss_Index* index, int64_t* nlist, const float** centroids, int64_t* nprobe,
                                    int64_t* max_codes, const int64_t** id_map);

/** List `list` of an index dss_faiss_IndexIVF_flat_storage accepted: *size rows of d floats (*rows) and their *ids. */
int dss_faiss_IndexIVF_flat_list(const dss_faiss_Index* index, int64_t list, const float** rows, const int64_t** ids,
                                 int64_t* size);

#ifdef __cplusplus
}
#endif

#endif
