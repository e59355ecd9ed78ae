// CPU recurrent kernels (RNN, GRU, LSTM) against a naive per-step, per-sequence reference written here from the ONNX
// operator docs: bidirectional with sequence_lens shorter than the sequence, layout 1 = layout 0 transposed, clip,
// activations with alpha/beta, GRU linear_before_reset, LSTM peepholes and input_forget, unsupported attributes.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "exec/cpu/cpu_backend.h"
#include "tests/unit/builder.h"

using namespace hq;
using namespace hq::test;

namespace {

graph::Attribute attr_strs(std::vector<std::string> v) {
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Strings;
    a.strings = std::move(v);
    return a;
}
graph::Attribute attr_fs(std::vector<float> v) {
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Floats;
    a.floats = std::move(v);
    return a;
}

struct RefAct {
    std::string name;
    double alpha = 0, beta = 0;
    double operator()(double x) const {
        if (name == "Tanh") return std::tanh(x);
        if (name == "Sigmoid") return 1 / (1 + std::exp(-x));
        if (name == "Relu") return x > 0 ? x : 0;
        if (name == "LeakyRelu") return x >= 0 ? x : alpha * x;
        if (name == "HardSigmoid") return std::max(0.0, std::min(1.0, alpha * x + beta));
        if (name == "ScaledTanh") return alpha * std::tanh(beta * x);
        if (name == "Affine") return alpha * x + beta;
        if (name == "Elu") return x >= 0 ? x : alpha * (std::exp(x) - 1);
        if (name == "Softsign") return x / (1 + std::fabs(x));
        if (name == "Softplus") return std::log(1 + std::exp(x));
        if (name == "ThresholdedRelu") return x > alpha ? x : 0;
        FAIL("unknown activation " << name);
        return 0;
    }
};

struct Case {
    std::string op = "LSTM";
    int64_t seq = 5, batch = 3, in = 4, hidden = 3, nd = 2;
    std::string direction = "bidirectional";
    std::vector<int64_t> lens;  // empty: no sequence_lens input
    bool bias = true, init_h = true, init_c = true, peep = true;
    float clip = 0;
    bool lbr = false, input_forget = false;
    std::vector<RefAct> acts;  // per direction list (acts_per_dir * nd); empty: defaults
    uint32_t seed = 1;
};

int64_t gates(const std::string& op) { return op == "RNN" ? 1 : op == "GRU" ? 3 : 4; }

struct Data {
    Tensor x, w, r, b, sl, h0, c0, p;
};

Data make_data(const Case& k) {
    const int64_t G = gates(k.op);
    Data d;
    d.x = random_tensor({k.seq, k.batch, k.in}, k.seed, -2, 2);
    d.w = random_tensor({k.nd, G * k.hidden, k.in}, k.seed + 1);
    d.r = random_tensor({k.nd, G * k.hidden, k.hidden}, k.seed + 2);
    if (k.bias) d.b = random_tensor({k.nd, 2 * G * k.hidden}, k.seed + 3);
    if (!k.lens.empty()) d.sl = typed<int32_t>({k.batch}, std::vector<int32_t>(k.lens.begin(), k.lens.end()));
    if (k.init_h) d.h0 = random_tensor({k.nd, k.batch, k.hidden}, k.seed + 4);
    if (k.op == "LSTM" && k.init_c) d.c0 = random_tensor({k.nd, k.batch, k.hidden}, k.seed + 5);
    if (k.op == "LSTM" && k.peep) d.p = random_tensor({k.nd, 3 * k.hidden}, k.seed + 6);
    return d;
}

std::vector<RefAct> default_acts(const Case& k) {
    std::vector<RefAct> one = k.op == "RNN"   ? std::vector<RefAct>{{"Tanh"}}
                              : k.op == "GRU" ? std::vector<RefAct>{{"Sigmoid"}, {"Tanh"}}
                                              : std::vector<RefAct>{{"Sigmoid"}, {"Tanh"}, {"Tanh"}};
    std::vector<RefAct> all;
    for (int64_t d = 0; d < k.nd; ++d) all.insert(all.end(), one.begin(), one.end());
    return all;
}

// Naive reference: every (direction, batch) sequence on its own, double precision, layout 0.
// Returns Y [seq, nd, batch, H], Y_h and Y_c [nd, batch, H] as flat vectors.
void reference(const Case& k, const Data& dt, std::vector<double>& y, std::vector<double>& yh, std::vector<double>& yc) {
    const int64_t G = gates(k.op), H = k.hidden, per = k.op == "RNN" ? 1 : k.op == "GRU" ? 2 : 3;
    const std::vector<RefAct> acts = k.acts.empty() ? default_acts(k) : k.acts;
    y.assign(k.seq * k.nd * k.batch * H, 0.0);
    yh.assign(k.nd * k.batch * H, 0.0);
    yc.assign(k.nd * k.batch * H, 0.0);
    auto X = [&](int64_t t, int64_t b, int64_t i) { return (double)dt.x.data<float>()[(t * k.batch + b) * k.in + i]; };
    auto clp = [&](double v) { return k.clip > 0 ? std::max<double>(-k.clip, std::min<double>(k.clip, v)) : v; };
    for (int64_t d = 0; d < k.nd; ++d) {
        const bool rev = k.direction == "reverse" || d == 1;
        const RefAct* a = &acts[d * per];
        auto Wrow = [&](int64_t row) { return dt.w.data<float>() + (d * G * H + row) * k.in; };
        auto Rrow = [&](int64_t row) { return dt.r.data<float>() + (d * G * H + row) * H; };
        auto Wb = [&](int64_t row) { return dt.b.empty() ? 0.0 : (double)dt.b.data<float>()[d * 2 * G * H + row]; };
        auto Rb = [&](int64_t row) {
            return dt.b.empty() ? 0.0 : (double)dt.b.data<float>()[d * 2 * G * H + G * H + row];
        };
        for (int64_t b = 0; b < k.batch; ++b) {
            std::vector<double> h(H, 0.0), c(H, 0.0);
            if (!dt.h0.empty())
                for (int64_t j = 0; j < H; ++j) h[j] = dt.h0.data<float>()[(d * k.batch + b) * H + j];
            if (!dt.c0.empty())
                for (int64_t j = 0; j < H; ++j) c[j] = dt.c0.data<float>()[(d * k.batch + b) * H + j];
            const int64_t L = k.lens.empty() ? k.seq : k.lens[b];
            for (int64_t step = 0; step < L; ++step) {
                const int64_t t = rev ? L - 1 - step : step;
                auto xw = [&](int64_t row) {
                    double s = Wb(row);
                    for (int64_t i = 0; i < k.in; ++i) s += X(t, b, i) * Wrow(row)[i];
                    return s;
                };
                auto hr = [&](int64_t row, const std::vector<double>& hv) {
                    double s = 0;
                    for (int64_t i = 0; i < H; ++i) s += hv[i] * Rrow(row)[i];
                    return s;
                };
                std::vector<double> hn(H);
                if (k.op == "RNN") {
                    for (int64_t j = 0; j < H; ++j) hn[j] = a[0](clp(xw(j) + hr(j, h) + Rb(j)));
                } else if (k.op == "GRU") {
                    std::vector<double> z(H), r(H), rh(H);
                    for (int64_t j = 0; j < H; ++j) {
                        z[j] = a[0](clp(xw(j) + hr(j, h) + Rb(j)));
                        r[j] = a[0](clp(xw(H + j) + hr(H + j, h) + Rb(H + j)));
                        rh[j] = r[j] * h[j];
                    }
                    for (int64_t j = 0; j < H; ++j) {
                        const double pre = k.lbr ? xw(2 * H + j) + r[j] * (hr(2 * H + j, h) + Rb(2 * H + j))
                                                 : xw(2 * H + j) + hr(2 * H + j, rh) + Rb(2 * H + j);
                        const double hh = a[1](clp(pre));
                        hn[j] = (1 - z[j]) * hh + z[j] * h[j];
                    }
                } else {
                    auto P = [&](int64_t row) { return dt.p.empty() ? 0.0 : (double)dt.p.data<float>()[d * 3 * H + row]; };
                    std::vector<double> cn(H);
                    for (int64_t j = 0; j < H; ++j) {
                        const double i = a[0](clp(xw(j) + hr(j, h) + Rb(j) + P(j) * c[j]));
                        const double f = k.input_forget ? 1 - i
                                                        : a[0](clp(xw(2 * H + j) + hr(2 * H + j, h) + Rb(2 * H + j) +
                                                                   P(2 * H + j) * c[j]));
                        const double g = a[1](clp(xw(3 * H + j) + hr(3 * H + j, h) + Rb(3 * H + j)));
                        cn[j] = f * c[j] + i * g;
                        const double o = a[0](clp(xw(H + j) + hr(H + j, h) + Rb(H + j) + P(H + j) * cn[j]));
                        hn[j] = o * a[2](cn[j]);
                    }
                    c = cn;
                }
                h = hn;
                for (int64_t j = 0; j < H; ++j) y[((t * k.nd + d) * k.batch + b) * H + j] = h[j];
            }
            for (int64_t j = 0; j < H; ++j) {
                yh[(d * k.batch + b) * H + j] = h[j];
                yc[(d * k.batch + b) * H + j] = c[j];
            }
        }
    }
}

graph::Node make_node(const Case& k, int64_t layout = 0) {
    std::map<std::string, graph::Attribute> at{{"hidden_size", attr_i(k.hidden)}, {"direction", attr_s(k.direction)}};
    if (layout) at["layout"] = attr_i(layout);
    if (k.clip > 0) at["clip"] = attr_f(k.clip);
    if (k.op == "GRU" && k.lbr) at["linear_before_reset"] = attr_i(1);
    if (k.op == "LSTM" && k.input_forget) at["input_forget"] = attr_i(1);
    if (!k.acts.empty()) {
        std::vector<std::string> names;
        std::vector<float> al, be;
        for (const RefAct& a : k.acts) {
            names.push_back(a.name);
            if (a.name == "LeakyRelu" || a.name == "ThresholdedRelu" || a.name == "Elu") al.push_back((float)a.alpha);
            if (a.name == "HardSigmoid" || a.name == "ScaledTanh" || a.name == "Affine") {
                al.push_back((float)a.alpha);
                be.push_back((float)a.beta);
            }
        }
        at["activations"] = attr_strs(names);
        if (!al.empty()) at["activation_alpha"] = attr_fs(al);
        if (!be.empty()) at["activation_beta"] = attr_fs(be);
    }
    const bool lstm = k.op == "LSTM";
    std::vector<std::string> ins{"x", "w", "r", k.bias ? "b" : "", k.lens.empty() ? "" : "sl", k.init_h ? "h0" : ""};
    if (lstm) {
        ins.push_back(k.init_c ? "c0" : "");
        ins.push_back(k.peep ? "p" : "");
    }
    std::vector<std::string> outs{"y", "yh"};
    if (lstm) outs.push_back("yc");
    return node(k.op, ins, outs, "", at);
}

std::vector<Tensor> inputs_of(const Case& k, const Data& d) {
    std::vector<Tensor> v{d.x, d.w, d.r, d.b, d.sl, d.h0};
    if (k.op == "LSTM") {
        v.push_back(d.c0);
        v.push_back(d.p);
    }
    return v;
}

void check_close(const Tensor& got, const std::vector<double>& want, const char* what, double tol = 2e-5) {
    REQUIRE(got.numel() == (int64_t)want.size());
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(got.data<float>()[i] - want[i]));
    INFO(what << " max abs diff " << worst);
    CHECK(worst <= tol);
}

