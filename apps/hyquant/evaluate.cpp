// hyquant evaluate: compares a candidate model with its reference on a data folder and reports what
// quantization (or pruning) cost; exit 3 when --max-drop is broken.
#include <spdlog/spdlog.h>

#include "apps/hyquant/commands.h"
#include "apps/hyquant/data_options.h"
#include "calib/evaluate.h"
#include "core/error.h"
#include "core/fileio.h"
#include "exec/cpu/cpu_backend.h"
#include "report/eval_report.h"

namespace hq::app {

void print_accuracy(const calib::AccuracySummary& s) {
    for (const auto& o : s.outputs)
        spdlog::info("output '{}': cosine {:.6f}, SQNR {:.1f} dB, max abs {:.4g}, mean abs {:.4g}{}", o.name, o.cosine,
                     o.sqnr_db, o.max_abs, o.mean_abs,
                     o.top1_agreement ? fmt::format(", top-1 agreement {:.2f}%", *o.top1_agreement) : "");
    if (s.reference_accuracy)
        spdlog::info("accuracy: reference {:.2f}%, candidate {:.2f}% (drop {:.2f} points)", *s.reference_accuracy,
                     *s.candidate_accuracy, *s.reference_accuracy - *s.candidate_accuracy);
    for (size_t i = 0; i < s.layers.size() && i < 3; ++i)
        spdlog::info("worst layer {}: {} ({}, {}): adds {:.1f} dB, accumulated {:.1f} dB", i + 1, s.layers[i].node,
                     s.layers[i].op_type, s.layers[i].precision, s.layers[i].added_sqnr_db, s.layers[i].sqnr_db);
}

void add_evaluate(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("evaluate", "Compare a candidate model with its reference; report the accuracy cost");
    struct Opts {
        std::string reference, candidate, data, labels;
        std::optional<double> max_drop;
        int64_t layer_samples = 8, samples = 0;
        std::vector<std::string> reports;
        bool json = false;
        RunOptions run;
    };
    auto o = std::make_shared<Opts>();
    cmd->add_option("REFERENCE", o->reference, "Reference (FP32) ONNX model")->required();
    cmd->add_option("CANDIDATE", o->candidate, "Candidate (quantized/pruned) ONNX model")->required();
    cmd->add_option("--data", o->data, "Evaluation data folder (see README)")->required();
    cmd->add_option("--labels", o->labels, "Labels file: one integer class per line, in sample order");
    cmd->add_option("--max-drop", o->max_drop, "Accuracy budget in points; exit 3 when the drop exceeds it");
    cmd->add_option("--layer-samples", o->layer_samples, "Samples used for the layer-wise comparison (default 8)");
    cmd->add_option("--samples", o->samples, "Evaluate at most N samples");
    cmd->add_option("--report", o->reports, "Write a report: R.json, R.md or R.html; repeatable");
    cmd->add_flag("--json", o->json, "Also print the summary as JSON on stdout");
    add_run_options(cmd, o->run);
    cmd->callback([&action, o] {
        action = [o] {
            for (const auto& r : o->reports) check_writable(r);
            HQ_CHECK(!o->max_drop || *o->max_drop >= 0, "--max-drop must be >= 0");
            std::map<std::string, Shape> shapes;
            for (const auto& s : o->run.shapes) shapes.insert(parse_shape_arg(s));
            calib::ImageOptions io = o->run.image_options();
            graph::Model ref = load_and_prepare(o->reference, shapes, true);
            graph::Model cand = load_and_prepare(o->candidate, shapes, true);
            calib::DataSource data(o->data, ref.graph.inputs, io);
            calib::EvaluateOptions eo;
            if (!o->labels.empty()) eo.labels = calib::read_labels(o->labels);
            eo.layer_samples = o->layer_samples;
            eo.max_samples = o->samples;
            auto backend = select_device(o->run);
            eo.distributed = true;  // under mpirun/srun each rank takes its block of the samples
            calib::AccuracySummary s = calib::evaluate_models(ref, cand, data, *backend, eo);
            log_backend_summary(*backend);
            // Rank 0 holds the summary: it prints and writes; every rank agrees on a failure there.
            int rc = 0;
            run_on_root([&] {
                s.kind = "evaluate";
                s.reference = o->reference;
                s.candidate = o->candidate;
                s.data = o->data;
                s.labels = o->labels;
                s.command = command_line();
                double drop = calib::budget_drop(s, s.budget_metric);
                s.drop = drop;
                s.max_drop = o->max_drop;
                s.budget_ok = !o->max_drop || drop <= *o->max_drop + 1e-9;
                print_accuracy(s);
                if (!o->reports.empty()) report::write_accuracy_reports(s, o->reports);
                // Summary: what was compared and found, the budget's verdict, the reports written.
                std::string budget;
                if (o->max_drop)
                    budget = fmt::format("; {} {:.2f} {} --max-drop {:.2f}", s.budget_metric, drop,
                                         s.budget_ok ? "<=" : ">", *o->max_drop);
                spdlog::info("evaluated {} against {} on {} samples: {}{}", o->candidate, o->reference, s.samples,
                             accuracy_clause(s), budget);
                if (!o->reports.empty()) spdlog::info("wrote {}", join_list(o->reports));
                if (o->json) {
                    Json j{{"command", "evaluate"}, {"reference", o->reference}, {"candidate", o->candidate}};
                    j.update(accuracy_summary_json(s));
                    j["reports"] = o->reports;
                    print_json(j);
                }
                if (!s.budget_ok) {
                    spdlog::error("accuracy budget broken: {} is {:.2f} > --max-drop {:.2f}", s.budget_metric, drop,
                                  *o->max_drop);
                    rc = 3;
                }
            });
            return rc;
        };
    });
}

}  // namespace hq::app
