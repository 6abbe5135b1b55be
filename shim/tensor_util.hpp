// Conversions between shim descriptors and ATen tensors, shared by the shim's files.
#pragma once

#include "df_shim.h"

#include <ATen/ATen.h>

struct dfs_tensor {
    at::Tensor tensor;
};

namespace dfs {
c10::ScalarType scalar_type(df_dtype dtype);
at::Device device_of(df_device_type type, int32_t id);
// A tensor over the memory a descriptor names (no copy).
at::Tensor view_of(const dfs_tensor_desc &desc);
// Hands an ATen tensor out as an owned dfs_tensor with its descriptor.
df_status hand_out(at::Tensor tensor, dfs_tensor **out, dfs_tensor_desc *out_desc);
// The offset of a centred crop `excess` pixels smaller than the image, as torchvision's CenterCrop
// (the official evaluations' crop) computes it: Python's round(excess / 2), halves to even.
inline int64_t centre_offset(int64_t excess) {
    const int64_t half = excess / 2;
    return excess % 2 && half % 2 ? half + 1 : half;
}
}  // namespace dfs
