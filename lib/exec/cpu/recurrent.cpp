// Recurrent ops RNN, GRU, LSTM (ai.onnx opset 7 and 14 semantics; `layout` from 14): directions forward / reverse /
// bidirectional, optional B, sequence_lens, initial_h, initial_c, P, the activations list with alpha/beta, clip,
// GRU linear_before_reset, LSTM input_forget, all outputs optional. X·Wᵀ for every step is one GEMM per direction,
// H·Rᵀ one GEMM per step. With sequence_lens, batch b runs len_b steps (a reverse direction walks t = len_b-1 .. 0),
// Y is 0 past len_b and Y_h/Y_c hold the state after the last valid step. Computed in float32 (other float types
// staged).
#include <algorithm>
#include <cctype>
#include <cmath>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {

namespace {

enum class Cell { Rnn, Gru, Lstm };

int64_t num_gates(Cell c) { return c == Cell::Rnn ? 1 : c == Cell::Gru ? 3 : 4; }
size_t acts_per_direction(Cell c) { return c == Cell::Rnn ? 1 : c == Cell::Gru ? 2 : 3; }
Cell cell_of(const std::string& op) { return op == "RNN" ? Cell::Rnn : op == "GRU" ? Cell::Gru : Cell::Lstm; }

struct Act {
    enum Kind { Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign,
                Softplus } kind = Tanh;
    float alpha = 0, beta = 0;

