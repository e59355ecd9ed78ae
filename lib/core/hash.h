// FNV-1a 64: the small, stable byte hash behind model fingerprints and sample digests (not cryptographic).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace hq {

constexpr uint64_t kFnv1a64Offset = 1469598103934665603ULL;

// Continues hash `h` over `n` bytes (start with kFnv1a64Offset); hashing A then B equals hashing A+B.
inline uint64_t fnv1a64(const void* data, size_t n, uint64_t h = kFnv1a64Offset) {
    const unsigned char* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

// 16 lowercase hex digits.
inline std::string hex64(uint64_t h) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
    return buf;
}

}  // namespace hq
