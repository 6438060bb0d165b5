#include "AutoTune_c.h"
#include "guard.h"
#include "ivf_lookup.h"

#include <faiss/AutoTune.h>

#include <cstdlib>
#include <sstream>
#include <string>

using dss_faiss::guarded;
using dss_faiss::require;

namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// FAISS 1.7.3 accepts nprobe=0 (later failing at search) and efSearch <= 0 (silently
// returning fewer hits); reject those up front. Parsing errors are left to FAISS.
void check_counts(const std::string& parameters) {
    std::istringstream items(parameters);
    std::string item;
    while (std::getline(items, item, ',')) {
        auto eq = item.find('=');
        if (eq == std::string::npos) continue;
        std::string name = item.substr(0, eq);
        if (!ends_with(name, "nprobe") && !ends_with(name, "efSearch")) continue;
        const char* value = item.c_str() + eq + 1;
        char* end = nullptr;
        double number = std::strtod(value, &end);
        if (end != value && number < 1)
            throw dss_faiss::ArgumentError("search parameter " + name + " must be at least 1 (got " +
                                           std::string(value) + ")");
    }
}

} // namespace

extern "C" int dss_faiss_ParameterSpace_set_index_parameters(dss_faiss_Index* index, const char* parameters) {
    return guarded([&] {
        require(index != nullptr, "index handle is null");
        require(parameters != nullptr && parameters[0] != '\0', "parameter string is empty");
        check_counts(parameters);
        // parallel_mode (IVF: 0 splits a batch over queries, FAISS's default; 1 splits each query's probed lists over the
        // threads, which is what a lone query needs to use more than one core) is ours: FAISS 1.7.3's ParameterSpace has no
        // such parameter. The other items go to ParameterSpace unchanged.
        std::istringstream items(parameters);
        std::string item, rest;
        while (std::getline(items, item, ',')) {
            auto eq = item.find('=');
            if (eq != std::string::npos && item.substr(0, eq) == "parallel_mode") {
                std::string value = item.substr(eq + 1);
                if (value != "0" && value != "1")
                    throw dss_faiss::ArgumentError("search parameter parallel_mode must be 0 (over queries) or 1 (over lists), got " + value);
                auto* ivf = dss_faiss::find_ivf(reinterpret_cast<faiss::Index*>(index));
                require(ivf != nullptr, "search parameter parallel_mode applies to IVF indexes only");
                ivf->parallel_mode = value == "1" ? 1 : 0;
                continue;
            }
            if (!rest.empty()) rest += ',';
            rest += item;
        }
        if (rest.empty()) return;
        faiss::ParameterSpace space;
        space.set_index_parameters(reinterpret_cast<faiss::Index*>(index), rest.c_str());
    });
}
