#include "exec/hip/device_memory.h"

#include <algorithm>
#include <cstring>

#include "exec/hip/hip_check.h"

namespace hq::exec::hip {

// ------------------------------------------------------------------------------------------------ DevicePool

size_t DevicePool::size_class(size_t bytes) {
#if defined(HQ_DEVICE_POOL_EXACT)  // exact-size blocks, so a memory checker sees every overrun (tests)
    return bytes ? bytes : 1;
#endif
    if (bytes <= 4096) return std::max<size_t>(256, (bytes + 255) / 256 * 256);
    // Quarter steps between powers of two: at most 25% slack.
    size_t p = 4096;
    while (p * 2 < bytes) p *= 2;
    const size_t q = p / 4;
    return (bytes + q - 1) / q * q;
}

void* DevicePool::alloc(size_t bytes) {
    const size_t cls = size_class(bytes);
    auto it = free_.find(cls);
    if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        return p;
    }
    HQ_HIP_CHECK(hipSetDevice(device_));
    void* p = nullptr;
    hipError_t e = hipMalloc(&p, cls);
    while (e != hipSuccess) {
        (void)hipGetLastError();  // clear the error before retrying
        if (!free_.empty()) {
            trim();
        } else if (!(relieve && relieve())) {
            break;
        } else {
            // relieving returned buffers to the free lists: reuse one of this class, else free them all
            auto jt = free_.find(cls);
            if (jt != free_.end() && !jt->second.empty()) {
                p = jt->second.back();
                jt->second.pop_back();
                return p;
            }
            trim();
        }
        e = hipMalloc(&p, cls);
    }
    if (e != hipSuccess)
        throw_hip_error(("hipMalloc of " + std::to_string(cls) + " bytes (" + std::to_string(reserved_) +
                         " bytes already held by this backend)")
                            .c_str(),
                        e, __FILE__, __LINE__);
    reserved_ += cls;
    peak_ = std::max(peak_, reserved_);
    return p;
}

void DevicePool::release(void* p, size_t bytes) {
    if (p) free_[size_class(bytes)].push_back(p);
}

void DevicePool::trim() {
    if (free_.empty()) return;
    (void)hipSetDevice(device_);
    for (auto& [cls, v] : free_) {
        for (void* p : v) {
            (void)hipFree(p);  // freeing cannot be retried; a failure here leaks the block at worst
            reserved_ -= cls;
        }
    }
    free_.clear();
}

DevicePool::~DevicePool() { trim(); }

// --------------------------------------------------------------------------------------------- fingerprint

uint64_t fingerprint(const void* p, size_t bytes) {
    const unsigned char* b = static_cast<const unsigned char*>(p);
    uint64_t h = 1469598103934665603ull ^ bytes;
    auto mix = [&](uint64_t v) {
        h ^= v;
        h *= 1099511628211ull;
        h ^= h >> 29;
    };
    if (bytes <= 256) {
        for (size_t i = 0; i < bytes; ++i) mix(b[i]);
        return h;
    }
    constexpr size_t kSamples = 32;
    for (size_t i = 0; i < kSamples; ++i) {
        const size_t at = (bytes - 8) / (kSamples - 1) * i;
        uint64_t v;
        std::memcpy(&v, b + at, 8);
        mix(v);
    }
    return h;
}

// --------------------------------------------------------------------------------------------- DeviceCache

BufferPtr DeviceCache::find(const Tensor& t) {
    if (!t.storage() || t.nbytes() == 0) return nullptr;
    auto it = entries_.find(t.raw());
    if (it == entries_.end()) return nullptr;
    Entry& e = it->second;
    if (!same_owner(e.owner, t.storage()) || e.bytes < t.nbytes()) {
        entries_.erase(it);  // a freed-and-reused address, or another tensor's bytes
        return nullptr;
    }
    if (fingerprint(t.raw(), e.bytes) != e.fp) {
        ++stale_;
        entries_.erase(it);
        return nullptr;
    }
    e.last_use = ++clock_;
    return e.buf;
}

void DeviceCache::put(const Tensor& t, BufferPtr b, bool produced) {
    if (!t.storage() || t.nbytes() == 0) return;
    Entry e;
    e.owner = t.storage();
    e.buf = std::move(b);
    e.bytes = t.nbytes();
    e.fp = fingerprint(t.raw(), e.bytes);
    e.last_use = ++clock_;
    e.produced = produced;
    entries_[t.raw()] = std::move(e);
}

std::string DeviceCache::derived_key(const std::vector<const Tensor*>& from, const std::string& tag) const {
    std::string k = tag;
    for (const Tensor* t : from) k += "|" + std::to_string(reinterpret_cast<uintptr_t>(t->raw()));
    return k;
}

BufferPtr DeviceCache::find_derived(const std::vector<const Tensor*>& from, const std::string& tag) {
    auto it = derived_.find(derived_key(from, tag));
    if (it == derived_.end()) return nullptr;
    Derived& d = it->second;
    for (size_t i = 0; i < from.size(); ++i) {
        const Tensor* t = from[i];
        if (!same_owner(d.owners[i], t->storage()) || fingerprint(t->raw(), t->nbytes()) != d.fps[i]) {
            derived_.erase(it);
            return nullptr;
        }
    }
    d.last_use = ++clock_;
    return d.buf;
}

void DeviceCache::put_derived(const std::vector<const Tensor*>& from, const std::string& tag, BufferPtr b) {
    Derived d;
    for (const Tensor* t : from) {
        d.owners.push_back(t->storage());
        d.fps.push_back(fingerprint(t->raw(), t->nbytes()));
    }
    d.buf = std::move(b);
    d.last_use = ++clock_;
    derived_[derived_key(from, tag)] = std::move(d);
}

size_t DeviceCache::sweep() {
    size_t n = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
        if (it->second.owner.expired()) {
            it = entries_.erase(it);
            ++n;
        } else {
            ++it;
        }
    }
    for (auto it = derived_.begin(); it != derived_.end();) {
        bool dead = false;
        for (const auto& w : it->second.owners) dead = dead || w.expired();
        if (dead) {
            it = derived_.erase(it);
            ++n;
        } else {
            ++it;
        }
    }
    return n;
}

bool DeviceCache::evict_lru(const std::set<const DeviceBuffer*>& pinned) {
    uint64_t best = UINT64_MAX;
    const void* key = nullptr;
    std::string dkey;
    for (const auto& [k, e] : entries_)
        if (e.last_use < best && !pinned.count(e.buf.get())) best = e.last_use, key = k, dkey.clear();
    for (const auto& [k, d] : derived_)
        if (d.last_use < best && !pinned.count(d.buf.get())) best = d.last_use, key = nullptr, dkey = k;
    if (best == UINT64_MAX) return false;
    if (!dkey.empty())
        derived_.erase(dkey);
    else
        entries_.erase(key);
    return true;
}

size_t DeviceCache::bytes() const {
    size_t n = 0;
    for (const auto& [k, e] : entries_) n += e.buf ? e.buf->bytes : 0;
    for (const auto& [k, d] : derived_) n += d.buf ? d.buf->bytes : 0;
    return n;
}

}  // namespace hq::exec::hip
