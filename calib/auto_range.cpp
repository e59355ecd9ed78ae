#include "calib/auto_range.h"

#include <array>
#include <cmath>
#include <limits>

#include "core/progress.h"
#include "exec/executor.h"
#include "quant/params.h"
#include "quant/placement.h"

namespace hq::calib {

namespace {

const Method kMethods[] = {Method::MinMax, Method::Percentile, Method::Entropy, Method::Mse};
constexpr int kNumMethods = 4;

bool weighted_op(const std::string& op) {
    return op == "Conv" || op == "ConvTranspose" || op == "Gemm" || op == "MatMul";
}

double squared_error(const Tensor& a, const Tensor& b) {
    const float* x = a.data<float>();
    const float* y = b.data<float>();
    double s = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
        const double d = (double)x[i] - (double)y[i];
        if (std::isfinite(d)) s += d * d;
    }
    return s;
}

}  // namespace

Tensor fake_quantize(const Tensor& x, float lo, float hi, bool int8_symmetric) {
    HQ_CHECK(x.dtype() == DType::F32, "fake_quantize: tensor is ", dtype_name(x.dtype()), ", not float32");
    const quant::ActParams p = quant::activation_params(lo, hi, int8_symmetric);
    const float qmin = p.is_signed ? -127.0f : 0.0f, qmax = p.is_signed ? 127.0f : 255.0f;
    const float zp = (float)p.zero_point, inv = 1.0f / p.scale;
    Tensor out(DType::F32, x.shape());
    const float* a = x.data<float>();
    float* o = out.data<float>();
    for (int64_t i = 0; i < x.numel(); ++i) {
        float q = std::nearbyint(a[i] * inv) + zp;  // round half to even, as QuantizeLinear
        if (std::isnan(a[i])) q = zp;
        q = std::min(qmax, std::max(qmin, q));
        o[i] = (q - zp) * p.scale;
    }
    return out;
}

AutoRanges choose_ranges_auto(const graph::Model& model, const quant::Plan& plan, const quant::QdqOptions& qopt,
                              const CalibrationTable& table, double percentile, const DataSource& data,
                              const exec::Backend& backend, int64_t max_samples) {
    AutoRanges res;
    // Candidates per tensor; minmax for everything to start with (and for what the placement leaves alone).
    std::map<std::string, std::vector<Range>> cand;
    quant::RangeMap minmax;
    for (const auto& [name, h] : table.tensors) {
        if (h.empty()) continue;
        std::vector<Range> c;
        for (Method m : kMethods) c.push_back(compute_range(h, m, percentile));
        res.ranges[name] = {c[0].lo, c[0].hi};
        minmax[name] = res.ranges[name];
        cand[name] = std::move(c);
    }
    const quant::Placement placement =
        quant::place_qdq(model, plan, qopt.target, qopt.int8_activations, qopt.skip, &minmax);
    const auto& g = model.graph;
    const auto consumers = g.consumers();

    // Per quantized tensor: whose range it uses and the readers its error is measured at.
    struct Watch {
        std::string params_from;
        std::vector<const graph::Node*> readers;  // weighted layers; empty: the tensor's own error
    };
    std::map<std::string, Watch> watch;
    for (const auto& pr : placement.pairs) {
        if (!cand.count(pr.params_from)) continue;
        Watch w;
        w.params_from = pr.params_from;
        auto it = consumers.find(pr.tensor);
        if (it != consumers.end()) {
            for (size_t ni : it->second) {
                const graph::Node& n = g.nodes[ni];
                if (!pr.all_consumers && !pr.consumers.count(n.name)) continue;
                if (!weighted_op(n.op_type) || n.inputs.empty() || n.input(0) != pr.tensor) continue;
                bool constant = true;
                for (size_t i = 1; i < n.inputs.size(); ++i)
                    if (!n.inputs[i].empty() && !g.is_initializer(n.inputs[i])) constant = false;
                if (constant) w.readers.push_back(&n);
            }
        }
        watch[pr.tensor] = std::move(w);
    }
    if (watch.empty()) return res;

    // error[params tensor][method], summed over samples and readers.
    std::map<std::string, std::array<double, kNumMethods>> error;
    for (const auto& [t, w] : watch) error[w.params_from].fill(0.0);

    const int64_t opset = model.opset("");
    auto run_node = [&](const graph::Node& n, const Tensor& x) {
        exec::KernelContext ctx(n, n.domain.empty() || n.domain == "ai.onnx" ? opset : model.opset(n.domain));
        ctx.inputs.push_back(&x);
        for (size_t i = 1; i < n.inputs.size(); ++i)
            ctx.inputs.push_back(n.inputs[i].empty() ? nullptr : &g.initializers.at(n.inputs[i]));
        backend.run(ctx);
        return ctx.outputs[0];
    };

    const int64_t n = std::min<int64_t>((int64_t)data.size(), std::max<int64_t>(1, max_samples));
    exec::Executor ex(model, backend);
    Progress progress("range methods (auto)", n);
    for (int64_t s = 0; s < n; ++s) {
        Sample sample = data.load((size_t)s);
        auto observe = [&](const std::string& value, const Tensor& x) {
            auto wi = watch.find(value);
            if (wi == watch.end() || x.dtype() != DType::F32) return;
            const Watch& w = wi->second;
            const auto& c = cand.at(w.params_from);
            std::vector<Tensor> ref;
            for (const graph::Node* r : w.readers) ref.push_back(run_node(*r, x));
            auto& err = error[w.params_from];
            for (int m = 0; m < kNumMethods; ++m) {
                // Identical ranges give identical errors: measure once.
                int same = -1;
                for (int k = 0; k < m; ++k)
                    if (c[k].lo == c[m].lo && c[k].hi == c[m].hi) same = k;
                if (same >= 0) {
                    err[m] = std::numeric_limits<double>::infinity();  // never chosen over its twin
                    continue;
                }
                const Tensor xq = fake_quantize(x, c[m].lo, c[m].hi, qopt.int8_activations);
                if (w.readers.empty()) {
                    err[m] += squared_error(xq, x);
                } else {
                    for (size_t r = 0; r < w.readers.size(); ++r) err[m] += squared_error(run_node(*w.readers[r], xq), ref[r]);
                }
            }
        };
        // Graph inputs are no node's output: the executor's observer does not see them.
        for (const auto& [name, x] : sample.inputs) observe(name, x);
        ex.run(sample.inputs, [&](const std::string& value, const Tensor& x, const graph::Node&) { observe(value, x); });
        progress.tick();
    }
    progress.finish();
    res.samples = n;
    for (const auto& [p, err] : error) {
        int best = 0;
        for (int m = 1; m < kNumMethods; ++m)
            if (err[m] < err[best]) best = m;  // ties: the earlier (simpler) method
        const Range& r = cand.at(p)[best];
        res.ranges[p] = {r.lo, r.hi};
        res.method[p] = method_name(kMethods[best]);
        res.counts[res.method[p]]++;
    }
    return res;
}

}  // namespace hq::calib