    float operator()(float x) const {
        switch (kind) {
            case Relu: return x > 0 ? x : 0.0f;
            case Tanh: return std::tanh(x);
            case Sigmoid: return 1.0f / (1.0f + std::exp(-x));
            case Affine: return alpha * x + beta;
            case LeakyRelu: return x >= 0 ? x : alpha * x;
            case ThresholdedRelu: return x > alpha ? x : 0.0f;
            case ScaledTanh: return alpha * std::tanh(beta * x);
            case HardSigmoid: return std::max(0.0f, std::min(1.0f, alpha * x + beta));
            case Elu: return x >= 0 ? x : alpha * (std::exp(x) - 1.0f);
            case Softsign: return x / (1.0f + std::fabs(x));
            case Softplus: return std::log1p(std::exp(x));
        }
        return x;
    }
};

// Name (case-insensitive, as ONNX Runtime reads it) -> kind, how many of alpha/beta it takes, and their defaults
// (those of the ONNX operators of the same name).
struct ActInfo {
    const char* name;
    Act::Kind kind;
    int n_alpha, n_beta;
    float alpha, beta;
};
constexpr ActInfo kActs[] = {
    {"relu", Act::Relu, 0, 0, 0, 0},
    {"tanh", Act::Tanh, 0, 0, 0, 0},
    {"sigmoid", Act::Sigmoid, 0, 0, 0, 0},
    {"affine", Act::Affine, 1, 1, 1.0f, 0.0f},
    {"leakyrelu", Act::LeakyRelu, 1, 0, 0.01f, 0},
    {"thresholdedrelu", Act::ThresholdedRelu, 1, 0, 1.0f, 0},
    {"scaledtanh", Act::ScaledTanh, 1, 1, 1.0f, 1.0f},
    {"hardsigmoid", Act::HardSigmoid, 1, 1, 0.2f, 0.5f},
    {"elu", Act::Elu, 1, 0, 1.0f, 0},
    {"softsign", Act::Softsign, 0, 0, 0, 0},
    {"softplus", Act::Softplus, 0, 0, 0, 0},
};

struct Params {
    Cell cell = Cell::Rnn;
    int64_t num_dir = 1;
    bool reverse_only = false;
    int64_t layout = 0;
    int64_t hidden = -1;  // hidden_size attribute, -1 when absent
    float clip = 0;       // 0: no clip
    bool linear_before_reset = false, input_forget = false;
    std::vector<Act> acts;  // acts_per_direction * num_dir
};

std::vector<std::string> twice(const std::vector<std::string>& v) {
    std::vector<std::string> r = v;
    r.insert(r.end(), v.begin(), v.end());
    return r;
}

// Reads and validates the attributes; returns the reason when a value is not supported.
std::string parse(const graph::Node& n, Params& p) {
    p.cell = cell_of(n.op_type);
    const std::string dir = n.attr_string("direction", "forward");
    if (dir == "forward" || dir == "reverse") {
        p.num_dir = 1;
        p.reverse_only = dir == "reverse";
    } else if (dir == "bidirectional") {
        p.num_dir = 2;
    } else {
        return "direction '" + dir + "' is not supported (forward, reverse, bidirectional)";
    }
    p.layout = n.attr_int("layout", 0);
    if (p.layout != 0 && p.layout != 1) return "layout " + std::to_string(p.layout) + " is not supported (0 or 1)";
    p.hidden = n.attr_int("hidden_size", -1);
    if (n.has_attr("hidden_size") && p.hidden < 1) return "hidden_size must be >= 1";
    if (n.has_attr("clip")) {
        p.clip = n.attr_float("clip", 0);
        if (!(p.clip > 0)) return "clip must be > 0";
    }
    if (p.cell == Cell::Gru) p.linear_before_reset = n.attr_int("linear_before_reset", 0) != 0;
    if (p.cell == Cell::Lstm) {
        const int64_t f = n.attr_int("input_forget", 0);
        if (f != 0 && f != 1) return "input_forget must be 0 or 1";
        p.input_forget = f != 0;
    }
    if (n.has_attr("output_sequence")) return "attribute output_sequence (opset 1) is not supported";

    const size_t per = acts_per_direction(p.cell);
    std::vector<std::string> names;
    auto it = n.attrs.find("activations");
    if (it != n.attrs.end()) names = it->second.strings;
    if (names.empty()) {
        names = p.cell == Cell::Rnn   ? std::vector<std::string>{"Tanh"}
                : p.cell == Cell::Gru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                      : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
        if (p.num_dir == 2) names = twice(names);
    } else if (names.size() == per && p.num_dir == 2) {
        names = twice(names);  // one list for both directions (as ORT accepts)
    }
    if (names.size() != per * (size_t)p.num_dir)
        return std::to_string(names.size()) + " activations given, expected " + std::to_string(per * p.num_dir);
    const std::vector<float> alphas = n.attr_floats("activation_alpha"), betas = n.attr_floats("activation_beta");
    size_t ia = 0, ib = 0;
    p.acts.clear();
    for (const std::string& nm : names) {
        std::string low;
        for (char ch : nm) low += (char)std::tolower((unsigned char)ch);
        const ActInfo* info = nullptr;
        for (const ActInfo& a : kActs)
            if (low == a.name) info = &a;
        if (!info) return "activation '" + nm + "' is not supported";
        Act a;
        a.kind = info->kind;
        a.alpha = info->alpha;
        a.beta = info->beta;
        if (info->n_alpha && ia < alphas.size()) a.alpha = alphas[ia++];
        if (info->n_beta && ib < betas.size()) a.beta = betas[ib++];
        p.acts.push_back(a);
    }
    return "";
}

std::string check_recurrent(const graph::Node& n, int64_t) {
    Params p;
    return parse(n, p);
}

Tensor f32_of(const Tensor& t, const std::string& who, const char* what) {
    HQ_CHECK(dtype_is_float(t.dtype()), who, ": ", what, " must be a float tensor, got ", dtype_name(t.dtype()));
    return t.dtype() == DType::F32 ? t : to_f32(t);
}

// Swaps the first two dims of a rank-3 or rank-4 float tensor ([a, b, ...] -> [b, a, ...]).
Tensor swap01(const Tensor& t) {
    Shape s = t.shape();
    std::swap(s[0], s[1]);
    Tensor r(DType::F32, s);
    const int64_t a = t.dim(0), b = t.dim(1), inner = a && b ? t.numel() / (a * b) : 0;
    const float* src = t.data<float>();
    float* dst = r.data<float>();
    for (int64_t i = 0; i < a; ++i)
        for (int64_t j = 0; j < b; ++j) std::copy_n(src + (i * b + j) * inner, inner, dst + (j * a + i) * inner);
    return r;
}

// Y [seq, nd, batch, H] (layout 0) from Y as computed; layout 1 is [batch, seq, nd, H].
Tensor y_to_layout1(const Tensor& y) {
    const int64_t seq = y.dim(0), nd = y.dim(1), batch = y.dim(2), h = y.dim(3);
    Tensor r(DType::F32, {batch, seq, nd, h});
    const float* src = y.data<float>();
    float* dst = r.data<float>();
    for (int64_t t = 0; t < seq; ++t)
        for (int64_t d = 0; d < nd; ++d)
            for (int64_t b = 0; b < batch; ++b)
                std::copy_n(src + ((t * nd + d) * batch + b) * h, h, dst + ((b * seq + t) * nd + d) * h);
    return r;
}

void k_recurrent(KernelContext& c) {
    const graph::Node& nd_ = c.node;
    const std::string who = nd_.label();
    Params p;
    const std::string err = parse(nd_, p);
    HQ_CHECK(err.empty(), who, ": ", err);
    const bool lstm = p.cell == Cell::Lstm, gru = p.cell == Cell::Gru;
    const int64_t G = num_gates(p.cell), ND = p.num_dir;
    const size_t per = acts_per_direction(p.cell);

    const Tensor& x0 = c.in(0);
    Tensor x = f32_of(x0, who, "X"), w = f32_of(c.in(1), who, "W"), rw = f32_of(c.in(2), who, "R");
    HQ_CHECK(x.rank() == 3, who, ": X must have rank 3, got ", shape_str(x.shape()));
    if (p.layout == 1) x = swap01(x);
    const int64_t seq = x.dim(0), batch = x.dim(1), in = x.dim(2);
    HQ_CHECK(rw.rank() == 3 && rw.dim(0) == ND, who, ": R must be [", ND, ", ", G, "*hidden, hidden], got ",
             shape_str(rw.shape()));
    const int64_t H = rw.dim(2);
    HQ_CHECK(p.hidden < 0 || p.hidden == H, who, ": hidden_size ", p.hidden, " but R is ", shape_str(rw.shape()));
    HQ_CHECK(rw.dim(1) == G * H, who, ": R must be [", ND, ", ", G * H, ", ", H, "], got ", shape_str(rw.shape()));
    HQ_CHECK(w.rank() == 3 && w.dim(0) == ND && w.dim(1) == G * H && w.dim(2) == in, who, ": W must be [", ND, ", ",
             G * H, ", ", in, "], got ", shape_str(w.shape()));
    Tensor bias;
    if (c.has_input(3)) {
        bias = f32_of(c.in(3), who, "B");
        HQ_CHECK(bias.numel() == ND * 2 * G * H, who, ": B must be [", ND, ", ", 2 * G * H, "], got ",
                 shape_str(bias.shape()));
    }
    std::vector<int64_t> lens(batch, seq);
    if (c.has_input(4)) {
        const Tensor& sl = c.in(4);
        HQ_CHECK(sl.numel() == batch, who, ": sequence_lens must have ", batch, " elements, got ",
                 shape_str(sl.shape()));
        for (int64_t b = 0; b < batch; ++b) {
            lens[b] = sl.at_i64(b);
            HQ_CHECK(lens[b] >= 0 && lens[b] <= seq, who, ": sequence_lens[", b, "] = ", lens[b], " is outside [0, ",
                     seq, "]");
        }
    }
    // initial states as [nd, batch, H]
    auto state_input = [&](size_t idx, const char* what) {
        Tensor s;
        if (!c.has_input(idx)) return s;
        s = f32_of(c.in(idx), who, what);
        if (p.layout == 1 && s.rank() == 3) s = swap01(s);
        HQ_CHECK(s.rank() == 3 && s.dim(0) == ND && s.dim(1) == batch && s.dim(2) == H, who, ": ", what,
                 " has shape ", shape_str(c.in(idx).shape()), ", expected [", ND, ", ", batch, ", ", H,
                 "] (layout 0, [batch, num_directions, hidden] for layout 1)");
        return s;
    };
    Tensor h0 = state_input(5, "initial_h");
    Tensor c0 = lstm ? state_input(6, "initial_c") : Tensor();
    Tensor peep;
    if (lstm && c.has_input(7)) {
        peep = f32_of(c.in(7), who, "P");
        HQ_CHECK(peep.numel() == ND * 3 * H, who, ": P must be [", ND, ", ", 3 * H, "], got ",
                 shape_str(peep.shape()));
    }

    Tensor y(DType::F32, {seq, ND, batch, H}), yh(DType::F32, {ND, batch, H}), yc(DType::F32, {ND, batch, H});
    const int64_t GH = G * H;
    std::vector<float> xw((size_t)(seq * batch * GH)), hr((size_t)(batch * GH)), hstate((size_t)(batch * H)),
        cstate((size_t)(batch * H)), hnew((size_t)(batch * H)), rh((size_t)(batch * H)), rhr((size_t)(batch * H));
    const float clip = p.clip;
    auto clp = [clip](float v) { return clip > 0 ? std::max(-clip, std::min(clip, v)) : v; };
    float* py = y.data<float>();

    for (int64_t d = 0; d < ND; ++d) {
        const bool rev = p.reverse_only || d == 1;
        const Act* act = &p.acts[d * per];
        const float* wd = w.data<float>() + d * GH * in;
        const float* rd = rw.data<float>() + d * GH * H;
        const float* wb = bias.empty() ? nullptr : bias.data<float>() + d * 2 * GH;
        const float* rb = wb ? wb + GH : nullptr;
        // xw[t, b, :] = X[t, b] · Wᵀ + Wb + Rb (GRU with linear_before_reset: the h gate's Rb goes inside r ⊙ (.))
        if (seq * batch > 0)
            blas_gemm(false, true, seq * batch, GH, in, 1.0f, x.data<float>(), in, wd, in, 0.0f, xw.data(), GH);
        if (wb) {
            std::vector<float> bsum(GH);
            for (int64_t k = 0; k < GH; ++k)
                bsum[k] = wb[k] + ((gru && p.linear_before_reset && k >= 2 * H) ? 0.0f : rb[k]);
            for (int64_t r = 0; r < seq * batch; ++r)
                for (int64_t k = 0; k < GH; ++k) xw[r * GH + k] += bsum[k];
        }
        if (h0.empty()) std::fill(hstate.begin(), hstate.end(), 0.0f);
        else std::copy_n(h0.data<float>() + d * batch * H, batch * H, hstate.begin());
        if (c0.empty()) std::fill(cstate.begin(), cstate.end(), 0.0f);
        else std::copy_n(c0.data<float>() + d * batch * H, batch * H, cstate.begin());
        const float* pd = peep.empty() ? nullptr : peep.data<float>() + d * 3 * H;

        for (int64_t s = 0; s < seq; ++s) {
            // hr = H · Rᵀ (GRU without linear_before_reset: the z and r gates only)
            const int64_t ncols = gru && !p.linear_before_reset ? 2 * H : GH;
            blas_gemm(false, true, batch, ncols, H, 1.0f, hstate.data(), H, rd, H, 0.0f, hr.data(), GH);
            auto time_of = [&](int64_t b) { return rev ? lens[b] - 1 - s : s; };
            if (gru) {
                // z and r; then the candidate h
                for (int64_t b = 0; b < batch; ++b) {
                    if (s >= lens[b]) continue;
                    const float* xr = xw.data() + (time_of(b) * batch + b) * GH;
                    const float* hrr = hr.data() + b * GH;
                    for (int64_t j = 0; j < H; ++j) {
                        const float z = act[0](clp(xr[j] + hrr[j]));
                        const float r = act[0](clp(xr[H + j] + hrr[H + j]));
                        hnew[b * H + j] = z;  // z kept here until the candidate is known
                        rh[b * H + j] = p.linear_before_reset ? r : r * hstate[b * H + j];
                    }
                }
                const float* rhd = rd + 2 * H * H;  // R_h rows
                if (!p.linear_before_reset)
                    blas_gemm(false, true, batch, H, H, 1.0f, rh.data(), H, rhd, H, 0.0f, rhr.data(), H);
                for (int64_t b = 0; b < batch; ++b) {
                    if (s >= lens[b]) continue;
                    const float* xr = xw.data() + (time_of(b) * batch + b) * GH;
                    const float* hrr = hr.data() + b * GH;
                    for (int64_t j = 0; j < H; ++j) {
                        float pre;
                        if (p.linear_before_reset)
                            pre = xr[2 * H + j] + rh[b * H + j] * (hrr[2 * H + j] + (rb ? rb[2 * H + j] : 0.0f));
                        else
                            pre = xr[2 * H + j] + rhr[b * H + j];
                        const float hh = act[1](clp(pre));
                        const float z = hnew[b * H + j];
                        hnew[b * H + j] = (1.0f - z) * hh + z * hstate[b * H + j];
                    }
                }
            } else {
                for (int64_t b = 0; b < batch; ++b) {
                    if (s >= lens[b]) continue;
                    const float* xr = xw.data() + (time_of(b) * batch + b) * GH;
                    const float* hrr = hr.data() + b * GH;
                    if (!lstm) {
                        for (int64_t j = 0; j < H; ++j) hnew[b * H + j] = act[0](clp(xr[j] + hrr[j]));
                        continue;
                    }
                    float* cs = cstate.data() + b * H;
                    for (int64_t j = 0; j < H; ++j) {
                        // gate order i, o, f, c; peepholes i, o, f
                        const float cprev = cs[j];
                        const float i = act[0](clp(xr[j] + hrr[j] + (pd ? pd[j] * cprev : 0.0f)));
                        const float f = p.input_forget
                                            ? 1.0f - i
                                            : act[0](clp(xr[2 * H + j] + hrr[2 * H + j] + (pd ? pd[2 * H + j] * cprev : 0.0f)));
                        const float g = act[1](clp(xr[3 * H + j] + hrr[3 * H + j]));
                        const float cn = f * cprev + i * g;
                        const float o = act[0](clp(xr[H + j] + hrr[H + j] + (pd ? pd[H + j] * cn : 0.0f)));
                        cs[j] = cn;
                        hnew[b * H + j] = o * act[2](cn);
                    }
                }
            }
            for (int64_t b = 0; b < batch; ++b) {
                if (s >= lens[b]) continue;
                std::copy_n(hnew.data() + b * H, H, hstate.data() + b * H);
                std::copy_n(hnew.data() + b * H, H, py + ((time_of(b) * ND + d) * batch + b) * H);
            }
        }
        std::copy_n(hstate.data(), batch * H, yh.data<float>() + d * batch * H);
        std::copy_n(cstate.data(), batch * H, yc.data<float>() + d * batch * H);
    }

    const DType dt = x0.dtype();
    auto out = [&](size_t i, Tensor t) {
        if (!c.wants_output(i)) return;
        if (p.layout == 1) t = i == 0 ? y_to_layout1(t) : swap01(t);
        c.set(i, dt == DType::F32 ? t : from_f32(t, dt));
    };
    out(0, y);
    out(1, yh);
    if (lstm) out(2, yc);
}

}  // namespace

void register_recurrent(KernelRegistry& r) {
    for (const char* op : {"RNN", "GRU", "LSTM"}) r.add(KernelDef{op, "", 7, INT_MAX, k_recurrent, check_recurrent});
}

}  // namespace hq::exec::cpu
