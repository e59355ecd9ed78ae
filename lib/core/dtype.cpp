#include "core/dtype.h"

namespace hq {

size_t dtype_size(DType t) {
    switch (t) {
        case DType::F32: case DType::I32: case DType::U32: return 4;
        case DType::U8: case DType::I8: case DType::Bool: return 1;
        case DType::U16: case DType::I16: case DType::F16: case DType::BF16: return 2;
        case DType::I64: case DType::F64: case DType::U64: return 8;
        default: return 0;
    }
}

std::string dtype_name(DType t) {
    switch (t) {
        case DType::F32: return "float32";
        case DType::U8: return "uint8";
        case DType::I8: return "int8";
        case DType::U16: return "uint16";
        case DType::I16: return "int16";
        case DType::I32: return "int32";
        case DType::I64: return "int64";
        case DType::String: return "string";
        case DType::Bool: return "bool";
        case DType::F16: return "float16";
        case DType::F64: return "float64";
        case DType::U32: return "uint32";
        case DType::U64: return "uint64";
        case DType::BF16: return "bfloat16";
        default: return "undefined";
    }
}

bool dtype_known(int32_t v) {
    return (v >= 1 && v <= 13) || v == 16;
}

bool dtype_is_float(DType t) {
    return t == DType::F32 || t == DType::F16 || t == DType::F64 || t == DType::BF16;
}

}  // namespace hq
