#include "utils_c.h"
#include "guard.h"

#include <faiss/Index.h>

#include <atomic>

#include <omp.h>

extern "C" void openblas_set_num_threads(int num_threads);

namespace {
std::atomic<int> g_threads{0}; // 0: OpenMP's own default
}

namespace dss_faiss {

void apply_thread_setting() noexcept {
    int wanted = g_threads.load(std::memory_order_relaxed);
    if (wanted > 0 && omp_get_max_threads() != wanted) omp_set_num_threads(wanted);
}

} // namespace dss_faiss

#define DSS_STR2(x) #x
#define DSS_STR(x) DSS_STR2(x)

extern "C" {

int dss_faiss_omp_get_max_threads(void) {
    dss_faiss::apply_thread_setting();
    return omp_get_max_threads();
}

int dss_faiss_omp_set_num_threads(int n) {
    return dss_faiss::guarded([&] {
        dss_faiss::require(n >= 1, "thread count must be at least 1");
        g_threads.store(n, std::memory_order_relaxed);
        omp_set_num_threads(n);
        openblas_set_num_threads(n);
    });
}

const char* dss_faiss_version(void) {
    return DSS_STR(FAISS_VERSION_MAJOR) "." DSS_STR(FAISS_VERSION_MINOR) "." DSS_STR(FAISS_VERSION_PATCH);
}

} // extern "C"
