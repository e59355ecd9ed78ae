#include "exec/hip/hip_backend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "exec/hip/hip_backend_impl.h"
#include "exec/hip/hip_check.h"

namespace hq::exec::hip {

// ------------------------------------------------------------------------------------------------- devices

int device_count(std::string* why) {
    int n = 0;
    const hipError_t e = hipGetDeviceCount(&n);
    if (e != hipSuccess) {
        if (why) *why = "hipGetDeviceCount: " + hip_error_text(e);
        (void)hipGetLastError();
        return 0;
    }
    if (n <= 0) {
        if (why) *why = "hipGetDeviceCount: 0 devices";
        return 0;
    }
    return n;
}

std::string device_name(int device) {
    std::string arch, name;
    size_t mem = 0;
#if defined(__HIP_PLATFORM_NVIDIA__) || defined(__HIP_PLATFORM_NVCC__)
    char buf[256] = {};
    HQ_HIP_CHECK(hipDeviceGetName(buf, sizeof(buf), device));
    HQ_HIP_CHECK(hipDeviceTotalMem(&mem, device));
    name = buf;
    arch = "cuda";
#else
    hipDeviceProp_t p;
    HQ_HIP_CHECK(hipGetDeviceProperties(&p, device));
    arch = p.gcnArchName;
    arch = arch.substr(0, arch.find(':'));  // "gfx906:sramecc+:xnack-" -> "gfx906"
    name = p.name;
    mem = p.totalGlobalMem;
#endif
    std::ostringstream os;
    os << arch << " (" << name << ") " << std::llround((double)mem / (1u << 30)) << " GiB";
    return os.str();
}

std::unique_ptr<Backend> make_backend(int device, std::unique_ptr<Backend> cpu_fallback) {
    HQ_ASSERT(cpu_fallback, "the HIP backend needs a CPU fallback backend");
    std::string why;
    const int n = device_count(&why);
    HQ_CHECK(device >= 0 && device < n, "HIP device ", device, " does not exist (",
             n ? std::to_string(n) + " devices" : why, ")");
    return std::make_unique<HipBackend>(device, std::move(cpu_fallback));
}

// --------------------------------------------------------------------------------------------- node context

class HipBackend::Env final : public OpEnv {
public:
    Env(const HipBackend& b, KernelContext& c) : OpEnv(c), b_(b) { b_.pinned_ = &pinned_; }
    ~Env() override {
        if (!synced_) (void)hipStreamSynchronize(b_.stream_);  // kernels may still read our buffers
        b_.pinned_ = nullptr;
    }

    hipStream_t stream() const override { return b_.stream_; }

    const void* in(size_t i) override {
        const Tensor& t = ctx.in(i);
        if (t.nbytes() == 0) return nullptr;
        BufferPtr buf = b_.cache_.find(t);
        if (buf) {
            ++b_.counters_.cache_hits;
        } else {
            buf = keep(b_.alloc(t.nbytes()));
            HQ_HIP_CHECK(hipMemcpyAsync(buf->ptr, t.raw(), t.nbytes(), hipMemcpyHostToDevice, b_.stream_));
            b_.cache_.put(t, buf, false);
            b_.counters_.h2d_bytes += t.nbytes();
            ++b_.counters_.uploads;
        }
        return keep(buf)->ptr;
    }

    void* out(size_t i, DType dt, const Shape& s) override {
        HQ_ASSERT(i < ctx.outputs.size(), ctx.node.label());
        const size_t bytes = (size_t)shape_numel(s) * dtype_size(dt);
        Out o{i, dt, s, bytes ? keep(b_.alloc(bytes)) : nullptr};
        outs_.push_back(o);
        return o.buf ? o.buf->ptr : nullptr;
    }

    void* scratch(size_t bytes) override { return keep(b_.alloc(std::max<size_t>(bytes, 1)))->ptr; }

    const void* upload(const void* host, size_t bytes) override {
        if (bytes == 0) return nullptr;
        BufferPtr buf = keep(b_.alloc(bytes));
        copy_up(buf, host, bytes);
        return buf->ptr;
    }

    const void* derived(const std::vector<const Tensor*>& from, const std::string& tag, const void* host,
                        size_t bytes) override {
        BufferPtr buf = keep(b_.alloc(std::max<size_t>(bytes, 1)));
        if (bytes) copy_up(buf, host, bytes);
        b_.cache_.put_derived(from, tag, buf);
        return buf->ptr;
    }

    const void* derived_hit(const std::vector<const Tensor*>& from, const std::string& tag) override {
        BufferPtr buf = b_.cache_.find_derived(from, tag);
        return buf ? keep(buf)->ptr : nullptr;
    }

