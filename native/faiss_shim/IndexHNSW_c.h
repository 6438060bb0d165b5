/*
 * DeepSeek.Search FAISS shim: faiss::IndexHNSW build settings.
 * Both functions look through IndexIDMap / IndexIDMap2 wrappers to the HNSW index.
 */
#ifndef DSS_FAISS_INDEX_HNSW_C_H
#define DSS_FAISS_INDEX_HNSW_C_H

#include "Index_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/** *ef_construction receives hnsw.efConstruction, or -1 when the index is not HNSW. */
int dss_faiss_IndexHNSW_efConstruction(const dss_faiss_Index* index, int* ef_construction);

/** Sets hnsw.efConstruction (>= 1) for vectors added afterwards; fails when the index is not HNSW. */
int dss_faiss_IndexHNSW_set_efConstruction(dss_faiss_Index* index, int ef_construction);

#ifdef __cplusplus
}
#endif

#endif
