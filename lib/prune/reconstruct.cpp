#include "prune/reconstruct.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info, size_t);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
             const int* ldb, int* info, size_t);
}

namespace hq::prune {

namespace {

const Tensor* const_f32(const graph::Model& m, const std::string& name) {
    if (name.empty()) return nullptr;
    auto it = m.graph.initializers.find(name);
    if (it == m.graph.initializers.end() || it->second.dtype() != DType::F32) return nullptr;
    return &it->second;
}

// Full inverse of a symmetric positive definite matrix (row-major = column-major for symmetric); false if not SPD.
bool spd_inverse(std::vector<double>& a, int64_t k) {
    int n = (int)k, info = 0;
    dpotrf_("L", &n, a.data(), &n, &info, 1);
    if (info != 0) return false;
    dpotri_("L", &n, a.data(), &n, &info, 1);
    if (info != 0) return false;
    // Column-major lower = row-major upper holds the result: mirror it.
    for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < i; ++j) a[(size_t)(i * k + j)] = a[(size_t)(j * k + i)];
    return true;
}

// Row-major upper U with a = UᵀU (column-major lower factor read row-major); false if not SPD.
bool upper_cholesky(std::vector<double>& a, int64_t k) {
    int n = (int)k, info = 0;
    dpotrf_("L", &n, a.data(), &n, &info, 1);
    if (info != 0) return false;
    for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < i; ++j) a[(size_t)(i * k + j)] = 0.0;
    return true;
}

}  // namespace

bool cholesky_solve(std::vector<double> hd, int64_t k, std::vector<double>& rhs, int64_t nrhs) {
    int n = (int)k, nr = (int)nrhs, info = 0;
    dpotrf_("L", &n, hd.data(), &n, &info, 1);
    if (info != 0) return false;
    if (nrhs == 0) return true;
    dpotrs_("L", &n, &nr, hd.data(), &n, rhs.data(), &n, &info, 1);
    return info == 0;
}

std::string reconstruct_blocker(const graph::Model& m, const graph::Node& n) {
    if (!n.domain.empty() ||
        (n.op_type != "Conv" && n.op_type != "ConvTranspose" && n.op_type != "Gemm" && n.op_type != "MatMul"))
        return n.op_type + ": not reconstructed (Conv, ConvTranspose, Gemm and MatMul are)";
    const Tensor* w = const_f32(m, n.input(1));
    if (!w) return "weight is not a constant float32 tensor";
    if (n.op_type == "ConvTranspose") {
        const std::string why = "ConvTranspose: reconstructed only as 2-D, group 1, kernel == strides, no padding, "
                                "dilations or output_padding/output_shape";
        if (w->rank() != 4 || n.attr_int("group", 1) != 1 || n.has_attr("output_shape")) return why;
        auto st = n.attr_ints("strides", {1, 1}), pa = n.attr_ints("pads", {0, 0, 0, 0});
        auto di = n.attr_ints("dilations", {1, 1}), op = n.attr_ints("output_padding", {0, 0});
        const std::string ap = n.attr_string("auto_pad", "NOTSET");
        if (st.size() != 2 || st[0] != w->dim(2) || st[1] != w->dim(3) || (ap != "NOTSET" && ap != "VALID")) return why;
        for (auto v : pa) if (v != 0) return why;
        for (auto v : di) if (v != 1) return why;
        for (auto v : op) if (v != 0) return why;
        if (!n.input(2).empty() && !const_f32(m, n.input(2))) return "bias is not a constant float32 tensor";
        return "";
    }
    if (n.op_type == "Conv") {
        if (w->rank() != 4) return "Conv weight of rank " + std::to_string(w->rank()) + " (2-D convolutions only)";
        const int64_t g = n.attr_int("group", 1);
        if (g < 1 || w->dim(0) % g != 0) return "Conv group " + std::to_string(g) + " does not divide its outputs";
        const std::string ap = n.attr_string("auto_pad", "NOTSET");
        if (ap != "NOTSET" && ap != "VALID" && ap != "SAME_UPPER" && ap != "SAME_LOWER") return "auto_pad " + ap;
        if (!n.input(2).empty() && !const_f32(m, n.input(2))) return "bias is not a constant float32 tensor";
        return "";
    }
    if (w->rank() != 2) return n.op_type + " weight of rank " + std::to_string(w->rank());
    if (n.op_type == "Gemm") {
        if (n.attr_int("transA", 0) != 0) return "Gemm with transA";
        const int64_t out = n.attr_int("transB", 0) ? w->dim(0) : w->dim(1);
        if (!n.input(2).empty()) {
            const Tensor* c = const_f32(m, n.input(2));
            if (!c) return "Gemm C is not a constant float32 tensor";
            if (c->numel() != out && c->numel() != 1) return "Gemm C is not one value per output";
        }
    }
    return "";
}