void run_against_reference(const Case& k) {
    Data d = make_data(k);
    std::vector<double> y, yh, yc;
    reference(k, d, y, yh, yc);
    auto r = eval(make_node(k), inputs_of(k, d), 14);
    REQUIRE(r[0].shape() == Shape{k.seq, k.nd, k.batch, k.hidden});
    REQUIRE(r[1].shape() == Shape{k.nd, k.batch, k.hidden});
    check_close(r[0], y, "Y");
    check_close(r[1], yh, "Y_h");
    if (k.op == "LSTM") check_close(r[2], yc, "Y_c");
}

// [a, b, ...] -> [b, a, ...]
Tensor swap01(const Tensor& t) {
    Shape s = t.shape();
    std::swap(s[0], s[1]);
    Tensor r(DType::F32, s);
    const int64_t a = t.dim(0), b = t.dim(1), inner = t.numel() / (a * b);
    for (int64_t i = 0; i < a; ++i)
        for (int64_t j = 0; j < b; ++j)
            for (int64_t e = 0; e < inner; ++e)
                r.data<float>()[(j * a + i) * inner + e] = t.data<float>()[(i * b + j) * inner + e];
    return r;
}

}  // namespace

TEST_CASE("Recurrent: bidirectional with sequence_lens shorter than the sequence matches the reference",
          "[cpu][recurrent]") {
    for (const char* op : {"RNN", "GRU", "LSTM"}) {
        for (bool lbr : {false, true}) {
            if (lbr && std::string(op) != "GRU") continue;
            Case k;
            k.op = op;
            k.lbr = lbr;
            k.lens = {5, 2, 0};  // full, short, empty (Y_h = initial_h, Y all 0)
            INFO(op << " linear_before_reset " << lbr);
            run_against_reference(k);
        }
    }
}

