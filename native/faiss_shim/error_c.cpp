// Thread-local last-error storage. A fixed buffer (no allocation) so that
// recording an error can never itself throw.
#include "error_c.h"
#include "guard.h"

#include <cstdio>
#include <cstring>

namespace {
constexpr std::size_t kMessageCapacity = 4096;
thread_local char t_last_error[kMessageCapacity] = {0};
} // namespace

namespace dss_faiss {

void set_last_error(const char* message) noexcept {
    if (message == nullptr) message = "(no message)";
    std::snprintf(t_last_error, kMessageCapacity, "%s", message);
}

void clear_last_error() noexcept { t_last_error[0] = '\0'; }

} // namespace dss_faiss

extern "C" const char* dss_faiss_last_error(void) { return t_last_error; }

extern "C" void dss_faiss_clear_error(void) { dss_faiss::clear_last_error(); }
