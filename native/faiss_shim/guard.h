// Internal (C++ only): the exception barrier every exported function goes through.
#ifndef DSS_FAISS_GUARD_H
#define DSS_FAISS_GUARD_H

#include "error_c.h"

#include <faiss/impl/FaissException.h>

#include <new>
#include <stdexcept>
#include <string>

namespace faiss {
struct Index;
}

namespace dss_faiss {

void set_last_error(const char* message) noexcept;
void clear_last_error() noexcept;

/// Applies the process-wide thread count (see utils_c.h) to the calling
/// thread's OpenMP settings; OpenMP keeps that setting per calling thread.
void apply_thread_setting() noexcept;

/// An argument the shim rejects before calling FAISS.
struct ArgumentError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

/// A failure of the shim's own file handling (fopen, fsync, fclose).
struct IoError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Rejects index structures that FAISS accepts but would later abort the process
/// on (FAISS keeps its assert()s): an IVF index with zero inverted lists.
void check_structure(const faiss::Index* index);

inline void require(bool condition, const char* message) {
    if (!condition) throw ArgumentError(message);
}

/// Runs body, mapping every exception to a status code plus a thread-local message.
template <class Body>
int guarded(Body&& body) noexcept {
    clear_last_error();
    try {
        apply_thread_setting();
        body();
        return DSS_FAISS_OK;
    } catch (const faiss::FaissException& e) {
        set_last_error(e.what());
        return DSS_FAISS_ERR_FAISS;
    } catch (const std::bad_alloc& e) {
        set_last_error("out of memory (std::bad_alloc)");
        return DSS_FAISS_ERR_OUT_OF_MEMORY;
    } catch (const ArgumentError& e) {
        set_last_error(e.what());
        return DSS_FAISS_ERR_ARGUMENT;
    } catch (const IoError& e) {
        set_last_error(e.what());
        return DSS_FAISS_ERR_IO;
    } catch (const std::exception& e) {
        set_last_error(e.what());
        return DSS_FAISS_ERR_STD;
    } catch (...) {
        set_last_error("unknown C++ exception");
        return DSS_FAISS_ERR_UNKNOWN;
    }
}

} // namespace dss_faiss

#endif
