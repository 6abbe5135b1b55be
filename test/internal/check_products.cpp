// The bfloat16 matrix products of shim/products.hpp (linear, matmul, convolution, and their
// gradients) and its LayerNorm against float64 results of the same bfloat16 operands, on whichever
// path this CPU takes: libtorch's oneDNN kernels with AVX512-BF16, float32 products rounded once
// elsewhere. Both multiply exactly and accumulate in float32, so every result lies within one
// bfloat16 rounding of the exact sum plus float32's accumulation error; float32 operands pass
// through unchanged. Links the objects directly; prints a Check-style summary line.
#include "../../lib/kernels/attention.h"
#include "../../shim/products.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <cstdio>

namespace {

int checks = 0, failures = 0;

void check(bool ok, const char *what, double error = 0, double bound = 0) {
    checks++;
    if (ok) return;
    failures++;
    std::printf("FAIL %s: error %.3g > %.3g\n", what, error, bound);
}

at::Tensor bf16(at::IntArrayRef shape) { return at::randn(shape).to(at::kBFloat16); }

// result (bfloat16) against exact (float64) sums of `terms` products whose absolute values sum to
// magnitude: bfloat16 keeps 8 significant bits (a rounding of at most 2^-8 relative), float32's
// sums err by at most terms * 2^-24 of the absolute sum before that rounding.
void check_within_rounding(const at::Tensor &result, const at::Tensor &exact, const at::Tensor &magnitude,
                           int64_t terms, const char *what) {
    check(result.scalar_type() == at::kBFloat16, what);
    const at::Tensor bound = exact.abs() * std::ldexp(1.0, -8) +
                             magnitude * (static_cast<double>(terms) * std::ldexp(1.0, -24)) * (1 + std::ldexp(1.0, -8));
    const at::Tensor excess = (result.to(at::kDouble) - exact).abs() - bound;
    const int64_t worst = excess.argmax().item<int64_t>();
    check(excess.max().item<double>() <= 0, what,
          (result.to(at::kDouble) - exact).abs().flatten()[worst].item<double>(), bound.flatten()[worst].item<double>());
}

at::Tensor wide(const at::Tensor &t) { return t.to(at::kDouble); }

void check_linear() {
    const int64_t k = 384;  // ViT-S's width: 384 terms per sum
    const at::Tensor x = bf16({2, 37, k}), w = bf16({96, k}), b = bf16({96});
    const at::Tensor exact = at::linear(wide(x), wide(w), wide(b));
    const at::Tensor magnitude = at::linear(wide(x).abs(), wide(w).abs(), wide(b).abs());
    check_within_rounding(dfs::linear(x, w, b), exact, magnitude, k + 1, "linear");
    check_within_rounding(dfs::linear(x, w), at::linear(wide(x), wide(w)), at::linear(wide(x).abs(), wide(w).abs()), k,
                          "linear without bias");
}

void check_matmul() {
    const at::Tensor a = bf16({2, 3, 41, 64}), b = bf16({2, 3, 64, 29});
    check_within_rounding(dfs::matmul(a, b), at::matmul(wide(a), wide(b)), at::matmul(wide(a).abs(), wide(b).abs()), 64,
                          "matmul");
}

void check_conv2d() {
    const at::Tensor x = bf16({2, 5, 13, 11}), w = bf16({7, 5, 3, 3}), b = bf16({7});
    const int64_t terms = 5 * 3 * 3 + 1;
    for (int64_t stride : {1, 2}) {
        const at::Tensor exact = at::conv2d(wide(x), wide(w), wide(b), {stride, stride}, {1, 1});
        const at::Tensor magnitude = at::conv2d(wide(x).abs(), wide(w).abs(), wide(b).abs(), {stride, stride}, {1, 1});
        check_within_rounding(dfs::conv2d(x, w, b, stride, 1), exact, magnitude, terms, "conv2d");
    }
}

// LayerNorm over ViT-S's width: float32's, rounded once (libtorch 1.13's own bfloat16 LayerNorm
// rounds its intermediates and misses this bound on about a quarter of the values). Its float32
// error is bounded as a sum of `width` terms of the affine output's magnitude |w| (|x^| + 1) + |b|.
void check_layer_norm() {
    const int64_t width = 384;
    const at::Tensor x = bf16({2, 37, width}), w = bf16({width}), b = bf16({width});
    const at::Tensor exact = at::layer_norm(wide(x), {width}, wide(w), wide(b), 1e-6);
    const at::Tensor normalized = at::layer_norm(wide(x), {width}, {}, {}, 1e-6);
    const at::Tensor magnitude = wide(w).abs() * (normalized.abs() + 1) + wide(b).abs();
    check_within_rounding(dfs::layer_norm(x, width, w, b, 1e-6), exact, magnitude, width + 1, "layer_norm");
    const at::Tensor single = at::randn({3, width});
    check(at::equal(dfs::layer_norm(single, width, w.to(at::kFloat), b.to(at::kFloat), 1e-6),
                    at::layer_norm(single, {width}, w.to(at::kFloat), b.to(at::kFloat), 1e-6)),
          "float32 layer_norm unchanged");
}

// The gradients through a widened product come back in bfloat16 and are themselves products of
// bfloat16 values (the incoming gradient and the other operand) within the same rounding.
void check_linear_gradients() {
    const int64_t rows = 19, k = 48, outs = 24;
    const at::Tensor x = bf16({rows, k}).requires_grad_(), w = bf16({outs, k}).requires_grad_();
    const at::Tensor upstream = bf16({rows, outs});
    dfs::linear(x, w).backward(upstream);
    check(x.grad().defined() && w.grad().defined(), "linear gradients exist");
    check_within_rounding(x.grad(), at::matmul(wide(upstream), wide(w)), at::matmul(wide(upstream).abs(), wide(w).abs()),
                          outs, "linear's input gradient");
    check_within_rounding(w.grad(), at::matmul(wide(upstream).t(), wide(x)),
                          at::matmul(wide(upstream).abs().t(), wide(x).abs()), rows, "linear's weight gradient");
}

// float32 operands take libtorch's own path: the very bits of at::linear and at::conv2d.
void check_float32_unchanged() {
    const at::Tensor x = at::randn({5, 32}), w = at::randn({8, 32}), b = at::randn({8});
    check(at::equal(dfs::linear(x, w, b), at::linear(x, w, b)), "float32 linear unchanged");
    const at::Tensor image = at::randn({1, 3, 9, 9}), kernel = at::randn({4, 3, 3, 3});
    check(at::equal(dfs::conv2d(image, kernel, {}, 2), at::conv2d(image, kernel, {}, {2, 2})), "float32 conv2d unchanged");
    check(!dfs::widens_bfloat16(x), "float32 is never widened");
}

// Widening is for the CPUs whose libtorch lacks fast bfloat16 products, exactly those.
void check_widening_choice() {
    const bool fast = dfi_attention_bf16_supported() != 0;
    check(dfs::widens_bfloat16(bf16({2, 2})) == !fast, "bfloat16 widened exactly where the CPU lacks AVX512-BF16");
    check(!dfs::widens_bfloat16(at::Tensor()), "an undefined tensor is not widened");
}

}  // namespace

int main() {
    at::manual_seed(7);
    check_linear();
    check_matmul();
    check_conv2d();
    check_layer_norm();
    check_linear_gradients();
    check_float32_unchanged();
    check_widening_choice();
    std::printf("bfloat16 products: %s\n",
                dfi_attention_bf16_supported() ? "libtorch's (AVX512-BF16)" : "widened to float32 (no AVX512-BF16)");
    std::printf("%d%%: Checks: %d, Failures: %d, Errors: 0\n", checks ? 100 * (checks - failures) / checks : 0, checks, failures);
    return failures ? 1 : 0;
}