LayerMatrix layer_matrix(const graph::Model& m, const graph::Node& n) {
    const std::string why = reconstruct_blocker(m, n);
    HQ_CHECK(why.empty(), n.label(), ": ", why);
    const Tensor& w = *const_f32(m, n.input(1));
    const float* d = w.data<float>();
    LayerMatrix lm;
    if (n.op_type == "Conv") {
        lm.outputs = w.dim(0);
        lm.groups = n.attr_int("group", 1);
        lm.cin_g = w.dim(1);
        lm.kh = w.dim(2);
        lm.kw = w.dim(3);
        lm.kernel = lm.kh * lm.kw;
        const int64_t cols = lm.cols();
        lm.w.assign((size_t)(lm.outputs * cols), 0.0);
        for (int64_t o = 0; o < lm.outputs; ++o)
            for (int64_t c = 0; c < lm.cin_g; ++c)
                for (int64_t k = 0; k < lm.kernel; ++k)
                    lm.w[(size_t)(o * cols + k * lm.cin_g + c)] = d[(o * lm.cin_g + c) * lm.kernel + k];
        lm.b.assign((size_t)lm.outputs, 0.0);
        if (const Tensor* b = const_f32(m, n.input(2)))
            for (int64_t o = 0; o < lm.outputs; ++o) lm.b[(size_t)o] = b->data<float>()[o];
        return lm;
    }
    if (n.op_type == "ConvTranspose") {  // W [C, O, kh, kw] -> rows (o, k), columns c
        const int64_t C = w.dim(0), O = w.dim(1), kk = w.dim(2) * w.dim(3);
        lm.row_block = kk;
        lm.outputs = O * kk;
        lm.cin_g = C;
        lm.w.assign((size_t)(lm.outputs * C), 0.0);
        for (int64_t c = 0; c < C; ++c)
            for (int64_t o = 0; o < O; ++o)
                for (int64_t k = 0; k < kk; ++k) lm.w[(size_t)((o * kk + k) * C + c)] = d[(c * O + o) * kk + k];
        lm.b.assign((size_t)lm.outputs, 0.0);
        if (const Tensor* b = const_f32(m, n.input(2)))
            for (int64_t r = 0; r < lm.outputs; ++r) lm.b[(size_t)r] = b->data<float>()[r / kk];
        return lm;
    }
    const bool gemm = n.op_type == "Gemm", tb = gemm && n.attr_int("transB", 0) != 0;
    const double alpha = gemm ? n.attr_float("alpha", 1.0f) : 1.0;
    lm.outputs = tb ? w.dim(0) : w.dim(1);
    lm.cin_g = tb ? w.dim(1) : w.dim(0);
    lm.w.assign((size_t)(lm.outputs * lm.cin_g), 0.0);
    for (int64_t o = 0; o < lm.outputs; ++o)
        for (int64_t f = 0; f < lm.cin_g; ++f)
            lm.w[(size_t)(o * lm.cin_g + f)] = alpha * (tb ? d[o * lm.cin_g + f] : d[f * lm.outputs + o]);
    lm.b.assign((size_t)lm.outputs, 0.0);
    if (gemm)
        if (const Tensor* c = const_f32(m, n.input(2))) {
            const double beta = n.attr_float("beta", 1.0f);
            for (int64_t o = 0; o < lm.outputs; ++o)
                lm.b[(size_t)o] = beta * c->data<float>()[c->numel() == 1 ? 0 : o];
        }
    return lm;
}

