/*
 * DeepSeek.Search FAISS shim: faiss::Index.
 *
 * dss_faiss_Index is an opaque handle to a heap-allocated faiss::Index, owned
 * by the caller and released with dss_faiss_Index_free. Vectors are float32,
 * row-major: n rows of d floats, so x has n * d elements. Ids and labels are
 * int64. All functions return a DSS_FAISS_* status (see error_c.h).
 */
#ifndef DSS_FAISS_INDEX_C_H
#define DSS_FAISS_INDEX_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dss_faiss_Index dss_faiss_Index;

/* Same values as faiss::MetricType. */
enum { DSS_FAISS_METRIC_INNER_PRODUCT = 0, DSS_FAISS_METRIC_L2 = 1 };

/**
 * Where an exact flat index keeps its vectors, for a caller that scans them itself.
 * For a bare Flat (IndexFlat, either metric) or a Flat inside IDMap / IDMap2: *vectors
 * points at its ntotal * d floats (row-major), *ids at the ntotal ids of an IDMap (NULL
 * for a bare Flat: row i has id i), *count = ntotal. For any other type *vectors and
 * *ids are NULL and *count is 0 (not an error). The pointers stay valid until the next
 * add, remove, reset or free of the index: the caller must keep those from running.
 */
int dss_faiss_Index_flat_data(const dss_faiss_Index* index, const float** vectors, const int64_t** ids,
                              int64_t* count);

/**
 * Where an 8-bit scalar-quantised index (IndexScalarQuantizer with QT_8bit, bare or inside
 * IDMap / IDMap2: factory "SQ8") keeps its codes, for a caller that scans them itself.
 * *codes points at ntotal * d bytes (row-major), *trained at the 2 * d floats of the
 * quantiser (vmin for each dimension, then vdiff: component i of a row decodes to
 * vmin[i] + (code[i] + 0.5) / 255 * vdiff[i]), *ids at the ntotal ids of an IDMap (NULL for
 * a bare index). For any other type all three are NULL and *count is 0 (not an error).
 * The pointers stay valid until the next train, add, remove, reset or free of the index.
 */
int dss_faiss_Index_sq8_data(const dss_faiss_Index* index, const uint8_t** codes, const float** trained,
                             const int64_t** ids, int64_t* count);

/** Deletes the index; NULL is ignored. Leaves this thread's last error unchanged. */
void dss_faiss_Index_free(dss_faiss_Index* index);

int dss_faiss_Index_d(const dss_faiss_Index* index, int* d);
int dss_faiss_Index_ntotal(const dss_faiss_Index* index, int64_t* ntotal);
int dss_faiss_Index_is_trained(const dss_faiss_Index* index, int* is_trained);
int dss_faiss_Index_metric_type(const dss_faiss_Index* index, int* metric);

/** Trains on n vectors x (n * d floats). */
int dss_faiss_Index_train(dss_faiss_Index* index, int64_t n, const float* x);

/** Adds n vectors x (n * d floats) under the n ids. */
int dss_faiss_Index_add_with_ids(dss_faiss_Index* index, int64_t n, const float* x, const int64_t* ids);

/**
 * Searches n queries x (n * d floats) for their k nearest neighbours.
 * distances and labels receive n * k entries, row-major; missing results have
 * label -1. For inner product the distance is the similarity (larger is closer),
 * for L2 the squared distance.
 */
int dss_faiss_Index_search(const dss_faiss_Index* index, int64_t n, const float* x, int64_t k,
                           float* distances, int64_t* labels);

