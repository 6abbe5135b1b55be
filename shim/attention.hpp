// Scaled dot-product attention for the ViTs: the inference forward pass (shim/vit.cpp) and the
// differentiable one that trains NeCo's backbone (shim/vit_train.cpp), each with memory linear in
// the tokens.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace dfs {

// softmax(scale q k^T) v over (B, heads, N, d_head) views of one qkv projection. Outside autograd:
// the fused CPU kernels for float32 and bfloat16, otherwise libtorch's attention (libtorch 2.1+) or
// query chunks of `chunk` rows. Under autograd: blockwise_attention, except on CUDA with libtorch
// 2.1+, whose fused kernels have their own backward.
at::Tensor attend(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, double scale, int64_t chunk);

// Differentiable attention that never keeps the N x N weights: the backward pass recomputes them
// (softmax over whole rows, as the unfused computation does) over blocks of at most
// `block_rows` queries of as many (batch, head) slices as keep a block within `block_elements`
// scores, each block's dQ, dK and dV by five matrix products. A slice's result does not depend on
// the batch it came in. On the CPU in float32 the forward pass is the fused kernel. Any device;
// float32 and float64 compute in their own precision, other types in float32.
at::Tensor blockwise_attention(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, double scale,
                               int64_t block_rows = 256, int64_t block_elements = int64_t{1} << 22);

}  // namespace dfs