void write_weight(graph::Model& m, const graph::Node& n, const LayerMatrix& lm) {
    auto it = m.graph.initializers.find(n.input(1));
    HQ_CHECK(it != m.graph.initializers.end(), n.label(), ": weight '", n.input(1), "' is not an initializer");
    Tensor w = it->second.clone();
    HQ_CHECK(w.numel() == lm.outputs * lm.cols(), n.label(), ": reconstructed weight has ", lm.outputs * lm.cols(),
             " elements, the weight ", w.numel());
    float* d = w.data<float>();
    const int64_t cols = lm.cols();
    if (n.op_type == "Conv") {
        for (int64_t o = 0; o < lm.outputs; ++o)
            for (int64_t c = 0; c < lm.cin_g; ++c)
                for (int64_t k = 0; k < lm.kernel; ++k)
                    d[(o * lm.cin_g + c) * lm.kernel + k] = (float)lm.w[(size_t)(o * cols + k * lm.cin_g + c)];
    } else if (n.op_type == "ConvTranspose") {
        const int64_t kk = lm.row_block, O = lm.outputs / kk, C = lm.cin_g;
        for (int64_t c = 0; c < C; ++c)
            for (int64_t o = 0; o < O; ++o)
                for (int64_t k = 0; k < kk; ++k) d[(c * O + o) * kk + k] = (float)lm.w[(size_t)((o * kk + k) * C + c)];
    } else {
        const bool gemm = n.op_type == "Gemm", tb = gemm && n.attr_int("transB", 0) != 0;
        const double alpha = gemm ? n.attr_float("alpha", 1.0f) : 1.0;
        for (int64_t o = 0; o < lm.outputs; ++o)
            for (int64_t f = 0; f < lm.cin_g; ++f) {
                const float v = (float)(lm.w[(size_t)(o * cols + f)] / alpha);
                (tb ? d[o * cols + f] : d[f * lm.outputs + o]) = v;
            }
    }
    it->second = std::move(w);
}

LayerFit::LayerFit(const graph::Node& node, LayerMatrix dense, LayerMatrix now, LayerMatrix prior,
                   std::vector<int64_t> kept_out, std::vector<int64_t> dense_group)
    : label_(node.label()),
      op_(node.op_type),
      dense_(std::move(dense)),
      now_(std::move(now)),
      prior_(std::move(prior)),
      kept_out_(std::move(kept_out)),
      dense_group_(std::move(dense_group)) {
    HQ_CHECK(prior_.w.size() == now_.w.size() && prior_.b.size() == now_.b.size(), label_,
             ": prior weights of another shape");
    HQ_CHECK((int64_t)kept_out_.size() == now_.outputs, label_, ": ", kept_out_.size(), " kept outputs for ",
             now_.outputs, " outputs");
    HQ_CHECK((int64_t)dense_group_.size() == now_.groups, label_, ": group map of ", dense_group_.size(),
             " entries for ", now_.groups, " groups");
    HQ_CHECK(now_.kernel == dense_.kernel, label_, ": kernel differs from the dense layer's");
    const int64_t rpg = now_.outputs / now_.groups, rpg_d = dense_.outputs / dense_.groups;
    for (int64_t o = 0; o < now_.outputs; ++o) {
        const int64_t k = kept_out_[(size_t)o];
        HQ_CHECK(k >= 0 && k < dense_.outputs, label_, ": kept output ", k, " out of range");
        HQ_CHECK(k / rpg_d == dense_group_[(size_t)(o / rpg)], label_, ": output ", o,
                 " is not in the dense group of its group");
    }
    if (op_ == "Conv") {
        geo_.kh = now_.kh, geo_.kw = now_.kw;
        auto st = node.attr_ints("strides", {1, 1}), di = node.attr_ints("dilations", {1, 1});
        auto pa = node.attr_ints("pads", {0, 0, 0, 0});
        HQ_CHECK(st.size() == 2 && di.size() == 2 && pa.size() == 4, label_, ": strides/dilations/pads of a 2-D Conv");
        geo_.sh = st[0], geo_.sw = st[1], geo_.dh = di[0], geo_.dw = di[1];
        geo_.ph0 = pa[0], geo_.pw0 = pa[1], geo_.ph1 = pa[2], geo_.pw1 = pa[3];
        geo_.auto_pad = node.attr_string("auto_pad", "NOTSET");
    }
    kp_ = now_.cols() + 1;
    kd_ = dense_.cols() + 1;
    h_.assign((size_t)now_.groups, std::vector<double>((size_t)(kp_ * kp_), 0.0));
    c_.assign((size_t)now_.groups, std::vector<double>((size_t)(kd_ * kp_), 0.0));
    g_.assign((size_t)now_.groups, std::vector<double>((size_t)(kd_ * kd_), 0.0));
}

