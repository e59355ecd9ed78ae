// Detection post-processing kernels: NonMaxSuppression (opset 10, 11) and RoiAlign (opset 10, 16).
// NonMaxSuppression: per batch and class, boxes whose score is above score_threshold are visited by descending
// score (ties: lower box index first) and kept unless their IoU with a kept box exceeds iou_threshold, at most
// max_output_boxes_per_class of them (0 or absent: none). A box of zero area suppresses nothing.
// RoiAlign: each output bin is the average (or the maximum) of sampling_ratio^2 bilinear samples (adaptive
// ceil(roi_size / output_size) when 0); coordinate_transformation_mode half_pixel shifts the ROI by -0.5 pixel
// (opset 16 default), output_half_pixel (opset 10's only behaviour) does not and makes ROIs at least 1x1. In max
// mode each sample is the largest of its four weighted corners, as ONNX's reference and ONNX Runtime compute it.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "exec/cpu/common.h"
#include "exec/cpu/kernels.h"

namespace hq::exec::cpu {
namespace {

// ------------------------------------------------------------------------------------------ NonMaxSuppression

struct Box {
    float y1, x1, y2, x2;
};

Box read_box(const float* p, bool center) {
    if (center) {  // [x_center, y_center, width, height]
        const float xc = p[0], yc = p[1], w = p[2], h = p[3];
        return {yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2};
    }
    // [y1, x1, y2, x2], any diagonal pair of corners
    return {std::min(p[0], p[2]), std::min(p[1], p[3]), std::max(p[0], p[2]), std::max(p[1], p[3])};
}

bool suppresses(const Box& a, const Box& b, float iou_threshold) {
    const float area_a = (a.y2 - a.y1) * (a.x2 - a.x1), area_b = (b.y2 - b.y1) * (b.x2 - b.x1);
    if (area_a <= 0 || area_b <= 0) return false;
    const float ih = std::max(0.0f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
    const float iw = std::max(0.0f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
    const float inter = ih * iw;
    const float uni = area_a + area_b - inter;
    if (inter <= 0 || uni <= 0) return false;
    return inter / uni > iou_threshold;
}

void k_nms(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor boxes_t = to_f32(c.in(0)), scores_t = to_f32(c.in(1));
    HQ_CHECK(boxes_t.rank() == 3 && boxes_t.dim(2) == 4, who, ": boxes ", shape_str(boxes_t.shape()),
             " must be [batch, boxes, 4]");
    HQ_CHECK(scores_t.rank() == 3 && scores_t.dim(0) == boxes_t.dim(0) && scores_t.dim(2) == boxes_t.dim(1), who,
             ": scores ", shape_str(scores_t.shape()), " must be [", boxes_t.dim(0), ", classes, ", boxes_t.dim(1),
             "] for boxes ", shape_str(boxes_t.shape()));
    const int64_t center = c.node.attr_int("center_point_box", 0);
    HQ_CHECK(center == 0 || center == 1, who, ": center_point_box ", center, " must be 0 or 1");
    int64_t max_out = 0;
    float iou_th = 0.0f, score_th = -INFINITY;
    bool has_score_th = false;
    auto scalar = [&](size_t i, const char* what) {
        const Tensor& t = c.in(i);
        HQ_CHECK(t.numel() == 1, who, ": ", what, " must hold one value, got ", shape_str(t.shape()));
        return t;
    };
    if (c.has_input(2) && c.in(2).numel() > 0) max_out = scalar(2, "max_output_boxes_per_class").at_i64(0);
    if (c.has_input(3) && c.in(3).numel() > 0) iou_th = (float)scalar(3, "iou_threshold").at_f64(0);
    if (c.has_input(4) && c.in(4).numel() > 0) {
        score_th = (float)scalar(4, "score_threshold").at_f64(0);
        has_score_th = true;
    }
    HQ_CHECK(iou_th >= 0.0f && iou_th <= 1.0f, who, ": iou_threshold ", iou_th, " must be in [0, 1]");
    const int64_t B = boxes_t.dim(0), N = boxes_t.dim(1), C = scores_t.dim(1);
    const float* pb = boxes_t.data<float>();
    const float* ps = scores_t.data<float>();
    std::vector<int64_t> sel;
    std::vector<Box> all((size_t)N);
    std::vector<int64_t> order;
    std::vector<Box> kept;
    for (int64_t b = 0; b < B && max_out > 0; ++b) {
        for (int64_t i = 0; i < N; ++i) all[i] = read_box(pb + (b * N + i) * 4, center == 1);
        for (int64_t k = 0; k < C; ++k) {
            const float* s = ps + (b * C + k) * N;
            order.clear();
            for (int64_t i = 0; i < N; ++i)
                if (!has_score_th || s[i] > score_th) order.push_back(i);
            std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return s[x] > s[y]; });
            kept.clear();
            for (int64_t i : order) {
                if ((int64_t)kept.size() >= max_out) break;
                bool drop = false;
                for (const Box& k2 : kept)
                    if (suppresses(all[i], k2, iou_th)) {
                        drop = true;
                        break;
                    }
                if (drop) continue;
                kept.push_back(all[i]);
                sel.insert(sel.end(), {b, k, i});
            }
        }
    }
    c.set(0, Tensor::from_i64({(int64_t)sel.size() / 3, 3}, sel));
}

// --------------------------------------------------------------------------------------------------- RoiAlign

std::string roialign_check(const graph::Node& n, int64_t opset) {
    const std::string mode = n.attr_string("mode", "avg");
    if (mode != "avg" && mode != "max") return "RoiAlign mode '" + mode + "' is not avg or max";
    if (opset >= 16) {
        const std::string ct = n.attr_string("coordinate_transformation_mode", "half_pixel");
        if (ct != "half_pixel" && ct != "output_half_pixel")
            return "RoiAlign coordinate_transformation_mode '" + ct + "' is not half_pixel or output_half_pixel";
    }
    return "";
}

// One bilinear sample: four flat positions in the H*W plane and their weights (all zero outside the map).
struct Sample {
    int64_t pos[4] = {0, 0, 0, 0};
    float w[4] = {0, 0, 0, 0};
};

Sample bilinear_sample(float y, float x, int64_t H, int64_t W) {
    Sample s;
    if (y < -1.0f || y > (float)H || x < -1.0f || x > (float)W) return s;
    y = std::max(y, 0.0f);
    x = std::max(x, 0.0f);
    int64_t y0 = (int64_t)y, x0 = (int64_t)x, y1, x1;
    if (y0 >= H - 1) {
        y0 = y1 = H - 1;
        y = (float)y0;
    } else {
        y1 = y0 + 1;
    }
    if (x0 >= W - 1) {
        x0 = x1 = W - 1;
        x = (float)x0;
    } else {
        x1 = x0 + 1;
    }
    const float ly = y - (float)y0, lx = x - (float)x0, hy = 1.0f - ly, hx = 1.0f - lx;
    s.pos[0] = y0 * W + x0;
    s.pos[1] = y0 * W + x1;
    s.pos[2] = y1 * W + x0;
    s.pos[3] = y1 * W + x1;
    s.w[0] = hy * hx;
    s.w[1] = hy * lx;
    s.w[2] = ly * hx;
    s.w[3] = ly * lx;
    return s;
}

void k_roialign(KernelContext& c) {
    const std::string who = c.node.label();
    const Tensor& x0 = c.in(0);
    HQ_CHECK(dtype_is_float(x0.dtype()), who, ": X must be a float tensor, got ", dtype_name(x0.dtype()));
    const Tensor x = to_f32(x0), rois = to_f32(c.in(1));
    const Tensor& bi = c.in(2);
    HQ_CHECK(x.rank() == 4, who, ": X ", shape_str(x.shape()), " must be [N, C, H, W]");
    HQ_CHECK(rois.rank() == 2 && rois.dim(1) == 4, who, ": rois ", shape_str(rois.shape()), " must be [num_rois, 4]");
    HQ_CHECK(bi.rank() == 1 && bi.dim(0) == rois.dim(0), who, ": batch_indices ", shape_str(bi.shape()),
             " must be [", rois.dim(0), "]");
    const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), R = rois.dim(0);
    const int64_t oh = c.node.attr_int("output_height", 1), ow = c.node.attr_int("output_width", 1);
    const int64_t ratio = c.node.attr_int("sampling_ratio", 0);
    HQ_CHECK(oh > 0 && ow > 0 && ratio >= 0, who, ": output_height ", oh, ", output_width ", ow,
             " must be positive and sampling_ratio ", ratio, " not negative");
    const float scale = c.node.attr_float("spatial_scale", 1.0f);
    const bool avg = c.node.attr_string("mode", "avg") == "avg";
    const bool half_pixel =
        c.opset >= 16 && c.node.attr_string("coordinate_transformation_mode", "half_pixel") == "half_pixel";
    Tensor y(DType::F32, {R, C, oh, ow});
    const float* px = x.data<float>();
    const float* pr = rois.data<float>();
    float* py = y.data<float>();
    for (int64_t r = 0; r < R; ++r) {
        const int64_t b = bi.at_i64(r);
        HQ_CHECK(b >= 0 && b < N, who, ": batch_indices[", r, "] = ", b, " is outside [0, ", N, ")");
    }
    parallel_for(R, 1, [&](int64_t rb, int64_t re) {
        std::vector<Sample> samples;
        for (int64_t r = rb; r < re; ++r) {
            const float* roi = pr + r * 4;
            const float off = half_pixel ? 0.5f : 0.0f;
            const float sx = roi[0] * scale - off, sy = roi[1] * scale - off;
            const float ex = roi[2] * scale - off, ey = roi[3] * scale - off;
            float rw = ex - sx, rh = ey - sy;
            if (!half_pixel) {
                rw = std::max(rw, 1.0f);
                rh = std::max(rh, 1.0f);
            }
            const float bh = rh / (float)oh, bw = rw / (float)ow;
            const int64_t gh = ratio > 0 ? ratio : (int64_t)std::ceil(rh / (float)oh);
            const int64_t gw = ratio > 0 ? ratio : (int64_t)std::ceil(rw / (float)ow);
            const int64_t count = std::max<int64_t>(gh * gw, 1);
            samples.assign((size_t)(oh * ow * std::max<int64_t>(gh, 0) * std::max<int64_t>(gw, 0)), Sample{});
            size_t k = 0;
            for (int64_t ph = 0; ph < oh; ++ph)
                for (int64_t pw = 0; pw < ow; ++pw)
                    for (int64_t iy = 0; iy < gh; ++iy) {
                        const float yy = sy + (float)ph * bh + ((float)iy + 0.5f) * bh / (float)gh;
                        for (int64_t ix = 0; ix < gw; ++ix) {
                            const float xx = sx + (float)pw * bw + ((float)ix + 0.5f) * bw / (float)gw;
                            samples[k++] = bilinear_sample(yy, xx, H, W);
                        }
                    }
            const int64_t per_bin = std::max<int64_t>(gh, 0) * std::max<int64_t>(gw, 0);
            const int64_t b = bi.at_i64(r);
            for (int64_t ch = 0; ch < C; ++ch) {
                const float* plane = px + (b * C + ch) * H * W;
                float* out = py + (r * C + ch) * oh * ow;
                for (int64_t bin = 0; bin < oh * ow; ++bin) {
                    const Sample* s = samples.data() + bin * per_bin;
                    float v = 0.0f;
                    if (avg) {
                        for (int64_t q = 0; q < per_bin; ++q)
                            v += s[q].w[0] * plane[s[q].pos[0]] + s[q].w[1] * plane[s[q].pos[1]] +
                                 s[q].w[2] * plane[s[q].pos[2]] + s[q].w[3] * plane[s[q].pos[3]];
                        v /= (float)count;
                    } else {
                        for (int64_t q = 0; q < per_bin; ++q) {
                            const float m = std::max(std::max(s[q].w[0] * plane[s[q].pos[0]], s[q].w[1] * plane[s[q].pos[1]]),
                                                     std::max(s[q].w[2] * plane[s[q].pos[2]], s[q].w[3] * plane[s[q].pos[3]]));
                            v = q == 0 ? m : std::max(v, m);
                        }
                    }
                    out[bin] = v;
                }
            }
        }
    });
    c.set(0, x0.dtype() == DType::F32 ? y : from_f32(y, x0.dtype()));
}

}  // namespace

void register_detection(KernelRegistry& r) {
    r.add(KernelDef{"NonMaxSuppression", "", 10, INT_MAX, k_nms});
    r.add(KernelDef{"RoiAlign", "", 10, INT_MAX, k_roialign, roialign_check});
}

}  // namespace hq::exec::cpu
