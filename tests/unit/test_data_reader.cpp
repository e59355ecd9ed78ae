// Data folders (SPEC.md "Data folders"): every layout, image preprocessing against hand-computed values and
// against the bundled PaddleOCR reference inputs, and the errors that must name the file and the input.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "calib/data_reader.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/npy.h"
#include "onnx_io/onnx_io.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#if __has_include(<stb_image_write.h>)
#include <stb_image_write.h>
#else
#include <stb/stb_image_write.h>
#endif
#pragma GCC diagnostic pop

namespace fs = std::filesystem;
using namespace hq;
using calib::DataSource;
using calib::ImageOptions;

namespace {

fs::path data_dir(const std::string& name) {
    fs::path d = fs::temp_directory_path() / ("hq_test_data_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

graph::ValueInfo input(std::string name, std::vector<int64_t> dims, DType dt = DType::F32) {
    graph::ValueInfo v;
    v.name = std::move(name);
    v.dtype = dt;
    v.has_shape = true;
    for (int64_t d : dims) v.dims.push_back(d >= 0 ? graph::Dim{d, ""} : graph::Dim{-1, "N"});
    return v;
}

Tensor iota(Shape s, float start) {
    Tensor t(DType::F32, std::move(s));
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + (float)i;
    return t;
}

void put_npy(const fs::path& p, const Tensor& t) {
    write_file_atomic(p.string(), to_npy(t));
}
void put_text(const fs::path& p, const std::string& s) {
    write_file_atomic(p.string(), s);
}

void put_png(const fs::path& p, int w, int h, const std::vector<uint8_t>& rgb) {
    REQUIRE(rgb.size() == (size_t)(w * h * 3));
    REQUIRE(stbi_write_png(p.string().c_str(), w, h, 3, rgb.data(), w * 3) != 0);
}

std::vector<uint8_t> uniform_rgb(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
    std::vector<uint8_t> v;
    for (int i = 0; i < w * h; ++i) v.insert(v.end(), {r, g, b});
    return v;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        CHECK(e.exit_code() == 2);
        return e.what();
    }
    FAIL("no hq::Error thrown");
    return "";
}

bool same(const Tensor& a, const Tensor& b) {
    return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

}  // namespace

TEST_CASE("data: single-input folder of .npy samples, sorted, other files ignored, read lazily", "[data]") {
    fs::path d = data_dir("npy");
    put_npy(d / "b.npy", iota({1, 4}, 10));
    put_npy(d / "a.npy", iota({1, 4}, 0));
    put_text(d / "README", "not a sample");
    put_text(d / "labels.txt", "0\n1\n");
    put_text(d / ".hidden.npy", "junk");
    put_text(d / "c.npy", "not an npy file");  // only read by load()
    std::vector<graph::ValueInfo> ins = {input("x", {-1, 4})};
    DataSource src(d.string(), ins);
    REQUIRE(src.size() == 3);
    CHECK(src.name(0) == "a");
    CHECK(src.name(1) == "b");
    CHECK(src.name(2) == "c");
    calib::Sample s = src.load(1);
    CHECK(s.name == "b");
    REQUIRE(s.inputs.count("x") == 1);
    CHECK(same(s.inputs.at("x"), iota({1, 4}, 10)));
    std::string msg = error_of([&] { src.load(2); });
    CHECK_THAT(msg, Catch::Contains("c.npy"));
    fs::remove_all(d);
}

TEST_CASE("data: sub-folders with one .npy or .pb per input", "[data]") {
    fs::path d = data_dir("multi");
    std::vector<graph::ValueInfo> ins = {input("x", {-1, 3}), input("ids", {-1, 2}, DType::I64)};
    fs::create_directories(d / "s0");
    fs::create_directories(d / "s1");
    fs::create_directories(d / "notes");  // no tensors: not a sample
    put_text(d / "notes" / "a.txt", "hello");
    put_npy(d / "s0" / "x.npy", iota({1, 3}, 0));
    onnx_io::write_tensor_pb(Tensor::from_i64({1, 2}, {7, 8}), "ids", (d / "s0" / "input_1.pb").string());
    onnx_io::write_tensor_pb(iota({2, 3}, 5), "x", (d / "s1" / "x.pb").string());
    put_npy(d / "s1" / "ids.npy", Tensor::from_i64({2, 2}, {1, 2, 3, 4}));
    put_npy(d / "s1" / "extra.npy", iota({9}, 0));  // not a model input: ignored
    DataSource src(d.string(), ins);
    REQUIRE(src.size() == 2);
    calib::Sample s0 = src.load(0), s1 = src.load(1);
    CHECK(s0.name == "s0");
    CHECK(same(s0.inputs.at("x"), iota({1, 3}, 0)));
    CHECK(same(s0.inputs.at("ids"), Tensor::from_i64({1, 2}, {7, 8})));
    CHECK(same(s1.inputs.at("x"), iota({2, 3}, 5)));
    CHECK(same(s1.inputs.at("ids"), Tensor::from_i64({2, 2}, {1, 2, 3, 4})));
    fs::remove_all(d);
}

TEST_CASE("data: ONNX test-data layout maps input_K.pb by position", "[data]") {
    fs::path d = data_dir("testdata");
    // Input names that clash with the file names: position must win in this layout.
    std::vector<graph::ValueInfo> ins = {input("input_1", {2}), input("input_0", {3})};
    put_text(d / "model.onnx", "ignored");
    for (int k = 0; k < 2; ++k) {
        fs::path s = d / ("test_data_set_" + std::to_string(k));
        fs::create_directories(s);
        onnx_io::write_tensor_pb(iota({2}, 100.0f * k), "", (s / "input_0.pb").string());
        onnx_io::write_tensor_pb(iota({3}, 100.0f * k + 50), "", (s / "input_1.pb").string());
        onnx_io::write_tensor_pb(iota({1}, 0), "", (s / "output_0.pb").string());
    }
    DataSource src(d.string(), ins);
    REQUIRE(src.size() == 2);
    CHECK(src.name(1) == "test_data_set_1");
    calib::Sample s = src.load(1);
    CHECK(same(s.inputs.at("input_1"), iota({2}, 100)));
    CHECK(same(s.inputs.at("input_0"), iota({3}, 150)));
    fs::remove_all(d);
}

TEST_CASE("data: dtype conversion and refusal", "[data]") {
    fs::path d = data_dir("dtype");
    Tensor f64(DType::F64, {1, 2});
    f64.data<double>()[0] = 1.5;
    f64.data<double>()[1] = -2.25;
    put_npy(d / "a.npy", f64);
    DataSource src(d.string(), {input("x", {1, 2})});
    CHECK(same(src.load(0).inputs.at("x"), Tensor::from_f32({1, 2}, {1.5f, -2.25f})));

    DataSource half(d.string(), {input("x", {1, 2}, DType::F16)});
    CHECK(half.load(0).inputs.at("x").dtype() == DType::F16);

    put_npy(d / "a.npy", Tensor::from_i64({1, 2}, {1, 2}));
    std::string msg = error_of([&] { src.load(0); });
    CHECK_THAT(msg, Catch::Contains("a.npy") && Catch::Contains("'x'"));
    fs::remove_all(d);
}

TEST_CASE("data: errors name the folder, file and input", "[data]") {
    fs::path d = data_dir("errors");
    std::vector<graph::ValueInfo> one = {input("x", {-1, 3, 48, -1})};

    SECTION("missing folder") {
        std::string msg = error_of([&] { DataSource((d / "nope").string(), one); });
        CHECK_THAT(msg, Catch::Contains("nope") && Catch::Contains("does not exist"));
    }
    SECTION("empty folder, or nothing usable in it") {
        std::string msg = error_of([&] { DataSource(d.string(), one); });
        CHECK_THAT(msg, Catch::Contains(d.string()) && Catch::Contains("no samples"));
        put_text(d / "README.md", "# data");
        msg = error_of([&] { DataSource(d.string(), one); });
        CHECK_THAT(msg, Catch::Contains(d.string()) && Catch::Contains("no samples"));
    }
    SECTION("shape that does not fit") {
        put_npy(d / "s.npy", iota({1, 3, 32, 20}, 0));
        DataSource src(d.string(), one);
        std::string msg = error_of([&] { src.load(0); });
        CHECK_THAT(msg, Catch::Contains("s.npy") && Catch::Contains("'x'") && Catch::Contains("[N,3,48,N]") &&
                            Catch::Contains("[1,3,32,20]"));
        put_npy(d / "s.npy", iota({3, 48, 20}, 0));  // rank differs
        msg = error_of([&] { src.load(0); });
        CHECK_THAT(msg, Catch::Contains("s.npy") && Catch::Contains("[3,48,20]"));
    }
    SECTION("sub-folder missing an input") {
        fs::create_directories(d / "s0");
        put_npy(d / "s0" / "a.npy", iota({1}, 0));
        std::string msg = error_of([&] { DataSource(d.string(), {input("a", {1}), input("b", {1})}); });
        CHECK_THAT(msg, Catch::Contains("s0") && Catch::Contains("'b'"));
    }
    SECTION("single tensor for a multi-input model") {
        put_npy(d / "s.npy", iota({1}, 0));
        std::string msg = error_of([&] { DataSource(d.string(), {input("a", {1}), input("b", {1})}); });
        CHECK_THAT(msg, Catch::Contains("s.npy") && Catch::Contains("2 inputs"));
    }
    SECTION("two samples with the same name") {
        put_npy(d / "s.npy", iota({1, 3, 48, 4}, 0));
        put_png(d / "s.png", 2, 2, uniform_rgb(2, 2, 1, 2, 3));
        std::string msg = error_of([&] { DataSource(d.string(), one); });
        CHECK_THAT(msg, Catch::Contains("s.npy") && Catch::Contains("s.png"));
    }
    SECTION("bad image options") {
        put_npy(d / "s.npy", iota({1, 3, 48, 4}, 0));
        ImageOptions o;
        o.layout = "chw";
        CHECK_THAT(error_of([&] { DataSource(d.string(), one, o); }), Catch::Contains("--layout"));
        o = {};
        o.std = {1, 0, 1};
        CHECK_THAT(error_of([&] { DataSource(d.string(), one, o); }), Catch::Contains("--std"));
    }
    SECTION("undecodable image") {
        put_text(d / "s.png", "not a png");
        DataSource src(d.string(), one);
        CHECK_THAT(error_of([&] { src.load(0); }), Catch::Contains("s.png"));
    }
    fs::remove_all(d);
}

TEST_CASE("data: bilinear resize matches hand-computed half-pixel values", "[data]") {
    // 2x2 -> 4x4: source coordinates -0.25, 0.25, 0.75, 1.25 (clamped at the borders).
    std::vector<uint8_t> src = {0, 100, 200, 40};
    std::vector<uint8_t> got = calib::resize_bilinear_u8(src.data(), 2, 2, 1, 4, 4);
    std::vector<uint8_t> want = {0, 25, 75, 100, 50, 59, 76, 85, 150, 126, 79, 55, 200, 160, 80, 40};
    CHECK(got == want);
    // Same size: a copy.
    CHECK(calib::resize_bilinear_u8(src.data(), 2, 2, 1, 2, 2) == src);
    // Downscale 4 -> 2: the filter widens to 2 source pixels (antialiasing). Output 0 is centered at 1.0 with
    // taps 0,1,2 weighted 0.75,0.75,0.25 (/1.75): 17.14; output 1 at 3.0, taps 1,2,3 weighted 0.25,0.75,0.75: 37.14.
    std::vector<uint8_t> row = {10, 20, 30, 50};
    CHECK(calib::resize_bilinear_u8(row.data(), 1, 4, 1, 1, 2) == std::vector<uint8_t>{17, 37});
    // Channels are independent; a uniform image stays uniform at any size.
    std::vector<uint8_t> rgb = {10, 20, 30, 10, 20, 30, 10, 20, 30};
    std::vector<uint8_t> up = calib::resize_bilinear_u8(rgb.data(), 1, 3, 3, 5, 7);
    for (size_t i = 0; i < up.size(); ++i) REQUIRE(up[i] == rgb[i % 3]);
}

TEST_CASE("data: PNG images are resized, normalized and laid out", "[data]") {
    fs::path d = data_dir("png");
    ImageOptions o;
    o.mean = {100, 50, 10};
    o.std = {2, 4, 8};

    SECTION("uniform colour gives exactly (v - mean) / std, NCHW with batch") {
        put_png(d / "img.png", 10, 7, uniform_rgb(10, 7, 200, 100, 50));
        put_text(d / "labels.txt", "3\n");
        DataSource src(d.string(), {input("x", {-1, 3, 4, 6})}, o);
        REQUIRE(src.size() == 1);
        Tensor t = src.load(0).inputs.at("x");
        REQUIRE(t.shape() == Shape{1, 3, 4, 6});
        const float want[3] = {50.0f, 12.5f, 5.0f};
        for (int64_t i = 0; i < t.numel(); ++i) REQUIRE(t.data<float>()[i] == want[i / 24]);
    }
    SECTION("BGR, NHWC, size from the options") {
        put_png(d / "img.png", 3, 3, uniform_rgb(3, 3, 200, 100, 50));
        o.bgr = true;
        o.layout = "nhwc";
        o.height = 2;
        o.width = 5;
        DataSource src(d.string(), {input("x", {-1, -1, -1, 3})}, o);
        Tensor t = src.load(0).inputs.at("x");
        REQUIRE(t.shape() == Shape{1, 2, 5, 3});
        // channel 0 is B (50) with mean[0], std[0]
        const float want[3] = {(50 - 100) / 2.0f, (100 - 50) / 4.0f, (200 - 10) / 8.0f};
        for (int64_t i = 0; i < t.numel(); ++i) REQUIRE(t.data<float>()[i] == want[i % 3]);
    }
    SECTION("2x2 image upsampled to the model's static size, rank-3 input") {
        std::vector<uint8_t> px = {0, 0, 0, 100, 100, 100, 200, 200, 200, 40, 40, 40};
        put_png(d / "img.png", 2, 2, px);
        DataSource src(d.string(), {input("x", {3, 4, 4})});
        Tensor t = src.load(0).inputs.at("x");
        REQUIRE(t.shape() == Shape{3, 4, 4});
        std::vector<float> want = {0, 25, 75, 100, 50, 59, 76, 85, 150, 126, 79, 55, 200, 160, 80, 40};
        for (int64_t i = 0; i < t.numel(); ++i) REQUIRE(t.data<float>()[i] == want[i % 16]);
    }
    SECTION("image's own size when nothing else is known") {
        put_png(d / "img.png", 5, 3, uniform_rgb(5, 3, 1, 2, 3));
        graph::ValueInfo in;  // unknown rank: batch dim added
        in.name = "x";
        in.dtype = DType::F32;
        DataSource src(d.string(), {in});
        CHECK(src.load(0).inputs.at("x").shape() == Shape{1, 3, 3, 5});
    }
    SECTION("keep aspect: resize to height H, pad on the right in normalized space") {
        put_png(d / "a.png", 8, 4, uniform_rgb(8, 4, 200, 100, 50));    // ceil(2*8/4) = 4 < 10: padded
        put_png(d / "b.png", 40, 4, uniform_rgb(40, 4, 200, 100, 50));  // ceil(2*40/4) = 20: capped at 10
        put_png(d / "c.png", 7, 3, uniform_rgb(7, 3, 200, 100, 50));    // ceil(2*7/3) = ceil(4.67) = 5
        o.keep_aspect = true;
        o.pad_value = -7;
        o.height = 2;
        o.width = 10;
        DataSource src(d.string(), {input("x", {-1, 3, -1, -1})}, o);
        const float want[3] = {50.0f, 12.5f, 5.0f};
        const int64_t widths[3] = {4, 10, 5};
        for (size_t k = 0; k < 3; ++k) {
            Tensor t = src.load(k).inputs.at("x");
            REQUIRE(t.shape() == Shape{1, 3, 2, 10});
            for (int64_t c = 0; c < 3; ++c)
                for (int64_t y = 0; y < 2; ++y)
                    for (int64_t x = 0; x < 10; ++x)
                        REQUIRE(t.data<float>()[(c * 2 + y) * 10 + x] == (x < widths[k] ? want[c] : -7.0f));
        }
    }
    SECTION("image that does not fit the model input") {
        put_png(d / "img.png", 4, 4, uniform_rgb(4, 4, 1, 2, 3));
        o.height = 5;
        o.width = 5;
        DataSource src(d.string(), {input("x", {1, 3, 4, 4})}, o);
        std::string msg = error_of([&] { src.load(0); });
        CHECK_THAT(msg, Catch::Contains("img.png") && Catch::Contains("'x'") && Catch::Contains("[1,3,4,4]") &&
                            Catch::Contains("[1,3,5,5]"));
    }
    SECTION("float16 model input") {
        put_png(d / "img.png", 4, 4, uniform_rgb(4, 4, 200, 100, 50));
        DataSource src(d.string(), {input("x", {1, 3, 4, 4}, DType::F16)}, o);
        Tensor t = src.load(0).inputs.at("x");
        REQUIRE(t.dtype() == DType::F16);
        CHECK(t.at_f64(0) == 50.0);
        CHECK(t.at_f64(t.numel() - 1) == 5.0);
    }
    SECTION("JPEG") {
        std::vector<uint8_t> px = uniform_rgb(16, 16, 200, 100, 50);
        REQUIRE(stbi_write_jpg((d / "img.jpg").string().c_str(), 16, 16, 3, px.data(), 100) != 0);
        DataSource src(d.string(), {input("x", {1, 3, 16, 16})});
        Tensor t = src.load(0).inputs.at("x");
        CHECK(std::abs(t.data<float>()[0] - 200.0f) <= 3.0f);
        CHECK(std::abs(t.data<float>()[t.numel() - 1] - 50.0f) <= 3.0f);
    }
    fs::remove_all(d);
}

TEST_CASE("data: PaddleOCR text lines match the reference preprocessed inputs", "[data]") {
    const fs::path models = fs::path(HQ_SOURCE_DIR) / "models";
    const fs::path ref = models / "ppocr_cls_reference" / "inputs", eval = models / "textlines" / "eval";
    if (!fs::is_directory(ref) || !fs::is_directory(eval)) {
        WARN("skipped: " << ref << " or " << eval << " missing");
        return;
    }
    ImageOptions o;  // --size 48x192 --keep-aspect --pad-value 0 --mean 127.5 --std 127.5
    o.height = 48;
    o.width = 192;
    o.keep_aspect = true;
    o.pad_value = 0;
    o.mean = {127.5f};
    o.std = {127.5f};
    graph::ValueInfo in = input("x", {-1, 3, 48, -1});
    DataSource src(eval.string(), {in}, o);
    int compared = 0;
    double max_diff = 0;
    for (size_t i = 0; i < src.size(); ++i) {
        fs::path r = ref / (src.name(i) + ".npy");
        if (!fs::exists(r)) continue;
        Tensor want = read_npy(r.string());
        Tensor got = src.load(i).inputs.at("x");
        REQUIRE(got.shape() == want.shape());
        for (int64_t k = 0; k < got.numel(); ++k)
            max_diff = std::max(max_diff, (double)std::abs(got.data<float>()[k] - want.data<float>()[k]));
        ++compared;
    }
    CHECK(compared == 8);
    INFO("max abs difference to the reference inputs: " << max_diff);
    CHECK(max_diff <= 1e-6);  // the 8-bit resize is bit-exact; normalization may differ by an ulp
}