// Rows [p0, p0 + rows) of the im2col patch matrix of image n_img, channels [c0, c0 + cin_g): column k·cin_g + c,
// then a 1 (bias) at column cin_g·kernel. Conv only.
void LayerFit::patches(const Geo& g, const Tensor& x, int64_t c0, int64_t cin_g, int64_t n_img, int64_t p0,
                       int64_t rows, std::vector<float>& out, int64_t ld) {
    const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3);
    const int64_t OW = (W + g.pw0 + g.pw1 - ((g.kw - 1) * g.dw + 1)) / g.sw + 1;
    const float* src = x.data<float>() + n_img * C * H * W;
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t p = p0 + r, oy = p / OW, ox = p % OW;
        float* row = out.data() + r * ld;
        for (int64_t ky = 0; ky < g.kh; ++ky) {
            const int64_t iy = oy * g.sh - g.ph0 + ky * g.dh;
            for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t ix = ox * g.sw - g.pw0 + kx * g.dw;
                float* dst = row + (ky * g.kw + kx) * cin_g;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
                    std::fill(dst, dst + cin_g, 0.0f);
                    continue;
                }
                const float* s = src + (c0 * H + iy) * W + ix;
                for (int64_t c = 0; c < cin_g; ++c) dst[c] = s[c * H * W];
            }
        }
        row[cin_g * g.kh * g.kw] = 1.0f;
    }
}

namespace {

// dst += aᵀ b over `rows` rows (a: rows × ka, b: rows × kb, float), one chunk summed in float then added in double.
void accumulate(std::vector<double>& dst, const std::vector<float>& a, int64_t ka, const std::vector<float>& b,
                int64_t kb, int64_t rows, std::vector<float>& tmp) {
    tmp.assign((size_t)(ka * kb), 0.0f);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ka, (int)kb, (int)rows, 1.0f, a.data(), (int)ka,
                b.data(), (int)kb, 0.0f, tmp.data(), (int)kb);
    for (size_t i = 0; i < tmp.size(); ++i) dst[i] += (double)tmp[i];
}

}  // namespace

