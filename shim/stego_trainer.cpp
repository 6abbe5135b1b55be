// The STEGO segmentation head and its cluster probe, trained with the correspondence loss
// (specs/stego.md): code = L(drop(f)) + N(drop(f)), Adam (PyTorch's update, betas 0.9 / 0.999,
// eps adam_eps, 1e-8 by default) for the head at lr and for the probes at probe_lr. Every random
// draw (dropout masks, coordinates, permutations) comes from the caller, so a C-side generator
// makes the steps reproducible and resumable. Everything lives on the config's device; the
// caller's host arrays go up each step, and only the logged losses come back.
#include "adam.hpp"
#include "distributed.hpp"
#include "fence.hpp"
#include "products.hpp"
#include "stego_internal.hpp"
#include "tensor_util.hpp"

#include <c10/core/GradMode.h>

#include <cmath>
#include <cstring>
#include <vector>

struct dfs_stego {
    dfs_stego_config config;
    std::vector<at::Tensor> parameters, first, second; // value, Adam's m and v
    int64_t steps = 0;
    std::vector<char> with_gradient; // the last data-parallel step's (dist_reducer)
};

namespace {

at::Device device_of(const dfs_stego &s) { return dfs::device_of(s.config.device_type, s.config.device_id); }

// The caller's host memory as a tensor of its own on device.
at::Tensor owned(const at::Tensor &borrowed, const at::Device &device) {
    return device.is_cpu() ? borrowed.clone() : borrowed.to(device);
}

std::vector<int64_t> parameter_shape(const dfs_stego_config &c, int index) {
    const int64_t d = c.dim, k = c.code_dim;
    switch (index) {
    case 0: return {k, d, 1, 1};
    case 1: return {k};
    case 2: return {d, d, 1, 1};
    case 3: return {d};
    case 4: return {k, d, 1, 1};
    case 5: return {k};
    case 6: return {c.classes, k};
    case 7: return {c.classes, k, 1, 1};
    default: return {c.classes};
    }
}

// A 1 x 1 convolution on channels-last features (B, H, W, C): one matrix product, about 20%
// faster on CPU than conv2d on (B, C, H, W) for STEGO's sizes.
at::Tensor conv1x1(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias) {
    return dfs::linear(x, weight.view({weight.size(0), weight.size(1)}), bias);
}

// t in the head's compute precision: bfloat16 copies (the gradient flows back to the float32
// master weights through the cast), or t itself.
at::Tensor low(const dfs_stego &s, const at::Tensor &t) {
    return s.config.precision == DF_DTYPE_BFLOAT16 ? t.to(at::kBFloat16) : t;
}

// The head's code of features f (B, D, H, W); masks (B, D) per branch, or undefined for none. The
// products in the compute precision, the code in float32.
at::Tensor head(const dfs_stego &s, const at::Tensor &f, const at::Tensor &mask_linear, const at::Tensor &mask_nonlinear) {
    const auto &p = s.parameters;
    at::Tensor x = f.permute({0, 2, 3, 1}).contiguous();
    const int64_t b = x.size(0), d = x.size(3);
    at::Tensor a = mask_linear.defined() ? x * mask_linear.view({b, 1, 1, d}) : x;
    at::Tensor c = mask_nonlinear.defined() ? x * mask_nonlinear.view({b, 1, 1, d}) : x;
    at::Tensor code = conv1x1(low(s, a), low(s, p[0]), low(s, p[1])) +
                      conv1x1(at::relu(conv1x1(low(s, c), low(s, p[2]), low(s, p[3]))), low(s, p[4]), low(s, p[5]));
    return code.to(at::kFloat).permute({0, 3, 1, 2});
}

// The cluster probe's inner products of normalised codes and centroids: (B, C, H, W).
at::Tensor cluster_inner(const at::Tensor &code, const at::Tensor &clusters) {
    at::Tensor c = clusters / clusters.norm(2, {1}, true).clamp_min(1e-12);
    at::Tensor x = code / code.norm(2, {1}, true).clamp_min(1e-12);
    return at::einsum("bchw,nc->bnhw", {x, c});
}

void adam(dfs_stego &s, size_t index, double lr) {
    dfs::adam_update(s.parameters[index], s.first[index], s.second[index], s.steps, lr, 0.9, 0.999, s.config.adam_eps);
}

// masks holds `which`-major blocks of rows x d channel masks
at::Tensor masks_of(const float *masks, int which, int64_t rows, int64_t d, const at::Device &device) {
    return owned(at::from_blob(const_cast<float *>(masks) + which * rows * d, {rows, d}, at::kFloat), device);
}

// The linear probe's cross-entropy on detached codes upsampled to the labels, as the official
// training step (labels outside 0..C-1 are ignored); zero without labels. The official mean over
// the kept pixels of the whole batch is the sum here over `kept` of them all, scaled by
// batch / count so that the ranks' average (weighted by count) is that mean.
at::Tensor linear_probe_loss(const dfs_stego &s, const at::Tensor &code, const dfs_tensor_desc *labels, int64_t batch) {
    if (labels == nullptr) return at::zeros({}, code.options());
    at::Tensor y = dfs::view_of(*labels).to(code.device(), at::kLong);
    TORCH_CHECK(y.dim() == 3 && y.size(0) == code.size(0), "labels must be (B, H, W)");
    const auto &p = s.parameters;
    at::Tensor logits = conv1x1(code.detach().permute({0, 2, 3, 1}), p[7], p[8]).permute({0, 3, 1, 2});
    logits = at::upsample_bilinear2d(logits, {y.size(1), y.size(2)}, false);
    at::Tensor flat = logits.permute({0, 2, 3, 1}).reshape({-1, s.config.classes}), target = y.reshape(-1);
    at::Tensor keep = (target >= 0).logical_and(target < s.config.classes);
    // every rank builds the probe's graph, pixels kept or not, so every rank has its gradients
    const std::vector<int64_t> kept_by_rank = dfs::dist_counts(keep.sum().item<int64_t>());
    int64_t kept = 0;
    for (int64_t k : kept_by_rank) kept += k;
    if (kept == 0) return at::zeros({}, code.options());
    at::Tensor sum = at::cross_entropy_loss(flat, target.masked_fill(keep.logical_not(), -100), {}, at::Reduction::Sum);
    return sum / static_cast<double>(kept) * (static_cast<double>(batch) / static_cast<double>(code.size(0)));
}

// rows x columns int64 values of the caller, copied into a tensor on device.
at::Tensor borrowed_rows(const int64_t *values, int64_t rows, int64_t columns, const at::Device &device) {
    return owned(at::from_blob(const_cast<int64_t *>(values), {rows, columns}, at::kLong), device);
}

}  // namespace

