// Command-line options shared by the commands that read data folders and run models.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

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
// Applies --threads, resolves --device and returns the backend to run on; logs which device runs (once).
// Throws (exit 2) for `hip` when no HIP device or backend is available.
std::unique_ptr<exec::Backend> select_device(const RunOptions& o);

}  // namespace hq::app
