// Gemm, MatMul and Einsum on the CPU. float32 (and staged float16/bfloat16) go through OpenBLAS sgemm,
// float64 through dgemm; integer types use plain loops. Einsum maps two-operand contractions onto batched
// GEMM and falls back to a generic strided loop for everything else (diagonals, broadcasting, N operands).
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

extern "C" void openblas_set_num_threads(int);

namespace hq::exec::cpu {

namespace {

// OpenBLAS runs single-threaded; hyquant splits large GEMMs over its own pool. One pool for every
// kernel means no OpenBLAS threads spin-waiting against ours on small machines.
void blas_single_thread() {
    static std::once_flag once;
    std::call_once(once, [] { openblas_set_num_threads(1); });
}

// Splits C into column (or row) blocks, one per thread, when the product is large enough.
template <typename T, typename F>
void split_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, int64_t lda, const T* b, int64_t ldb,
                T* c, int64_t ldc, F&& gemm) {
    blas_single_thread();
    const int threads = hq::num_threads();
    if (threads <= 1 || (double)m * n * k < 262144.0 || std::max(m, n) < 32) {
        gemm(m, n, a, b, c);
        return;
    }
    if (n >= 16 * threads) {
        const int64_t blocks = (n + 15) / 16;
        hq::parallel_for(threads, 1, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
                int64_t j0 = blocks * t / threads * 16, j1 = std::min(n, blocks * (t + 1) / threads * 16);
                if (j1 <= j0) continue;
                gemm(m, j1 - j0, a, tb ? b + j0 * ldb : b + j0, c + j0);
            }
        });
    } else {
        hq::parallel_for(threads, 1, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
                int64_t i0 = m * t / threads, i1 = m * (t + 1) / threads;
                if (i1 <= i0) continue;
                gemm(i1 - i0, n, ta ? a + i0 : a + i0 * lda, b, c + i0 * ldc);
            }
        });
    }
}

}  // namespace

// Row-major C[M,N] = alpha * op(A) * op(B) + beta * C on OpenBLAS, split over hq::num_threads() threads.
// Also used by conv.cpp.
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.f ? 0.f : beta * c[i * ldc + j];
        return;
    }
    split_gemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, [&](int64_t mm, int64_t nn, const float* pa, const float* pb, float* pc) {
        if (mm == 1) {  // one row (a fully connected layer on one sample): sgemv streams B once, sgemm packs it first
            const int incx = ta ? (int)std::max<int64_t>(lda, 1) : 1, ld = (int)std::max<int64_t>(ldb, 1);
            if (tb) cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)nn, (int)k, alpha, pb, ld, pa, incx, beta, pc, 1);
            else cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)nn, alpha, pb, ld, pa, incx, beta, pc, 1);
            return;
        }
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)mm, (int)nn,
                    (int)k, alpha, pa, (int)std::max<int64_t>(lda, 1), pb, (int)std::max<int64_t>(ldb, 1), beta, pc,
                    (int)std::max<int64_t>(ldc, 1));
    });
}

void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
               const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0. ? 0. : beta * c[i * ldc + j];
        return;
    }
    split_gemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, [&](int64_t mm, int64_t nn, const double* pa, const double* pb, double* pc) {
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)mm, (int)nn,
                    (int)k, alpha, pa, (int)std::max<int64_t>(lda, 1), pb, (int)std::max<int64_t>(ldb, 1), beta, pc,
                    (int)std::max<int64_t>(ldc, 1));
    });
}

namespace {

// Integer (and bool-free) fallback with the same contract as blas_gemm.
template <typename T>
void loop_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
               int64_t ldb, T beta, T* c, int64_t ldc) {
    parallel_for(m, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, n * k)), [&](int64_t i0, int64_t i1) {
        std::vector<T> acc(n);
        for (int64_t i = i0; i < i1; ++i) {
            std::fill(acc.begin(), acc.end(), T(0));
            for (int64_t p = 0; p < k; ++p) {
                const T av = ta ? a[p * lda + i] : a[i * lda + p];
                if (tb) {
                    for (int64_t j = 0; j < n; ++j) acc[j] += av * b[j * ldb + p];
                } else {
                    const T* br = b + p * ldb;
                    for (int64_t j = 0; j < n; ++j) acc[j] += av * br[j];
                }
            }
            T* cr = c + i * ldc;
            for (int64_t j = 0; j < n; ++j) cr[j] = (T)(alpha * acc[j] + (beta == T(0) ? T(0) : beta * cr[j]));
        }
    });
}