extern "C" df_status dfs_stego_create(const dfs_stego_config *config, const float *const *initial,
                                      dfs_stego **out) noexcept {
    DFS_FENCE({
        auto s = std::make_unique<dfs_stego>();
        s->config = *config;
        const at::Device device = device_of(*s);
        for (int i = 0; i < DFS_STEGO_PARAMETERS; i++) {
            at::Tensor p = owned(at::from_blob(const_cast<float *>(initial[i]), parameter_shape(*config, i), at::kFloat), device);
            s->parameters.push_back(p.set_requires_grad(true));
            s->first.push_back(at::zeros_like(p));
            s->second.push_back(at::zeros_like(p));
        }
        *out = s.release();
        return DF_OK;
    });
}

extern "C" void dfs_stego_free(dfs_stego *stego) noexcept { delete stego; }

extern "C" int64_t dfs_stego_parameter_numel(const dfs_stego_config *config, int32_t index) noexcept {
    int64_t n = 1;
    for (int64_t v : parameter_shape(*config, index)) n *= v;
    return n;
}

extern "C" df_status dfs_stego_state(const dfs_stego *stego, int32_t index, int32_t which, float *values,
                                     int32_t write) noexcept {
    DFS_FENCE({
        TORCH_CHECK(index >= 0 && index < DFS_STEGO_PARAMETERS && which >= 0 && which < 3, "no such state");
        const at::Tensor &t = which == 0 ? stego->parameters[index] : which == 1 ? stego->first[index] : stego->second[index];
        c10::NoGradGuard no_grad;
        at::Tensor host = at::from_blob(values, t.sizes(), at::kFloat);
        if (write) t.copy_(host);
        else host.copy_(t);
        return DF_OK;
    });
}

