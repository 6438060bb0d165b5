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

/* What dss_faiss_IndexIVF_scan_storage found. */
enum { DSS_FAISS_IVF_SCAN_NONE = 0, DSS_FAISS_IVF_SCAN_FLAT = 1, DSS_FAISS_IVF_SCAN_SQ8 = 2 };

/**
 * An inner-product IVF index's storage, for a scan outside FAISS: *kind is DSS_FAISS_IVF_SCAN_FLAT (IVF,Flat: list rows of d
 * floats) or DSS_FAISS_IVF_SCAN_SQ8 (IVF,SQ8 with 8-bit codes: list rows of d bytes, decoded by FAISS 1.7.3 as
 * vmin[i] + (c[i] + 0.5) / 255 * vdiff[i]; *trained: vmin then vdiff, d floats each; *by_residual: whether the codes encode the
 * vector minus its list's centroid, whose inner product with the query FAISS then adds), and for both: *nlist lists, their
 * centroids (*centroids, nlist x d floats: the quantizer is a flat inner-product index), the search-time *nprobe and *max_codes
 * (0: no limit), and *id_map: the ids of an IDMap / IDMap2 wrapper (the lists then hold positions into it), or null for a bare
 * IVF (the lists hold the ids). *kind is DSS_FAISS_IVF_SCAN_NONE and *nlist 0 (nothing else set) for any other index, or
 * when its lists are not in memory arrays.
 */
int dss_faiss_IndexIVF_scan_storage(const dss_faiss_Index* index, int* kind, int64_t* nlist, const float** centroids, int64_t* nprobe,
                                    int64_t* max_codes, const int64_t** id_map, const float** trained, int* by_residual);

/** List `list` of an index dss_faiss_IndexIVF_scan_storage accepted: *size rows (*codes: d floats or d bytes each) and their *ids. */
int dss_faiss_IndexIVF_scan_list(const dss_faiss_Index* index, int64_t list, const uint8_t** codes, const int64_t** ids, int64_t* size);

#ifdef __cplusplus
}
#endif

#endif
