#include "index_io_c.h"
#include "guard.h"

#include <faiss/Index.h>
#include <faiss/index_io.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <fcntl.h>
#include <unistd.h>

using dss_faiss::guarded;
using dss_faiss::IoError;
using dss_faiss::require;

namespace {

[[noreturn]] void throw_errno(const char* what, const char* path, int error) {
    throw IoError(std::string(what) + " " + path + ": " + std::strerror(error));
}

// Closes the FILE on scope exit when the write did not get that far.
struct FileCloser {
    FILE* file;
    ~FileCloser() {
        if (file != nullptr) std::fclose(file);
    }
};

} // namespace

extern "C" {

int dss_faiss_write_index(const dss_faiss_Index* index, const char* path) {
    return guarded([&] {
        require(index != nullptr, "index handle is null");
        require(path != nullptr && path[0] != '\0', "path is empty");
        FILE* file = std::fopen(path, "wb");
        if (file == nullptr) throw_errno("cannot open for writing", path, errno);
        FileCloser closer{file};
        faiss::write_index(reinterpret_cast<const faiss::Index*>(index), file);
        if (std::fflush(file) != 0) throw_errno("cannot flush", path, errno);
        if (::fsync(::fileno(file)) != 0) throw_errno("cannot fsync", path, errno);
        closer.file = nullptr;
        if (std::fclose(file) != 0) throw_errno("cannot close", path, errno);
    });
}

int dss_faiss_read_index(const char* path, int io_flags, dss_faiss_Index** out) {
    if (out != nullptr) *out = nullptr;
    return guarded([&] {
        require(out != nullptr, "output pointer is null");
        require(path != nullptr && path[0] != '\0', "path is empty");
        std::unique_ptr<faiss::Index> index(faiss::read_index(path, io_flags));
        dss_faiss::check_structure(index.get());
        *out = reinterpret_cast<dss_faiss_Index*>(index.release());
    });
}

int dss_faiss_fsync_directory(const char* path) {
    return guarded([&] {
        require(path != nullptr && path[0] != '\0', "path is empty");
        int fd = ::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) throw_errno("cannot open directory", path, errno);
        int rc = ::fsync(fd);
        int error = errno;
        ::close(fd);
        if (rc != 0) throw_errno("cannot fsync directory", path, error);
    });
}

} // extern "C"
