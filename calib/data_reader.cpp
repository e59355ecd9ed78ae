#include "calib/data_reader.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>
#include <memory>
#include <system_error>

#include "core/fileio.h"
#include "core/half.h"
#include "core/hash.h"
#include "core/npy.h"
#include "onnx_io/onnx_io.h"

// stb_image: PNG and JPEG only, every symbol static to this file.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
#define STBI_MAX_DIMENSIONS (1 << 16)
#include <stb_image.h>
#pragma GCC diagnostic pop

namespace hq::calib {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxImageBytes = (size_t)1 << 30;

std::string lower(std::string s) {
    for (char& c : s) c = (char)std::tolower((unsigned char)c);
    return s;
}

bool is_image_ext(const std::string& ext) {
    return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}
bool is_tensor_ext(const std::string& ext) {
    return ext == ".npy" || ext == ".pb";
}

// File-name form of a tensor name, as `infer` writes outputs: characters outside [A-Za-z0-9._-] become '_'.
std::string file_safe(const std::string& name) {
    std::string r = name;
    for (char& c : r)
        if (!std::isalnum((unsigned char)c) && c != '.' && c != '_' && c != '-') c = '_';
    return r;
}

// Sorted names of the entries of `dir` (hidden ones, starting with '.', left out).
std::vector<std::string> list_names(const fs::path& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    HQ_CHECK(!ec, dir.string(), ": cannot list folder (", ec.message(), ")");
    for (; it != end; it.increment(ec)) {
        std::string n = it->path().filename().string();
        if (!n.empty() && n[0] != '.') names.push_back(n);
    }
    HQ_CHECK(!ec, dir.string(), ": cannot list folder (", ec.message(), ")");
    std::sort(names.begin(), names.end());
    return names;
}

std::string input_names(const std::vector<graph::ValueInfo>& inputs) {
    std::string r;
    for (size_t i = 0; i < inputs.size(); ++i) r += (i ? ", '" : "'") + inputs[i].name + "'";
    return r;
}

bool is_float_type(DType t) {
    return t == DType::F16 || t == DType::F32 || t == DType::F64;
}

// Converts between float types (F16/F32/F64); data of another type than the input's is refused.
Tensor fit_dtype(const Tensor& t, const graph::ValueInfo& in, const std::string& path) {
    if (in.dtype == DType::Undefined || t.dtype() == in.dtype) return t;
    HQ_CHECK(is_float_type(t.dtype()) && is_float_type(in.dtype), path, ": ", dtype_name(t.dtype()),
             " data for model input '", in.name, "' of type ", dtype_name(in.dtype));
    Tensor r(in.dtype, t.shape());
    std::vector<float> v = t.to_f32();
    if (in.dtype == DType::F32) {
        std::copy(v.begin(), v.end(), r.data<float>());
    } else if (in.dtype == DType::F64) {
        std::copy(v.begin(), v.end(), r.data<double>());
    } else {
        uint16_t* d = r.data<uint16_t>();
        for (size_t i = 0; i < v.size(); ++i) d[i] = float_to_half(v[i]);
    }
    return r;
}

void check_shape(const Tensor& t, const graph::ValueInfo& in, const std::string& path) {
    if (!in.has_shape) return;
    bool ok = t.rank() == (int64_t)in.dims.size();
    for (size_t d = 0; ok && d < in.dims.size(); ++d)
        if (in.dims[d].known() && in.dims[d].value != t.shape()[d]) ok = false;
    HQ_CHECK(ok, path, ": shape ", shape_str(t.shape()), " does not fit model input '", in.name, "' of shape ",
             in.shape_str());
}

// Bilinear (triangle) filter weights along one axis, as Pillow's Image.resize(BILINEAR) computes them: the filter
// widens by the scale factor when downscaling (antialiasing), windows are cut at the borders and renormalized,
// weights are fixed point with 22 fractional bits.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct Axis {
    int64_t ksize = 0;
    std::vector<int64_t> start, count;  // per output index: first source index and number of taps
    std::vector<int32_t> weights;       // out_size x ksize
};