TEST_CASE("Recurrent: sequence_lens zeroes Y past each sequence and Y_h takes the last valid step",
          "[cpu][recurrent]") {
    Case k;
    k.op = "GRU";
    k.lens = {3, 1, 4};
    Data d = make_data(k);
    auto r = eval(make_node(k), inputs_of(k, d), 14);
    const int64_t H = k.hidden, B = k.batch, ND = k.nd;
    for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < k.seq; ++t)
            for (int64_t dir = 0; dir < ND; ++dir)
                for (int64_t j = 0; j < H; ++j) {
                    const float v = r[0].data<float>()[((t * ND + dir) * B + b) * H + j];
                    if (t >= k.lens[b]) CHECK(v == 0.0f);
                    // forward: Y_h = Y[len-1]; reverse: Y_h = Y[0]
                    const int64_t last = dir == 0 ? k.lens[b] - 1 : 0;
                    if (t == last) CHECK(v == r[1].data<float>()[(dir * B + b) * H + j]);
                }
}

TEST_CASE("Recurrent: forward and reverse, optional inputs omitted, match the reference", "[cpu][recurrent]") {
    for (const char* op : {"RNN", "GRU", "LSTM"})
        for (const char* dir : {"forward", "reverse"}) {
            Case k;
            k.op = op;
            k.direction = dir;
            k.nd = 1;
            k.bias = k.init_h = k.init_c = k.peep = false;
            k.seed = 11;
            INFO(op << " " << dir);
            run_against_reference(k);
            k.lens = {2, 5, 4};
            k.bias = true;
            run_against_reference(k);
        }
}

