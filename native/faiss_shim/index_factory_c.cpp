#include "index_factory_c.h"
#include "guard.h"

#include <faiss/Index.h>
#include <faiss/index_factory.h>

#include <memory>

using dss_faiss::guarded;
using dss_faiss::require;

extern "C" int dss_faiss_index_factory(dss_faiss_Index** out, int d, const char* description, int metric) {
    if (out != nullptr) *out = nullptr;
    return guarded([&] {
        require(out != nullptr, "output pointer is null");
        require(d > 0, "dimension must be positive");
        require(description != nullptr && description[0] != '\0', "factory description is empty");
        require(metric == DSS_FAISS_METRIC_INNER_PRODUCT || metric == DSS_FAISS_METRIC_L2,
                "metric must be inner product (0) or L2 (1)");
        std::unique_ptr<faiss::Index> index(
                faiss::index_factory(d, description, static_cast<faiss::MetricType>(metric)));
        dss_faiss::check_structure(index.get());
        *out = reinterpret_cast<dss_faiss_Index*>(index.release());
    });
}
