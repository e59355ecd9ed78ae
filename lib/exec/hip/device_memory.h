// Device memory of one HIP backend: a caching allocator (size classes, free lists: steady-state inference
// does no hipMalloc/hipFree) and the identity-safe cache of device copies of host tensors.
//
// The cache is keyed by a tensor's storage (Tensor::storage()) and holds a weak_ptr to it: an entry is used
// only while that very storage is alive, so a host address that is freed and reused never hits a stale
// device buffer. Constant weights are uploaded once; outputs the backend produced stay on the device while
// their host tensor lives (consumers and tensor_stats read them without an upload). Host tensors are
// treated as immutable once seen (the codebase's copy-on-write habit); as a guard, every hit re-checks a
// fingerprint of the size and 32 sampled words and re-uploads on a mismatch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace hq::exec::hip {

class DevicePool {
public:
    explicit DevicePool(int device) : device_(device) {}
    ~DevicePool();
    DevicePool(const DevicePool&) = delete;
    DevicePool& operator=(const DevicePool&) = delete;

    // A block of at least `bytes`. When hipMalloc fails: frees the free lists, asks `relieve` (which drops
    // cache entries; true while it freed something) and retries; throws hq::Error naming hipMalloc at the end.
    void* alloc(size_t bytes);
    void release(void* p, size_t bytes);
    void trim();  // hipFree every cached free block
    size_t reserved() const { return reserved_; }
    size_t peak() const { return peak_; }
    std::function<bool()> relieve;

    static size_t size_class(size_t bytes);

private:
    int device_;
    std::map<size_t, std::vector<void*>> free_;
    size_t reserved_ = 0, peak_ = 0;
};

// A pool block, returned to the pool when the last reference goes.
struct DeviceBuffer {
    DevicePool* pool = nullptr;
    void* ptr = nullptr;
    size_t bytes = 0;
    DeviceBuffer(DevicePool* p, size_t b) : pool(p), ptr(p->alloc(b)), bytes(b) {}
    ~DeviceBuffer() {
        if (ptr) pool->release(ptr, bytes);
    }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};
using BufferPtr = std::shared_ptr<DeviceBuffer>;

// Sampled fingerprint of a host byte range (size + up to 32 words; all bytes when short).
uint64_t fingerprint(const void* p, size_t bytes);

class DeviceCache {
public:
    // The device copy of t's bytes, or nullptr.
    BufferPtr find(const Tensor& t);
    // Records `b` as the device copy of t's bytes (produced: made by a kernel, not uploaded).
    void put(const Tensor& t, BufferPtr b, bool produced);
    // A derived device array (parameters converted on the host) for the storages of `from` (non-null tensors
    // with data) under `tag`, or nullptr.
    BufferPtr find_derived(const std::vector<const Tensor*>& from, const std::string& tag);
    void put_derived(const std::vector<const Tensor*>& from, const std::string& tag, BufferPtr b);

    // Drops entries whose host storage is gone; returns how many.
    size_t sweep();
    // Drops the least recently used entry not in `pinned`; false when none is left.
    bool evict_lru(const std::set<const DeviceBuffer*>& pinned);
    size_t bytes() const;
    size_t size() const { return entries_.size() + derived_.size(); }
    uint64_t stale_hits() const { return stale_; }

private:
    struct Entry {
        std::weak_ptr<void> owner;
        BufferPtr buf;
        size_t bytes = 0;
        uint64_t fp = 0, last_use = 0;
        bool produced = false;
    };
    struct Derived {
        std::vector<std::weak_ptr<void>> owners;
        std::vector<uint64_t> fps;
        BufferPtr buf;
        uint64_t last_use = 0;
    };
    static bool same_owner(const std::weak_ptr<void>& w, const std::shared_ptr<void>& s) {
        return !w.expired() && !w.owner_before(s) && !s.owner_before(w);
    }
    std::string derived_key(const std::vector<const Tensor*>& from, const std::string& tag) const;
    std::map<const void*, Entry> entries_;
    std::map<std::string, Derived> derived_;
    uint64_t clock_ = 0, stale_ = 0;
};

}  // namespace hq::exec::hip
