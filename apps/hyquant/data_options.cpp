#include "apps/hyquant/data_options.h"

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/threads.h"
#include "exec/cpu/cpu_backend.h"
#ifdef HYQUANT_WITH_HIP
#include "exec/hip/hip_backend.h"
#endif

namespace hq::app {

static std::vector<float> parse_floats(const std::string& s, const std::string& opt) {
    std::vector<float> v;
    size_t p = 0;
    while (p <= s.size()) {
        size_t q = s.find(',', p);
        if (q == std::string::npos) q = s.size();
        std::string item = s.substr(p, q - p);
        try {
            size_t used = 0;
            v.push_back(std::stof(item, &used));
            HQ_CHECK(used == item.size(), "");
        } catch (...) {
            HQ_FAIL(opt, " '", s, "': '", item, "' is not a number");
        }
        p = q + 1;
    }
    HQ_CHECK(v.size() == 1 || v.size() == 3, opt, " '", s, "': give one value or three (per channel)");
    if (v.size() == 1) v.assign(3, v[0]);
    return v;
}

calib::ImageOptions RunOptions::image_options() const {
    calib::ImageOptions io;
    if (!size.empty()) {
        auto x = size.find('x');
        HQ_CHECK(x != std::string::npos, "--size '", size, "': expected HxW, e.g. 224x224");
        try {
            io.height = std::stoll(size.substr(0, x));
            io.width = std::stoll(size.substr(x + 1));
        } catch (...) {
            HQ_FAIL("--size '", size, "': expected HxW, e.g. 224x224");
        }
        HQ_CHECK(io.height > 0 && io.width > 0 && io.height < 65536 && io.width < 65536, "--size '", size,
                 "': dimensions must be between 1 and 65535");
    }
    if (!mean.empty()) io.mean = parse_floats(mean, "--mean");
    if (!stddev.empty()) io.std = parse_floats(stddev, "--std");
    for (float s : io.std) HQ_CHECK(s != 0.0f, "--std must not be 0");
    io.keep_aspect = keep_aspect;
    io.pad_value = pad_value;
    io.bgr = bgr;
    io.layout = layout;
    return io;
}

void add_run_options(CLI::App* cmd, RunOptions& o) {
    cmd->add_option("--device", o.device, "auto|cpu|hip[:N] (auto: a HIP device when present, else the CPU)");
    cmd->add_option("--threads", o.threads, "CPU threads (default 2)")->check(CLI::Range(1, 256));
    cmd->add_option("--shape", o.shapes, "Fix an input's shape, NAME=1x3x224x224; repeatable");
    cmd->add_option("--size", o.size, "Images: resize to HxW (default: the model input's H and W)");
    cmd->add_flag("--keep-aspect", o.keep_aspect, "Images: keep aspect ratio (height H, width <= W), pad right");
    cmd->add_option("--pad-value", o.pad_value, "Images: value of padded pixels after normalization (default 0)");
    cmd->add_option("--mean", o.mean, "Images: per-channel mean in 0-255 units, e.g. 123.675,116.28,103.53");
    cmd->add_option("--std", o.stddev, "Images: per-channel std in 0-255 units, e.g. 58.395,57.12,57.375");
    cmd->add_flag("--bgr", o.bgr, "Images: channel order BGR");
    cmd->add_option("--layout", o.layout, "Images: nchw|nhwc")->check(CLI::IsMember({"nchw", "nhwc"}));
}

namespace {

// --device: auto | cpu | hip (every device or the first) | hip:N (that device only; index >= 0).
struct DeviceSpec {
    enum class Kind { Auto, Cpu, Hip } kind = Kind::Auto;
    int index = -1;  // hip:N
};

DeviceSpec parse_device(const std::string& d) {
    DeviceSpec spec;
    if (d == "auto") return spec;
    if (d == "cpu") {
        spec.kind = DeviceSpec::Kind::Cpu;
        return spec;
    }
    spec.kind = DeviceSpec::Kind::Hip;
    if (d == "hip") return spec;
    const std::string n = d.rfind("hip:", 0) == 0 ? d.substr(4) : "";
    HQ_CHECK(!n.empty() && n.size() <= 6 && n.find_first_not_of("0123456789") == std::string::npos, "--device '", d,
             "': expected auto, cpu, hip or hip:N (N a device number)");
    spec.index = std::stoi(n);
    return spec;
}

std::vector<std::unique_ptr<exec::Backend>> choose_devices(const RunOptions& o, bool all) {
    set_num_threads(o.threads);
    const std::string& d = o.device;
    const DeviceSpec spec = parse_device(d);
    std::vector<std::unique_ptr<exec::Backend>> out;
    if (spec.kind == DeviceSpec::Kind::Cpu) {
        spdlog::debug("device: the CPU ({} threads), as asked", o.threads);
        out.push_back(exec::cpu::make_backend());
        return out;
    }
#ifdef HYQUANT_WITH_HIP
    std::string why;
    const int count = exec::hip::device_count(&why);
    if (count <= 0) {
        const std::string reason = why.empty() ? "no HIP device found" : "no HIP device found (" + why + ")";
        HQ_CHECK(spec.kind == DeviceSpec::Kind::Auto, "--device ", d, ": ", reason);
        spdlog::info("device: using the CPU ({} threads): {}", o.threads, reason);
        out.push_back(exec::cpu::make_backend());
        return out;
    }
    HQ_CHECK(spec.index < count, "--device ", d, ": there is no HIP device ", spec.index, " (", count,
             count == 1 ? " device is present: hip:0)" : " devices are present: hip:0 to hip:" + std::to_string(count - 1) + ")");
    std::vector<int> devices;
    if (spec.index >= 0) devices.push_back(spec.index);
    else
        for (int i = 0; i < (all ? count : 1); ++i) devices.push_back(i);
    std::string names;
    for (int dev : devices) {
        out.push_back(exec::hip::make_backend(dev, exec::cpu::make_backend()));
        names += std::string(names.empty() ? "" : ", ") + "hip:" + std::to_string(dev) + " (" + exec::hip::device_name(dev) + ")";
    }
    if (devices.size() == 1)
        spdlog::info("device: using HIP device {}, CPU fallback per node with {} threads", names, o.threads);
    else
        spdlog::info("device: using {} HIP devices: {}; calibration splits the samples between them", devices.size(), names);
    return out;
#else
    const std::string reason = "this build of hyquant has no HIP backend (build with -DHYQUANT_WITH_HIP=ON)";
    HQ_CHECK(spec.kind == DeviceSpec::Kind::Auto, "--device ", d, ": ", reason);
    spdlog::info("device: using the CPU ({} threads): {}", o.threads, reason);
    out.push_back(exec::cpu::make_backend());
    return out;
#endif
}

}  // namespace

std::unique_ptr<exec::Backend> select_device(const RunOptions& o) { return std::move(choose_devices(o, false).front()); }

std::vector<std::unique_ptr<exec::Backend>> select_devices(const RunOptions& o) { return choose_devices(o, true); }

void log_backend_summary(const exec::Backend& backend) {
    std::string s = backend.summary();  // names the backend itself
    if (!s.empty()) spdlog::info("{}", s);
}

void log_backend_summary(const std::vector<std::unique_ptr<exec::Backend>>& backends) {
    for (const auto& b : backends) log_backend_summary(*b);
}

}  // namespace hq::app
