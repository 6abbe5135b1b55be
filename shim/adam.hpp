// Adam exactly as torch.optim.Adam updates a parameter (no weight decay, no amsgrad), shared by
// the shim's trainers so their steps equal PyTorch's to the last bit the arithmetic allows.
#pragma once

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <cmath>

namespace dfs {

// One update of p (its .grad(), zero when undefined) with first and second moments m and v, at
// step `step` (1 for the first update).
inline void adam_update(at::Tensor &p, at::Tensor &m, at::Tensor &v, int64_t step, double lr, double beta1 = 0.9,
                        double beta2 = 0.999, double eps = 1e-8) {
    at::Tensor grad = p.grad().defined() ? p.grad() : at::zeros_like(p);
    m.lerp_(grad, 1 - beta1);
    v.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const double correction1 = 1 - std::pow(beta1, static_cast<double>(step));
    const double correction2 = 1 - std::pow(beta2, static_cast<double>(step));
    at::Tensor denom = (v.sqrt() / std::sqrt(correction2)).add_(eps);
    c10::NoGradGuard no_grad;
    p.addcdiv_(m, denom, -lr / correction1);
}

}  // namespace dfs
