// The fused CPU attention (lib/kernels/attention.c) against libtorch's unfused softmax(q k^T) v
// computed in float64, for every micro-kernel family this CPU runs: 1 token, 257 (ViT-S/14 at
// 224), 1,370 (at 518), and sizes that are no multiple of any block; head dims 64, 8, 80 (no
// multiple of a vector chunk); scores large enough that a naive softmax overflows. Links the
// objects directly; prints a Check-style summary line.
#include "../../lib/kernels/attention.h"
#include "../../shim/attention.hpp"

#include <ATen/ATen.h>
#include <omp.h>

#include <cstdio>
#include <cstring>

namespace {

int checks = 0, failures = 0;

void fail(const char *what, const char *isa, int64_t n, int64_t hd, double error, double bound) {
    failures++;
    std::printf("FAIL %s: %s, %lld tokens, head dim %lld: error %.3g > %.3g\n", what, isa, (long long)n,
                (long long)hd, error, bound);
}

// q, k, v: (B, N, 3, heads, hd) float32, standard normal; or, with `large`, q and k small integers
// (-8..8) whose products and sums float32 holds exactly, so that scores up to 512 are exact and
// a softmax that does not subtract its maximum overflows. The result goes to the layout the out
// strides name (here (B, heads, N, hd), unlike the inputs' token-major one).
void check_case(dfi_attention_isa isa, int64_t batch, int64_t n, int64_t heads, int64_t hd, bool large) {
    at::manual_seed(n * 131 + hd);
    at::Tensor qkv = at::randn({batch, n, 3, heads, hd});
    if (large) qkv.narrow(2, 0, 2).copy_(at::randint(-8, 9, {batch, n, 2, heads, hd}));
    const at::Tensor q = qkv.select(2, 0).transpose(1, 2), k = qkv.select(2, 1).transpose(1, 2),
                     v = qkv.select(2, 2).transpose(1, 2);
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    const at::Tensor expected =
        at::matmul(at::softmax(at::matmul(q.to(at::kDouble), k.to(at::kDouble).transpose(-2, -1)) * scale, -1),
                   v.to(at::kDouble));
    at::Tensor out = at::full({batch, heads, n, hd}, NAN);
    const float *base = qkv.data_ptr<float>();
    const dfi_attention_args args = {base, base + heads * hd, base + 2 * heads * hd, out.data_ptr<float>(), batch, n,
                                     heads, hd, qkv.stride(0), qkv.stride(1), qkv.stride(3), out.stride(0),
                                     out.stride(2), out.stride(1), static_cast<float>(scale)};
    const int status = dfi_attention_f32(&args, isa);
    const char *name = dfi_attention_isa_name(isa);
    if (status == -2) return;  // this CPU lacks the family
    checks++;
    if (status != 0) {
        failures++;
        std::printf("FAIL %s: status %d\n", name, status);
        return;
    }
    // Each output is a convex combination of float32 values computed with float32 weights: a few
    // float32 rounding errors (2^-24) of the values' magnitude, never more than 1e-5 of it.
    const double error = (out.to(at::kDouble) - expected).abs().max().item<double>();
    const double bound = 1e-5 * v.abs().max().item<double>();
    if (!(error <= bound)) fail("against the float64 reference", name, n, hd, error, bound);

    // The threads split (batch item, head, query block) tasks that share nothing: any thread count
    // gives the same bits.
    checks++;
    at::Tensor single = at::empty_like(out);
    dfi_attention_args one = args;
    one.out = single.data_ptr<float>();
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    dfi_attention_f32(&one, isa);
    omp_set_num_threads(threads);
    if (!at::equal(single, out)) fail("one thread against many", name, n, hd, 1, 0);
}

// The bfloat16 kernel against float64 attention over the same bfloat16 inputs. Its weights are
// rounded to bfloat16 (2^-9 relative) before the products and its output once more: within
// 2^-7 of the values' magnitude. On a CPU without AVX512-BF16 it must say so (-2).
void check_bfloat16_case(int64_t batch, int64_t n, int64_t heads, int64_t hd) {
    at::manual_seed(n * 7 + hd);
    const at::Tensor qkv = at::randn({batch, n, 3, heads, hd}).to(at::kBFloat16);
    const at::Tensor wide = qkv.to(at::kDouble);
    const at::Tensor q = wide.select(2, 0).transpose(1, 2), k = wide.select(2, 1).transpose(1, 2),
                     v = wide.select(2, 2).transpose(1, 2);
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    const at::Tensor expected = at::matmul(at::softmax(at::matmul(q, k.transpose(-2, -1)) * scale, -1), v);
    at::Tensor out = at::full({batch, heads, n, hd}, NAN).to(at::kBFloat16);
    const auto bits = [](const at::Tensor &t) { return reinterpret_cast<uint16_t *>(t.data_ptr<at::BFloat16>()); };
    const uint16_t *base = bits(qkv);
    const dfi_attention_bf16_args args = {base, base + heads * hd, base + 2 * heads * hd, bits(out), batch, n, heads,
                                          hd, qkv.stride(0), qkv.stride(1), qkv.stride(3), out.stride(0),
                                          out.stride(2), out.stride(1), static_cast<float>(scale)};
    const int status = dfi_attention_bf16(&args);
    checks++;
    if (!dfi_attention_bf16_supported()) {
        if (status != -2) fail("bfloat16 refused without AVX512-BF16", "bf16", n, hd, status, -2);
        return;
    }
    if (status != 0) {
        fail("bfloat16 status", "bf16", n, hd, status, 0);
        return;
    }
    const double error = (out.to(at::kDouble) - expected).abs().max().item<double>();
    const double bound = std::ldexp(1.0, -7) * v.abs().max().item<double>();
    if (!(error <= bound)) fail("bfloat16 against the float64 reference", "bf16", n, hd, error, bound);
}

// One result against float64 autograd through the unfused softmax(q k^T) v. A sum of m products is
// within m roundings (`unit`) of the sum of its terms' magnitudes: the bound is `roundings` of the
// largest such sum, which `magnitude` holds, computed in float64 over every operand's absolute value.
void check_gradient(const char *what, const char *label, int64_t n, int64_t hd, const at::Tensor &got,
                    const at::Tensor &expected, const at::Tensor &magnitude, double unit, double roundings) {
    checks++;
    const double error = (got.to(at::kDouble) - expected).abs().max().item<double>();
    const double bound = unit * roundings * magnitude.max().item<double>();
    if (!(error <= bound)) fail(what, label, n, hd, error, bound);
}

// dfs::attend under autograd (float32: the fused forward pass, then the blockwise backward pass),
// and dfs::blockwise_attention with blocks of 7 query rows of 3 slices in float32 and float64
// (libtorch's forward pass, several blocks, short last ones of rows and of slices where the shape
// gives them): output and dQ, dK, dV of a random linear loss against float64 autograd, through
// (B, N, 3, heads, hd) qkv views as the ViTs pass them.
void check_gradient_case(int64_t batch, int64_t n, int64_t heads, int64_t hd) {
    at::manual_seed(n * 17 + hd);
    const at::Tensor qkv64 = at::randn({batch, n, 3, heads, hd}, at::kDouble), seed64 = at::randn({batch, heads, n, hd}, at::kDouble);
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    const auto split = [](const at::Tensor &t, int64_t i) { return t.select(2, i).transpose(1, 2); };

    at::Tensor reference_qkv = qkv64.clone().requires_grad_(true);
    const at::Tensor q = split(reference_qkv, 0), k = split(reference_qkv, 1), v = split(reference_qkv, 2);
    const at::Tensor weights = at::softmax(at::matmul(q, k.transpose(-2, -1)) * scale, -1);
    const at::Tensor expected = at::matmul(weights, v);
    (expected * seed64).sum().backward();
    const at::Tensor expected_grad = reference_qkv.grad();

    // Magnitudes: |dO| |V|^T and |dO . O| bound dP and D, P (|dP| + |D|) bounds dS, then
    // P^T |dO|, scale |dS| |K| and scale |dS|^T |Q| bound dV, dQ and dK.
    {
        at::NoGradGuard no_grad;
        const at::Tensor p = weights.detach(), g = seed64.abs(), o = expected.detach();
        const at::Tensor ds = p * (at::matmul(g, v.detach().abs().transpose(-2, -1)) + (g * o.abs()).sum(-1, true));
        const at::Tensor magnitude = at::stack({(at::matmul(ds, k.detach().abs()) * scale).flatten(),
                                                (at::matmul(ds.transpose(-2, -1), q.detach().abs()) * scale).flatten(),
                                                at::matmul(p.transpose(-2, -1), g).flatten()});
        // A score is within hd roundings of its terms' magnitude (at most `terms`), the log-sum-exp
        // within that plus n, so each weight within twice that relatively; the products add n or hd.
        const double terms = (at::matmul(q.detach().abs(), k.detach().abs().transpose(-2, -1)) * scale).max().item<double>();
        const double roundings = 2 * (static_cast<double>(n) + static_cast<double>(hd) * terms) + static_cast<double>(hd + 8);
        const at::Tensor out_magnitude = v.detach().abs().max();
        const struct {
            const char *label;
            at::ScalarType type;
            int64_t rows;
            double unit;
        } variants[] = {{"attend float32", at::kFloat, 0, std::ldexp(1.0, -24)},
                        {"blockwise float32, blocks of 7 rows", at::kFloat, 7, std::ldexp(1.0, -24)},
                        {"blockwise float64, blocks of 7 rows", at::kDouble, 7, std::ldexp(1.0, -53)}};
        for (const auto &variant : variants) {
            at::AutoGradMode grad(true);
            at::Tensor qkv = qkv64.to(variant.type).requires_grad_(true);
            const at::Tensor qv = split(qkv, 0), kv = split(qkv, 1), vv = split(qkv, 2);
            const at::Tensor out = variant.rows == 0 ? dfs::attend(qv, kv, vv, scale, 0)
                                                     : dfs::blockwise_attention(qv, kv, vv, scale, variant.rows,
                                                                                variant.rows * n * 3);
            (out * seed64.to(variant.type)).sum().backward();
            check_gradient("attention output", variant.label, n, hd, out.detach(), o, out_magnitude, variant.unit,
                           roundings);
            const char *names[] = {"dQ", "dK", "dV"};
            for (int64_t part = 0; part < 3; part++)
                check_gradient(names[part], variant.label, n, hd, qkv.grad().select(2, part),
                               expected_grad.select(2, part), magnitude, variant.unit, roundings);
        }
    }
}

// Data-parallel training equals one process only if a sample's gradient is the same bits whatever
// batch it came in: the first sample's dQ, dK, dV alone and in a batch of 5, through attend (the
// fused forward pass) and through blockwise_attention's float32 forward pass, with blocks that
// span slices.
void check_batch_independence(int64_t n, int64_t heads, int64_t hd) {
    at::manual_seed(n + 5);
    const at::Tensor qkv5 = at::randn({5, n, 3, heads, hd}), seed5 = at::randn({5, heads, n, hd});
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    const auto split = [](const at::Tensor &t, int64_t i) { return t.select(2, i).transpose(1, 2); };
    for (int fused = 0; fused < 2; fused++) {
        at::Tensor grads[2];
        for (int whole = 0; whole < 2; whole++) {
            at::AutoGradMode grad(true);
            at::Tensor qkv = (whole ? qkv5 : qkv5.narrow(0, 0, 1)).clone().requires_grad_(true);
            const at::Tensor qv = split(qkv, 0), kv = split(qkv, 1), vv = split(qkv, 2);
            // A strided q makes the forward pass libtorch's blockwise one instead of the kernel.
            const at::Tensor out = fused ? dfs::attend(qv, kv, vv, scale, 0)
                                         : dfs::blockwise_attention(qv.contiguous(), kv, vv, scale, 16, 16 * n * 4);
            (out * (whole ? seed5 : seed5.narrow(0, 0, 1))).sum().backward();
            grads[whole] = qkv.grad().narrow(0, 0, 1);
        }
        if (!at::equal(grads[0], grads[1])) {
            std::fprintf(stderr, "FAIL attention gradient of sample 0 depends on the batch (%s, n=%lld): max %g\n",
                         fused ? "attend" : "blockwise", static_cast<long long>(n),
                         (grads[0] - grads[1]).abs().max().item<double>());
            failures++;
        }
        checks++;
    }
}

}  // namespace

