// hyquant calibrate: observe activation ranges over a data folder and write the calibration table;
// `--merge` combines tables of data shards exactly.
#include <spdlog/spdlog.h>

#include "apps/hyquant/commands.h"
#include "apps/hyquant/data_options.h"
#include "calib/calibrator.h"
#include "core/error.h"
#include "core/fileio.h"

namespace hq::app {

void add_calibrate(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("calibrate", "Observe activation ranges over a data folder; write TABLE.json");
    struct Opts {
        std::string model, data, out, method = "minmax";
        double percentile = 99.99;
        int64_t samples = 0;
        std::vector<std::string> merge;
        RunOptions run;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("MODEL", o->model, "ONNX model file");
    cmd->add_option("--data", o->data, "Data folder (see README)");
    cmd->add_option("-o,--output", o->out, "Calibration table to write (JSON)")->required();
    cmd->add_option("--method", o->method, "Range method marked as chosen (default minmax): minmax|percentile|entropy|mse (all are stored)");
    cmd->add_option("--percentile", o->percentile, "Percentile for --method percentile (default 99.99)");
    cmd->add_option("--samples", o->samples, "Use at most N samples (default: all)")->check(CLI::NonNegativeNumber);
    cmd->add_option("--merge", o->merge, "Merge these tables (of data shards of one model) instead of calibrating");
    add_run_options(cmd, o->run);
    cmd->callback([&action, o] {
        action = [o] {
            calib::Method method = calib::parse_method(o->method);
            HQ_CHECK(o->percentile > 50 && o->percentile <= 100, "--percentile ", o->percentile,
                     ": expected a value in (50, 100]");
            check_writable(o->out);
            if (!o->merge.empty()) {
                HQ_CHECK(o->model.empty() && o->data.empty(), "calibrate --merge takes tables only, not MODEL or --data");
                calib::CalibrationTable t = calib::CalibrationTable::read(o->merge[0]);
                for (size_t i = 1; i < o->merge.size(); ++i) t.merge(calib::CalibrationTable::read(o->merge[i]), o->merge[i]);
                t.method = method;
                t.percentile = o->percentile;
                t.write(o->out);
                spdlog::info("merged {} tables ({} samples, {} tensors) into {}", o->merge.size(), t.samples,
                             t.tensors.size(), o->out);
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
            calib::CalibrationTable t = calib::calibrate(m, backends, data, co);
            log_backend_summary(backends);
            t.model = o->model;
            t.fingerprint = calib::model_fingerprint(o->model);
            uint64_t nan = 0, inf = 0;
            for (const auto& [name, h] : t.tensors) {
                nan += h.nan_count();
                inf += h.inf_count();
                if (h.nan_count() || h.inf_count())
                    spdlog::warn("tensor '{}': {} NaN and {} Inf values seen (excluded from its range)", name,
                                 h.nan_count(), h.inf_count());
            }
            t.write(o->out);
            spdlog::info("calibrated {} tensors over {} samples ({}); wrote {}", t.tensors.size(), t.samples,
                         calib::method_name(method), o->out);
            return 0;
        };
    });
}

}  // namespace hq::app
