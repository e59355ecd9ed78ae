#include "apps/hyquant/data_options.h"

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "core/threads.h"
#include "exec/cpu/cpu_backend.h"

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

std::unique_ptr<exec::Backend> select_device(const RunOptions& o) {
    set_num_threads(o.threads);
    const std::string& d = o.device;
    bool hip = d == "hip" || d.rfind("hip:", 0) == 0;
    HQ_CHECK(d == "auto" || d == "cpu" || hip, "--device '", d, "': expected auto, cpu or hip[:N]");
    if (hip) HQ_FAIL("--device ", d, ": this build of hyquant has no HIP backend (build with -DHYQUANT_WITH_HIP=ON)");
    if (d == "auto") spdlog::info("device: no HIP device available, using the CPU ({} threads)", o.threads);
    return exec::cpu::make_backend();
}

}  // namespace hq::app
