/*
 * DeepSeek.Search FAISS shim: threads and version.
 *
 * OpenMP keeps its thread-count setting per calling thread, while a managed
 * caller may reach FAISS from any thread. dss_faiss_omp_set_num_threads therefore
 * records a process-wide count that every shim entry point applies to its
 * calling thread before running FAISS; it also sets OpenBLAS's thread count
 * (used by batched flat search).
 */
#ifndef DSS_FAISS_UTILS_C_H
#define DSS_FAISS_UTILS_C_H

#ifdef __cplusplus
extern "C" {
#endif

/** The thread count FAISS will use for the next call from this thread. */
int dss_faiss_omp_get_max_threads(void);

/** Sets the process-wide thread count (n >= 1). */
int dss_faiss_omp_set_num_threads(int n);

/** The FAISS version the shim was built against, e.g. "1.7.3". */
const char* dss_faiss_version(void);

#ifdef __cplusplus
}
#endif

#endif
