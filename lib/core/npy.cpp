#include "core/npy.h"

#include <cstring>

#include "core/fileio.h"

namespace hq {

namespace {

struct DescrMap {
    const char* descr;
    DType dtype;
};
const DescrMap kDescr[] = {{"<f4", DType::F32}, {"<f8", DType::F64}, {"<f2", DType::F16}, {"|i1", DType::I8},
                           {"|u1", DType::U8},  {"<i2", DType::I16}, {"<u2", DType::U16}, {"<i4", DType::I32},
                           {"<u4", DType::U32}, {"<i8", DType::I64}, {"<u8", DType::U64}, {"|b1", DType::Bool},
                           {"i1", DType::I8},   {"u1", DType::U8},   {"b1", DType::Bool}};

// Value of `key` in the header dict, as raw text up to the next top-level ',' or '}'.
std::string dict_value(const std::string& h, const std::string& key, const std::string& label) {
    size_t k = h.find("'" + key + "'");
    HQ_CHECK(k != std::string::npos, label, ": .npy header has no '", key, "'");
    size_t c = h.find(':', k);
    HQ_CHECK(c != std::string::npos, label, ": malformed .npy header");
    size_t i = c + 1;
    while (i < h.size() && h[i] == ' ') ++i;
    int depth = 0;
    size_t j = i;
    for (; j < h.size(); ++j) {
        char ch = h[j];
        if (ch == '(' || ch == '[') ++depth;
        else if (ch == ')' || ch == ']') --depth;
        else if ((ch == ',' || ch == '}') && depth == 0) break;
    }
    HQ_CHECK(depth == 0 && j < h.size(), label, ": malformed .npy header");
    return h.substr(i, j - i);
}

}  // namespace

Tensor parse_npy(const std::string& b, const std::string& label) {
    HQ_CHECK(b.size() >= 10 && std::memcmp(b.data(), "\x93NUMPY", 6) == 0, label, ": not a .npy file");
    int major = (unsigned char)b[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (unsigned char)b[8] | ((size_t)(unsigned char)b[9] << 8);
        hstart = 10;
    } else {
        HQ_CHECK(major == 2 || major == 3, label, ": unsupported .npy version ", major);
        HQ_CHECK(b.size() >= 12, label, ": truncated .npy header");
        hlen = 0;
        for (int i = 0; i < 4; ++i) hlen |= (size_t)(unsigned char)b[8 + i] << (8 * i);
        hstart = 12;
    }
    HQ_CHECK(hstart + hlen <= b.size(), label, ": truncated .npy header");
    std::string h = b.substr(hstart, hlen);
    std::string descr = dict_value(h, "descr", label);
    std::string fortran = dict_value(h, "fortran_order", label);
    std::string shape_s = dict_value(h, "shape", label);
    HQ_CHECK(descr.size() >= 2 && (descr[0] == '\'' || descr[0] == '"'), label, ": unsupported .npy dtype ", descr);
    descr = descr.substr(1, descr.size() - 2);
    DType dt = DType::Undefined;
    for (const auto& d : kDescr)
        if (descr == d.descr) dt = d.dtype;
    HQ_CHECK(dt != DType::Undefined, label, ": unsupported .npy dtype '", descr, "'");
    HQ_CHECK(fortran.rfind("False", 0) == 0, label, ": Fortran-ordered .npy arrays are not supported");
    HQ_CHECK(shape_s.size() >= 2 && shape_s.front() == '(' && shape_s.back() == ')', label, ": malformed .npy shape");
    Shape shape;
    std::string inner = shape_s.substr(1, shape_s.size() - 2);
    size_t p = 0;
    while (p < inner.size()) {
        while (p < inner.size() && (inner[p] == ' ' || inner[p] == ',')) ++p;
        if (p >= inner.size()) break;
        size_t q = p;
        while (q < inner.size() && inner[q] >= '0' && inner[q] <= '9') ++q;
        HQ_CHECK(q > p && q - p < 18, label, ": malformed .npy shape ", shape_s);
        shape.push_back(std::stoll(inner.substr(p, q - p)));
        p = q;
        while (p < inner.size() && (inner[p] == 'L' || inner[p] == ' ')) ++p;
    }
    int64_t n = shape_numel(shape);
    size_t need = (size_t)n * dtype_size(dt);
    size_t have = b.size() - hstart - hlen;
    HQ_CHECK(have == need, label, ": .npy data has ", have, " bytes, shape ", shape_str(shape), " of ",
             dtype_name(dt), " needs ", need);
    Tensor t(dt, shape);
    if (need) std::memcpy(t.raw(), b.data() + hstart + hlen, need);
    return t;
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

std::string to_npy(const Tensor& t) {
    const char* descr = nullptr;
    for (const auto& d : kDescr)
        if (d.dtype == t.dtype() && !descr) descr = d.descr;
    HQ_CHECK(descr, "cannot write ", dtype_name(t.dtype()), " tensors as .npy");
    std::string shape = "(";
    for (size_t i = 0; i < t.shape().size(); ++i) shape += std::to_string(t.shape()[i]) + (t.rank() == 1 ? "," : i + 1 < t.shape().size() ? ", " : "");
    shape += ")";
    std::string h = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    size_t total = 10 + h.size() + 1;
    h.append((64 - total % 64) % 64, ' ');
    h += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    out += (char)(h.size() & 0xff);
    out += (char)(h.size() >> 8);
    out += h;
    out.append(static_cast<const char*>(t.raw()), t.nbytes());
    return out;
}

}  // namespace hq
