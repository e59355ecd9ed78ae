// Device handlers of the data-movement ops, on raw elements of any fixed-size dtype: Transpose, Slice, Expand,
// Tile, DepthToSpace, SpaceToDepth (one strided copy each, as lib/exec/cpu/shape_ops.cpp builds them), Concat,
// Split, Gather (indices checked and normalized on the host), and Resize / Upsample (tables from resize_plan).
#include <cstring>

#include "core/half.h"
#include "exec/hip/ops_common.h"
#include "exec/hip/resize_plan.h"

namespace hq::exec::hip {

namespace {

// y = x read at off + sum_d i_d * strides[d] over `shape` (strides in elements of x); `out_shape` is y's shape
// (same element count as `shape`).
bool strided(OpEnv& e, const Shape& shape, const std::vector<int64_t>& strides, int64_t off, const Shape& out_shape) {
    const Tensor& x = e.ctx.in(0);
    if (!is_fixed_size(x.dtype())) return false;
    k::Walk w;
    if (!make_walk(shape, {strides}, w)) return false;
    const void* px = e.in(0);
    void* py = e.out(0, x.dtype(), out_shape);
    if (shape_numel(shape) > 0) k::strided_copy(e.stream(), (int)dtype_size(x.dtype()), px, off, py, w);
    return true;
}

bool k_transpose(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    const int64_t r = x.rank();
    std::vector<int64_t> perm = e.node().attr_ints("perm");
    if (perm.empty())
        for (int64_t d = r - 1; d >= 0; --d) perm.push_back(d);
    if ((int64_t)perm.size() != r) return false;
    std::vector<bool> seen(r, false);
    const auto st = shape_strides(x.shape());
    Shape s(r);
    std::vector<int64_t> strides(r);
    for (int64_t d = 0; d < r; ++d) {
        const auto p = norm_axis(perm[d], r);
        if (!p || seen[*p]) return false;
        seen[*p] = true;
        s[d] = x.dim(*p);
        strides[d] = st[*p];
    }
    return strided(e, s, strides, 0, s);
}

bool k_slice(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    const int64_t r = x.rank();
    std::vector<int64_t> starts, ends, axes, steps;
    if (e.opset() < 10) {
        starts = e.node().attr_ints("starts");
        ends = e.node().attr_ints("ends");
        axes = e.node().attr_ints("axes");
    } else {
        if (!e.ctx.has_input(1) || !e.ctx.has_input(2)) return false;
        starts = e.ctx.in(1).to_i64();
        ends = e.ctx.in(2).to_i64();
        if (e.ctx.has_input(3)) axes = e.ctx.in(3).to_i64();
        if (e.ctx.has_input(4)) steps = e.ctx.in(4).to_i64();
    }
    if (starts.size() != ends.size()) return false;
    if (axes.empty())
        for (size_t i = 0; i < starts.size(); ++i) axes.push_back((int64_t)i);
    if (steps.empty()) steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size()) return false;
    Shape s = x.shape();
    const auto st = shape_strides(x.shape());
    std::vector<int64_t> strides = st;
    std::vector<bool> seen(r, false);
    int64_t off = 0;
    for (size_t i = 0; i < starts.size(); ++i) {
        const auto a = norm_axis(axes[i], r);
        if (!a || seen[*a] || steps[i] == 0) return false;
        seen[*a] = true;
        const int64_t dim = x.dim(*a), step = steps[i];
        int64_t b = 0;
        const int64_t n = slice_range(dim, starts[i], ends[i], step, &b);
        s[*a] = n;
        strides[*a] = st[*a] * step;
        if (n > 0) off += b * st[*a];
    }
    return strided(e, s, strides, off, s);
}

bool k_expand(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    const auto out = try_broadcast(x.shape(), e.ctx.in(1).to_i64());
    if (!out || *out == x.shape()) return false;  // the CPU returns x itself
    return strided(e, *out, broadcast_strides(x.shape(), *out), 0, *out);
}

bool k_tile(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    const int64_t r = x.rank();
    if (e.opset() < 6 && e.ctx.has_input(2)) return false;  // Tile-1
    const std::vector<int64_t> reps = e.ctx.in(1).to_i64();
    if ((int64_t)reps.size() != r) return false;
    const auto st = shape_strides(x.shape());
    Shape s2, out;
    std::vector<int64_t> strides;
    for (int64_t d = 0; d < r; ++d) {
        if (reps[d] < 0) return false;
        s2.insert(s2.end(), {reps[d], x.dim(d)});
        strides.insert(strides.end(), {0, st[d]});
        out.push_back(reps[d] * x.dim(d));
    }
    return strided(e, s2, strides, 0, out);
}

bool k_depth_to_space(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    const std::string mode = e.node().attr_string("mode", "DCR");
    const int64_t b = e.node().attr_int("blocksize", 0);
    if (x.rank() != 4 || b <= 0 || x.dim(1) % (b * b) || (mode != "DCR" && mode != "CRD")) return false;
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), c = C / (b * b);
    const bool crd = mode == "CRD";
    const int64_t sc = crd ? b * b * H * W : H * W, sb1 = crd ? b * H * W : b * c * H * W, sb2 = crd ? H * W : c * H * W;
    return strided(e, {N, c, H, b, W, b}, {C * H * W, sc, W, sb1, 1, sb2}, 0, {N, c, H * b, W * b});
}

