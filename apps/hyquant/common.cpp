#include <spdlog/spdlog.h>

#include <cstdio>

#include "apps/hyquant/commands.h"

#include "dist/dist.h"
#include "core/error.h"
#include "exec/cpu/cpu_backend.h"
#include "graph/passes.h"
#include "onnx_io/onnx_io.h"

namespace hq::app {

static std::string g_cmdline;

void set_command_line(int argc, char** argv) {
    g_cmdline.clear();
    for (int i = 0; i < argc; ++i) {
        if (i) g_cmdline += ' ';
        g_cmdline += argv[i];
    }
}
std::string command_line() { return g_cmdline; }

void run_on_root(const std::function<void()>& fn) {
    if (dist::size() == 1) return fn();
    std::optional<dist::Failure> failure;
    if (dist::is_root()) {
        try {
            fn();
        } catch (const Error& e) {
            failure = dist::Failure{0, e.exit_code(), e.what()};
        }
    }
    dist::agree_or_throw(failure);
}

void print_json(const Json& summary) {
    std::string s = summary.dump(2) + "\n";
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

std::string join_list(const std::vector<std::string>& items) {
    std::string r;
    for (const auto& s : items) r += (r.empty() ? "" : ", ") + s;
    return r;
}

std::string accuracy_clause(const calib::AccuracySummary& s) {
    if (s.reference_accuracy && s.candidate_accuracy)
        return fmt::format("accuracy {:.2f}% -> {:.2f}% (drop {:.2f} points)", *s.reference_accuracy,
                           *s.candidate_accuracy, *s.reference_accuracy - *s.candidate_accuracy);
    for (const auto& o : s.outputs)
        if (o.top1_agreement) return fmt::format("top-1 agreement {:.2f}% (output '{}')", *o.top1_agreement, o.name);
    const calib::OutputMetrics* worst = nullptr;
    for (const auto& o : s.outputs)
        if (!worst || o.sqnr_db < worst->sqnr_db) worst = &o;
    return worst ? fmt::format("output SQNR {:.1f} dB (worst: '{}')", worst->sqnr_db, worst->name)
                 : std::string("no outputs compared");
}

Json accuracy_summary_json(const calib::AccuracySummary& s) {
    Json j;
    j["samples"] = s.samples;
    Json outs = Json::array();
    for (const auto& o : s.outputs)
        outs.push_back(Json{{"name", o.name},
                            {"cosine", o.cosine},
                            {"sqnr_db", o.sqnr_db},
                            {"max_abs", o.max_abs},
                            {"mean_abs", o.mean_abs},
                            {"top1_agreement", o.top1_agreement ? Json(*o.top1_agreement) : Json(nullptr)}});
    j["outputs"] = outs;
    j["accuracy"] = s.reference_accuracy && s.candidate_accuracy
                        ? Json{{"reference", *s.reference_accuracy},
                               {"candidate", *s.candidate_accuracy},
                               {"drop_points", *s.reference_accuracy - *s.candidate_accuracy}}
                        : Json(nullptr);
    j["budget"] = Json{{"metric", s.budget_metric},
                       {"drop", s.drop ? Json(*s.drop) : Json(nullptr)},
                       {"max_drop", s.max_drop ? Json(*s.max_drop) : Json(nullptr)},
                       {"ok", s.budget_ok}};
    return j;
}

std::pair<std::string, Shape> parse_shape_arg(const std::string& s) {
    auto eq = s.rfind('=');
    HQ_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < s.size(), "--shape '", s,
             "': expected NAME=DIMxDIMx... (e.g. x=1x3x224x224)");
    Shape shape;
    std::string dims = s.substr(eq + 1);
    size_t p = 0;
    while (p <= dims.size()) {
        size_t q = dims.find_first_of("x,", p);
        if (q == std::string::npos) q = dims.size();
        std::string d = dims.substr(p, q - p);
        HQ_CHECK(!d.empty() && d.size() < 12 && d.find_first_not_of("0123456789") == std::string::npos, "--shape '",
                 s, "': '", d, "' is not a dimension");
        shape.push_back(std::stoll(d));
        p = q + 1;
    }
    return {s.substr(0, eq), shape};
}

graph::Model load_and_prepare(const std::string& path, const std::map<std::string, Shape>& shapes, bool run_passes) {
    graph::Model m = onnx_io::load_model(path);
    for (const auto& [name, shape] : shapes) {
        bool found = false;
        for (auto& in : m.graph.inputs) {
            if (in.name != name) continue;
            found = true;
            HQ_CHECK(!in.has_shape || in.dims.size() == shape.size(), path, ": --shape ", name, "=", shape_str(shape),
                     " has rank ", shape.size(), " but input '", name, "' has shape ", in.shape_str());
            for (size_t d = 0; in.has_shape && d < shape.size(); ++d)
                HQ_CHECK(!in.dims[d].known() || in.dims[d].value == shape[d], path, ": --shape ", name, "=",
                         shape_str(shape), " contradicts input shape ", in.shape_str());
            in.has_shape = true;
            in.dims.clear();
            for (int64_t d : shape) in.dims.push_back(graph::Dim{d, ""});
        }
        HQ_CHECK(found, path, ": --shape names '", name, "', which is not an input of the model");
    }
    onnx_io::infer_shapes(m);
    if (!run_passes) {
        // Shapes behind Shape->Gather->Concat->Reshape chains: fold constants on a copy, infer there,
        // and take the shapes back (names are kept by constant folding), leaving the graph as loaded.
        graph::Model folded = m;
        graph::PassContext ctx;
        ctx.evaluate = exec::cpu::evaluate_node;
        if (graph::fold_constants(folded, ctx)) {
            onnx_io::infer_shapes(folded);
            for (const auto& [name, vi] : folded.graph.value_info) {
                auto it = m.graph.value_info.find(name);
                if (it == m.graph.value_info.end() || !it->second.static_shape()) m.graph.value_info[name] = vi;
            }
            for (size_t i = 0; i < m.graph.outputs.size(); ++i)
                if (!m.graph.outputs[i].static_shape() && folded.graph.outputs[i].has_shape)
                    m.graph.outputs[i] = folded.graph.outputs[i];
        }
    } else {
        graph::PassContext ctx;
        ctx.evaluate = exec::cpu::evaluate_node;
        graph::run_pipeline(m, ctx);
        onnx_io::infer_shapes(m);
    }
    return m;
}

}  // namespace hq::app
