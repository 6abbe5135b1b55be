// Attention for the ViTs (shim/attention.hpp): the fused CPU kernels of lib/kernels/ outside
// autograd, and a blockwise-recomputing autograd function inside it.
#include "attention.hpp"

#include "../lib/kernels/attention.h"

#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/version.h>

#include <algorithm>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The fused kernels read q, k and v as views of one qkv projection with contiguous head dims.
bool fused_layout(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v) {
    const auto type = q.scalar_type();
    return q.device().is_cpu() && (type == at::kFloat || type == at::kBFloat16) && k.scalar_type() == type &&
           v.scalar_type() == type && q.stride(3) == 1 && k.strides() == q.strides() && v.strides() == q.strides();
}

bool in_graph(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v) {
    return at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
}

void check_kernel_status(int status) {
    TORCH_CHECK(status != -1, "out of memory for the attention's packed keys and values");
    TORCH_CHECK(status == 0, "the fused attention failed (", status, ")");
}

// The float32 kernel's result, (B, heads, N, d_head) over (B, N, heads, d_head) memory, so that the
// output projection's transpose back to (B, N, D) is free.
at::Tensor fused_float32(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, double scale) {
    const int64_t b = q.size(0), heads = q.size(1), n = q.size(2), hd = q.size(3);
    at::Tensor out = at::empty({b, n, heads, hd}, q.options());
    const dfi_attention_args args = {q.data_ptr<float>(), k.data_ptr<float>(), v.data_ptr<float>(),
                                     out.data_ptr<float>(), b, n, heads, hd, q.stride(0), q.stride(2), q.stride(1),
                                     out.stride(0), out.stride(1), out.stride(2), static_cast<float>(scale)};
    check_kernel_status(dfi_attention_f32(&args, DFI_ATTENTION_AUTO));
    return out.permute({0, 2, 1, 3});
}

// bfloat16 the same way; a CPU without AVX512-BF16 computes in float32 and rounds the result.
at::Tensor fused(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, double scale) {
    if (q.scalar_type() == at::kFloat) return fused_float32(q, k, v, scale);
    if (!dfi_attention_bf16_supported())
        return fused_float32(q.to(at::kFloat).contiguous(), k.to(at::kFloat).contiguous(),
                             v.to(at::kFloat).contiguous(), scale)
            .to(at::kBFloat16);
    const int64_t b = q.size(0), heads = q.size(1), n = q.size(2), hd = q.size(3);
    at::Tensor out = at::empty({b, n, heads, hd}, q.options());
    const auto bits = [](const at::Tensor &t) { return reinterpret_cast<uint16_t *>(t.data_ptr<at::BFloat16>()); };
    const dfi_attention_bf16_args args = {bits(q), bits(k), bits(v), bits(out), b, n, heads, hd, q.stride(0),
                                          q.stride(2), q.stride(1), out.stride(0), out.stride(1), out.stride(2),
                                          static_cast<float>(scale)};
    check_kernel_status(dfi_attention_bf16(&args));
    return out.permute({0, 2, 1, 3});
}

// Blocks of at most `rows` query rows of at most `slices` (batch, head) slices, so that a block's
// scores stay within `elements` (at least one row of one slice). Both depend on the slice shape
// only, never on how many slices there are: each slice's arithmetic, and so its rounding, is the
// same whatever the batch, which keeps data-parallel training equal to one process's.
struct block_plan {
    int64_t rows, slices;
};

block_plan plan_blocks(int64_t n, int64_t rows, int64_t elements) {
    const int64_t r = std::max<int64_t>(1, std::min(n, rows));
    return {r, std::max<int64_t>(1, elements / (r * n))};
}

at::ScalarType compute_type(const at::Tensor &t) { return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat; }

// (B, heads, N, d) -> (B * heads, N, d) in the computing type.
at::Tensor rows_of(const at::Tensor &t, at::ScalarType type) {
    return t.to(type).reshape({t.size(0) * t.size(1), t.size(2), t.size(3)});
}

