// The HIP backend class behind make_backend (hip_backend.h), visible to tests/hip for its counters and for
// placing test tensors on the device. Per node: inputs come from the device cache or are uploaded, the
// handler of ops_*.cpp launches kernels on the backend's stream, outputs are downloaded into host tensors
// and stay cached on the device while those live. Nodes the handlers do not take run on the CPU fallback.
// All device work happens under one mutex (run is const; the state is mutable).
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "exec/backend.h"
#include "exec/hip/device_memory.h"
#include "exec/hip/op_env.h"

namespace hq::exec::hip {

class HipBackend final : public Backend {
public:
    HipBackend(int device, std::unique_ptr<Backend> cpu_fallback);
    ~HipBackend() override;

    std::string name() const override { return "hip:" + std::to_string(device_); }
    std::string supports(const graph::Node& n, int64_t opset) const override { return cpu_->supports(n, opset); }
    void run(KernelContext& ctx) const override;
    bool tensor_stats(const Tensor& t, TensorStats& s) const override;
    bool tensor_histogram(const Tensor& t, int exponent, uint64_t* bins) const override;
    std::string summary() const override;

    struct Counters {
        std::map<std::string, uint64_t> device, cpu, views;  // nodes by op type
        uint64_t h2d_bytes = 0, d2h_bytes = 0, uploads = 0, downloads = 0, cache_hits = 0;
    };
    Counters counters() const;
    // True when t's bytes are on the device (a kernel made them or they were uploaded and are unchanged).
    bool resident(const Tensor& t) const;
    // Uploads t (as a constant input would be) so tensor_stats / tensor_histogram can run on it.
    void make_resident(const Tensor& t) const;
    // The handler table (ops that can run on the device, attributes permitting).
    const OpTable& ops() const { return ops_; }
    int device() const { return device_; }
    hipStream_t stream() const { return stream_; }

private:
    class Env;
    BufferPtr alloc(size_t bytes) const;
    bool relieve() const;  // frees cache entries under memory pressure

    int device_;
    std::unique_ptr<Backend> cpu_;
    std::string device_name_;
    OpTable ops_;
    hipStream_t stream_ = nullptr;
    mutable std::mutex mu_;
    mutable DevicePool pool_;  // declared before everything holding buffers: destroyed last
    mutable DeviceCache cache_;
    mutable BufferPtr calib_buf_;  // StatsDev + histogram bins
    mutable Counters counters_;
    mutable const std::set<const DeviceBuffer*>* pinned_ = nullptr;  // buffers the running node holds
};

}  // namespace hq::exec::hip