extern "C" int64_t dfs_stego_steps(const dfs_stego *stego) noexcept { return stego->steps; }
extern "C" void dfs_stego_set_steps(dfs_stego *stego, int64_t steps) noexcept { stego->steps = steps; }

extern "C" df_status dfs_stego_to(dfs_stego *stego, df_device_type device_type, int32_t device_id) noexcept {
    DFS_FENCE({
        const at::Device device = dfs::device_of(device_type, device_id);
        c10::NoGradGuard no_grad;
        for (auto &p : stego->parameters) p = p.detach().to(device).requires_grad_(true);
        for (auto &m : stego->first) m = m.to(device);
        for (auto &v : stego->second) v = v.to(device);
        stego->config.device_type = device_type, stego->config.device_id = device_id;
        return DF_OK;
    });
}

extern "C" df_status dfs_stego_step(dfs_stego *s, const dfs_stego_batch *b, double losses[6]) noexcept {
    DFS_FENCE({
        c10::AutoGradMode grad(true);
        const at::Device device = device_of(*s);
        at::Tensor f = dfs::view_of(*b->pool).to(device, at::kFloat), fk = dfs::view_of(*b->knn).to(device, at::kFloat);
        const int64_t pool = f.size(0), n = b->count, d = f.size(1);
        TORCH_CHECK(d == s->config.dim && fk.size(0) == n && fk.sizes().slice(1) == f.sizes().slice(1),
                    "features must be (B, ", s->config.dim, ", H, W), and their partners' of the share");
        for (auto &p : s->parameters) p.mutable_grad() = at::Tensor();
        // the official order: each image's branch masks, then its returned (loss) features' mask
        at::Tensor own = borrowed_rows(b->own, 1, n, device).view({n});
        const at::Tensor linear = masks_of(b->pool_masks, 0, pool, d, device),
                         nonlinear = masks_of(b->pool_masks, 1, pool, d, device);
        at::Tensor code_pool;
        if (dfs::dist_active()) { // this rank's codes; the others' come from their ranks, and their gradients go back
            const at::Tensor mine = head(*s, f.index_select(0, own), linear.index_select(0, own), nonlinear.index_select(0, own));
            code_pool = dfs::dist_gather_live(mine, n).index_select(0, borrowed_rows(b->pool_rows, 1, pool, device).view({pool}));
        } else {
            code_pool = head(*s, f, linear, nonlinear);
        }
        at::Tensor signal_pool = f * masks_of(b->pool_masks, 2, pool, d, device).unsqueeze(2).unsqueeze(3);
        at::Tensor code_knn = head(*s, fk, masks_of(b->knn_masks, 0, n, d, device), masks_of(b->knn_masks, 1, n, d, device));
        at::Tensor signal_knn = fk * masks_of(b->knn_masks, 2, n, d, device).unsqueeze(2).unsqueeze(3);
        at::Tensor c1 = owned(at::from_blob(const_cast<float *>(b->coords1), {n, b->points, b->points, 2}, at::kFloat), device);
        at::Tensor c2 = owned(at::from_blob(const_cast<float *>(b->coords2), {n, b->points, b->points, 2}, at::kFloat), device);
        at::Tensor p = borrowed_rows(b->perms, b->negatives, n, device);
        auto terms = dfs::stego_terms(signal_pool, code_pool, own, signal_knn, code_knn, c1, c2, p, s->config.loss,
                                      dfs::dist_active());
        const auto &w = s->config.loss;
        at::Tensor correspondence = w.weight_self * terms[0] + w.weight_knn * terms[1] + w.weight_rand * terms[2];
        at::Tensor code = code_pool.index_select(0, own);
        at::Tensor inner = cluster_inner(code.detach(), s->parameters[DFS_STEGO_CLUSTERS]);
        at::Tensor hard = at::one_hot(inner.argmax(1), s->config.classes).permute({0, 3, 1, 2}).to(at::kFloat);
        at::Tensor cluster_loss = -(hard * inner).sum(1).mean();
        at::Tensor linear_loss = linear_probe_loss(*s, code, b->labels, b->batch);
        // data-parallel: every rank steps with the whole batch's gradient, averaged during backward
        dfs::dist_reducer reducer(s->parameters, n, s->with_gradient);
        (correspondence + cluster_loss + linear_loss).backward();
        std::vector<double> values = {terms[0].item<double>(), terms[1].item<double>(), terms[2].item<double>(),
                                      correspondence.item<double>(), cluster_loss.item<double>(), linear_loss.item<double>()};
        reducer.finish(&values);
        s->with_gradient = reducer.arrived();
        s->steps++;
        for (size_t i = 0; i < s->parameters.size(); i++)
            adam(*s, i, i < DFS_STEGO_CLUSTERS ? s->config.lr : s->config.probe_lr);
        for (int i = 0; i < 6; i++) losses[i] = values[static_cast<size_t>(i)];
        return DF_OK;
    });
}

