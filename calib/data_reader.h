// The one data reader every command uses: a folder of samples (SPEC.md "Data folders"), read lazily
// one sample at a time so that memory does not grow with the number of samples.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "graph/graph.h"

namespace hq::calib {

// Preprocessing of PNG/JPEG samples into a model input: decode to RGB 8-bit, resize (bilinear as Pillow's
// Image.resize(BILINEAR), see resize_bilinear_u8), optionally swap to BGR, normalize, pad, lay out.
// mean/std apply to the channels in model-input order (after --bgr); one value applies to all channels.
struct ImageOptions {
    int64_t height = 0, width = 0;  // --size HxW; 0: the model input's static H/W, else the image's own
    bool keep_aspect = false;       // --keep-aspect: resize to height H keeping aspect (width <= W), pad right
    float pad_value = 0.0f;         // --pad-value: value of padded pixels, in the normalized (model input) space
    std::vector<float> mean{0.0f, 0.0f, 0.0f};  // --mean, per channel, in 0-255 units
    std::vector<float> std{1.0f, 1.0f, 1.0f};   // --std, per channel, in 0-255 units
    bool bgr = false;                           // --bgr: channel order B,G,R
    std::string layout = "nchw";                // --layout nchw|nhwc
};

// Throws hq::Error (exit 2) when the options are inconsistent (mean/std sizes, zero std, layout).
void check_image_options(const ImageOptions& opt);

// Bilinear resize of an 8-bit interleaved image (h x w x channels) to out_h x out_w, bit-exact with Pillow's
// Image.resize(BILINEAR): half-pixel centers, a triangle filter widened by the scale when downscaling
// (antialiased; plain bilinear when upscaling), horizontal pass then vertical, each rounded to 8 bits.
// The bundled PaddleOCR reference inputs were made this way (cv2.resize differs by up to 1 level when
// upscaling and more when downscaling, where it does not antialias).
std::vector<uint8_t> resize_bilinear_u8(const uint8_t* src, int64_t h, int64_t w, int64_t channels, int64_t out_h,
                                        int64_t out_w);

// Preprocesses an RGB 8-bit image (h x w x 3) into a tensor for model input `input` (see ImageOptions):
// target size from opt, else the input's static H/W, else the image's own; a batch dim of 1 when the
// input has rank 4 (or unknown rank). `label` names the image in errors. Does not check the result's shape.
Tensor preprocess_image(const uint8_t* rgb, int64_t h, int64_t w, const graph::ValueInfo& input,
                        const ImageOptions& opt, const std::string& label);
// Decodes a PNG/JPEG file and preprocesses it as above.
Tensor read_image(const std::string& path, const graph::ValueInfo& input, const ImageOptions& opt);

struct Sample {
    std::string name;                      // sample name (file or folder name without extension)
    std::map<std::string, Tensor> inputs;  // model input name -> tensor
    std::map<std::string, std::string> files;  // model input name -> the file it was read from
};

// Number of NaN and of +-Inf values in a float tensor (0 for other dtypes).
struct NonFinite {
    uint64_t nan = 0, inf = 0;
    uint64_t total() const { return nan + inf; }
};
NonFinite count_nonfinite(const Tensor& t);

class DataSource {
public:
    // Scans `dir` (sorted by name). Throws hq::Error (exit 2) naming the folder when it is missing,
    // empty or holds nothing usable for a model with these inputs.
    DataSource(const std::string& dir, const std::vector<graph::ValueInfo>& model_inputs, ImageOptions image = {});
    size_t size() const { return entries_.size(); }
    const std::string& name(size_t i) const { return entries_.at(i).name; }
    // Reads sample i. A tensor whose dtype or shape does not fit its model input is an error naming
    // the file and the input.
    Sample load(size_t i) const;
    // Identity of sample i: FNV-1a 64 over the bytes of its files in model-input order, as 16 hex
    // digits (the raw files, before decoding or preprocessing). Calibration tables record it so that a
    // merge of overlapping shards is caught.
    std::string digest(size_t i) const;
    // Samples [begin, end) of this source (a held-out part, a rank's share), in the same order.
    DataSource slice(size_t begin, size_t end) const;

private:
    struct Entry {
        std::string name;
        std::vector<std::pair<std::string, std::string>> files;  // input name -> file path
    };
    std::vector<Entry> entries_;
    std::vector<graph::ValueInfo> inputs_;
    ImageOptions image_;
};

}  // namespace hq::calib
