/*
 * DeepSeek.Search FAISS shim: error reporting.
 *
 * Every dss_faiss_* function that can fail returns an int status code:
 * DSS_FAISS_OK (0) on success, one of the DSS_FAISS_ERR_* codes otherwise.
 * C++ exceptions never cross this C boundary: they are caught inside the shim
 * and their message is stored in a thread-local buffer that
 * dss_faiss_last_error() returns (valid until the next shim call on the same
 * thread).
 */
#ifndef DSS_FAISS_ERROR_C_H
#define DSS_FAISS_ERROR_C_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    DSS_FAISS_OK = 0,
    DSS_FAISS_ERR_FAISS = 1,         /* faiss::FaissException */
    DSS_FAISS_ERR_OUT_OF_MEMORY = 2, /* std::bad_alloc */
    DSS_FAISS_ERR_STD = 3,           /* any other std::exception */
    DSS_FAISS_ERR_UNKNOWN = 4,       /* a non-std C++ exception */
    DSS_FAISS_ERR_ARGUMENT = 5,      /* the shim rejected an argument (null pointer, n < 0, k <= 0, ...) */
    DSS_FAISS_ERR_IO = 6             /* the shim's own file handling failed (open, write, fsync, close) */
};

/** The message of the last failure on this thread, or "" when the last call succeeded. Never NULL. */
const char* dss_faiss_last_error(void);

/** Clears this thread's last error. */
void dss_faiss_clear_error(void);

#ifdef __cplusplus
}
#endif

#endif
