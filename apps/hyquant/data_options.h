// Command-line options shared by the commands that read data folders and run models.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "calib/data_reader.h"
#include "exec/backend.h"

namespace hq::app {

struct RunOptions {
    std::string device = "auto";
    int threads = 2;
    std::vector<std::string> shapes;  // --shape NAME=DIMS
    std::string size, mean, stddev, layout = "nchw";
    bool keep_aspect = false, bgr = false;
    float pad_value = 0.0f;

    calib::ImageOptions image_options() const;
};

// --device, --threads, --shape and the image preprocessing options.
void add_run_options(CLI::App* cmd, RunOptions& o);
// Applies --threads, resolves --device (SPEC "Devices") and returns the backend to run on; logs which
// device runs, or that the CPU does and why, once. `auto`: HIP device 0 when present, else the CPU; `cpu`;
// `hip` / `hip:N`: that HIP device (with a CPU fallback per node), else hq::Error (exit 2) naming why
// (no device: the failing call; N out of range: how many there are; a build without HIP).
std::unique_ptr<exec::Backend> select_device(const RunOptions& o);
// The same for work that splits samples across devices (calibration): every HIP device for `auto` and
// `hip`, the one device for `hip:N`, else the CPU alone. Never empty; logs once.
std::vector<std::unique_ptr<exec::Backend>> select_devices(const RunOptions& o);
// Logs what a backend did (backend->summary(): device nodes, CPU fallbacks, bytes copied) at info, when
// it has anything to say (the CPU does not). Call after the run.
void log_backend_summary(const exec::Backend& backend);
void log_backend_summary(const std::vector<std::unique_ptr<exec::Backend>>& backends);

}  // namespace hq::app
