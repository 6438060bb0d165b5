/* DeepSeek.Search FAISS shim: faiss::ParameterSpace (search-time parameters). */
#ifndef DSS_FAISS_AUTOTUNE_C_H
#define DSS_FAISS_AUTOTUNE_C_H

#include "Index_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Sets search-time parameters from a string such as "efSearch=128" or
 * "nprobe=16,efSearch=64", through faiss::ParameterSpace::set_index_parameters
 * (which looks through IDMap wrappers). Unknown parameters fail.
 */
int dss_faiss_ParameterSpace_set_index_parameters(dss_faiss_Index* index, const char* parameters);

#ifdef __cplusplus
}
#endif

#endif