int main() {
    omp_set_num_threads(2);
    const dfi_attention_isa families[] = {DFI_ATTENTION_GENERIC, DFI_ATTENTION_AVX2, DFI_ATTENTION_AVX512};
    for (dfi_attention_isa isa : families) {
        check_case(isa, 1, 1, 1, 64, false);
        check_case(isa, 2, 257, 3, 64, false);
        check_case(isa, 1, 1370, 6, 64, false);
        check_case(isa, 1, 355, 2, 8, false);  // 355 = 3 x 96 + 67 queries, 256 + 99 keys
        check_case(isa, 2, 97, 2, 80, false);  // 80 floats pad to the next column chunk
        check_case(isa, 1, 300, 2, 64, true);
    }
    check_gradient_case(1, 1, 1, 64);
    check_gradient_case(2, 257, 3, 64);
    check_gradient_case(1, 1370, 6, 64);
    check_gradient_case(1, 355, 2, 8);
    check_gradient_case(2, 97, 2, 80);
    check_batch_independence(261, 2, 64);
    check_batch_independence(355, 2, 8);
    check_bfloat16_case(1, 1, 1, 64);
    check_bfloat16_case(2, 257, 3, 64);
    check_bfloat16_case(1, 1370, 6, 64);
    check_bfloat16_case(1, 355, 2, 7);  // an odd head dim: its last pair is half padding
    check_bfloat16_case(2, 97, 2, 80);
    // AUTO runs, and names the family it runs.
    checks++;
    if (std::strcmp(dfi_attention_isa_name(DFI_ATTENTION_AUTO), dfi_attention_isa_name(dfi_attention_best_isa())) != 0)
        fail("AUTO names the best family", dfi_attention_isa_name(DFI_ATTENTION_AUTO), 0, 0, 1, 0);
    std::printf("fused attention, best family here: %s; bfloat16 kernel: %s\n",
                dfi_attention_isa_name(DFI_ATTENTION_AUTO), dfi_attention_bf16_supported() ? "yes" : "no");
    std::printf("%d%%: Checks: %d, Failures: %d, Errors: 0\n", checks ? 100 * (checks - failures) / checks : 0, checks,
                failures);
    return failures == 0 ? 0 : 1;
}
