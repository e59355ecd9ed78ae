// File helpers: whole-file reads with a size cap, and atomic writes (temporary file in the target
// folder, fsync, rename) so that no partial file is ever left at the target path.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace hq {

// Reads a whole file; throws hq::Error naming the path when it is missing, a folder, unreadable
// or larger than max_bytes.
std::string read_file(const std::string& path, size_t max_bytes = (size_t)1 << 40);

// Writes `bytes` to path atomically.
void write_file_atomic(const std::string& path, const std::string& bytes);

// Several files that appear together or not at all: each is written to a temporary file, and only
// once all are written are they renamed in order. Temporaries are removed if anything fails.
class AtomicWriteSet {
public:
    ~AtomicWriteSet();
    // Opens a temporary for `path` and hands its FILE* to `writer`. Checks the target folder exists.
    void add(const std::string& path, const std::function<void(std::FILE*)>& writer);
    void add(const std::string& path, const std::string& bytes);
    void commit();

private:
    std::vector<std::pair<std::string, std::string>> pending_;  // temp -> target
};

// Checks that `path` can be written (its folder exists and is writable) before doing long work.
void check_writable(const std::string& path);

}  // namespace hq
