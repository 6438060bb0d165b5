/* DeepSeek.Search FAISS shim: faiss::index_factory. */
#ifndef DSS_FAISS_INDEX_FACTORY_C_H
#define DSS_FAISS_INDEX_FACTORY_C_H

#include "Index_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Builds an index from a factory description ("IDMap2,Flat", "IDMap2,HNSW32,Flat",
 * "IVF16,Flat", ...) for d-dimensional vectors and the metric
 * (DSS_FAISS_METRIC_INNER_PRODUCT or DSS_FAISS_METRIC_L2). *out receives the new
 * handle, or NULL on failure.
 */
int dss_faiss_index_factory(dss_faiss_Index** out, int d, const char* description, int metric);

#ifdef __cplusplus
}
#endif

#endif
