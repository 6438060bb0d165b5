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

/** Removes the n ids; *nremoved receives the number of vectors removed. */
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
