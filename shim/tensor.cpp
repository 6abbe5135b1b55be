// Tensors owned by libtorch and conversions between devices and dtypes.
#include "fence.hpp"
#include "tensor_util.hpp"

namespace {

df_dtype df_dtype_of(c10::ScalarType type) {
    switch (type) {
    case at::kFloat: return DF_DTYPE_FLOAT32;
    case at::kHalf: return DF_DTYPE_FLOAT16;
    case at::kBFloat16: return DF_DTYPE_BFLOAT16;
    case at::kDouble: return DF_DTYPE_FLOAT64;
    case at::kByte: return DF_DTYPE_UINT8;
    case at::kInt: return DF_DTYPE_INT32;
    case at::kLong: return DF_DTYPE_INT64;
    default: throw std::invalid_argument(std::string("no df_dtype for ") + c10::toString(type));
    }
}

void describe(const at::Tensor &tensor, dfs_tensor_desc *desc) {
    if (tensor.dim() > DF_TENSOR_MAX_DIMS) throw std::length_error("tensor has too many dimensions");
    desc->data = tensor.data_ptr();
    desc->ndim = static_cast<int32_t>(tensor.dim());
    for (int64_t i = 0; i < tensor.dim(); i++) {
        desc->shape[i] = tensor.size(i);
        desc->strides[i] = tensor.stride(i);
    }
    desc->dtype = df_dtype_of(tensor.scalar_type());
    desc->device_type = tensor.is_cuda() ? DF_DEVICE_CUDA : DF_DEVICE_CPU;
    desc->device_id = tensor.is_cuda() ? tensor.get_device() : 0;
}

}  // namespace

namespace dfs {

c10::ScalarType scalar_type(df_dtype dtype) {
    switch (dtype) {
    case DF_DTYPE_FLOAT32: return at::kFloat;
    case DF_DTYPE_FLOAT16: return at::kHalf;
    case DF_DTYPE_BFLOAT16: return at::kBFloat16;
    case DF_DTYPE_FLOAT64: return at::kDouble;
    case DF_DTYPE_UINT8: return at::kByte;
    case DF_DTYPE_INT32: return at::kInt;
    case DF_DTYPE_INT64: return at::kLong;
    }
    throw std::invalid_argument("unknown df_dtype " + std::to_string(static_cast<int>(dtype)));
}

at::Device device_of(df_device_type type, int32_t id) {
    if (type == DF_DEVICE_CUDA) return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(id));
    return at::Device(at::kCPU);
}

at::Tensor view_of(const dfs_tensor_desc &desc) {
    std::vector<int64_t> shape(desc.shape, desc.shape + desc.ndim);
    std::vector<int64_t> strides(desc.strides, desc.strides + desc.ndim);
    auto options = at::TensorOptions()
                       .dtype(scalar_type(desc.dtype))
                       .device(device_of(desc.device_type, desc.device_id));
    // An empty tensor may have no memory at all; libtorch 2.x refuses a null CUDA pointer.
    for (int64_t size : shape)
        if (size == 0) return at::empty(shape, options);
    return at::from_blob(desc.data, shape, strides, options);
}

df_status hand_out(at::Tensor tensor, dfs_tensor **out, dfs_tensor_desc *out_desc) {
    auto owned = std::make_unique<dfs_tensor>(dfs_tensor{std::move(tensor)});
    describe(owned->tensor, out_desc);
    *out = owned.release();
    return DF_OK;
}

}  // namespace dfs

using dfs::hand_out;
using dfs::scalar_type;
using dfs::device_of;
using dfs::view_of;

extern "C" {

df_status dfs_tensor_zeros(int32_t ndim, const int64_t *shape, df_dtype dtype,
                           df_device_type device_type, int32_t device_id, dfs_tensor **out,
                           dfs_tensor_desc *out_desc) noexcept {
    DFS_FENCE({
        auto options = at::TensorOptions().dtype(scalar_type(dtype)).device(device_of(device_type, device_id));
        return hand_out(at::zeros(at::IntArrayRef(shape, static_cast<size_t>(ndim)), options), out,
                        out_desc);
    });
}

df_status dfs_tensor_convert(const dfs_tensor_desc *src, df_device_type device_type,
                             int32_t device_id, df_dtype dtype, dfs_tensor **out,
                             dfs_tensor_desc *out_desc) noexcept {
    DFS_FENCE({
        at::Tensor source = view_of(*src);
        // clone() after to(): to() returns the same memory when nothing changes, and the result
        // must own its memory because src may be borrowed from the caller.
        at::Tensor converted = source.to(device_of(device_type, device_id), scalar_type(dtype));
        if (converted.data_ptr() == source.data_ptr() || !converted.is_contiguous())
            converted = converted.clone(at::MemoryFormat::Contiguous);
        return hand_out(std::move(converted), out, out_desc);
    });
}

df_status dfs_tensor_copy_to_host_f32(const dfs_tensor_desc *src, float *dst) noexcept {
    DFS_FENCE({
        at::Tensor source = view_of(*src);
        at::Tensor target = at::from_blob(dst, source.sizes(), at::TensorOptions().dtype(at::kFloat));
        target.copy_(source);
        return DF_OK;
    });
}

void dfs_tensor_release(dfs_tensor *tensor) noexcept { delete tensor; }

}  // extern "C"