// softmax(scale q k^T) v in q's type over blocks of queries with libtorch's products: any device.
at::Tensor blockwise_forward(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, double scale,
                             block_plan plan) {
    const at::ScalarType type = compute_type(q);
    const int64_t b = q.size(0), heads = q.size(1), n = q.size(2), hd = q.size(3);
    const at::Tensor q3 = rows_of(q, type), kt = rows_of(k, type).transpose(1, 2), v3 = rows_of(v, type);
    at::Tensor out = at::empty({b * heads, n, hd}, q3.options());
    for (int64_t first = 0; first < b * heads; first += plan.slices) {
        const int64_t slices = std::min(plan.slices, b * heads - first);
        const at::Tensor qs = q3.narrow(0, first, slices), kts = kt.narrow(0, first, slices), vs = v3.narrow(0, first, slices);
        for (int64_t start = 0; start < n; start += plan.rows) {
            const int64_t count = std::min(plan.rows, n - start);
            at::Tensor weights = at::bmm(qs.narrow(1, start, count), kts).mul_(scale);
            at::_softmax_out(weights, weights, -1, false);
            out.narrow(0, first, slices).narrow(1, start, count).copy_(at::bmm(weights, vs));
        }
    }
    return out.view({b, heads, n, hd}).to(q.scalar_type());
}

// With P = softmax(scale q k^T) and dP = dO V^T: dV = P^T dO, dS = P * (dP - rowsum(P * dP)),
// dQ = scale dS K, dK = scale dS^T Q, one block of queries at a time. A block holds whole rows, so
// P is recomputed by the same softmax as the unfused computation's, and the row sums are taken over
// it as autograd's softmax backward takes them (not as dO . O, flash attention's shortcut, whose
// rounding leaves the rows of dS summing to more than P's own rounding: noise that reaches the
// keys' bias, which softmax cancels).
variable_list blockwise_backward(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, const at::Tensor &grad,
                                 double scale, block_plan plan) {
    const at::ScalarType type = compute_type(q);
    const int64_t b = q.size(0), heads = q.size(1), n = q.size(2), hd = q.size(3);
    const at::Tensor q3 = rows_of(q, type), k3 = rows_of(k, type), v3 = rows_of(v, type), g3 = rows_of(grad, type);
    const at::Tensor kt = k3.transpose(1, 2), vt = v3.transpose(1, 2);
    at::Tensor dq = at::empty_like(q3), dk = at::zeros_like(k3), dv = at::zeros_like(v3);
    for (int64_t first = 0; first < b * heads; first += plan.slices) {
        const int64_t slices = std::min(plan.slices, b * heads - first);
        const auto part = [&](const at::Tensor &t) { return t.narrow(0, first, slices); };
        const at::Tensor qs = part(q3), ks = part(k3), kts = part(kt), vts = part(vt), gs = part(g3);
        at::Tensor dqs = part(dq), dks = part(dk), dvs = part(dv);
        for (int64_t start = 0; start < n; start += plan.rows) {
            const int64_t count = std::min(plan.rows, n - start);
            const at::Tensor qb = qs.narrow(1, start, count), gb = gs.narrow(1, start, count);
            at::Tensor weights = at::bmm(qb, kts).mul_(scale);
            at::_softmax_out(weights, weights, -1, false);
            dvs.baddbmm_(weights.transpose(1, 2), gb);
            at::Tensor ds = at::bmm(gb, vts);
            ds.sub_((ds * weights).sum(-1, true)).mul_(weights);
            weights.reset();
            dqs.narrow(1, start, count).copy_(at::bmm(ds, ks).mul_(scale));
            dks.baddbmm_(ds.transpose(1, 2), qb, 1.0, scale);
        }
    }
    const auto shaped = [&](const at::Tensor &t, const at::Tensor &like) {
        return t.view({b, heads, n, hd}).to(like.scalar_type());
    };
    return {shaped(dq, q), shaped(dk, k), shaped(dv, v)};
}