template <typename T>
void any_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
              int64_t ldb, T beta, T* c, int64_t ldc) {
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
        blas_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        loop_gemm<T>(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Calls f(T{}) for the element types GEMM-like kernels compute in (float16/bfloat16 are staged by callers).
template <typename F>
void dispatch_gemm_type(DType t, const std::string& who, F&& f) {
    switch (t) {
        case DType::F32:
            f(float{});
            break;
        case DType::F64:
            f(double{});
            break;
        case DType::I32:
            f(int32_t{});
            break;
        case DType::I64:
            f(int64_t{});
            break;
        case DType::U32:
            f(uint32_t{});
            break;
        case DType::U64:
            f(uint64_t{});
            break;
        case DType::I8:
            f(int8_t{});
            break;
        case DType::U8:
            f(uint8_t{});
            break;
        case DType::I16:
            f(int16_t{});
            break;
        case DType::U16:
            f(uint16_t{});
            break;
        default:
            HQ_FAIL(who, ": unsupported element type ", dtype_name(t));
    }
}

// ---------------------------------------------------------------------------------------------- Gemm

void gemm_kernel(KernelContext& ctx) {
    const auto& nd = ctx.node;
    const Tensor& a0 = ctx.in(0);
    const Tensor& b0 = ctx.in(1);
    const DType dt = a0.dtype();
    HQ_CHECK(b0.dtype() == dt, nd.label(), ": A is ", dtype_name(dt), " but B is ", dtype_name(b0.dtype()));
    HQ_CHECK(a0.rank() == 2 && b0.rank() == 2, nd.label(), ": A and B must be 2-D, got ", shape_str(a0.shape()),
             " and ", shape_str(b0.shape()));
    const bool ta = nd.attr_int("transA", 0) != 0, tb = nd.attr_int("transB", 0) != 0;
    const float alpha = nd.attr_float("alpha", 1.f), beta = nd.attr_float("beta", 1.f);
    const int64_t m = ta ? a0.dim(1) : a0.dim(0), k = ta ? a0.dim(0) : a0.dim(1);
    const int64_t kb = tb ? b0.dim(1) : b0.dim(0), n = tb ? b0.dim(0) : b0.dim(1);
    HQ_CHECK(k == kb, nd.label(), ": inner dimensions differ: A ", shape_str(a0.shape()), (ta ? " (transposed)" : ""),
             ", B ", shape_str(b0.shape()), (tb ? " (transposed)" : ""));
    const bool staged = is_staged_float(dt);
    Tensor a = staged ? to_f32(a0) : a0, b = staged ? to_f32(b0) : b0;
    Tensor c;
    if (ctx.has_input(2) && beta != 0.f) {
        c = staged ? to_f32(ctx.in(2)) : ctx.in(2);
        HQ_CHECK(c.dtype() == a.dtype(), nd.label(), ": C is ", dtype_name(ctx.in(2).dtype()), ", expected ",
                 dtype_name(dt));
        HQ_CHECK(broadcast_shapes(c.shape(), {m, n}) == Shape({m, n}), nd.label(), ": C ", shape_str(c.shape()),
                 " does not broadcast to ", shape_str({m, n}));
    }
    Tensor y(a.dtype(), {m, n});
    dispatch_gemm_type(a.dtype(), nd.label(), [&](auto tag) {
        using T = decltype(tag);
        T* yp = y.data<T>();
        T bet = T(0);
        if (!c.empty()) {
            const T* cp = c.data<T>();
            BroadcastIndex bi(c.shape(), {m, n});
            for (int64_t i = 0; i < m * n; ++i) yp[i] = (T)(beta * (bi.identity ? cp[i] : cp[bi(i)]));
            bet = T(1);
        }
        any_gemm<T>(ta, tb, m, n, k, (T)alpha, a.data<T>(), a.dim(1), b.data<T>(), b.dim(1), bet, yp, n);
    });
    ctx.set(0, staged ? from_f32(y, dt) : y);
}

// -------------------------------------------------------------------------------------------- MatMul

template <typename T>
void matmul_typed(const Tensor& a, const Tensor& b, Tensor& y, const Shape& batch_a, const Shape& batch_b,
                  const Shape& batch_y, int64_t m, int64_t k, int64_t n) {
    const T* ap = a.data<T>();
    const T* bp = b.data<T>();
    T* yp = y.data<T>();
    const int64_t nb_y = shape_numel(batch_y), nb_a = shape_numel(batch_a), nb_b = shape_numel(batch_b);
    if (nb_b == 1 && nb_a == nb_y) {  // right operand is one matrix: a single GEMM over all rows of A
        any_gemm<T>(false, false, nb_a * m, n, k, T(1), ap, k, bp, n, T(0), yp, n);
        return;
    }
    BroadcastIndex ia(batch_a, batch_y), ib(batch_b, batch_y);
    for (int64_t i = 0; i < nb_y; ++i) {
        const int64_t oa = nb_a == 1 ? 0 : ia(i), ob = nb_b == 1 ? 0 : ib(i);
        any_gemm<T>(false, false, m, n, k, T(1), ap + oa * m * k, k, bp + ob * k * n, n, T(0), yp + i * m * n, n);
    }
}

}  // namespace

Tensor matmul_tensors(const graph::Node& nd, const Tensor& a0, const Tensor& b0) {
    const DType dt = a0.dtype();
    HQ_CHECK(b0.dtype() == dt, nd.label(), ": A is ", dtype_name(dt), " but B is ", dtype_name(b0.dtype()));
    HQ_CHECK(a0.rank() >= 1 && b0.rank() >= 1, nd.label(), ": MatMul operands must have rank >= 1, got ",
             shape_str(a0.shape()), " and ", shape_str(b0.shape()));
    Shape sa = a0.shape(), sb = b0.shape();
    if (sa.size() == 1) sa.insert(sa.begin(), 1);
    if (sb.size() == 1) sb.push_back(1);
    const int64_t m = sa[sa.size() - 2], k = sa.back(), kb = sb[sb.size() - 2], n = sb.back();
    HQ_CHECK(k == kb, nd.label(), ": inner dimensions differ: A ", shape_str(a0.shape()), ", B ",
             shape_str(b0.shape()));
    Shape batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
    Shape batch_y = broadcast_shapes(batch_a, batch_b);
    Shape ys = batch_y;
    if (a0.rank() > 1) ys.push_back(m);
    if (b0.rank() > 1) ys.push_back(n);
    const bool staged = is_staged_float(dt);
    Tensor a = staged ? to_f32(a0) : a0, b = staged ? to_f32(b0) : b0;
    Tensor y(a.dtype(), ys);
    dispatch_gemm_type(a.dtype(), nd.label(),
                       [&](auto tag) { matmul_typed<decltype(tag)>(a, b, y, batch_a, batch_b, batch_y, m, k, n); });
    return staged ? from_f32(y, dt) : y;
}

namespace {

void matmul_kernel(KernelContext& ctx) {
    ctx.set(0, matmul_tensors(ctx.node, ctx.in(0), ctx.in(1)));
}

// com.microsoft FusedMatMul (ONNX Runtime contrib): Y = alpha * op(A) @ op(B), op transposing the last two dims
// when transA/transB is set; MatMul broadcasting otherwise. transBatchA/B are refused by check_fused_matmul.
Tensor swap_last2(const Tensor& t) {
    if (t.rank() < 2) return t;
    Shape s = t.shape();
    const int64_t r = s[s.size() - 2], c = s.back(), mats = (r * c != 0) ? t.numel() / (r * c) : 0;
    std::swap(s[s.size() - 2], s.back());
    Tensor y(t.dtype(), s);
    const size_t es = dtype_size(t.dtype());
    const auto* src = static_cast<const uint8_t*>(t.raw());
    auto* dst = static_cast<uint8_t*>(y.raw());
    for (int64_t b = 0; b < mats; ++b)
        for (int64_t i = 0; i < r; ++i)
            for (int64_t j = 0; j < c; ++j)
                std::memcpy(dst + ((b * c + j) * r + i) * es, src + ((b * r + i) * c + j) * es, es);
    return y;
}

void fused_matmul_kernel(KernelContext& ctx) {
    const auto& nd = ctx.node;
    const Tensor& a = ctx.in(0);
    const Tensor& b = ctx.in(1);
    Tensor y = matmul_tensors(nd, nd.attr_int("transA", 0) ? swap_last2(a) : a,
                              nd.attr_int("transB", 0) ? swap_last2(b) : b);
    const double alpha = nd.attr_float("alpha", 1.0f);
    if (alpha != 1.0) {
        const DType dt = y.dtype();
        Tensor f = is_staged_float(dt) ? to_f32(y) : y;
        HQ_CHECK(f.dtype() == DType::F32 || f.dtype() == DType::F64, nd.label(), ": alpha needs a float type, got ",
                 dtype_name(dt));
        if (f.dtype() == DType::F32)
            for (int64_t i = 0; i < f.numel(); ++i) f.data<float>()[i] = (float)(f.data<float>()[i] * alpha);
        else
            for (int64_t i = 0; i < f.numel(); ++i) f.data<double>()[i] *= alpha;
        y = is_staged_float(dt) ? from_f32(f, dt) : f;
    }
    ctx.set(0, y);
}

std::string check_fused_matmul(const graph::Node& n, int64_t) {
    if (n.attr_int("transBatchA", 0) || n.attr_int("transBatchB", 0))
        return "FusedMatMul with transBatchA/transBatchB is not supported";
    return "";
}

// -------------------------------------------------------------------------------------------- Einsum

constexpr int kEllipsisBase = 64;  // labels 0..51 are letters; ellipsis dims get kEllipsisBase + j

struct EinsumSpec {
    std::vector<std::vector<int>> ins;  // labels per operand, one per dim
    std::vector<int> out;
    std::map<int, int64_t> size;  // label -> extent
};

int letter_label(char ch, const std::string& who) {
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    HQ_FAIL(who, ": invalid character '", ch, "' in equation");
}

// Parses one term into labels; the ellipsis becomes `ell_rank` labels right-aligned on max_ell.
std::vector<int> parse_term(const std::string& t, int64_t rank, int64_t max_ell, bool is_output, const std::string& who,
                            int64_t* ell_rank_out) {
    std::vector<int> labels;
    size_t ell = t.find("...");
    int64_t explicit_count = (int64_t)t.size() - (ell == std::string::npos ? 0 : 3);
    int64_t ell_rank = ell == std::string::npos ? 0 : (is_output ? max_ell : rank - explicit_count);
    HQ_CHECK(ell_rank >= 0, who, ": term '", t, "' has more labels than its operand has dims (", rank, ")");
    if (ell_rank_out) *ell_rank_out = ell_rank;
    for (size_t i = 0; i < t.size(); ++i) {
        if (i == ell) {
            for (int64_t j = 0; j < ell_rank; ++j) labels.push_back(kEllipsisBase + (int)(max_ell - ell_rank + j));
            i += 2;
            continue;
        }
        labels.push_back(letter_label(t[i], who));
    }
    return labels;
}

EinsumSpec parse_einsum(const std::string& eq0, const std::vector<const Tensor*>& ops, const std::string& who) {
    std::string eq;
    for (char ch : eq0)
        if (ch != ' ') eq += ch;
    const size_t arrow = eq.find("->");
    const std::string lhs = eq.substr(0, arrow);
    std::vector<std::string> terms;
    for (size_t p = 0;;) {
        size_t q = lhs.find(',', p);
        terms.push_back(lhs.substr(p, q == std::string::npos ? std::string::npos : q - p));
        if (q == std::string::npos) break;
        p = q + 1;
    }
    HQ_CHECK(terms.size() == ops.size(), who, ": equation '", eq0, "' has ", terms.size(), " operands, node has ",
             ops.size());
    EinsumSpec s;
    int64_t max_ell = 0;
    std::vector<int64_t> ell_rank(ops.size(), 0);
    for (size_t i = 0; i < ops.size(); ++i) {
        parse_term(terms[i], ops[i]->rank(), 0, false, who, &ell_rank[i]);
        max_ell = std::max(max_ell, ell_rank[i]);
    }
    std::map<int, int> count;
    for (size_t i = 0; i < ops.size(); ++i) {
        auto labels = parse_term(terms[i], ops[i]->rank(), max_ell, false, who, nullptr);
        HQ_CHECK((int64_t)labels.size() == ops[i]->rank(), who, ": term '", terms[i], "' names ", labels.size(),
                 " dims, operand ", i, " has shape ", shape_str(ops[i]->shape()));
        for (size_t d = 0; d < labels.size(); ++d) {
            const int64_t ext = ops[i]->dim((int64_t)d);
            auto it = s.size.find(labels[d]);
            if (it == s.size.end() || it->second == 1) {
                s.size[labels[d]] = ext;
            } else {
                HQ_CHECK(ext == it->second || ext == 1, who, ": dimension ", d, " of operand ", i, " is ", ext,
                         " but its label has extent ", it->second);
            }
            ++count[labels[d]];
        }
        s.ins.push_back(std::move(labels));
    }
    if (arrow != std::string::npos) {
        s.out = parse_term(eq.substr(arrow + 2), 0, max_ell, true, who, nullptr);
        for (int l : s.out) HQ_CHECK(s.size.count(l), who, ": output label not found in the inputs of '", eq0, "'");
    } else {
        for (int64_t j = 0; j < max_ell; ++j) s.out.push_back(kEllipsisBase + (int)j);
        for (auto& [l, c] : count)  // std::map: sorted, so 'A'..'Z' then 'a'..'z'
            if (l < kEllipsisBase && c == 1) s.out.push_back(l);
    }
    return s;
}

// Generic path: walks every (output, summed) label combination with per-operand strides.
template <typename T>
void einsum_generic(const EinsumSpec& s, const std::vector<const Tensor*>& ops, Tensor& y) {
    std::vector<int> sum_labels;
    for (auto& [l, ext] : s.size)
        if (std::find(s.out.begin(), s.out.end(), l) == s.out.end()) sum_labels.push_back(l);
    const size_t nop = ops.size();
    auto strides_for = [&](const std::vector<int>& labels) {
        std::vector<std::vector<int64_t>> st(nop, std::vector<int64_t>(labels.size(), 0));
        for (size_t i = 0; i < nop; ++i) {
            auto ist = shape_strides(ops[i]->shape());
            for (size_t d = 0; d < s.ins[i].size(); ++d) {
                if (ops[i]->dim((int64_t)d) == 1) continue;  // broadcast
                for (size_t j = 0; j < labels.size(); ++j)
                    if (labels[j] == s.ins[i][d]) st[i][j] += ist[d];
            }
        }
        return st;
    };
    const auto out_st = strides_for(s.out), sum_st = strides_for(sum_labels);
    std::vector<int64_t> out_ext, sum_ext;
    for (int l : s.out) out_ext.push_back(s.size.at(l));
    for (int l : sum_labels) sum_ext.push_back(s.size.at(l));
    const int64_t nsum = shape_numel(sum_ext);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;
    std::vector<const T*> ptrs;
    for (auto* t : ops) ptrs.push_back(t->data<T>());
    T* yp = y.data<T>();
    parallel_for(y.numel(), std::max<int64_t>(1, 1024 / std::max<int64_t>(nsum, 1)), [&](int64_t b, int64_t e) {
        std::vector<int64_t> base(nop), off(nop), idx(sum_ext.size());
        for (int64_t o = b; o < e; ++o) {
            std::fill(base.begin(), base.end(), 0);
            int64_t r = o;
            for (int64_t d = (int64_t)out_ext.size() - 1; d >= 0; --d) {
                const int64_t q = r % out_ext[d];
                r /= out_ext[d];
                for (size_t i = 0; i < nop; ++i) base[i] += q * out_st[i][d];
            }
            Acc acc = 0;
            std::fill(idx.begin(), idx.end(), 0);
            off = base;
            for (int64_t t = 0; t < nsum; ++t) {
                Acc p = 1;
                for (size_t i = 0; i < nop; ++i) p *= (Acc)ptrs[i][off[i]];
                acc += p;
                for (int64_t d = (int64_t)sum_ext.size() - 1; d >= 0; --d) {  // odometer step
                    for (size_t i = 0; i < nop; ++i) off[i] += sum_st[i][d];
                    if (++idx[d] < sum_ext[d]) break;
                    for (size_t i = 0; i < nop; ++i) off[i] -= sum_st[i][d] * sum_ext[d];
                    idx[d] = 0;
                }
            }
            yp[o] = (T)acc;
        }
    });
}

// out[j...] = in[perm-ordered]: out dim d is input dim perm[d].
Tensor permute_f32(const Tensor& x, const std::vector<int64_t>& perm) {
    Shape os;
    for (int64_t p : perm) os.push_back(x.dim(p));
    Tensor y(DType::F32, os);
    const auto ist = shape_strides(x.shape());
    std::vector<int64_t> st;
    for (int64_t p : perm) st.push_back(ist[p]);
    const float* xp = x.data<float>();
    float* yp = y.data<float>();
    const int64_t r = (int64_t)os.size();
    if (r == 0) {
        yp[0] = xp[0];
        return y;
    }
    const int64_t inner = os[r - 1], inner_st = st[r - 1], rows = y.numel() / std::max<int64_t>(inner, 1);
    if (inner == 0) return y;
    parallel_for(rows, std::max<int64_t>(1, 4096 / inner), [&](int64_t b, int64_t e) {
        for (int64_t row = b; row < e; ++row) {
            int64_t src = 0, q = row;
            for (int64_t d = r - 2; d >= 0; --d) {
                src += (q % os[d]) * st[d];
                q /= os[d];
            }
            float* dst = yp + row * inner;
            for (int64_t j = 0; j < inner; ++j) dst[j] = xp[src + j * inner_st];
        }
    });
    return y;
}

bool has_repeats(const std::vector<int>& v) {
    for (size_t i = 0; i < v.size(); ++i)
        for (size_t j = i + 1; j < v.size(); ++j)
            if (v[i] == v[j]) return true;
    return false;
}

// Two float operands as batched GEMM. Returns false when the equation does not have that shape.
bool einsum_as_gemm(const EinsumSpec& s, const Tensor& a, const Tensor& b, Tensor& y) {
    const auto &la = s.ins[0], &lb = s.ins[1];
    if (has_repeats(la) || has_repeats(lb) || has_repeats(s.out)) return false;
    auto in = [](const std::vector<int>& v, int l) { return std::find(v.begin(), v.end(), l) != v.end(); };
    for (size_t d = 0; d < la.size(); ++d)
        if (a.dim((int64_t)d) != s.size.at(la[d])) return false;
    for (size_t d = 0; d < lb.size(); ++d)
        if (b.dim((int64_t)d) != s.size.at(lb[d])) return false;
    std::vector<int> batch, ml, nl, kl;
    for (int l : s.out) {
        const bool ia = in(la, l), ib = in(lb, l);
        if (ia && ib)
            batch.push_back(l);
        else if (ia)
            ml.push_back(l);
        else if (ib)
            nl.push_back(l);
    }
    for (int l : la) {
        if (in(s.out, l)) continue;
        if (!in(lb, l)) return false;  // summed over A alone
        kl.push_back(l);
    }
    for (int l : lb)
        if (!in(s.out, l) && !in(la, l)) return false;  // summed over B alone
    auto ext = [&](const std::vector<int>& v) {
        int64_t p = 1;
        for (int l : v) p *= s.size.at(l);
        return p;
    };
    const int64_t nb = ext(batch), m = ext(ml), n = ext(nl), k = ext(kl);
    auto cat = [](std::initializer_list<const std::vector<int>*> parts) {
        std::vector<int> r;
        for (auto* p : parts) r.insert(r.end(), p->begin(), p->end());
        return r;
    };
    auto perm_of = [](const std::vector<int>& from, const std::vector<int>& to) {
        std::vector<int64_t> p;
        for (int l : to) p.push_back(std::find(from.begin(), from.end(), l) - from.begin());
        return p;
    };
    // Use the operand as it is when its layout is [batch, rows, cols] or [batch, cols, rows] (transposed GEMM).
    auto prepare = [&](const Tensor& t, const std::vector<int>& labels, const std::vector<int>& rows,
                       const std::vector<int>& cols, bool* trans) {
        *trans = false;
        if (labels == cat({&batch, &rows, &cols})) return t;
        if (labels == cat({&batch, &cols, &rows})) {
            *trans = true;
            return t;
        }
        return permute_f32(t, perm_of(labels, cat({&batch, &rows, &cols})));
    };
    bool ta = false, tb = false;
    Tensor ap = prepare(a, la, ml, kl, &ta);
    Tensor bp = prepare(b, lb, kl, nl, &tb);
    const auto yl = cat({&batch, &ml, &nl});
    Shape ys;
    for (int l : yl) ys.push_back(s.size.at(l));
    Tensor c(DType::F32, ys);
    const float* apd = ap.data<float>();
    const float* bpd = bp.data<float>();
    float* cp = c.data<float>();
    for (int64_t i = 0; i < nb; ++i)
        blas_gemm(ta, tb, m, n, k, 1.f, apd + i * m * k, ta ? m : k, bpd + i * k * n, tb ? k : n, 0.f, cp + i * m * n,
                  n);
    y = yl == s.out ? c : permute_f32(c, perm_of(yl, s.out));
    return true;
}

void einsum_kernel(KernelContext& ctx) {
    const auto& nd = ctx.node;
    HQ_CHECK(ctx.num_inputs() >= 1, nd.label(), ": needs at least one input");
    const DType dt = ctx.in(0).dtype();
    std::vector<Tensor> staged;
    std::vector<const Tensor*> ops;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
        const Tensor& t = ctx.in(i);
        HQ_CHECK(t.dtype() == dt, nd.label(), ": input ", i, " is ", dtype_name(t.dtype()), ", expected ",
                 dtype_name(dt));
        staged.push_back(is_staged_float(dt) ? to_f32(t) : t);
    }
    for (auto& t : staged) ops.push_back(&t);
    const EinsumSpec s = parse_einsum(nd.attr_string("equation", ""), ops, nd.label());
    Shape ys;
    for (int l : s.out) ys.push_back(s.size.at(l));
    const DType ct = staged[0].dtype();
    Tensor y;
    bool done = false;
    if (ct == DType::F32 && ops.size() == 2) done = einsum_as_gemm(s, *ops[0], *ops[1], y);
    if (!done && ct == DType::F32 && ops.size() == 1 && !has_repeats(s.ins[0]) && s.ins[0].size() == s.out.size()) {
        std::vector<int64_t> perm;  // pure transpose
        for (int l : s.out) perm.push_back(std::find(s.ins[0].begin(), s.ins[0].end(), l) - s.ins[0].begin());
        y = permute_f32(*ops[0], perm);
        done = true;
    }
    if (!done) {
        y = Tensor(ct, ys);
        dispatch_gemm_type(ct, nd.label(), [&](auto tag) { einsum_generic<decltype(tag)>(s, ops, y); });
    }
    ctx.set(0, is_staged_float(dt) ? from_f32(y, dt) : y);
}

std::string check_einsum(const graph::Node& n, int64_t) {
    const std::string eq = n.attr_string("equation", "");
    if (eq.empty()) return "Einsum without an equation";
    for (char ch : eq)
        if (!(std::isalpha((unsigned char)ch) || ch == ',' || ch == '-' || ch == '>' || ch == '.' || ch == ' '))
            return std::string("Einsum equation '") + eq + "' has an invalid character";
    return "";
}

}  // namespace

void register_gemm(KernelRegistry& r) {
    r.add("Gemm", gemm_kernel);
    r.add("MatMul", matmul_kernel);
    r.add(KernelDef{"FusedMatMul", "com.microsoft", 1, INT_MAX, fused_matmul_kernel, check_fused_matmul});
    r.add(KernelDef{"Einsum", "", 12, INT_MAX, einsum_kernel, check_einsum});
}

}  // namespace hq::exec::cpu