extern "C" df_status dfs_stego_codes(const dfs_stego *s, const dfs_tensor_desc *features, dfs_tensor **out,
                                     dfs_tensor_desc *out_desc) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        at::Tensor f = dfs::view_of(*features).to(device_of(*s), at::kFloat);
        TORCH_CHECK(f.dim() == 4 && f.size(1) == s->config.dim, "features must be (B, ", s->config.dim, ", H, W)");
        return dfs::hand_out(head(*s, f, at::Tensor(), at::Tensor()), out, out_desc);
    });
}

extern "C" df_status dfs_stego_predict(const dfs_stego *s, const dfs_tensor_desc *features,
                                       const dfs_tensor_desc *flipped, int64_t height, int64_t width,
                                       int32_t linear, float *probabilities, int32_t *labels) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        at::Tensor f = dfs::view_of(*features).to(device_of(*s), at::kFloat);
        TORCH_CHECK(f.dim() == 4 && f.size(1) == s->config.dim, "features must be (B, ", s->config.dim, ", H, W)");
        at::Tensor code = head(*s, f, at::Tensor(), at::Tensor());
        if (flipped) { // the flipped image's code, flipped back, averaged in
            at::Tensor g = dfs::view_of(*flipped).to(device_of(*s), at::kFloat);
            TORCH_CHECK(g.sizes() == f.sizes(), "the flipped features must be shaped as the features");
            code = (code + head(*s, g, at::Tensor(), at::Tensor()).flip({3})) / 2;
        }
        code = at::upsample_bilinear2d(code, {height, width}, false);
        // the official evaluation applies the linear probe to the upsampled codes
        const auto &p = s->parameters;
        at::Tensor logits = linear ? conv1x1(code.permute({0, 2, 3, 1}), p[7], p[8]).permute({0, 3, 1, 2})
                                   : cluster_inner(code, p[DFS_STEGO_CLUSTERS]) * 2;
        if (labels) {
            at::Tensor best = logits.argmax(1).to(at::kCPU, at::kInt).contiguous();
            std::memcpy(labels, best.data_ptr<int32_t>(), static_cast<size_t>(best.numel()) * sizeof(int32_t));
        }
        if (probabilities) { // softmax over the clusters, pixel-major as the CRF takes them
            at::Tensor p = at::softmax(logits, 1).permute({0, 2, 3, 1}).to(at::kCPU).contiguous();
            std::memcpy(probabilities, p.data_ptr<float>(), static_cast<size_t>(p.numel()) * sizeof(float));
        }
        return DF_OK;
    });
}