TEST_CASE("Recurrent: clip bounds the gate pre-activations", "[cpu][recurrent]") {
    for (const char* op : {"RNN", "GRU", "LSTM"}) {
        Case k;
        k.op = op;
        k.clip = 0.3f;
        k.lens = {4, 5, 1};
        INFO(op);
        run_against_reference(k);
        // and the clip changes the result (inputs are large enough to be clipped)
        Data d = make_data(k);
        auto clipped = eval(make_node(k), inputs_of(k, d), 14);
        Case u = k;
        u.clip = 0;
        auto plain = eval(make_node(u), inputs_of(u, d), 14);
        double diff = 0;
        for (int64_t i = 0; i < plain[0].numel(); ++i)
            diff = std::max(diff, (double)std::fabs(plain[0].data<float>()[i] - clipped[0].data<float>()[i]));
        CHECK(diff > 1e-3);
    }
}

TEST_CASE("Recurrent: activations with alpha/beta, LSTM input_forget", "[cpu][recurrent]") {
    Case k;
    k.op = "RNN";
    k.acts = {{"LeakyRelu", 0.2}, {"ScaledTanh", 0.7, 1.3}};
    run_against_reference(k);
    k.op = "GRU";
    k.acts = {{"HardSigmoid", 0.3, 0.4}, {"Softsign"}, {"Sigmoid"}, {"Elu", 0.5}};
    run_against_reference(k);
    k.op = "LSTM";
    k.acts = {{"Sigmoid"}, {"Affine", 0.5, 0.1}, {"Softplus"}, {"HardSigmoid", 0.25, 0.5}, {"Relu"}, {"ThresholdedRelu", 0.1}};
    k.input_forget = true;
    run_against_reference(k);
}

