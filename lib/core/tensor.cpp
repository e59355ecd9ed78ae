#include "core/tensor.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/half.h"

namespace hq {

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
    numel_ = shape_numel(shape_);
    if (dtype_ == DType::String) {
        strings_ = std::make_shared<std::vector<std::string>>((size_t)numel_);
        return;
    }
    HQ_ASSERT(dtype_size(dtype_) > 0, "unsupported dtype ", (int)dtype_);
    size_t bytes = std::max<size_t>(64, (nbytes() + 63) / 64 * 64);
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw Error("out of memory allocating " + std::to_string(bytes) + " bytes", ErrorKind::Internal);
    std::memset(p, 0, bytes);
    data_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

Tensor Tensor::uninit(DType dtype, Shape shape) {
    HQ_ASSERT(dtype != DType::String && dtype_size(dtype) > 0, "unsupported dtype ", (int)dtype);
    const size_t bytes = std::max<size_t>(64, (shape_numel(shape) * dtype_size(dtype) + 63) / 64 * 64);
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw Error("out of memory allocating " + std::to_string(bytes) + " bytes", ErrorKind::Internal);
    return Tensor(dtype, std::move(shape), std::shared_ptr<void>(p, [](void* q) { std::free(q); }));
}

Tensor::Tensor(DType dtype, Shape shape, std::shared_ptr<void> storage)
    : dtype_(dtype), shape_(std::move(shape)), data_(std::move(storage)) {
    numel_ = shape_numel(shape_);
    HQ_ASSERT(dtype_ != DType::String && dtype_size(dtype_) > 0, "unsupported dtype ", (int)dtype_);
    HQ_ASSERT(data_ && reinterpret_cast<uintptr_t>(data_.get()) % 64 == 0, "tensor storage not 64-byte aligned");
}

std::vector<std::string>& Tensor::strings() {
    HQ_ASSERT(dtype_ == DType::String);
    return *strings_;
}
const std::vector<std::string>& Tensor::strings() const {
    HQ_ASSERT(dtype_ == DType::String);
    return *strings_;
}

Tensor Tensor::reshaped(Shape s) const {
    HQ_CHECK(shape_numel(s) == numel_, "cannot reshape ", shape_str(shape_), " to ", shape_str(s));
    Tensor t = *this;
    t.shape_ = std::move(s);
    return t;
}

Tensor Tensor::clone() const {
    Tensor t(dtype_, shape_);
    if (dtype_ == DType::String)
        *t.strings_ = *strings_;
    else if (nbytes())
        std::memcpy(t.raw(), raw(), nbytes());
    return t;
}

double Tensor::at_f64(int64_t i) const {
    HQ_ASSERT(i >= 0 && i < numel_);
    const void* p = raw();
    switch (dtype_) {
        case DType::F32: return ((const float*)p)[i];
        case DType::F64: return ((const double*)p)[i];
        case DType::F16: return half_to_float(((const uint16_t*)p)[i]);
        case DType::BF16: {
            uint32_t b = (uint32_t)((const uint16_t*)p)[i] << 16;
            float f;
            std::memcpy(&f, &b, 4);
            return f;
        }
        case DType::I8: return ((const int8_t*)p)[i];
        case DType::U8: return ((const uint8_t*)p)[i];
        case DType::I16: return ((const int16_t*)p)[i];
        case DType::U16: return ((const uint16_t*)p)[i];
        case DType::I32: return ((const int32_t*)p)[i];
        case DType::U32: return ((const uint32_t*)p)[i];
        case DType::I64: return (double)((const int64_t*)p)[i];
        case DType::U64: return (double)((const uint64_t*)p)[i];
        case DType::Bool: return ((const uint8_t*)p)[i] ? 1.0 : 0.0;
        default: HQ_FAIL("tensor of dtype ", dtype_name(dtype_), " is not numeric");
    }
}

int64_t Tensor::at_i64(int64_t i) const {
    HQ_ASSERT(i >= 0 && i < numel_);
    const void* p = raw();
    switch (dtype_) {
        case DType::I64: return ((const int64_t*)p)[i];
        case DType::I32: return ((const int32_t*)p)[i];
        case DType::U64: return (int64_t)((const uint64_t*)p)[i];
        case DType::I8: return ((const int8_t*)p)[i];
        case DType::U8: return ((const uint8_t*)p)[i];
        case DType::I16: return ((const int16_t*)p)[i];
        case DType::U16: return ((const uint16_t*)p)[i];
        case DType::U32: return ((const uint32_t*)p)[i];
        case DType::Bool: return ((const uint8_t*)p)[i] ? 1 : 0;
        default: return (int64_t)at_f64(i);
    }
}

std::vector<int64_t> Tensor::to_i64() const {
    std::vector<int64_t> v((size_t)numel_);
    for (int64_t i = 0; i < numel_; ++i) v[i] = at_i64(i);
    return v;
}

std::vector<float> Tensor::to_f32() const {
    std::vector<float> v((size_t)numel_);
    if (dtype_ == DType::F32) {
        if (numel_) std::memcpy(v.data(), raw(), nbytes());
        return v;
    }
    for (int64_t i = 0; i < numel_; ++i) v[i] = (float)at_f64(i);
    return v;
}

Tensor Tensor::from_f32(Shape s, const std::vector<float>& v) {
    Tensor t(DType::F32, std::move(s));
    HQ_ASSERT((size_t)t.numel() == v.size());
    if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * 4);
    return t;
}

Tensor Tensor::from_i64(Shape s, const std::vector<int64_t>& v) {
    Tensor t(DType::I64, std::move(s));
    HQ_ASSERT((size_t)t.numel() == v.size());
    if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * 8);
    return t;
}

}  // namespace hq
