// The linear probe's step and prediction: a 1 x 1 convolution of the token grid, its logits
// upsampled bilinearly (align_corners false) to the labels, cross-entropy with autograd, and
// torch.optim.SGD's update written out on lib/'s buffers.
#include "fence.hpp"
#include "linear_probe_shim.h"
#include "tensor_util.hpp"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cstring>

namespace {

// The probe's parameters over lib/'s memory (no copy): weight (C, D, 1, 1), bias (C).
struct parameters {
    at::Tensor weight, bias;
};

parameters parameters_of(const dfs_linear_probe_state &s) {
    return {at::from_blob(s.weight, {s.classes, s.dim, 1, 1}, at::kFloat), at::from_blob(s.bias, {s.classes}, at::kFloat)};
}

// The logits (B, C, height, width) of features (B, h, w, D).
at::Tensor upsampled_logits(const dfs_tensor_desc &features, const at::Tensor &weight, const at::Tensor &bias,
                            int64_t dim, int64_t height, int64_t width) {
    at::Tensor x = dfs::view_of(features);
    TORCH_CHECK(x.dim() == 4 && x.size(3) == dim, "features must be (B, h, w, ", dim, ")");
    TORCH_CHECK(x.device().is_cpu(), "the linear probe computes on the CPU; features are on ", x.device().str());
    x = x.to(at::kFloat).permute({0, 3, 1, 2});
    at::Tensor logits = at::conv2d(x, weight, bias);
    return at::upsample_bilinear2d(logits, {height, width}, false);
}

// p <- p - lr (buffer), buffer <- momentum buffer + (grad + weight_decay p), as torch.optim.SGD.
void sgd(at::Tensor parameter, const at::Tensor &gradient, at::Tensor buffer, bool has_buffer, double lr,
         double momentum, double weight_decay) {
    at::Tensor step = gradient.add(parameter, weight_decay);
    if (momentum != 0) {
        if (has_buffer) buffer.mul_(momentum).add_(step);
        else buffer.copy_(step);
        step = buffer;
    }
    parameter.sub_(step, lr);
}

}  // namespace

extern "C" df_status dfs_linear_probe_step(dfs_linear_probe_state *state, const dfs_tensor_desc *features,
                                           const uint8_t *labels, int64_t height, int64_t width, double lr,
                                           double momentum, double weight_decay, double *loss,
                                           int64_t *scored) noexcept {
    DFS_FENCE({
        c10::AutoGradMode grad(true);
        parameters p = parameters_of(*state);
        at::Tensor weight = p.weight.detach().clone().requires_grad_(true);
        at::Tensor bias = p.bias.detach().clone().requires_grad_(true);
        at::Tensor logits = upsampled_logits(*features, weight, bias, state->dim, height, width);
        const int64_t batch = logits.size(0);
        at::Tensor target = at::from_blob(const_cast<uint8_t *>(labels), {batch, height, width}, at::kByte).to(at::kLong);
        target = target.masked_fill(target >= state->classes, -100);  // cross_entropy's default ignore_index
        *scored = target.ne(-100).sum().item<int64_t>();
        *loss = 0;
        if (*scored == 0) return DF_OK;
        at::Tensor value = at::cross_entropy_loss(logits, target, {}, at::Reduction::Mean, -100);
        value.backward();
        *loss = value.item<double>();
        c10::NoGradGuard no_grad;
        const bool has = state->has_buffers != 0;
        sgd(p.weight, weight.grad(), at::from_blob(state->weight_buffer, p.weight.sizes(), at::kFloat), has, lr, momentum,
            weight_decay);
        sgd(p.bias, bias.grad(), at::from_blob(state->bias_buffer, p.bias.sizes(), at::kFloat), has, lr, momentum,
            weight_decay);
        state->has_buffers = 1;
        return DF_OK;
    });
}

extern "C" df_status dfs_linear_probe_predict(const dfs_linear_probe_state *state, const dfs_tensor_desc *features,
                                              int64_t height, int64_t width, uint8_t *labels) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        parameters p = parameters_of(*state);
        at::Tensor logits = upsampled_logits(*features, p.weight, p.bias, state->dim, height, width);
        at::Tensor classes = logits.argmax(1).to(at::kByte).contiguous();
        std::memcpy(labels, classes.data_ptr<uint8_t>(), static_cast<size_t>(classes.numel()));
        return DF_OK;
    });
}