TEST_CASE("Recurrent: layout 1 equals layout 0 transposed", "[cpu][recurrent]") {
    for (const char* op : {"RNN", "GRU", "LSTM"}) {
        Case k;
        k.op = op;
        k.lens = {5, 3, 1};
        Data d = make_data(k);
        auto r0 = eval(make_node(k), inputs_of(k, d), 14);
        Data d1 = d;
        d1.x = swap01(d.x);
        d1.h0 = swap01(d.h0);
        if (!d.c0.empty()) d1.c0 = swap01(d.c0);
        auto r1 = eval(make_node(k, 1), inputs_of(k, d1), 14);
        INFO(op);
        // Y: [seq, nd, batch, H] -> [batch, seq, nd, H]
        REQUIRE(r1[0].shape() == Shape{k.batch, k.seq, k.nd, k.hidden});
        for (int64_t t = 0; t < k.seq; ++t)
            for (int64_t dir = 0; dir < k.nd; ++dir)
                for (int64_t b = 0; b < k.batch; ++b)
                    for (int64_t j = 0; j < k.hidden; ++j)
                        CHECK(r1[0].data<float>()[((b * k.seq + t) * k.nd + dir) * k.hidden + j] ==
                              r0[0].data<float>()[((t * k.nd + dir) * k.batch + b) * k.hidden + j]);
        for (size_t o = 1; o < r0.size(); ++o) {
            Tensor want = swap01(r0[o]);
            REQUIRE(r1[o].shape() == want.shape());
            for (int64_t i = 0; i < want.numel(); ++i) CHECK(r1[o].data<float>()[i] == want.data<float>()[i]);
        }
    }
}

TEST_CASE("Recurrent: only Y_h asked for", "[cpu][recurrent]") {
    Case k;
    k.op = "LSTM";
    Data d = make_data(k);
    graph::Node n = make_node(k);
    n.outputs = {"", "yh", ""};
    std::vector<double> y, yh, yc;
    reference(k, d, y, yh, yc);
    auto r = eval(n, inputs_of(k, d), 14);
    CHECK(r[0].empty());
    CHECK(r[2].empty());
    check_close(r[1], yh, "Y_h");
}

TEST_CASE("Recurrent: unsupported attribute values are reported by the check", "[cpu][recurrent]") {
    auto be = exec::cpu::make_backend();
    Case k;
    graph::Node n = make_node(k);
    CHECK(be->supports(n, 14).empty());
    graph::Node bad = n;
    bad.attrs["direction"] = attr_s("sideways");
    CHECK(be->supports(bad, 14).find("direction") != std::string::npos);
    bad = n;
    bad.attrs["activations"] = attr_strs({"Sigmoid", "Tanh", "Gelu", "Sigmoid", "Tanh", "Tanh"});
    CHECK(be->supports(bad, 14).find("Gelu") != std::string::npos);
    bad = n;
    bad.attrs["activations"] = attr_strs({"Sigmoid", "Tanh"});
    CHECK_FALSE(be->supports(bad, 14).empty());
    bad = n;
    bad.attrs["layout"] = attr_i(2);
    CHECK(be->supports(bad, 14).find("layout") != std::string::npos);
}
