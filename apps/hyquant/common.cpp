#include <spdlog/spdlog.h>

#include "apps/hyquant/commands.h"
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
