// hyquant calibrate: observe activation ranges over a data folder and write the calibration table;
// `--merge` combines tables of data shards exactly.
#include <spdlog/spdlog.h>

#include "apps/hyquant/commands.h"
#include "apps/hyquant/data_options.h"
#include "calib/calibrator.h"
#include "core/error.h"
#include "core/fileio.h"

namespace hq::app {

namespace {

// The summary of a written table: the last line on stderr, and with --json the same as JSON on stdout.
void summarize(const calib::CalibrationTable& t, const std::string& out, const std::vector<std::string>& merged,
               bool as_json) {
    size_t histograms = 0;
    for (const auto& [name, h] : t.tensors) histograms += h.has_bins();
    size_t bad_samples = 0;
    for (size_t k = 0; k < t.nonfinite_inputs.size(); ++k)
        bad_samples += k == 0 || t.nonfinite_inputs[k].sample != t.nonfinite_inputs[k - 1].sample;
    const std::string what = merged.empty() ? "calibrated" : fmt::format("merged {} table{}:", merged.size(), merged.size() == 1 ? "" : "s");
    const std::string ranks = t.ranks > 1 ? fmt::format(" on {} ranks", t.ranks) : "";
    spdlog::info("{} {} tensors ({} with histograms) over {} samples{}, method {}; wrote {}", what, t.tensors.size(),
                 histograms, t.samples, ranks, calib::method_name(t.method), out);
    if (!as_json) return;
    Json j{{"command", "calibrate"}, {"output", out}, {"model", t.model}};
    if (!merged.empty()) j["merged"] = merged;
    j["samples"] = t.samples;
    if (t.ranks > 1) j["ranks"] = t.ranks;
    j["samples_identified"] = t.sample_digests.size();
    j["tensors"] = t.tensors.size();
    j["histograms"] = histograms;
    j["method"] = calib::method_name(t.method);
    j["percentile"] = t.percentile;
    j["nonfinite"] = Json{{"samples", bad_samples}, {"tensors", t.nonfinite_tensors()}};
    print_json(j);
}

}  // namespace

void add_calibrate(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("calibrate", "Observe activation ranges over a data folder; write TABLE.json");
    struct Opts {
        std::string model, data, out, method = "minmax";
        double percentile = 99.99;
        int64_t samples = 0;
        std::vector<std::string> merge;
        bool json = false;
        RunOptions run;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("MODEL", o->model, "ONNX model file");
    cmd->add_option("--data", o->data, "Data folder (see README)");
    cmd->add_option("-o,--output", o->out, "Calibration table to write (JSON)")->required();
    auto* method_opt = cmd->add_option(
        "--method", o->method,
        "Range method marked as chosen: minmax|percentile|entropy|mse (all are stored; default minmax, with "
        "--merge the inputs' method)");
    auto* percentile_opt =
        cmd->add_option("--percentile", o->percentile, "Percentile for --method percentile (default 99.99)");
    cmd->add_option("--samples", o->samples, "Use at most N samples (default: all)")->check(CLI::NonNegativeNumber);
    cmd->add_option("--merge", o->merge,
                    "Merge these tables (of disjoint data shards of one model) instead of calibrating");
    cmd->add_flag("--json", o->json, "Also print the summary as JSON on stdout");
    add_run_options(cmd, o->run);
    cmd->callback([&action, o, method_opt, percentile_opt] {
        // Whether --method / --percentile were given (a merge keeps the inputs' otherwise).
        const bool method_given = method_opt->count() > 0, percentile_given = percentile_opt->count() > 0;
        action = [o, method_given, percentile_given] {
            calib::Method method = calib::parse_method(o->method);
            HQ_CHECK(o->percentile > 50 && o->percentile <= 100, "--percentile ", o->percentile,
                     ": expected a value in (50, 100]");
            check_writable(o->out);
            if (!o->merge.empty()) {
                HQ_CHECK(o->model.empty() && o->data.empty(), "calibrate --merge takes tables only, not MODEL or --data");
                // Under MPI every rank reads the tables (cheap); rank 0 writes.
                calib::CalibrationTable t = calib::merge_tables(
                    o->merge, method_given ? std::optional<calib::Method>(method) : std::nullopt,
                    percentile_given ? std::optional<double>(o->percentile) : std::nullopt);
                run_on_root([&] {
                    t.write(o->out);
                    summarize(t, o->out, o->merge, o->json);
                });
                return 0;
            }
            HQ_CHECK(!o->model.empty(), "calibrate: MODEL is required (or --merge)");
            HQ_CHECK(!o->data.empty(), "calibrate: --data is required");
            std::map<std::string, Shape> shapes;
            for (const auto& s : o->run.shapes) shapes.insert(parse_shape_arg(s));
            calib::ImageOptions io = o->run.image_options();
            graph::Model m = load_and_prepare(o->model, shapes, true);
            calib::DataSource data(o->data, m.graph.inputs, io);
            // Every HIP device for --device auto|hip (samples split between them), else the one device.
            auto backends = select_devices(o->run);
            calib::CalibrateOptions co;
            co.method = method;
            co.percentile = o->percentile;
            co.max_samples = o->samples;
            // Under mpirun/srun each rank takes its block of the samples; rank 0 merges and writes.
            co.distributed = true;
            // NaN/Inf in the data are reported by calibrate() itself: one line per sample file, one summary.
            calib::CalibrationTable t = calib::calibrate(m, backends, data, co);
            log_backend_summary(backends);
            run_on_root([&] {
                t.model = o->model;
                t.fingerprint = calib::model_fingerprint(o->model);
                t.write(o->out);
                summarize(t, o->out, {}, o->json);
            });
            return 0;
        };
    });
}

}  // namespace hq::app