void LayerFit::add(const Tensor& xd, const Tensor& xp) {
    HQ_CHECK(xd.dtype() == DType::F32 && xp.dtype() == DType::F32, label_, ": input is not float32");
    std::vector<float> pp, pd, tmp;
    const int64_t chunk_cap = std::max<int64_t>(64, std::min<int64_t>(4096, ((int64_t)1 << 22) / std::max(kp_, kd_)));
    auto add_rows = [&](size_t grp, int64_t rows) {
        accumulate(h_[grp], pp, kp_, pp, kp_, rows, tmp);
        accumulate(c_[grp], pd, kd_, pp, kp_, rows, tmp);
        accumulate(g_[grp], pd, kd_, pd, kd_, rows, tmp);
    };
    if (op_ == "Conv") {
        HQ_CHECK(xd.rank() == 4 && xp.rank() == 4, label_, ": input of rank ", xp.rank(), ", expected 4");
        HQ_CHECK(xd.dim(0) == xp.dim(0) && xd.dim(2) == xp.dim(2) && xd.dim(3) == xp.dim(3), label_,
                 ": dense and pruned inputs differ in batch or spatial size");
        HQ_CHECK(xp.dim(1) == now_.cin_g * now_.groups && xd.dim(1) == dense_.cin_g * dense_.groups, label_,
                 ": input channels ", xp.dim(1), " (dense ", xd.dim(1), ") do not fit the weights");
        const int64_t H = xp.dim(2), W = xp.dim(3);
        Geo g = geo_;
        if (g.auto_pad == "VALID") {
            g.ph0 = g.pw0 = g.ph1 = g.pw1 = 0;
        } else if (g.auto_pad == "SAME_UPPER" || g.auto_pad == "SAME_LOWER") {
            auto same = [&](int64_t in, int64_t k, int64_t s, int64_t d, int64_t& p0, int64_t& p1) {
                const int64_t out = (in + s - 1) / s;
                const int64_t total = std::max<int64_t>(0, (out - 1) * s + (k - 1) * d + 1 - in);
                p0 = g.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
                p1 = total - p0;
            };
            same(H, g.kh, g.sh, g.dh, g.ph0, g.ph1);
            same(W, g.kw, g.sw, g.dw, g.pw0, g.pw1);
        }
        const int64_t OH = (H + g.ph0 + g.ph1 - ((g.kh - 1) * g.dh + 1)) / g.sh + 1;
        const int64_t OW = (W + g.pw0 + g.pw1 - ((g.kw - 1) * g.dw + 1)) / g.sw + 1;
        HQ_CHECK(OH > 0 && OW > 0, label_, ": empty output for input ", H, "x", W);
        const int64_t npos = OH * OW;
        const int64_t chunk = std::min(chunk_cap, npos);
        pp.resize((size_t)(chunk * kp_));
        pd.resize((size_t)(chunk * kd_));
        for (int64_t n = 0; n < xp.dim(0); ++n)
            for (int64_t p0 = 0; p0 < npos; p0 += chunk) {
                const int64_t rows = std::min(chunk, npos - p0);
                for (int64_t j = 0; j < now_.groups; ++j) {
                    patches(g, xp, j * now_.cin_g, now_.cin_g, n, p0, rows, pp, kp_);
                    patches(g, xd, dense_group_[(size_t)j] * dense_.cin_g, dense_.cin_g, n, p0, rows, pd, kd_);
                    add_rows((size_t)j, rows);
                }
            }
        count_ += (double)(xp.dim(0) * npos);
        return;
    }
    if (op_ == "ConvTranspose") {  // one row per input pixel: its channels
        HQ_CHECK(xd.rank() == 4 && xp.rank() == 4 && xd.dim(0) == xp.dim(0) && xd.dim(2) == xp.dim(2) &&
                     xd.dim(3) == xp.dim(3) && xp.dim(1) == now_.cin_g && xd.dim(1) == dense_.cin_g,
                 label_, ": inputs do not fit the weights");
        const int64_t N = xp.dim(0), HW = xp.dim(2) * xp.dim(3), K = now_.cin_g, Kd = dense_.cin_g;
        const int64_t chunk = std::min(chunk_cap, HW);
        pp.resize((size_t)(chunk * kp_));
        pd.resize((size_t)(chunk * kd_));
        for (int64_t b = 0; b < N; ++b)
            for (int64_t p0 = 0; p0 < HW; p0 += chunk) {
                const int64_t rows = std::min(chunk, HW - p0);
                for (int64_t r = 0; r < rows; ++r) {
                    for (int64_t c = 0; c < K; ++c)
                        pp[(size_t)(r * kp_ + c)] = xp.data<float>()[(b * K + c) * HW + p0 + r];
                    pp[(size_t)(r * kp_ + K)] = 1.0f;
                    for (int64_t c = 0; c < Kd; ++c)
                        pd[(size_t)(r * kd_ + c)] = xd.data<float>()[(b * Kd + c) * HW + p0 + r];
                    pd[(size_t)(r * kd_ + Kd)] = 1.0f;
                }
                add_rows(0, rows);
            }
        count_ += (double)(N * HW);
        return;
    }
    const int64_t K = now_.cin_g, Kd = dense_.cin_g;
    HQ_CHECK(xp.rank() >= 1 && xp.dim(-1) == K && xd.rank() >= 1 && xd.dim(-1) == Kd, label_, ": input features ",
             xp.rank() ? xp.dim(-1) : 0, " (dense ", xd.rank() ? xd.dim(-1) : 0, ") do not fit the weights (", K,
             ", dense ", Kd, ")");
    const int64_t total = xp.numel() / K;
    HQ_CHECK(xd.numel() / Kd == total, label_, ": dense and pruned inputs have different row counts");
    if (op_ == "Gemm") HQ_CHECK(xp.rank() == 2, label_, ": Gemm input of rank ", xp.rank());
    const int64_t chunk = std::min(chunk_cap, std::max<int64_t>(1, total));
    pp.resize((size_t)(chunk * kp_));
    pd.resize((size_t)(chunk * kd_));
    const float* sp = xp.data<float>();
    const float* sd = xd.data<float>();
    for (int64_t r0 = 0; r0 < total; r0 += chunk) {
        const int64_t rows = std::min(chunk, total - r0);
        for (int64_t r = 0; r < rows; ++r) {
            std::copy(sp + (r0 + r) * K, sp + (r0 + r + 1) * K, pp.data() + r * kp_);
            pp[(size_t)(r * kp_ + K)] = 1.0f;
            std::copy(sd + (r0 + r) * Kd, sd + (r0 + r + 1) * Kd, pd.data() + r * kd_);
            pd[(size_t)(r * kd_ + Kd)] = 1.0f;
        }
        add_rows(0, rows);
    }
    count_ += (double)total;
}

