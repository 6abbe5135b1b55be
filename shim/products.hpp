// Matrix products (linear, matmul, convolution) and LayerNorm whose operands may be bfloat16, the
// same on every CPU. libtorch multiplies bfloat16 quickly only through oneDNN on CPUs with
// AVX512-BF16; elsewhere its fallback GEMM is 30-65x slower than float32 and rounds its own way, so
// that a bfloat16 training run parts from the same run on another CPU. A product of two bfloat16
// values is exact in float32, so on those CPUs the operands are widened, the sums accumulate in
// float32 (as AVX512-BF16's dot products do) and the result is rounded to bfloat16 once: the
// arithmetic of the fast CPUs, in 1.0x to 1.3x float32's time. Differentiable: the casts carry the
// gradients, whose products are widened the same way.
#pragma once

#include "../lib/kernels/attention.h"

#include <ATen/ATen.h>

namespace dfs {

// Whether t is a bfloat16 CPU operand that libtorch would multiply slowly.
inline bool widens_bfloat16(const at::Tensor &t) {
    return t.defined() && t.scalar_type() == at::kBFloat16 && t.device().is_cpu() &&
           !dfi_attention_bf16_supported();  // the CPU lacks AVX512-BF16
}

inline at::Tensor widened(const at::Tensor &t) { return t.defined() ? t.to(at::kFloat) : t; }

inline at::Tensor linear(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias = {}) {
    if (!widens_bfloat16(x)) return at::linear(x, weight, bias);
    return at::linear(widened(x), widened(weight), widened(bias)).to(at::kBFloat16);
}

inline at::Tensor matmul(const at::Tensor &a, const at::Tensor &b) {
    if (!widens_bfloat16(a)) return at::matmul(a, b);
    return at::matmul(widened(a), widened(b)).to(at::kBFloat16);
}

// Square stride and padding.
inline at::Tensor conv2d(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias, int64_t stride,
                         int64_t padding = 0) {
    if (!widens_bfloat16(x)) return at::conv2d(x, weight, bias, {stride, stride}, {padding, padding});
    return at::conv2d(widened(x), widened(weight), widened(bias), {stride, stride}, {padding, padding})
        .to(at::kBFloat16);
}

// libtorch 1.13's bfloat16 LayerNorm on the CPU is 9-12x slower than its float32 one (7% of a
// bfloat16 HR-Dv2 upsampling's time on an AVX512-BF16 CPU) and rounds its intermediates (3x the
// error); widened, it is float32's LayerNorm rounded once, on every CPU.
inline at::Tensor layer_norm(const at::Tensor &x, int64_t width, const at::Tensor &weight, const at::Tensor &bias,
                             double eps) {
    if (!(x.scalar_type() == at::kBFloat16 && x.device().is_cpu()))
        return at::layer_norm(x, {width}, weight, bias, eps);
    return at::layer_norm(widened(x), {width}, widened(weight), widened(bias), eps).to(at::kBFloat16);
}

}  // namespace dfs
