// Bytes for dist::gather/broadcast: a writer and a bounds-checked reader of trivially copyable values, strings and
// vectors (same machine layout on every rank of one job).
#pragma once
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace hq::dist {

class Packer {
public:
    template <typename T>
    void put(const T& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        out_.append(reinterpret_cast<const char*>(&v), sizeof(T));
    }
    void put_str(const std::string& s) {
        put<uint64_t>(s.size());
        out_ += s;
    }
    template <typename T>
    void put_vec(const std::vector<T>& v) {
        static_assert(std::is_trivially_copyable_v<T>);
        put<uint64_t>(v.size());
        out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
    }
    const std::string& bytes() const { return out_; }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

class Unpacker {
public:
    explicit Unpacker(const std::string& bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}
    template <typename T>
    T get() {
        static_assert(std::is_trivially_copyable_v<T>);
        T v;
        need(sizeof(T));
        std::memcpy(&v, p_, sizeof(T));
        p_ += sizeof(T);
        return v;
    }
    std::string get_str() {
        const auto n = get<uint64_t>();
        need(n);
        std::string s(p_, n);
        p_ += n;
        return s;
    }
    template <typename T>
    std::vector<T> get_vec() {
        const auto n = get<uint64_t>();
        HQ_ASSERT(n <= (uint64_t)(end_ - p_) / sizeof(T), "dist: truncated message");
        std::vector<T> v(n);
        if (n) std::memcpy(v.data(), p_, n * sizeof(T));
        p_ += n * sizeof(T);
        return v;
    }
    bool done() const { return p_ == end_; }

private:
    void need(uint64_t n) const { HQ_ASSERT(n <= (uint64_t)(end_ - p_), "dist: truncated message"); }
    const char* p_;
    const char* end_;
};

}  // namespace hq::dist