bool sparsegpt(std::vector<double>& w, int64_t rows, int64_t k, int64_t prunable, const std::vector<double>& hd,
               const FitOptions& o) {
    std::vector<double> u = hd;
    if (!spd_inverse(u, k) || !upper_cholesky(u, k)) return false;
    const bool nm = o.mode == FitMode::NM;
    const int64_t B = nm ? (std::max<int64_t>(o.block, o.m) + o.m - 1) / o.m * o.m : std::max<int64_t>(1, o.block);
    // Unstructured: zeros of the columns before c (cumulative, rounded) so the blocks sum exactly to o.zeros.
    auto cum = [&](int64_t c) {
        return prunable ? (int64_t)std::llround((double)o.zeros * (double)std::min(c, prunable) / (double)prunable)
                        : (int64_t)0;
    };
    std::vector<double> w1, err;
    std::vector<char> mask;
    std::vector<std::pair<double, int64_t>> cand;
    for (int64_t i1 = 0; i1 < k; i1 += B) {
        const int64_t i2 = std::min(k, i1 + B), cnt = i2 - i1;
        w1.assign((size_t)(rows * cnt), 0.0);
        err.assign((size_t)(rows * cnt), 0.0);
        mask.assign((size_t)(rows * cnt), 0);
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < cnt; ++j) w1[(size_t)(r * cnt + j)] = w[(size_t)(r * k + i1 + j)];
        if (o.mode == FitMode::Unstructured) {
            const int64_t pc = std::max<int64_t>(0, std::min(i2, prunable) - i1);  // prunable columns in the block
            const int64_t want = cum(i2) - cum(i1);
            if (want > 0 && pc > 0) {
                cand.clear();
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t j = 0; j < pc; ++j) {
                        const double d = u[(size_t)((i1 + j) * k + i1 + j)], v = w1[(size_t)(r * cnt + j)];
                        cand.push_back({v * v / (d * d), r * cnt + j});
                    }
                const int64_t take = std::min<int64_t>(want, (int64_t)cand.size());
                std::nth_element(cand.begin(), cand.begin() + (take - 1), cand.end());
                for (int64_t t = 0; t < take; ++t) mask[(size_t)cand[(size_t)t].second] = 1;
            }
        }
        for (int64_t i = 0; i < cnt; ++i) {
            const int64_t col = i1 + i;
            const double d = u[(size_t)(col * k + col)];
            if (nm && col % o.m == 0 && col + o.m <= prunable) {
                for (int64_t r = 0; r < rows; ++r) {
                    cand.clear();
                    for (int64_t j = 0; j < o.m; ++j) {
                        const double dj = u[(size_t)((col + j) * k + col + j)], v = w1[(size_t)(r * cnt + i + j)];
                        cand.push_back({v * v / (dj * dj), j});
                    }
                    std::sort(cand.begin(), cand.end());
                    for (int64_t j = 0; j < o.m - o.n; ++j) mask[(size_t)(r * cnt + i + cand[(size_t)j].second)] = 1;
                }
            }
            for (int64_t r = 0; r < rows; ++r) {
                double* wr = w1.data() + r * cnt;
                const double v = wr[i];
                const double q = mask[(size_t)(r * cnt + i)] ? 0.0 : v;
                const double e = (v - q) / d;
                if (e != 0.0)
                    for (int64_t j = i + 1; j < cnt; ++j) wr[j] -= e * u[(size_t)(col * k + i1 + j)];
                wr[i] = q;
                err[(size_t)(r * cnt + i)] = e;
            }
        }
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < cnt; ++j) w[(size_t)(r * k + i1 + j)] = w1[(size_t)(r * cnt + j)];
        if (i2 < k)  // lazy batch update of the columns after the block: W[:, i2:] -= Err · U[i1:i2, i2:]
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)(k - i2), (int)cnt, -1.0,
                        err.data(), (int)cnt, u.data() + i1 * k + i2, (int)k, 1.0, w.data() + i2, (int)k);
    }
    return true;
}