bool k_space_to_depth(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    const int64_t b = e.node().attr_int("blocksize", 0);
    if (x.rank() != 4 || b <= 0 || x.dim(2) % b || x.dim(3) % b) return false;
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), h = H / b, w = W / b;
    return strided(e, {N, b, b, C, h, w}, {C * H * W, W, 1, H * W, b * W, b}, 0, {N, C * b * b, h, w});
}

bool k_concat(OpEnv& e) {
    std::vector<size_t> ins;
    for (size_t i = 0; i < e.ctx.num_inputs(); ++i)
        if (e.ctx.has_input(i)) ins.push_back(i);
    if (ins.empty()) return false;
    const Tensor& first = e.ctx.in(ins[0]);
    const int64_t r = first.rank();
    if (r == 0 || !is_fixed_size(first.dtype())) return false;
    const auto axis = norm_axis(e.node().attr_int("axis", 1), r);
    if (!axis) return false;
    Shape out = first.shape();
    out[*axis] = 0;
    for (size_t i : ins) {
        const Tensor& t = e.ctx.in(i);
        if (t.dtype() != first.dtype() || t.rank() != r) return false;
        for (int64_t d = 0; d < r; ++d)
            if (d != *axis && t.dim(d) != first.dim(d)) return false;
        out[*axis] += t.dim(*axis);
    }
    const int64_t outer = prod(out, 0, *axis), row = prod(out, *axis, out.size());
    const int es = (int)dtype_size(first.dtype());
    std::vector<const void*> src;
    for (size_t i : ins) src.push_back(e.in(i));
    char* py = static_cast<char*>(e.out(0, first.dtype(), out));
    if (shape_numel(out) == 0) return true;
    int64_t at = 0;
    for (size_t k = 0; k < ins.size(); ++k) {
        const int64_t n = e.ctx.in(ins[k]).numel() / outer;
        k::copy_rows(e.stream(), es, src[k], n, py + at * es, row, outer, n);
        at += n;
    }
    return true;
}

bool k_split(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    if (!is_fixed_size(x.dtype()) || x.rank() == 0) return false;
    const auto axis = norm_axis(e.node().attr_int("axis", 0), x.rank());
    if (!axis) return false;
    const int64_t dim = x.dim(*axis);
    const size_t nout = e.node().outputs.size();
    std::vector<int64_t> split;
    if (e.ctx.has_input(1))
        split = e.ctx.in(1).to_i64();
    else if (e.opset() < 13)
        split = e.node().attr_ints("split");
    if (split.empty()) {
        const int64_t n = e.opset() >= 18 ? e.node().attr_int("num_outputs", (int64_t)nout) : (int64_t)nout;
        if (n <= 0 || (size_t)n != nout) return false;
        const int64_t chunk = (dim + n - 1) / n;
        for (int64_t i = 0; i < n; ++i) split.push_back(std::clamp<int64_t>(dim - i * chunk, 0, chunk));
    }
    if (split.size() != nout) return false;
    int64_t total = 0;
    for (int64_t v : split) {
        if (v < 0) return false;
        total += v;
    }
    if (total != dim) return false;
    const int64_t outer = prod(x.shape(), 0, *axis), inner = prod(x.shape(), *axis + 1, x.shape().size());
    const int es = (int)dtype_size(x.dtype());
    const char* px = static_cast<const char*>(e.in(0));
    int64_t start = 0;
    for (size_t i = 0; i < nout; ++i) {
        if (e.ctx.wants_output(i)) {
            Shape s = x.shape();
            s[*axis] = split[i];
            void* py = e.out(i, x.dtype(), s);
            const int64_t n = split[i] * inner;
            if (outer * n > 0) k::copy_rows(e.stream(), es, px + start * inner * es, dim * inner, py, n, outer, n);
        }
        start += split[i];
    }
    return true;
}

