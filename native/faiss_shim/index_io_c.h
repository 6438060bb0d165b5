/*
 * DeepSeek.Search FAISS shim: faiss::write_index / faiss::read_index.
 * The files are ordinary FAISS index files (what Python's faiss.write_index writes).
 */
#ifndef DSS_FAISS_INDEX_IO_C_H
#define DSS_FAISS_INDEX_IO_C_H

#include "Index_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Writes the index to path (created or truncated), then flushes and fsyncs it
 * before closing, so a following rename publishes complete data.
 */
int dss_faiss_write_index(const dss_faiss_Index* index, const char* path);

/** Reads an index file; io_flags are faiss::IO_FLAG_* (0 for a plain read). *out is NULL on failure. */
int dss_faiss_read_index(const char* path, int io_flags, dss_faiss_Index** out);

/** fsyncs a directory, making a rename inside it durable. */
int dss_faiss_fsync_directory(const char* path);

#ifdef __cplusplus
}
#endif

#endif
