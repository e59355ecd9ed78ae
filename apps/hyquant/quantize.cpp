// hyquant quantize: calibrate (or read a table), choose a precision per layer, rewrite the model to
// QDQ INT8 / FP16 / mixed, and write it with its plan and reports.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "apps/hyquant/commands.h"
#include "apps/hyquant/data_options.h"
#include "calib/auto_range.h"
#include "calib/calibrator.h"
#include "calib/budget_search.h"
#include "calib/evaluate.h"
#include "calib/guard.h"
#include "report/eval_report.h"
#include "calib/sensitivity.h"
#include "core/error.h"
#include "core/fileio.h"
#include "dist/dist.h"
#include "exec/cpu/cpu_backend.h"
#include "graph/passes.h"
#include "graph/scoped_view.h"
#include "graph/upgrade_opset.h"
#include "onnx_io/onnx_io.h"
#include "quant/accuracy_helpers.h"
#include "quant/dequantize.h"
#include "quant/fp16_model.h"
#include "quant/fp16_rewrite.h"
#include "quant/placement.h"
#include "quant/qdq_ops.h"
#include "quant/qdq_rewrite.h"
#include "quant/target.h"
#include "report/quant_report.h"

namespace fs = std::filesystem;

namespace hq::app {

namespace {

// "fp16", or "1 fp16, 2 fp32" when the guard moved layers to more than one precision.
std::string moved_precisions(const calib::GuardResult& g) {
    std::map<std::string, int> n;
    for (const auto& name : g.moved)
        for (const auto& l : g.plan.layers)
            if (l.node == name) ++n[quant::precision_name(l.precision)];
    if (n.size() == 1) return n.begin()->first;
    std::string r;
    for (const auto& [p, c] : n) r += (r.empty() ? "" : ", ") + std::to_string(c) + " " + p;
    return r;
}

struct Opts {
    std::string model, out, calib, data, plan_in, plan_out, method, precision = "int8", activation_type, target;
    std::string eval_data, labels;
    std::optional<double> max_drop;
    bool keep_best = false, json = false, requantize = false;
    double percentile = 99.99, min_sqnr = 30.0, guard_sqnr = 12.0;
    int64_t samples = 0, sensitivity_samples = 16, auto_samples = 8;
    bool smooth = false;
    double smooth_alpha = 0.5;
    bool per_tensor = false, reduce_range = false, reduce_range_given = false, bias_correction = false, equalize = false;
    std::vector<std::string> exclude, reports;
    RunOptions run;
};

std::string default_plan_path(const std::string& out) {
    fs::path p(out);
    return (p.parent_path() / (p.stem().string() + ".plan.json")).string();
}

// Removes files written so far if the command fails before it finishes.
struct Cleanup {
    std::vector<std::string> files;
    bool armed = true;
    ~Cleanup() {
        if (!armed) return;
        for (const auto& f : files) std::remove(f.c_str());
    }
};

void write_all_reports(const report::QuantizeSummary& q, const std::vector<std::string>& paths,
                       const std::optional<calib::AccuracySummary>& acc) {
    if (!acc) {
        report::write_quantize_reports(q, paths);
        return;
    }
    // With an accuracy evaluation: .json and .md hold both parts, .html the accuracy report.
    std::vector<std::string> quant_paths, acc_paths;
    for (const auto& p : paths) (p.size() > 5 && p.compare(p.size() - 5, 5, ".html") == 0 ? acc_paths : quant_paths).push_back(p);
    report::write_quantize_reports(q, quant_paths, &*acc);
    if (!acc_paths.empty()) report::write_accuracy_reports(*acc, acc_paths);
}

// The final summary (one to three info lines on stderr) and, with --json, the same as JSON on stdout.
// `written`: the model, its plan and the reports are on disk; otherwise exit 3 left nothing but the reports
// (budget search) or nothing at all (guard).
int finish(const Opts& o, const report::QuantizeSummary& s, const std::string& plan_out, bool written,
           bool reports_written, const std::optional<calib::AccuracySummary>& acc, int rc) {
    // Precision counts and sizes exactly as the JSON report has them.
    Json rep = Json::parse(report::quantize_json(s, acc ? &*acc : nullptr));
    std::string counts;
    for (auto& [k, v] : rep["precision_counts"].items()) counts += (counts.empty() ? "" : ", ") + std::to_string(v.get<int>()) + " " + k;
    const std::string where = fmt::format("for target {} ({})", s.target, s.engine);
    if (written)
        spdlog::info("wrote {} {}: {} layers ({}); {:.1f} KiB -> {:.1f} KiB ({:.0f}% of {})", o.out, where,
                     s.plan.layers.size(), counts, s.bytes_in / 1024.0, s.bytes_out / 1024.0,
                     s.bytes_in ? 100.0 * s.bytes_out / s.bytes_in : 0.0, o.requantize ? "the input" : "FP32");
    else
        spdlog::info("nothing written {}: best plan {} layers ({}); exit 3", where, s.plan.layers.size(), counts);
    if (acc) {
        std::string budget = o.max_drop ? fmt::format("; {} {:.2f} {} --max-drop {:.2f}", acc->budget_metric,
                                                      acc->drop.value_or(0), acc->budget_ok ? "<=" : ">", *o.max_drop)
                                        : "";
        spdlog::info("evaluated on {} samples of {}: {}{}", acc->samples, acc->data, accuracy_clause(*acc), budget);
    } else if (s.guard) {
        spdlog::info("guard: worst output '{}' {:.1f} dB {} {:.1f} dB on {} held-out samples{}", s.guard->worst_output,
                     s.guard->worst_sqnr_db, s.guard->met ? ">=" : "<", s.guard_sqnr_db, s.guard->summary.samples,
                     s.guard->moved.empty() ? std::string()
                                            : fmt::format(" ({} layers moved to {})", s.guard->moved.size(),
                                                          moved_precisions(*s.guard)));
    }
    std::vector<std::string> also;
    if (written) also.push_back(plan_out);
    if (reports_written) also.insert(also.end(), o.reports.begin(), o.reports.end());
    if (!also.empty()) spdlog::info("also wrote {}", join_list(also));
    if (o.json) {
        Json j{{"command", "quantize"},
               {"model", o.model},
               {"output", written ? Json(o.out) : Json(nullptr)},
               {"plan_out", written ? Json(plan_out) : Json(nullptr)},
               {"reports", reports_written ? Json(o.reports) : Json::array()},
               {"exit_code", rc},
               {"target", s.target},
               {"engine", s.engine},
               {"precision", s.precision},
               {"activation_type", s.activation_type},
               {"layers", s.plan.layers.size()},
               {"precision_counts", rep["precision_counts"]},
               {"engine_kernel_counts", rep["engine_kernel_counts"]}};
        j["size_bytes"] = written ? rep["size_bytes"] : Json{{"input", s.bytes_in}, {"output", nullptr}, {"ratio", nullptr}};
        j["guard"] = rep["guard"].is_null()
                         ? Json(nullptr)
                         : Json{{"min_sqnr_db", rep["guard"]["min_sqnr_db"]},    {"samples", rep["guard"]["samples"]},
                                {"met", rep["guard"]["met"]},                    {"worst_output", rep["guard"]["worst_output"]},
                                {"worst_sqnr_db", rep["guard"]["worst_sqnr_db"]}, {"moved", rep["guard"]["moved"]}};
        j["accuracy"] = acc ? accuracy_summary_json(*acc) : Json(nullptr);
        print_json(j);
    }
    return rc;
}

int run_quantize(const Opts& o) {
    quant::Precision precision = o.precision == "mixed" ? quant::Precision::Int8
                                                        : quant::parse_precision(o.precision, "--precision");
    const bool mixed = o.precision == "mixed";
    HQ_CHECK(o.activation_type.empty() || o.activation_type == "uint8" || o.activation_type == "int8",
             "--activation-type '", o.activation_type, "': expected uint8 or int8");
    HQ_CHECK(!o.calib.empty() || !o.data.empty(), "quantize: give --calib TABLE.json or --data DIR");
    HQ_CHECK(o.method.empty() || o.method == "auto" || o.method == "minmax" || o.method == "percentile" ||
                 o.method == "entropy" || o.method == "mse",
             "--method '", o.method, "': expected auto, minmax, percentile, entropy or mse");
    HQ_CHECK(o.method != "auto" || !o.data.empty(),
             "--method auto measures each candidate range on calibration samples: give --data (a --calib table alone "
             "has none)");
    HQ_CHECK(!mixed || !o.data.empty(), "--precision mixed measures layer sensitivity on --data DIR; give it");
    const std::string plan_out = o.plan_out.empty() ? default_plan_path(o.out) : o.plan_out;
    // Under mpirun/srun rank 0 alone writes: its output paths are the ones that must be writable.
    run_on_root([&] {
        check_writable(o.out);
        check_writable(plan_out);
        for (const auto& r : o.reports) check_writable(r);
    });

    std::map<std::string, Shape> shapes;
    for (const auto& s : o.run.shapes) shapes.insert(parse_shape_arg(s));
    calib::ImageOptions io = o.run.image_options();
    graph::Model m = load_and_prepare(o.model, shapes, true);
    report::QuantizeSummary summary;
    if (const graph::Node* qn = quant::first_quantized_node(m)) {
        HQ_CHECK(o.requantize, "quantize: ", o.model, " is already quantized (",
                 qn->name.empty() && !qn->outputs.empty() ? qn->op_type + " of '" + qn->outputs[0] + "'" : qn->label(),
                 "); quantize the float model it came from, or give --requantize");
        // The float model it encodes becomes the source: calibration, the plan, the guard and the accuracy
        // figures all compare against it.
        const quant::Dequantized dq = quant::requantize_to_float(m);
        spdlog::info("--requantize: {} is already quantized; working from the float model it encodes ({})", o.model,
                     dq.summary());
        summary.notes.push_back("requantized: the source was already quantized; " + dq.summary() +
                                "; accuracy is measured against that dequantized float model");
    }
    const int64_t opset_in = m.opset("");
    // An FP16 model is calibrated and rewritten as float32 (its FP16 weights upcast, exactly); the written model
    // gets its float16 inputs/outputs back (Casts at the borders).
    const quant::Fp16Model fp16_in = quant::upcast_fp16(m);
    if (fp16_in.any())
        summary.notes.push_back("float16 model: " + std::to_string(fp16_in.weights) +
                                " float16 weights upcast to float32 for calibration and the rewrite; " +
                                std::to_string(fp16_in.inputs.size() + fp16_in.outputs.size()) +
                                " float16 inputs/outputs kept (Cast at each)");
    std::vector<std::string> equalized;
    if (o.equalize || (!o.plan_in.empty() && quant::Plan::from_json(read_file(o.plan_in), o.plan_in).equalization)) {
        HQ_CHECK(o.calib.empty(), "--equalize changes activation ranges: calibrate with --data, not a --calib table");
        equalized = quant::cross_layer_equalize(m);
        summary.notes.push_back("cross-layer equalization: " + std::to_string(equalized.size()) + " Conv pairs");
    }
    const std::string fingerprint = calib::model_fingerprint(o.model);
    auto backends = select_devices(o.run);  // calibration splits samples across every device
    const auto& backend = backends.front();

    // Calibration: a table made for this model, or calibrate now.
    calib::CalibrationTable table;
    std::optional<calib::DataSource> data;
    if (!o.data.empty()) data.emplace(o.data, m.graph.inputs, io);
    // The guard's samples: --eval-data, else the last quarter (at most 16) of --data, held out of calibration.
    std::optional<calib::DataSource> guard_eval;
    std::string guard_source;
    if (o.guard_sqnr > 0) {
        if (!o.eval_data.empty()) {
            guard_eval.emplace(o.eval_data, m.graph.inputs, io);
            guard_source = o.eval_data;
        } else if (data && o.calib.empty() && data->size() >= 4) {
            const size_t n = data->size(), h = std::min<size_t>(16, std::max<size_t>(1, n / 4));
            guard_eval = data->slice(n - h, n);
            *data = data->slice(0, n - h);
            guard_source = o.data + " (last " + std::to_string(h) + " samples, held out of calibration)";
        }
    }
    if (o.smooth) {
        HQ_CHECK(o.calib.empty() && data, "--smooth measures activations and changes the graph before calibrating: "
                 "calibrate with --data, not a --calib table");
        auto want = quant::smooth_candidates(m);
        quant::FeatureAbsMax absmax;
        if (!want.empty()) {
            exec::Executor ex(m, *backend);
            absmax = calib::feature_absmax(ex, *data, want, o.samples);
        }
        auto smoothed = quant::smooth_quant(m, absmax, o.smooth_alpha);
        spdlog::info("SmoothQuant (alpha {:.2f}): {} of {} MatMul/Gemm inputs had outlier features and were smoothed",
                     o.smooth_alpha, smoothed.size(), want.size());
        summary.notes.push_back("SmoothQuant: " + std::to_string(smoothed.size()) + " activations");
    }
    if (!o.calib.empty()) {
        table = calib::CalibrationTable::read(o.calib);
        HQ_CHECK(table.fingerprint == fingerprint, o.calib, ": calibration table is for another model (fingerprint ",
                 table.fingerprint, ", ", o.model, " has ", fingerprint, ")");
    } else {
        calib::CalibrateOptions co;
        co.method = o.method.empty() || o.method == "auto" ? calib::Method::MinMax : calib::parse_method(o.method);
        co.percentile = o.percentile;
        co.max_samples = o.samples;
        // Under mpirun/srun each rank calibrates its block of the samples; every rank gets the merged table.
        co.distributed = co.share_result = true;
        table = calib::calibrate(m, backends, *data, co);
        table.model = o.model;
        table.fingerprint = fingerprint;
    }
    const bool auto_method = o.method == "auto";
    calib::Method method = o.method.empty() || auto_method ? table.method : calib::parse_method(o.method);
    std::map<std::string, std::pair<float, float>> ranges, observed;
    for (const auto& [name, h] : table.tensors) {
        if (h.empty()) continue;
        calib::Range r = calib::compute_range(h, method, o.percentile);
        ranges[name] = {r.lo, r.hi};
        observed[name] = {h.min(), h.max()};
    }

    graph::upgrade_opset(m, std::max<int64_t>(13, opset_in));

    // The plan: from --plan, else from --precision/--exclude (and sensitivity for mixed).
    quant::Plan plan;
    if (!o.plan_in.empty()) {
        plan = quant::Plan::from_json(read_file(o.plan_in), o.plan_in);
        for (const auto& l : plan.layers)  // a layer may lie inside a subgraph
            HQ_CHECK(graph::find_node_anywhere(m, l.node), o.plan_in, ": node '", l.node, "' is not in the model");
        HQ_CHECK(o.target.empty() || plan.target.empty() || plan.target == o.target, o.plan_in, ": plan is for target '",
                 plan.target, "', not --target ", o.target);
        if (plan.target.empty()) plan.target = o.target.empty() ? quant::default_target().name : o.target;
    }
    const quant::Target& target = quant::find_target(!o.plan_in.empty() ? plan.target
                                                     : o.target.empty() ? quant::default_target().name : o.target);
    if (o.plan_in.empty()) {
        plan = quant::initial_plan(m, precision, o.exclude, target.activation_matmul);
        plan.target = target.name;
        const std::string act_default = target.int8_activations ? "int8" : "uint8";
        plan.activation_type = o.activation_type.empty() ? act_default : o.activation_type;
        plan.per_channel = !o.per_tensor;
        plan.reduce_range = o.reduce_range_given ? o.reduce_range : target.reduce_range;
        plan.min_sqnr_db = o.min_sqnr;
        if (!o.activation_type.empty() && o.activation_type != act_default)
            spdlog::info("target {}: --activation-type {} overrides its default {}", target.name, o.activation_type,
                         act_default);
        if (o.reduce_range_given && o.reduce_range != target.reduce_range)
            spdlog::info("target {}: {} overrides its default", target.name,
                         o.reduce_range ? "--reduce-range" : "--no-reduce-range");
    }
    spdlog::info("target: {} ({}; --target {} to change){}", target.name, target.engine,
                 [] {
                     std::string s;
                     for (const auto& n : quant::target_names()) s += (s.empty() ? "" : "|") + n;
                     return s;
                 }(),
                 o.plan_in.empty() ? "" : " from the plan");
    plan.model_fingerprint = fingerprint;
    if (o.plan_in.empty() && !ranges.empty()) {
        if (int n = quant::keep_uncalibrated_fp32(m, plan, ranges))
            spdlog::warn("{} layers kept in FP32: the calibration data never reached them (reasons in the plan)", n);
    }
    quant::QdqOptions qopt;
    qopt.int8_activations = plan.activation_type == "int8";
    qopt.per_channel = plan.per_channel;
    qopt.reduce_range = plan.reduce_range;
    qopt.target = target;
    if (auto_method) {
        auto ar = calib::choose_ranges_auto(m, plan, qopt, table, o.percentile, *data, *backend, o.auto_samples);
        for (const auto& [name, r] : ar.ranges) ranges[name] = r;
        std::string counts;
        for (const auto& [meth, c] : ar.counts) counts += (counts.empty() ? "" : ", ") + meth + " " + std::to_string(c);
        spdlog::info("range methods (auto, {} samples): {}", ar.samples, counts.empty() ? "no quantized tensors" : counts);
        summary.notes.push_back("range method per tensor (auto): " + (counts.empty() ? std::string("none") : counts));
        summary.range_methods = ar.method;
    }
    if (mixed && o.plan_in.empty()) {
        auto sens = calib::layer_sensitivity(m, plan, ranges, qopt, *data, *backend, o.sensitivity_samples, true);
        for (auto& l : plan.layers) {
            auto it = sens.find(l.node);
            if (it == sens.end()) continue;
            l.sensitivity_db = it->second;
            if (l.precision == quant::Precision::Fp32) continue;  // excluded
            char buf[128];
            bool ok = it->second >= o.min_sqnr;
            std::snprintf(buf, sizeof buf, "sensitivity %.1f dB %s %.1f dB", it->second, ok ? ">=" : "<", o.min_sqnr);
            l.precision = ok ? quant::Precision::Int8 : quant::Precision::Fp16;
            l.reason = buf;
        }
    }

    if (o.plan_in.empty()) {
        int moved = quant::apply_speed_rules(m, plan, target, qopt.int8_activations, &ranges);
        if (moved) spdlog::info("target {}: {} layers kept at {} where INT8 does not pay (reasons in the plan)",
                                target.name, moved, quant::precision_name(target.fallback));
    }
    if (o.plan_in.empty()) {
        plan.bias_correction = o.bias_correction;
        plan.equalization = o.equalize;
    }
    if (plan.bias_correction) {
        HQ_CHECK(data.has_value(), "--bias-correction needs --data (the activations' per-channel means)");
        std::set<std::string> inputs;
        for (const auto& n : m.graph.nodes) {
            const quant::LayerPlan* lp = plan.find(n.name);
            if (lp && lp->precision == quant::Precision::Int8) inputs.insert(n.input(0));
        }
        exec::Executor ex(m, *backend);
        auto means = calib::channel_means(ex, *data, inputs, o.samples, true);
        auto corrected = quant::correct_bias(m, plan, means, qopt);
        summary.notes.push_back("bias correction: " + std::to_string(corrected.size()) + " layers");
    }

    const bool whole_fp16 = precision == quant::Precision::Fp16 && !mixed;
    // What the reports and the final summary say about this run, for the plan `p`.
    auto fill_summary = [&](const quant::Plan& p) {
        summary.model = o.model;
        summary.output = o.out;
        summary.command = command_line();
        summary.method = auto_method ? "auto" : calib::method_name(method);
        summary.precision = o.precision;
        summary.activation_type = p.activation_type;
        summary.target = target.name;
        summary.engine = target.engine;
        summary.per_channel = p.per_channel;
        summary.calibration_samples = table.samples;
        summary.opset_in = opset_in;
        summary.opset_out = m.opset("");
        summary.plan = p;
        std::error_code fec;
        summary.bytes_in = fs::file_size(o.model, fec);
    };
    std::optional<calib::AccuracySummary> accuracy;
    if (o.max_drop) {
        HQ_CHECK(!o.eval_data.empty(), "--max-drop needs --eval-data DIR");
        HQ_CHECK(!whole_fp16, "--max-drop searches INT8/FP16 per layer: use --precision int8 or mixed");
        calib::DataSource eval(o.eval_data, m.graph.inputs, io);
        calib::EvaluateOptions eo;
        if (!o.labels.empty()) eo.labels = calib::read_labels(o.labels);
        eo.distributed = eo.share_result = true;  // every evaluation split over the ranks; all get the result
        if (!data) HQ_CHECK(std::all_of(plan.layers.begin(), plan.layers.end(),
                                        [](const quant::LayerPlan& l) { return l.sensitivity_db.has_value(); }),
                            "--max-drop ranks layers by sensitivity: give --data (or a --plan with sensitivities)");
        if (data && std::any_of(plan.layers.begin(), plan.layers.end(),
                                [](const quant::LayerPlan& l) { return !l.sensitivity_db; })) {
            auto sens = calib::layer_sensitivity(m, plan, ranges, qopt, *data, *backend, o.sensitivity_samples, true);
            for (auto& l : plan.layers)
                if (sens.count(l.node)) l.sensitivity_db = sens.at(l.node);
        }
        auto build = [&](const quant::Plan& p) {
            return calib::build_candidate(m, p, ranges, observed, qopt, false, o.exclude, nullptr, nullptr);
        };
        calib::BudgetResult br = calib::search_budget(m, plan, build, eval, eo, *o.max_drop, *backend);
        plan = br.plan;
        accuracy = br.summary;
        accuracy->kind = "quantize";
        accuracy->reference = o.model;
        accuracy->candidate = o.out;
        accuracy->data = o.eval_data;
        accuracy->labels = o.labels;
        accuracy->command = command_line();
        if (!br.met && !o.keep_best) {
            fill_summary(plan);
            int rc = 3;
            run_on_root([&] {
                print_accuracy(*accuracy);
                spdlog::error(
                    "accuracy budget {:.2f} cannot be met: best {} is {:.2f} (nothing written; --keep-best writes it)",
                    *o.max_drop, accuracy->budget_metric, accuracy->drop.value_or(0));
                if (!o.reports.empty()) write_all_reports(summary, o.reports, accuracy);
                rc = finish(o, summary, plan_out, false, !o.reports.empty(), accuracy, 3);
            });
            return rc;
        }
    }
    // The quality guard: every output of the candidate against the FP32 model on held-out samples.
    if (o.guard_sqnr <= 0) {
        summary.notes.push_back("quality guard disabled (--guard-sqnr 0)");
    } else if (whole_fp16) {
        summary.notes.push_back("quality guard not run for --precision fp16");
    } else if (!guard_eval) {
        spdlog::warn("guard: skipped: no held-out samples (give --eval-data DIR, or --data with at least 4 samples)");
        summary.notes.push_back("quality guard skipped: no held-out samples");
    } else {
        calib::GuardOptions go;
        go.min_sqnr_db = o.guard_sqnr;
        go.fallback = target.fallback;
        calib::EvaluateOptions geo;
        if (!o.eval_data.empty() && !o.labels.empty()) geo.labels = calib::read_labels(o.labels);
        geo.distributed = geo.share_result = true;
        auto build = [&](const quant::Plan& p) {
            return calib::build_candidate(m, p, ranges, observed, qopt, false, o.exclude, nullptr, nullptr);
        };
        calib::GuardResult gr = calib::run_guard(m, plan, build, *guard_eval, geo, go, *backend);
        for (const auto& out : gr.summary.outputs)
            spdlog::info("guard: output '{}': SQNR {:.1f} dB, cosine {:.4f} ({} held-out samples)", out.name,
                         out.sqnr_db, out.cosine, gr.summary.samples);
        if (!gr.met) {
            summary.guard = gr;
            summary.guard_data = guard_source;
            summary.guard_sqnr_db = o.guard_sqnr;
            fill_summary(gr.plan);
            int rc = 3;
            run_on_root([&] {
                spdlog::error("guard: output '{}' at {:.1f} dB < --guard-sqnr {:.1f} dB even with {} layers at {}; "
                              "nothing written (--guard-sqnr 0 disables the guard)",
                              gr.worst_output, gr.worst_sqnr_db, o.guard_sqnr, gr.moved.size(),
                              quant::precision_name(target.fallback));
                // The reports say why (for a CI comment); the model and plan are not written.
                if (!o.reports.empty()) write_all_reports(summary, o.reports, accuracy);
                rc = finish(o, summary, plan_out, false, !o.reports.empty(), accuracy, 3);
            });
            return rc;
        }
        if (!gr.moved.empty())
            spdlog::info("guard: moved {} layers to {} (worst output {:.1f} -> {:.1f} dB); reasons in the plan",
                         gr.moved.size(), moved_precisions(gr), gr.initial_worst_sqnr_db,
                         gr.worst_sqnr_db);
        plan = gr.plan;
        summary.guard = gr;
        summary.guard_data = guard_source;
        summary.guard_sqnr_db = o.guard_sqnr;
    }
    m = calib::build_candidate(m, plan, ranges, observed, qopt, whole_fp16, o.exclude, &summary.fp16_kept_fp32, &summary.qdq);
    quant::restore_fp16_io(m, fp16_in);

    // Provenance in the model.
    m.producer_name = "hyquant";
    m.producer_version = HYQUANT_VERSION;
    nlohmann::ordered_json meta{{"version", HYQUANT_VERSION},       {"command", command_line()},
                                {"calibration_fingerprint", fingerprint}, {"calibration_method", auto_method ? std::string("auto") : calib::method_name(method)},
                                {"precision", o.precision},           {"target", plan.target},
                                {"activation_type", plan.activation_type},
                                {"per_channel", plan.per_channel}, {"reduce_range", plan.reduce_range},
                                {"bias_correction", plan.bias_correction}, {"equalization", plan.equalization}, {"smooth_quant", o.smooth}};
    m.set_metadata("hyquant", meta.dump());

    fill_summary(plan);
    // Rank 0 alone checks and writes (atomically; the others wait for it and share its verdict), prints the
    // accuracy and the summary.
    int rc = 0;
    run_on_root([&] {
        std::error_code ec;
        onnx_io::check_model(m, o.out + " (model being written)");
        Cleanup cleanup;
        write_file_atomic(plan_out, plan.to_json());
        cleanup.files.push_back(plan_out);
        onnx_io::save_model(m, o.out);
        cleanup.files.push_back(o.out);
        summary.bytes_out = fs::file_size(o.out, ec);
        if (!o.reports.empty()) write_all_reports(summary, o.reports, accuracy);
        cleanup.armed = false;
        if (accuracy) {
            print_accuracy(*accuracy);
            if (!accuracy->budget_ok) {
                spdlog::error("accuracy budget {:.2f} not met; wrote the best plan found (--keep-best)", *o.max_drop);
                log_backend_summary(backends);
                rc = finish(o, summary, plan_out, true, !o.reports.empty(), accuracy, 3);
                return;
            }
        }
        log_backend_summary(backends);
        rc = finish(o, summary, plan_out, true, !o.reports.empty(), accuracy, 0);
    });
    // Every rank ends with rank 0's code (3 only with --keep-best: the budget verdict is the same on every rank).
    return accuracy && !accuracy->budget_ok ? 3 : rc;
}

}  // namespace

void add_quantize(CLI::App& app, Action& action) {
    auto* cmd = app.add_subcommand("quantize", "Quantize a model to INT8 (QDQ), FP16 or mixed precision");
    auto o = std::make_shared<Opts>();
    cmd->add_option("MODEL", o->model, "ONNX model file")->required();
    cmd->add_option("-o,--output", o->out, "Quantized model to write")->required();
    cmd->add_option("--calib", o->calib, "Calibration table from `hyquant calibrate`");
    cmd->add_option("--data", o->data, "Calibration data folder (calibrates now; needed by --precision mixed)");
    cmd->add_option("--method", o->method, "Range method: auto|minmax|percentile|entropy|mse; auto picks per tensor the range with the least error at "
                    "the layer's output (default: the table's, else minmax)");
    cmd->add_option("--auto-samples", o->auto_samples, "--method auto: calibration samples it measures on (default 8)");
    cmd->add_option("--percentile", o->percentile, "Percentile for --method percentile (default 99.99)");
    cmd->add_option("--samples", o->samples, "Calibrate on at most N samples");
    cmd->add_option("--precision", o->precision, "int8|fp16|mixed (default int8)")
        ->check(CLI::IsMember({"int8", "fp16", "mixed"}));
    cmd->add_flag("--per-tensor", o->per_tensor, "One weight scale per tensor instead of per output channel");
    auto* rr = cmd->add_flag("--reduce-range,!--no-reduce-range", o->reduce_range,
                             "7-bit weights (default: the target's): avoids int16 saturation in ONNX Runtime's x86 CPU "
                             "int8 kernels without VNNI");
    cmd->add_option("--target", o->target, "Engine that will run the model: dcu (default, MIGraphX), ort-cpu, tensorrt, "
                                           "generic; decides Q/DQ placement, activation type and fallback precision");
    cmd->add_option("--activation-type", o->activation_type,
                    "uint8 (asymmetric) or int8 (symmetric); default: the target's (int8 for dcu, uint8 for ort-cpu)");
    cmd->add_flag("--bias-correction", o->bias_correction,
                  "Correct INT8 biases for the weights' quantization error: b -= (Wq - W) E[x] (needs --data)");
    cmd->add_flag("--equalize", o->equalize,
                  "Cross-layer equalization of Conv->[Relu]->Conv pairs before calibrating (needs --data)");
    cmd->add_flag("--smooth", o->smooth,
                  "SmoothQuant: move outlier features of MatMul/Gemm inputs into their weights before calibrating "
                  "(needs --data)");
    cmd->add_option("--smooth-alpha", o->smooth_alpha, "--smooth: migration strength in [0, 1] (default 0.5)");
    cmd->add_option("--exclude", o->exclude, "Keep these nodes (names or op types) in FP32; repeatable");
    cmd->add_option("--plan", o->plan_in, "Apply this precision plan (JSON written by an earlier run)");
    cmd->add_option("--plan-out", o->plan_out, "Where to write the plan used (default: OUT with .plan.json)");
    cmd->add_option("--min-sqnr", o->min_sqnr, "mixed: INT8 where a layer's sensitivity is at least this (dB, default 30)");
    cmd->add_option("--sensitivity-samples", o->sensitivity_samples, "mixed: samples used to measure sensitivity (default 16)");
    cmd->add_option("--max-drop", o->max_drop, "Accuracy budget in points: search per-layer precision to stay within it");
    cmd->add_option("--eval-data", o->eval_data, "Evaluation data folder for --max-drop and the quality guard");
    cmd->add_option("--guard-sqnr", o->guard_sqnr,
                    "Quality guard: every output must keep this SQNR (dB) vs FP32 on held-out samples, else the worst "
                    "layers move to the target's fallback precision, or exit 3 (default 12; 0 disables)");
    cmd->add_option("--labels", o->labels, "Labels of --eval-data: one integer class per line, in sample order");
    cmd->add_flag("--requantize", o->requantize,
                  "The model is already quantized (QDQ, QLinear*, dynamic): dequantize it to the float model it "
                  "encodes and quantize that again (without it such a model is refused, exit 2)");
    cmd->add_flag("--json", o->json, "Also print the summary as JSON on stdout (on exit 3 too)");
    cmd->add_flag("--keep-best", o->keep_best, "With --max-drop: write the best model even when the budget is not met");
    cmd->add_option("--report", o->reports, "Write a report: R.json, R.md or R.html (with --max-drop); repeatable");
    add_run_options(cmd, o->run);
    cmd->callback([&action, o, rr] {
        o->reduce_range_given = rr->count() > 0;
        action = [o] { return run_quantize(*o); };
    });
}

}  // namespace hq::app