Axis axis_coeffs(int64_t in_size, int64_t out_size) {
    Axis ax;
    const double scale = (double)in_size / (double)out_size;
    const double filter_scale = std::max(scale, 1.0);
    const double support = 1.0 * filter_scale;
    ax.ksize = (int64_t)std::ceil(support) * 2 + 1;
    ax.weights.assign((size_t)(out_size * ax.ksize), 0);
    std::vector<double> k((size_t)ax.ksize);
    for (int64_t o = 0; o < out_size; ++o) {
        const double center = (o + 0.5) * scale;
        const double ss = 1.0 / filter_scale;
        const int64_t lo = std::max<int64_t>((int64_t)(center - support + 0.5), 0);
        const int64_t n = std::min<int64_t>((int64_t)(center + support + 0.5), in_size) - lo;
        double total = 0;
        for (int64_t i = 0; i < n; ++i) {
            double x = std::abs((i + lo - center + 0.5) * ss);
            k[i] = x < 1.0 ? 1.0 - x : 0.0;
            total += k[i];
        }
        for (int64_t i = 0; i < n; ++i) {
            double w = total != 0.0 ? k[i] / total : k[i];
            ax.weights[o * ax.ksize + i] =
                (int32_t)(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
        }
        ax.start.push_back(lo);
        ax.count.push_back(n);
    }
    return ax;
}

uint8_t clip8(int64_t v) {
    if (v >= ((int64_t)1 << kPrecisionBits << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> kPrecisionBits);
}

}  // namespace

void check_image_options(const ImageOptions& opt) {
    HQ_CHECK(opt.height >= 0 && opt.width >= 0, "image size ", opt.height, "x", opt.width, ": must be positive");
    HQ_CHECK(opt.mean.size() == 1 || opt.mean.size() == 3, "--mean: expected 1 or 3 values, got ", opt.mean.size());
    HQ_CHECK(opt.std.size() == 1 || opt.std.size() == 3, "--std: expected 1 or 3 values, got ", opt.std.size());
    for (float s : opt.std) HQ_CHECK(s != 0.0f && std::isfinite(s), "--std: values must be finite and non-zero");
    for (float m : opt.mean) HQ_CHECK(std::isfinite(m), "--mean: values must be finite");
    HQ_CHECK(std::isfinite(opt.pad_value), "--pad-value: must be finite");
    HQ_CHECK(opt.layout == "nchw" || opt.layout == "nhwc", "--layout: expected nchw or nhwc, got '", opt.layout, "'");
}

std::vector<uint8_t> resize_bilinear_u8(const uint8_t* src, int64_t h, int64_t w, int64_t channels, int64_t out_h,
                                        int64_t out_w) {
    HQ_ASSERT(h > 0 && w > 0 && channels > 0 && out_h > 0 && out_w > 0);
    const int64_t half = (int64_t)1 << (kPrecisionBits - 1);
    // Horizontal pass into an 8-bit image, then the vertical pass (Pillow's order and rounding).
    std::vector<uint8_t> tmp;
    if (w != out_w) {
        Axis ax = axis_coeffs(w, out_w);
        tmp.resize((size_t)(h * out_w * channels));
        for (int64_t y = 0; y < h; ++y) {
            const uint8_t* s = src + y * w * channels;
            uint8_t* d = tmp.data() + y * out_w * channels;
            for (int64_t x = 0; x < out_w; ++x) {
                const int32_t* k = &ax.weights[x * ax.ksize];
                const uint8_t* p = s + ax.start[x] * channels;
                for (int64_t c = 0; c < channels; ++c) {
                    int64_t acc = half;
                    for (int64_t i = 0; i < ax.count[x]; ++i) acc += (int64_t)p[i * channels + c] * k[i];
                    d[x * channels + c] = clip8(acc);
                }
            }
        }
        src = tmp.data();
    }
    std::vector<uint8_t> dst((size_t)(out_h * out_w * channels));
    const int64_t row_len = out_w * channels;
    if (h == out_h) {
        std::copy(src, src + dst.size(), dst.begin());
        return dst;
    }
    Axis ay = axis_coeffs(h, out_h);
    for (int64_t y = 0; y < out_h; ++y) {
        const int32_t* k = &ay.weights[y * ay.ksize];
        const uint8_t* s = src + ay.start[y] * row_len;
        uint8_t* d = dst.data() + y * row_len;
        for (int64_t x = 0; x < row_len; ++x) {
            int64_t acc = half;
            for (int64_t i = 0; i < ay.count[y]; ++i) acc += (int64_t)s[i * row_len + x] * k[i];
            d[x] = clip8(acc);
        }
    }
    return dst;
}

Tensor preprocess_image(const uint8_t* rgb, int64_t h, int64_t w, const graph::ValueInfo& input,
                        const ImageOptions& opt, const std::string& label) {
    check_image_options(opt);
    HQ_CHECK(h > 0 && w > 0, label, ": empty image");
    const int64_t rank = input.has_shape ? (int64_t)input.dims.size() : 4;
    HQ_CHECK(rank == 3 || rank == 4, label, ": an image cannot feed model input '", input.name, "' of shape ",
             input.shape_str(), " (rank 3 or 4 expected)");
    HQ_CHECK(input.dtype == DType::Undefined || input.dtype == DType::F32 || input.dtype == DType::F16, label,
             ": an image cannot feed model input '", input.name, "' of type ", dtype_name(input.dtype),
             " (float32 or float16 expected)");
    const bool nhwc = opt.layout == "nhwc";
    const int64_t batch = rank == 4 ? 1 : 0;
    const int64_t h_dim = batch + (nhwc ? 0 : 1), w_dim = h_dim + 1;
    auto model_dim = [&](int64_t d) -> int64_t {
        return input.has_shape && input.dims[d].known() ? input.dims[d].value : 0;
    };
    int64_t H = opt.height > 0 ? opt.height : model_dim(h_dim);
    int64_t W = opt.width > 0 ? opt.width : model_dim(w_dim);
    if (H <= 0) H = h;
    int64_t rw;  // width of the resized image; the rest up to W is padding
    if (opt.keep_aspect) {
        rw = (int64_t)std::ceil((double)H * ((double)w / (double)h));
        rw = std::max<int64_t>(rw, 1);
        if (W > 0)
            rw = std::min(rw, W);
        else
            W = rw;
    } else {
        if (W <= 0) W = w;
        rw = W;
    }
    HQ_CHECK(H <= (1 << 16) && W <= (1 << 16) && H * W <= (1 << 28), label, ": target size ", H, "x", W, " too large");
    std::vector<uint8_t> px = resize_bilinear_u8(rgb, h, w, 3, H, rw);

    float mean[3], sd[3];
    for (int c = 0; c < 3; ++c) {
        mean[c] = opt.mean[opt.mean.size() == 3 ? c : 0];
        sd[c] = opt.std[opt.std.size() == 3 ? c : 0];
    }
    Shape shape = nhwc ? Shape{H, W, 3} : Shape{3, H, W};
    if (batch) shape.insert(shape.begin(), 1);
    Tensor t(DType::F32, shape);
    float* out = t.data<float>();
    for (int64_t c = 0; c < 3; ++c) {
        const int64_t sc = opt.bgr ? 2 - c : c;
        for (int64_t y = 0; y < H; ++y) {
            for (int64_t x = 0; x < W; ++x) {
                float v = x < rw ? ((float)px[(size_t)((y * rw + x) * 3 + sc)] - mean[c]) / sd[c] : opt.pad_value;
                out[nhwc ? (y * W + x) * 3 + c : (c * H + y) * W + x] = v;
            }
        }
    }
    if (input.dtype == DType::F16) {
        Tensor r(DType::F16, shape);
        uint16_t* d = r.data<uint16_t>();
        for (int64_t i = 0; i < t.numel(); ++i) d[i] = float_to_half(out[i]);
        return r;
    }
    return t;
}

Tensor read_image(const std::string& path, const graph::ValueInfo& input, const ImageOptions& opt) {
    std::string bytes = read_file(path, kMaxImageBytes);
    HQ_CHECK(bytes.size() <= (size_t)INT_MAX, path, ": image file too large");
    int w = 0, h = 0, n = 0;
    stbi_uc* px = stbi_load_from_memory((const stbi_uc*)bytes.data(), (int)bytes.size(), &w, &h, &n, 3);
    HQ_CHECK(px, path, ": cannot decode image (", stbi_failure_reason(), ")");
    std::unique_ptr<stbi_uc, void (*)(void*)> guard(px, stbi_image_free);
    return preprocess_image(px, h, w, input, opt, path);
}

DataSource::DataSource(const std::string& dir, const std::vector<graph::ValueInfo>& model_inputs, ImageOptions image)
    : inputs_(model_inputs), image_(std::move(image)) {
    HQ_CHECK(!inputs_.empty(), "data folder ", dir, ": the model has no inputs to feed");
    check_image_options(image_);
    std::error_code ec;
    fs::file_status st = fs::status(dir, ec);
    HQ_CHECK(fs::exists(st), "data folder ", dir, ": does not exist");
    HQ_CHECK(fs::is_directory(st), "data folder ", dir, ": not a folder");
    const fs::path root(dir);
    const bool single = inputs_.size() == 1;
    std::map<std::string, std::string> seen;  // sample name -> entry it came from

    for (const std::string& n : list_names(root)) {
        const fs::path p = root / n;
        const std::string ps = p.string();
        Entry e;
        if (fs::is_directory(p, ec)) {
            std::vector<std::string> files = list_names(p);
            auto has = [&](const std::string& f) { return std::binary_search(files.begin(), files.end(), f); };
            bool any_tensor = false;
            for (const auto& f : files) any_tensor |= is_tensor_ext(lower(fs::path(f).extension().string()));
            if (!any_tensor) continue;  // not a sample folder
            // ONNX test-data layout: input_K.pb for every K names inputs by position.
            bool by_index = true;
            for (size_t k = 0; k < inputs_.size(); ++k) by_index &= has("input_" + std::to_string(k) + ".pb");
            for (size_t k = 0; k < inputs_.size(); ++k) {
                const std::string& in = inputs_[k].name;
                const std::string idx = "input_" + std::to_string(k) + ".pb";
                std::vector<std::string> cands = {in + ".npy", file_safe(in) + ".npy"};
                if (by_index) cands.push_back(idx);
                for (const std::string& c : {in + ".pb", file_safe(in) + ".pb", idx}) cands.push_back(c);
                std::string found;
                for (const auto& c : cands)
                    if (c.find('/') == std::string::npos && has(c)) {
                        found = c;
                        break;
                    }
                HQ_CHECK(!found.empty(), ps, ": no file for model input '", in, "' (expected ", file_safe(in), ".npy, ",
                         idx, " or ", file_safe(in), ".pb)");
                e.files.emplace_back(in, (p / found).string());
            }
            e.name = n;
        } else if (fs::is_regular_file(p, ec)) {
            const std::string ext = lower(p.extension().string());
            if (!is_tensor_ext(ext) && !is_image_ext(ext)) continue;  // README, labels, ...
            HQ_CHECK(single, ps, ": a single tensor or image, but the model has ", inputs_.size(), " inputs (",
                     input_names(inputs_), "); put each sample in a sub-folder with one <input_name>.npy per input");
            e.name = p.stem().string();
            e.files.emplace_back(inputs_[0].name, ps);
        } else {
            continue;
        }
        auto [it, fresh] = seen.emplace(e.name, n);
        HQ_CHECK(fresh, "data folder ", dir, ": two samples named '", e.name, "' (", it->second, " and ", n, ")");
        entries_.push_back(std::move(e));
    }
    HQ_CHECK(!entries_.empty(), "data folder ", dir,
             ": no samples (expected NAME.npy, NAME.png|jpg, or sub-folders with one <input_name>.npy or "
             "input_K.pb per model input; model inputs: ",
             input_names(inputs_), ")");
}

Sample DataSource::load(size_t i) const {
    HQ_ASSERT(i < entries_.size(), "sample ", i, " of ", entries_.size());
    const Entry& e = entries_[i];
    Sample s;
    s.name = e.name;
    for (size_t k = 0; k < e.files.size(); ++k) {
        const graph::ValueInfo& in = inputs_[k];
        const std::string& path = e.files[k].second;
        const std::string ext = lower(fs::path(path).extension().string());
        Tensor t;
        if (is_image_ext(ext))
            t = read_image(path, in, image_);
        else if (ext == ".npy")
            t = read_npy(path);
        else
            t = onnx_io::read_tensor_pb(path);
        t = fit_dtype(t, in, path);
        check_shape(t, in, path);
        s.inputs[in.name] = std::move(t);
        s.files[in.name] = path;
    }
    return s;
}

std::string DataSource::digest(size_t i) const {
    HQ_ASSERT(i < entries_.size(), "sample ", i, " of ", entries_.size());
    uint64_t h = kFnv1a64Offset;
    for (const auto& [input, path] : entries_[i].files) {
        const std::string bytes = read_file(path);
        h = fnv1a64(bytes.data(), bytes.size(), h);
    }
    return hex64(h);
}

NonFinite count_nonfinite(const Tensor& t) {
    NonFinite r;
    auto add = [&](double v) {
        if (std::isnan(v)) ++r.nan;
        else if (std::isinf(v)) ++r.inf;
    };
    if (t.dtype() == DType::F32) {
        const float* p = t.data<float>();
        for (int64_t k = 0; k < t.numel(); ++k) add(p[k]);
    } else if (t.dtype() == DType::F64) {
        const double* p = t.data<double>();
        for (int64_t k = 0; k < t.numel(); ++k) add(p[k]);
    } else if (t.dtype() == DType::F16) {
        for (float v : t.to_f32()) add(v);
    }
    return r;
}

DataSource DataSource::slice(size_t begin, size_t end) const {
    DataSource d = *this;
    end = std::min(end, entries_.size());
    begin = std::min(begin, end);
    d.entries_.assign(entries_.begin() + (std::ptrdiff_t)begin, entries_.begin() + (std::ptrdiff_t)end);
    return d;
}

}  // namespace hq::calib