bool k_gather(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    const Tensor& idx = e.ctx.in(1);
    if (!is_fixed_size(x.dtype()) || x.rank() == 0) return false;
    if (idx.dtype() != DType::I64 && idx.dtype() != DType::I32) return false;
    const auto axis = norm_axis(e.node().attr_int("axis", 0), x.rank());
    if (!axis) return false;
    const int64_t dim = x.dim(*axis);
    std::vector<int64_t> iv = idx.to_i64();
    for (auto& i : iv) {
        if (i < -dim || i >= dim) return false;  // the CPU kernel names the bad index
        if (i < 0) i += dim;
    }
    Shape s(x.shape().begin(), x.shape().begin() + *axis);
    s.insert(s.end(), idx.shape().begin(), idx.shape().end());
    s.insert(s.end(), x.shape().begin() + *axis + 1, x.shape().end());
    const int64_t outer = prod(x.shape(), 0, *axis), inner = prod(x.shape(), *axis + 1, x.shape().size());
    const void* px = e.in(0);
    void* py = e.out(0, x.dtype(), s);
    if (shape_numel(s) == 0) return true;
    const int64_t* pi = iv.empty() ? nullptr : e.upload_vec(iv);
    k::gather(e.stream(), (int)dtype_size(x.dtype()), px, pi, py, outer, (int64_t)iv.size(), dim, inner);
    return true;
}

// The extrapolation value as the bytes of an element of `dt` (nearest mode), as the CPU converts it.
uint64_t extrapolation_bits(DType dt, float v) {
    uint64_t bits = 0;
    auto put = [&](auto x) { std::memcpy(&bits, &x, sizeof(x)); };
    switch (dt) {
        case DType::F32: put(v); break;
        case DType::F16: put(float_to_half(v)); break;
        case DType::F64: put((double)v); break;
        case DType::I8: put((int8_t)v); break;
        case DType::U8: put((uint8_t)v); break;
        case DType::I16: put((int16_t)v); break;
        case DType::U16: put((uint16_t)v); break;
        case DType::I32: put((int32_t)v); break;
        case DType::U32: put((uint32_t)v); break;
        case DType::I64: put((int64_t)v); break;
        case DType::U64: put((uint64_t)v); break;
        case DType::Bool: put((uint8_t)(v != 0)); break;
        default: break;
    }
    return bits;
}

bool k_resize(OpEnv& e) {
    const Tensor& x = e.ctx.in(0);
    if (x.rank() < 1 || x.rank() > k::kMaxDims || !is_fixed_size(x.dtype()) || x.dtype() == DType::BF16) return false;
    const auto plan = plan_resize(e.ctx, x.shape());
    if (!plan) return false;
    const auto t = ftype_of(x.dtype());
    if (!plan->nearest && !t) return false;  // linear / cubic on integers round on the CPU
    k::ResizeArgs a;
    a.rank = (int)x.rank();
    a.nearest = plan->nearest;
    a.esize = (int)dtype_size(x.dtype());
    a.t = t ? *t : k::FType::F32;
    a.extrapolation = plan->extrapolation;
    a.extrapolation_bits = extrapolation_bits(x.dtype(), plan->extrapolation);
    std::vector<int32_t> idx;
    std::vector<float> w;
    int64_t combos = 1;
    for (int d = 0; d < a.rank; ++d) {
        const ResizeAxis& ax = plan->axes[d];
        a.in[d] = x.dim(d);
        a.out[d] = plan->out[d];
        if (ax.identity) continue;  // taps 0: index copied
        a.taps[d] = ax.taps;
        a.off[d] = (int64_t)idx.size();
        idx.insert(idx.end(), ax.idx.begin(), ax.idx.end());
        w.insert(w.end(), ax.w.begin(), ax.w.end());
        combos *= ax.taps;
    }
    if (combos > 4096) return false;
    const void* px = e.in(0);
    void* py = e.out(0, x.dtype(), plan->out);
    if (shape_numel(plan->out) == 0) return true;
    const int32_t* pidx = idx.empty() ? nullptr : e.upload_vec(idx);
    const float* pw = w.empty() ? nullptr : e.upload_vec(w);
    k::resize(e.stream(), px, py, a, pidx, pw);
    return true;
}

}  // namespace

void register_data_ops(OpTable& t) {
    t["Transpose"] = k_transpose;
    t["Slice"] = k_slice;
    t["Expand"] = [](OpEnv& e) { return e.opset() >= 8 && k_expand(e); };
    t["Tile"] = k_tile;
    t["DepthToSpace"] = k_depth_to_space;
    t["SpaceToDepth"] = k_space_to_depth;
    t["Concat"] = k_concat;
    t["Split"] = k_split;
    t["Gather"] = k_gather;
    t["Resize"] = [](OpEnv& e) { return e.opset() >= 10 && k_resize(e); };
    t["Upsample"] = [](OpEnv& e) { return e.opset() >= 7 && e.opset() <= 9 && k_resize(e); };
}

}  // namespace hq::exec::hip
