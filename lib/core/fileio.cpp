#include "core/fileio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace fs = std::filesystem;

namespace hq {

std::string read_file(const std::string& path, size_t max_bytes) {
    std::error_code ec;
    auto st = fs::status(path, ec);
    HQ_CHECK(!ec && fs::exists(st), path, ": no such file");
    HQ_CHECK(!fs::is_directory(st), path, ": is a folder, expected a file");
    std::FILE* f = std::fopen(path.c_str(), "rb");
    HQ_CHECK(f, path, ": cannot open: ", std::strerror(errno));
    std::string data;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        data.append(buf, n);
        if (data.size() > max_bytes) {
            std::fclose(f);
            HQ_FAIL(path, ": larger than ", max_bytes, " bytes");
        }
    }
    bool bad = std::ferror(f);
    std::fclose(f);
    HQ_CHECK(!bad, path, ": read error");
    return data;
}

void check_writable(const std::string& path) {
    fs::path p(path);
    fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    std::error_code ec;
    HQ_CHECK(fs::is_directory(dir, ec), path, ": output folder '", dir.string(), "' does not exist");
    HQ_CHECK(!fs::is_directory(p, ec), path, ": is a folder, expected a file path");
    HQ_CHECK(::access(dir.c_str(), W_OK) == 0, path, ": output folder is not writable");
}

AtomicWriteSet::~AtomicWriteSet() {
    for (auto& [tmp, target] : pending_) std::remove(tmp.c_str());
}

void AtomicWriteSet::add(const std::string& path, const std::function<void(std::FILE*)>& writer) {
    check_writable(path);
    fs::path p(path);
    fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    std::string tmpl = (dir / ("." + p.filename().string() + ".tmp.XXXXXX")).string();
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    int fd = ::mkstemp(name.data());
    HQ_CHECK(fd >= 0, path, ": cannot create a temporary file: ", std::strerror(errno));
    std::string tmp(name.data());
    pending_.emplace_back(tmp, path);
    ::fchmod(fd, 0644);
    std::FILE* f = ::fdopen(fd, "wb");
    HQ_CHECK(f, path, ": cannot open temporary file");
    try {
        writer(f);
    } catch (...) {
        std::fclose(f);
        throw;
    }
    bool ok = std::fflush(f) == 0 && !std::ferror(f) && ::fsync(fd) == 0;
    ok = (std::fclose(f) == 0) && ok;
    HQ_CHECK(ok, path, ": write failed: ", std::strerror(errno));
}

void AtomicWriteSet::add(const std::string& path, const std::string& bytes) {
    add(path, [&](std::FILE* f) {
        if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
            HQ_FAIL(path, ": write failed: ", std::strerror(errno));
    });
}

void AtomicWriteSet::commit() {
    for (auto& [tmp, target] : pending_)
        HQ_CHECK(std::rename(tmp.c_str(), target.c_str()) == 0, target, ": cannot rename into place: ",
                 std::strerror(errno));
    pending_.clear();
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
    AtomicWriteSet w;
    w.add(path, bytes);
    w.commit();
}

}  // namespace hq