    // Downloads the outputs into host tensors, waits for the device, and caches the device copies.
    void finish() {
        std::vector<Tensor> host;
        for (const Out& o : outs_) {
            host.emplace_back(o.dt, o.shape);
            if (o.buf) {
                HQ_HIP_CHECK(hipMemcpyAsync(host.back().raw(), o.buf->ptr, host.back().nbytes(),
                                            hipMemcpyDeviceToHost, b_.stream_));
                b_.counters_.d2h_bytes += host.back().nbytes();
                ++b_.counters_.downloads;
            }
        }
        HQ_HIP_CHECK(hipStreamSynchronize(b_.stream_));
        synced_ = true;
        for (size_t k = 0; k < outs_.size(); ++k) {
            if (outs_[k].buf) b_.cache_.put(host[k], outs_[k].buf, true);
            ctx.set(outs_[k].index, std::move(host[k]));
        }
    }

private:
    struct Out {
        size_t index;
        DType dt;
        Shape shape;
        BufferPtr buf;
    };
    BufferPtr keep(BufferPtr b) {
        if (b && pinned_.insert(b.get()).second) held_.push_back(b);
        return b;
    }
    // Host bytes are copied into storage this node owns: an asynchronous copy may still read them after the
    // handler's own vectors are gone.
    void copy_up(const BufferPtr& buf, const void* host, size_t bytes) {
        staged_.emplace_back(static_cast<const char*>(host), static_cast<const char*>(host) + bytes);
        HQ_HIP_CHECK(hipMemcpyAsync(buf->ptr, staged_.back().data(), bytes, hipMemcpyHostToDevice, b_.stream_));
        b_.counters_.h2d_bytes += bytes;
        ++b_.counters_.uploads;
    }

    const HipBackend& b_;
    std::vector<BufferPtr> held_;
    std::set<const DeviceBuffer*> pinned_;
    std::vector<Out> outs_;
    std::vector<std::vector<char>> staged_;
    bool synced_ = false;
};

// ------------------------------------------------------------------------------------------------- backend

HipBackend::HipBackend(int device, std::unique_ptr<Backend> cpu_fallback)
    : device_(device), cpu_(std::move(cpu_fallback)), pool_(device) {
    HQ_HIP_CHECK(hipSetDevice(device_));
    device_name_ = hip::device_name(device_);
    HQ_HIP_CHECK(hipStreamCreateWithFlags(&stream_, hipStreamNonBlocking));
    register_math_ops(ops_);
    register_nn_ops(ops_);
    register_data_ops(ops_);
    pool_.relieve = [this] { return relieve(); };
}

HipBackend::~HipBackend() {
    (void)hipSetDevice(device_);
    if (stream_) (void)hipStreamSynchronize(stream_);
    calib_buf_.reset();
    cache_ = DeviceCache();  // buffers back to the pool, which frees them
    pool_.trim();
    if (stream_) (void)hipStreamDestroy(stream_);
}

BufferPtr HipBackend::alloc(size_t bytes) const { return std::make_shared<DeviceBuffer>(&pool_, bytes); }

bool HipBackend::relieve() const {
    if (cache_.sweep() > 0) return true;
    static const std::set<const DeviceBuffer*> none;
    return cache_.evict_lru(pinned_ ? *pinned_ : none);
}

void HipBackend::run(KernelContext& ctx) const {
    const auto& n = ctx.node;
    std::unique_lock<std::mutex> lock(mu_);
    if (n.domain.empty()) {
        auto it = ops_.find(n.op_type);
        if (it != ops_.end()) {
            try {
                HQ_HIP_CHECK(hipSetDevice(device_));
                cache_.sweep();
                Env env(*this, ctx);
                if (it->second(env)) {
                    env.finish();
                    ++counters_.device[n.op_type];
                    return;
                }
            } catch (const Error& e) {
                throw Error(n.label() + " on " + name() + ": " + e.what(), e.kind());
            }
            for (auto& o : ctx.outputs) o = Tensor();  // a declining handler produced nothing
        }
    }
    lock.unlock();
    cpu_->run(ctx);
    // Outputs that share an input's storage (Reshape, Identity, Squeeze...) moved no data.
    bool view = true;
    for (size_t k = 0; k < ctx.outputs.size(); ++k) {
        if (!ctx.wants_output(k)) continue;
        bool shared = false;
        for (const Tensor* t : ctx.inputs) shared = shared || (t && t->storage() && t->storage() == ctx.outputs[k].storage());
        view = view && shared;
    }
    lock.lock();
    ++(view ? counters_.views : counters_.cpu)[n.op_type];
}

bool HipBackend::tensor_stats(const Tensor& t, TensorStats& s) const {
    if (t.dtype() != DType::F32) return false;
    std::lock_guard<std::mutex> lock(mu_);
    s = TensorStats{};
    if (t.numel() == 0) return true;
    BufferPtr buf = cache_.find(t);
    if (!buf) return false;
    HQ_HIP_CHECK(hipSetDevice(device_));
    if (!calib_buf_) calib_buf_ = alloc(sizeof(k::StatsDev) + 8193 * sizeof(unsigned long long));
    auto* d = static_cast<k::StatsDev*>(calib_buf_->ptr);
    k::StatsDev h;
    k::stats_init(stream_, d);
    k::stats(stream_, static_cast<const float*>(buf->ptr), t.numel(), d);
    HQ_HIP_CHECK(hipMemcpyAsync(&h, d, sizeof(h), hipMemcpyDeviceToHost, stream_));
    HQ_HIP_CHECK(hipStreamSynchronize(stream_));
    s.finite = h.finite, s.nan = h.nan, s.inf = h.inf;
    if (s.finite) {
        s.min = k::key_to_float(h.min_key);
        s.max = k::key_to_float(h.max_key);
    }
    return true;
}

bool HipBackend::tensor_histogram(const Tensor& t, int exponent, uint64_t* bins) const {
    if (t.dtype() != DType::F32) return false;
    std::lock_guard<std::mutex> lock(mu_);
    if (t.numel() == 0) return true;
    BufferPtr buf = cache_.find(t);
    if (!buf) return false;
    HQ_ASSERT(t.numel() < (int64_t(1) << 41), "histogram of ", t.numel(), " values");
    HQ_HIP_CHECK(hipSetDevice(device_));
    if (!calib_buf_) calib_buf_ = alloc(sizeof(k::StatsDev) + 8193 * sizeof(unsigned long long));
    auto* d = reinterpret_cast<unsigned long long*>(static_cast<char*>(calib_buf_->ptr) + sizeof(k::StatsDev));
    std::vector<unsigned long long> h(8193);
    HQ_HIP_CHECK(hipMemsetAsync(d, 0, h.size() * sizeof(unsigned long long), stream_));
    k::histogram(stream_, static_cast<const float*>(buf->ptr), t.numel(), exponent, d, d + 8192);
    HQ_HIP_CHECK(hipMemcpyAsync(h.data(), d, h.size() * sizeof(unsigned long long), hipMemcpyDeviceToHost, stream_));
    HQ_HIP_CHECK(hipStreamSynchronize(stream_));
    HQ_ASSERT(h[8192] == 0, h[8192], " finite values lie outside the histogram range [-2^", exponent, ", 2^",
              exponent, ")");
    for (int i = 0; i < 8192; ++i) bins[i] += h[i];
    return true;
}

HipBackend::Counters HipBackend::counters() const {
    std::lock_guard<std::mutex> lock(mu_);
    return counters_;
}

bool HipBackend::resident(const Tensor& t) const {
    std::lock_guard<std::mutex> lock(mu_);
    return cache_.find(t) != nullptr;
}

void HipBackend::make_resident(const Tensor& t) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (t.nbytes() == 0 || cache_.find(t)) return;
    HQ_HIP_CHECK(hipSetDevice(device_));
    BufferPtr buf = alloc(t.nbytes());
    HQ_HIP_CHECK(hipMemcpyAsync(buf->ptr, t.raw(), t.nbytes(), hipMemcpyHostToDevice, stream_));
    HQ_HIP_CHECK(hipStreamSynchronize(stream_));
    cache_.put(t, buf, false);
    counters_.h2d_bytes += t.nbytes();
    ++counters_.uploads;
}