FitResult LayerFit::solve(const FitOptions& o) const {
    HQ_CHECK(count_ > 0, label_, ": no calibration rows to reconstruct from");
    FitResult res;
    res.fitted = now_;
    res.positions = count_;
    const int64_t G = now_.groups, rpg = now_.outputs / G, kp = kp_, kd = kd_;
    const int64_t cols_p = kp - 1, cols_d = kd - 1;
    double err_before = 0, err_after = 0, energy = 0;
    // Output error of rows `wm` (rpg × kp) against targets `t` (rpg × kd): Σ_r w H wᵀ - 2 t C wᵀ + t G tᵀ.
    auto error = [&](const std::vector<double>& wm, const std::vector<double>& t, const std::vector<double>& hn,
                     const std::vector<double>& cn, const std::vector<double>& gn, double* en) {
        std::vector<double> hw((size_t)kp), cw((size_t)kd), gt((size_t)kd);
        double e = 0, ee = 0;
        for (int64_t r = 0; r < rpg; ++r) {
            const double* wr = wm.data() + r * kp;
            const double* tr = t.data() + r * kd;
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)kp, (int)kp, 1.0, hn.data(), (int)kp, wr, 1, 0.0, hw.data(), 1);
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)kd, (int)kp, 1.0, cn.data(), (int)kp, wr, 1, 0.0, cw.data(), 1);
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)kd, (int)kd, 1.0, gn.data(), (int)kd, tr, 1, 0.0, gt.data(), 1);
            double a = 0, b = 0, c = 0;
            for (int64_t i = 0; i < kp; ++i) a += wr[i] * hw[(size_t)i];
            for (int64_t i = 0; i < kd; ++i) b += tr[i] * cw[(size_t)i], c += tr[i] * gt[(size_t)i];
            e += a - 2 * b + c;
            ee += c;
        }
        if (en) *en += ee;
        return e;
    };
    // Unstructured: the layer's zeros spread over the groups in proportion to their columns (exact total).
    auto cum = [&](int64_t g) {
        return (int64_t)std::llround((double)o.zeros * (double)g / (double)G);
    };
    for (int64_t j = 0; j < G; ++j) {
        std::vector<double> hn = h_[(size_t)j], cn = c_[(size_t)j], gn = g_[(size_t)j];
        for (auto& v : hn) v /= count_;
        for (auto& v : cn) v /= count_;
        for (auto& v : gn) v /= count_;
        std::vector<double> t((size_t)(rpg * kd)), wp((size_t)(rpg * kp)), wc((size_t)(rpg * kp));
        for (int64_t r = 0; r < rpg; ++r) {
            const int64_t o_now = j * rpg + r, o_d = kept_out_[(size_t)o_now];
            for (int64_t c = 0; c < cols_d; ++c) t[(size_t)(r * kd + c)] = dense_.w[(size_t)(o_d * cols_d + c)];
            t[(size_t)(r * kd + cols_d)] = dense_.b[(size_t)o_d];
            for (int64_t c = 0; c < cols_p; ++c) {
                wp[(size_t)(r * kp + c)] = prior_.w[(size_t)(o_now * cols_p + c)];
                wc[(size_t)(r * kp + c)] = now_.w[(size_t)(o_now * cols_p + c)];
            }
            wp[(size_t)(r * kp + cols_p)] = prior_.b[(size_t)o_now];
            wc[(size_t)(r * kp + cols_p)] = now_.b[(size_t)o_now];
        }
        err_before += error(wc, t, hn, cn, gn, &energy);
        double mean_diag = 0;
        for (int64_t i = 0; i < cols_p; ++i) mean_diag += hn[(size_t)(i * kp + i)];
        mean_diag = cols_p ? mean_diag / (double)cols_p : 0.0;
        const double lambda = mean_diag > 0 ? o.damp * mean_diag : 1.0;
        std::vector<double> hd = hn;
        for (int64_t i = 0; i < kp; ++i) hd[(size_t)(i * kp + i)] += lambda;
        // rhs rows: t·C + λ·prior  (rpg × kp); each row is one right-hand side of hd · wᵀ = rhsᵀ.
        std::vector<double> w((size_t)(rpg * kp));
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rpg, (int)kp, (int)kd, 1.0, t.data(), (int)kd,
                    cn.data(), (int)kp, 0.0, w.data(), (int)kp);
        for (size_t i = 0; i < w.size(); ++i) w[i] += lambda * wp[i];
        HQ_CHECK(cholesky_solve(hd, kp, w, rpg), label_, ": damped Gram matrix is not positive definite");
        if (o.mode != FitMode::Dense) {
            FitOptions go = o;
            go.zeros = cum(j + 1) - cum(j);
            HQ_CHECK(sparsegpt(w, rpg, kp, cols_p, hd, go), label_,
                     ": damped Gram matrix is not positive definite (SparseGPT)");
        }
        err_after += error(w, t, hn, cn, gn, nullptr);
        for (int64_t r = 0; r < rpg; ++r) {
            const int64_t o_now = j * rpg + r;
            for (int64_t c = 0; c < cols_p; ++c) res.fitted.w[(size_t)(o_now * cols_p + c)] = w[(size_t)(r * kp + c)];
            res.fitted.b[(size_t)o_now] = w[(size_t)(r * kp + cols_p)];
        }
    }
    res.rel_error_before = energy > 0 ? std::max(0.0, err_before) / energy : 0.0;
    res.rel_error_after = energy > 0 ? std::max(0.0, err_after) / energy : 0.0;
    return res;
}

}  // namespace hq::prune
