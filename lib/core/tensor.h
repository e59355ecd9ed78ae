// Host tensor: dtype + shape + shared, 64-byte aligned, contiguous row-major storage.
// Copies share storage (cheap); clone() makes a deep copy. String tensors keep std::string elements.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"

namespace hq {

class Tensor {
public:
    Tensor() = default;
    // Zero-initialized tensor.
    Tensor(DType dtype, Shape shape);
    // Tensor whose elements are left uninitialized, for kernels that write every element (not for strings).
    static Tensor uninit(DType dtype, Shape shape);
    // Tensor over storage it does not allocate (a memory-mapped file range); the storage must be 64-byte aligned
    // with nbytes() rounded up to 64 readable bytes, and its deleter releases it. Not for strings.
    Tensor(DType dtype, Shape shape, std::shared_ptr<void> storage);

    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    int64_t rank() const { return (int64_t)shape_.size(); }
    int64_t dim(int64_t i) const { return shape_.at(normalize_axis(i, rank())); }
    int64_t numel() const { return numel_; }
    size_t nbytes() const { return (size_t)numel_ * dtype_size(dtype_); }
    bool empty() const { return dtype_ == DType::Undefined; }

    void* raw() { return data_.get(); }
    const void* raw() const { return data_.get(); }
    // The shared storage itself (identity of the bytes: device caches key on it and hold a weak_ptr).
    const std::shared_ptr<void>& storage() const { return data_; }

    template <typename T>
    T* data() {
        check_type<T>();
        return static_cast<T*>(data_.get());
    }
    template <typename T>
    const T* data() const {
        check_type<T>();
        return static_cast<const T*>(data_.get());
    }
    std::vector<std::string>& strings();
    const std::vector<std::string>& strings() const;

    // Same storage, new shape with the same element count.
    Tensor reshaped(Shape s) const;
    Tensor clone() const;
    // Element i converted to double / int64 (any numeric dtype); for scalars and shape tensors.
    double at_f64(int64_t i) const;
    int64_t at_i64(int64_t i) const;
    // Whole tensor as int64 values (any integer dtype); used for shape/axes inputs.
    std::vector<int64_t> to_i64() const;
    // Whole tensor as float values (any numeric dtype).
    std::vector<float> to_f32() const;

    static Tensor from_f32(Shape s, const std::vector<float>& v);
    static Tensor from_i64(Shape s, const std::vector<int64_t>& v);
    static Tensor scalar_f32(float v) { return from_f32({}, {v}); }

private:
    template <typename T>
    void check_type() const {
        if constexpr (std::is_same_v<T, uint16_t>) {
            HQ_ASSERT(dtype_ == DType::U16 || dtype_ == DType::F16 || dtype_ == DType::BF16, dtype_name(dtype_));
        } else if constexpr (std::is_same_v<T, void>) {
        } else {
            HQ_ASSERT(dtype_ == dtype_of<T>(), "tensor is ", dtype_name(dtype_));
        }
    }
    DType dtype_ = DType::Undefined;
    Shape shape_;
    int64_t numel_ = 0;
    std::shared_ptr<void> data_;
    std::shared_ptr<std::vector<std::string>> strings_;
};

}  // namespace hq