struct blockwise_function : public torch::autograd::Function<blockwise_function> {
    static at::Tensor forward(AutogradContext *ctx, at::Tensor q, at::Tensor k, at::Tensor v, double scale,
                              int64_t rows, int64_t elements) {
        const block_plan plan = plan_blocks(q.size(2), rows, elements);
        const at::Tensor out = q.scalar_type() == at::kFloat && fused_layout(q, k, v)
                                   ? fused_float32(q, k, v, scale)
                                   : blockwise_forward(q, k, v, scale, plan);
        ctx->save_for_backward({q, k, v});
        ctx->saved_data["scale"] = scale;
        ctx->saved_data["rows"] = plan.rows;
        ctx->saved_data["slices"] = plan.slices;
        return out;
    }

    static variable_list backward(AutogradContext *ctx, variable_list grads) {
        const variable_list saved = ctx->get_saved_variables();
        variable_list result = blockwise_backward(saved[0], saved[1], saved[2], grads[0],
                                                  ctx->saved_data["scale"].toDouble(),
                                                  {ctx->saved_data["rows"].toInt(), ctx->saved_data["slices"].toInt()});
        result.emplace_back();  // scale
        result.emplace_back();  // rows
        result.emplace_back();  // elements
        return result;
    }
};

// Outside autograd on devices and types the fused kernels do not cover: libtorch's attention, or
// query chunks of `chunk` rows whose scale rides in the GEMM (baddbmm's alpha) and whose softmax
// runs in place, so that each chunk touches its scores three times.
at::Tensor chunked(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, double scale, int64_t chunk) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
    // libtorch 2.1+ has fused attention kernels (flash / memory-efficient, CPU and CUDA) whose
    // memory is already linear in the tokens, so no chunking is needed.
    (void)chunk;
    return at::scaled_dot_product_attention(q, k, v, {}, 0.0, false, scale);
#endif
    const int64_t b = q.size(0), heads = q.size(1), n = q.size(2), hd = q.size(3);
    const at::Tensor q3 = q.reshape({b * heads, n, hd}), kt = k.reshape({b * heads, n, hd}).transpose(1, 2);
    const at::Tensor v3 = v.reshape({b * heads, n, hd});
    if (chunk <= 0 || chunk > n) chunk = n;
    at::Tensor out = at::empty({b * heads, n, hd}, q.options());
    at::Tensor scores = at::empty({b * heads, chunk, n}, q.options());
    for (int64_t start = 0; start < n; start += chunk) {
        // out= arguments must be contiguous: a short last chunk gets a buffer of its own.
        const int64_t rows = std::min(n - start, chunk);
        at::Tensor part = rows == chunk ? scores : at::empty({b * heads, rows, n}, q.options());
        at::baddbmm_out(part, part, q3.narrow(1, start, rows), kt, 0.0, scale);
        at::_softmax_out(part, part, -1, false);
        if (rows == n)
            at::bmm_out(out, part, v3);
        else
            out.narrow(1, start, rows).copy_(at::bmm(part, v3));
    }
    return out.view({b, heads, n, hd});
}

}  // namespace

namespace dfs {

at::Tensor blockwise_attention(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, double scale,
                               int64_t block_rows, int64_t block_elements) {
    return blockwise_function::apply(q, k, v, scale, block_rows, block_elements);
}

at::Tensor attend(const at::Tensor &q, const at::Tensor &k, const at::Tensor &v, double scale, int64_t chunk) {
    if (in_graph(q, k, v)) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
        if (!q.device().is_cpu()) return at::scaled_dot_product_attention(q, k, v, {}, 0.0, false, scale);
#endif
        return blockwise_attention(q, k, v, scale);
    }
    if (fused_layout(q, k, v)) return fused(q, k, v, scale);
    return chunked(q, k, v, scale, chunk);
}

}  // namespace dfs