namespace {
std::string mib(uint64_t b) {
    std::ostringstream os;
    os.precision(1);
    os << std::fixed << (double)b / (1 << 20) << " MiB";
    return os.str();
}
std::string by_op(const std::map<std::string, uint64_t>& m) {
    std::vector<std::pair<uint64_t, std::string>> v;
    for (const auto& [op, n] : m) v.push_back({n, op});
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    std::string s;
    for (const auto& [n, op] : v) s += (s.empty() ? "" : ", ") + op + " " + std::to_string(n);
    return s;
}
uint64_t total(const std::map<std::string, uint64_t>& m) {
    uint64_t n = 0;
    for (const auto& [op, c] : m) n += c;
    return n;
}
}  // namespace

std::string HipBackend::summary() const {
    std::lock_guard<std::mutex> lock(mu_);
    const Counters& c = counters_;
    std::ostringstream os;
    os << name() << " " << device_name_ << ": " << total(c.device) << " nodes on the device";
    if (!c.device.empty()) os << " (" << by_op(c.device) << ")";
    os << ", " << total(c.cpu) << " on the CPU";
    if (!c.cpu.empty()) os << " (" << by_op(c.cpu) << ")";
    os << ", " << total(c.views) << " views without copies; copies: " << mib(c.h2d_bytes) << " host-to-device in "
       << c.uploads << " uploads (" << c.cache_hits << " inputs already on the device), " << mib(c.d2h_bytes)
       << " device-to-host in " << c.downloads << " downloads";
    if (cache_.stale_hits()) os << ", " << cache_.stale_hits() << " re-uploads of host tensors changed in place";
    os << "; device memory held " << mib(pool_.reserved()) << " (peak " << mib(pool_.peak()) << ")";
    return os.str();
}

}  // namespace hq::exec::hip