/**
 * Like dss_faiss_Index_search, but only vectors whose id is selected can be returned.
 * The selection is a bitmap over the ids [0, capacity): id i is selected when bit
 * (i & 7) of bitmap[i >> 3] is set (faiss::IDSelectorBitmap's layout; the bitmap has
 * (capacity + 7) / 8 bytes). Ids outside [0, capacity) are never selected. Ids are the
 * caller's: an IndexIDMap / IndexIDMap2 wrapper is looked through by the shim (FAISS
 * 1.7.3's IDMap search refuses SearchParameters), its stored ids being tested against
 * the bitmap. The search-time settings of the index apply as in an unfiltered search:
 * efSearch and check_relative_distance for HNSW, nprobe and max_codes for IVF (copied
 * into SearchParametersHNSW / SearchParametersIVF). Fewer than k hits (label -1) come
 * back when fewer selected vectors are found: always with Flat when fewer than k are
 * selected, and for HNSW / IVF also when the graph walk or the probed lists meet fewer.
 * Supported: Flat, HNSW<M>,Flat, IVF<nlist>,Flat, bare or inside IDMap / IDMap2; other
 * types fail with DSS_FAISS_ERR_ARGUMENT and a message naming the type.
 */
int dss_faiss_Index_search_selected(const dss_faiss_Index* index, int64_t n, const float* x, int64_t k,
                                    const uint8_t* bitmap, int64_t capacity, float* distances, int64_t* labels);

/* Answers of dss_faiss_Index_can_reconstruct. */
enum {
    DSS_FAISS_RECONSTRUCT_NO = 0,              /* the index type cannot return vectors by id */
    DSS_FAISS_RECONSTRUCT_YES = 1,
    DSS_FAISS_RECONSTRUCT_NEEDS_DIRECT_MAP = 2 /* an IVF index without a direct map: see IndexIVF_c.h */
};

/**
 * *answer receives whether dss_faiss_Index_reconstruct_batch can work on this index
 * (a DSS_FAISS_RECONSTRUCT_* value). Yes: IDMap2 over Flat or HNSW<M>,Flat (and other
 * types whose vectors FAISS can decode by position); bare Flat / HNSW (ids are
 * positions); IVF with a direct map, bare or inside IDMap2. No: IDMap (it keeps no map
 * from ids back to vectors) and types that cannot decode stored vectors.
 */
int dss_faiss_Index_can_reconstruct(const dss_faiss_Index* index, int* answer);

/**
 * Copies the stored vectors of the n ids into recons (n * d floats, row-major, in the
 * order of ids). *missing receives -1, or the position in ids of the first id the
 * index does not hold; the call then fails with DSS_FAISS_ERR_ARGUMENT (recons
 * partly written). An index that cannot reconstruct (see dss_faiss_Index_can_reconstruct)
 * fails with DSS_FAISS_ERR_ARGUMENT and a message naming its type. Only reads the index.
 */
int dss_faiss_Index_reconstruct_batch(const dss_faiss_Index* index, int64_t n, const int64_t* ids, float* recons,
                                      int64_t* missing);

/**
 * Removes the n ids; *nremoved receives the number of vectors removed. Fails with
 * DSS_FAISS_ERR_ARGUMENT for IDMap / IDMap2 over IVF, where FAISS 1.7.3 would leave
 * the remaining vectors under wrong ids; a bare IVF index removes (also with a
 * hashtable direct map), HNSW cannot (FAISS error).
 */
int dss_faiss_Index_remove_ids(dss_faiss_Index* index, int64_t n, const int64_t* ids, int64_t* nremoved);

/** Removes every vector (training is kept). */
int dss_faiss_Index_reset(dss_faiss_Index* index);

/**
 * Writes an index_factory description of the index ("IDMap2,HNSW32,Flat") into
 * buffer (NUL-terminated, truncated to capacity) and its full length without the
 * NUL into *length. Index types the shim cannot describe give "" (length 0).
 * Covered: IDMap / IDMap2 wrappers around Flat, HNSW<M>,Flat and IVF<nlist>,Flat.
 */
int dss_faiss_Index_describe(const dss_faiss_Index* index, char* buffer, size_t capacity, size_t* length);

#ifdef __cplusplus
}
#endif

#endif
