// libFuzzer target: arbitrary bytes as an ONNX model file. Every rejection must be an hq::Error
// (a clean exit 2 in the tool); anything else (crash, sanitizer report, other exception) is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "onnx_io/onnx_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        hq::graph::Model m = hq::onnx_io::parse_model(bytes, "", "fuzz.onnx");
        (void)hq::onnx_io::serialize_model(m);
    } catch (const hq::Error&) {
    }
    return 0;
}
