// STEGO's correspondence loss (Hamilton et al. 2022, specs/stego.md), with the official code's
// helper and sampling, and the gradients of its codes.
#include "fence.hpp"
#include "stego_internal.hpp"
#include "tensor_util.hpp"

#include <c10/core/GradMode.h>

namespace dfs {

at::Tensor stego_sample(const at::Tensor &t, const at::Tensor &coords) {
    return at::grid_sampler(t, coords.permute({0, 2, 1, 3}), /*bilinear*/ 0, /*border*/ 1, /*align_corners*/ true);
}

// F.normalize(t, dim=1, eps=1e-10)
static at::Tensor normalised(const at::Tensor &t) { return t / t.norm(2, {1}, true).clamp_min(1e-10); }

at::Tensor stego_pair_loss(const at::Tensor &f1, const at::Tensor &f2, const at::Tensor &s1, const at::Tensor &s2,
                           double shift, const dfs_stego_loss_config &config) {
    at::Tensor fd;
    {
        c10::NoGradGuard no_grad;
        fd = at::einsum("nchw,ncij->nhwij", {normalised(f1), normalised(f2)});
        if (config.center) {
            at::Tensor old_mean = fd.mean();
            fd = fd - fd.mean({3, 4}, true);
            fd = fd - fd.mean() + old_mean;
        }
    }
    at::Tensor cd = at::einsum("nchw,ncij->nhwij", {normalised(s1), normalised(s2)});
    const double low = config.zero_clamp ? 0.0 : -9999.0;
    at::Tensor clamped = config.stabilize ? cd.clamp(low, 0.8) : cd.clamp_min(low);
    return (-(clamped * (fd - shift))).mean();
}

std::array<at::Tensor, 3> stego_terms(const at::Tensor &f, const at::Tensor &s, const at::Tensor &f_knn,
                                      const at::Tensor &s_knn, const at::Tensor &c1, const at::Tensor &c2,
                                      const at::Tensor &perms, const dfs_stego_loss_config &config) {
    at::Tensor feats = stego_sample(f, c1), code = stego_sample(s, c1);
    at::Tensor self_term = stego_pair_loss(feats, feats, code, code, config.shift_self, config);
    at::Tensor knn_term = stego_pair_loss(feats, stego_sample(f_knn, c2), code, stego_sample(s_knn, c2),
                                          config.shift_knn, config);
    at::Tensor random_term = at::zeros({}, f.options());
    for (int64_t n = 0; n < perms.size(0); n++) {
        at::Tensor perm = perms[n].to(f.device(), at::kLong);
        random_term = random_term + stego_pair_loss(feats, stego_sample(f.index_select(0, perm), c2), code,
                                                    stego_sample(s.index_select(0, perm), c2), config.shift_rand,
                                                    config);
    }
    // the official code concatenates the negatives' loss maps and takes one mean: equal sizes, so
    // the mean of the means
    if (perms.size(0) > 0) random_term = random_term / static_cast<double>(perms.size(0));
    return {self_term, knn_term, random_term};
}

}  // namespace dfs

// A leaf copy of a code map that collects its gradient.
static at::Tensor leaf(const dfs_tensor_desc *desc) {
    return dfs::view_of(*desc).to(at::kFloat).detach().clone().set_requires_grad(true);
}

static df_status hand_out_grad(const at::Tensor &t, dfs_tensor **out, dfs_tensor_desc *desc) {
    if (out == nullptr) return DF_OK;
    at::Tensor g = t.grad().defined() ? t.grad() : at::zeros_like(t);
    return dfs::hand_out(g.detach(), out, desc);
}

extern "C" df_status dfs_stego_corr_loss(const dfs_tensor_desc *f1, const dfs_tensor_desc *f2,
                                         const dfs_tensor_desc *s1, const dfs_tensor_desc *s2,
                                         const dfs_tensor_desc *c1, const dfs_tensor_desc *c2, double shift,
                                         const dfs_stego_loss_config *config, double *loss, dfs_tensor **grad_s1,
                                         dfs_tensor_desc *grad_s1_desc, dfs_tensor **grad_s2,
                                         dfs_tensor_desc *grad_s2_desc) noexcept {
    DFS_FENCE({
        c10::AutoGradMode grad(true);
        at::Tensor a = leaf(s1), b = leaf(s2);
        at::Tensor fa = dfs::view_of(*f1).to(a.device(), at::kFloat), fb = dfs::view_of(*f2).to(a.device(), at::kFloat);
        at::Tensor ca = dfs::view_of(*c1).to(a.device(), at::kFloat), cb = dfs::view_of(*c2).to(a.device(), at::kFloat);
        at::Tensor value = dfs::stego_pair_loss(dfs::stego_sample(fa, ca), dfs::stego_sample(fb, cb),
                                                dfs::stego_sample(a, ca), dfs::stego_sample(b, cb), shift, *config);
        value.backward();
        *loss = value.item<double>();
        df_status status = hand_out_grad(a, grad_s1, grad_s1_desc);
        return status == DF_OK ? hand_out_grad(b, grad_s2, grad_s2_desc) : status;
    });
}

extern "C" df_status dfs_stego_loss(const dfs_tensor_desc *f, const dfs_tensor_desc *s, const dfs_tensor_desc *f_knn,
                                    const dfs_tensor_desc *s_knn, const dfs_tensor_desc *c1,
                                    const dfs_tensor_desc *c2, const dfs_tensor_desc *perms,
                                    const dfs_stego_loss_config *config, double losses[4], dfs_tensor **grad_s,
                                    dfs_tensor_desc *grad_s_desc, dfs_tensor **grad_s_knn,
                                    dfs_tensor_desc *grad_s_knn_desc) noexcept {
    DFS_FENCE({
        c10::AutoGradMode grad(true);
        at::Tensor a = leaf(s), b = leaf(s_knn);
        const at::Device device = a.device();
        at::Tensor p = perms ? dfs::view_of(*perms) : at::zeros({0, a.size(0)}, at::kLong);
        auto terms = dfs::stego_terms(dfs::view_of(*f).to(device, at::kFloat), a,
                                      dfs::view_of(*f_knn).to(device, at::kFloat), b,
                                      dfs::view_of(*c1).to(device, at::kFloat), dfs::view_of(*c2).to(device, at::kFloat),
                                      p, *config);
        at::Tensor total = config->weight_self * terms[0] + config->weight_knn * terms[1] + config->weight_rand * terms[2];
        total.backward();
        for (int i = 0; i < 3; i++) losses[i] = terms[i].item<double>();
        losses[3] = total.item<double>();
        df_status status = hand_out_grad(a, grad_s, grad_s_desc);
        return status == DF_OK ? hand_out_grad(b, grad_s_knn, grad_s_knn_desc) : status;
    });
}
