// STEGO's correspondence loss (Hamilton et al. 2022, specs/stego.md), with the official code's
// helper and sampling, and the gradients of its codes.
#include "distributed.hpp"
#include "fence.hpp"
#include "stego_internal.hpp"
#include "tensor_util.hpp"

#include <c10/core/GradMode.h>

namespace dfs {

// Bilinear sampling as grid_sample(align_corners=True, padding_mode='border') does it, written as
// row gathers from channels-last maps: sampling image perm[i] at image i's points (the random
// term) then needs no copy of the maps, and the gathers read whole channel vectors.
struct stego_points {
    at::Tensor index[4], weight[4]; // (B, Q) each: corner rows within an image, their weights
    int64_t pixels;                 // H x W
};

static stego_points points_of(const at::Tensor &coords, int64_t height, int64_t width) {
    at::Tensor c = coords.reshape({coords.size(0), -1, 2});
    at::Tensor ix = ((c.select(2, 0) + 1) / 2 * (width - 1)).clamp(0, width - 1);
    at::Tensor iy = ((c.select(2, 1) + 1) / 2 * (height - 1)).clamp(0, height - 1);
    at::Tensor x0 = ix.floor(), y0 = iy.floor(), x1 = x0 + 1, y1 = y0 + 1;
    // grid_sample's weights; a corner past the last row or column has weight 0 and is read clamped
    at::Tensor w[4] = {(x1 - ix) * (y1 - iy), (ix - x0) * (y1 - iy), (x1 - ix) * (iy - y0), (ix - x0) * (iy - y0)};
    at::Tensor xs[2] = {x0.to(at::kLong), x1.clamp_max(width - 1).to(at::kLong)};
    at::Tensor ys[2] = {y0.to(at::kLong), y1.clamp_max(height - 1).to(at::kLong)};
    stego_points p;
    for (int k = 0; k < 4; k++) {
        p.index[k] = ys[k / 2] * width + xs[k % 2];
        p.weight[k] = w[k].unsqueeze(2);
    }
    p.pixels = height * width;
    return p;
}

at::Tensor stego_rows(const at::Tensor &map) { return map.permute({0, 2, 3, 1}).reshape({-1, map.size(1)}); }

// rows (B H W, C) of a map; image[i] (B) is the image sampled at points i's coordinates -> (B, Q, C)
static at::Tensor gather(const at::Tensor &rows, const stego_points &p, const at::Tensor &image) {
    at::Tensor base = (image * p.pixels).unsqueeze(1);
    at::Tensor out;
    for (int k = 0; k < 4; k++) {
        at::Tensor corner = rows.index_select(0, (base + p.index[k]).reshape(-1)).view({p.index[k].size(0), p.index[k].size(1), -1});
        out = k == 0 ? corner * p.weight[k] : out + corner * p.weight[k];
    }
    return out;
}

at::Tensor stego_sample(const at::Tensor &t, const at::Tensor &coords) {
    stego_points p = points_of(coords.to(t.device(), at::kFloat), t.size(2), t.size(3));
    return gather(stego_rows(t), p, at::arange(t.size(0), at::TensorOptions(t.device()).dtype(at::kLong)));
}

// F.normalize(t, dim=2, eps=1e-10) of samples (B, Q, C)
static at::Tensor normalised(const at::Tensor &t) { return t / t.norm(2, {2}, true).clamp_min(1e-10); }

at::Tensor stego_pair_loss(const at::Tensor &f1, const at::Tensor &f2, const at::Tensor &s1, const at::Tensor &s2,
                           double shift, const dfs_stego_loss_config &config, bool across_ranks) {
    at::Tensor fd;
    {
        c10::NoGradGuard no_grad;
        fd = at::bmm(normalised(f1), normalised(f2).transpose(1, 2)); // (B, Q1, Q2)
        if (config.center && across_ranks) { // the whole batch's means, as one process would take them
            const at::Tensor centred = fd - fd.mean({2}, true);
            const std::vector<double> means = dist_means({fd, centred});
            fd = centred - means[1] + means[0];
        } else if (config.center) {
            at::Tensor old_mean = fd.mean();
            fd = fd - fd.mean({2}, true);
            fd = fd - fd.mean() + old_mean;
        }
    }
    at::Tensor cd = at::bmm(normalised(s1), normalised(s2).transpose(1, 2));
    const double low = config.zero_clamp ? 0.0 : -9999.0;
    at::Tensor clamped = config.stabilize ? cd.clamp(low, 0.8) : cd.clamp_min(low);
    return (-(clamped * (fd - shift))).mean();
}

std::array<at::Tensor, 3> stego_terms(const at::Tensor &f, const at::Tensor &s, const at::Tensor &own_rows,
                                      const at::Tensor &f_knn, const at::Tensor &s_knn, const at::Tensor &c1,
                                      const at::Tensor &c2, const at::Tensor &perms, const dfs_stego_loss_config &config,
                                      bool across_ranks) {
    const at::Tensor own = own_rows.to(f.device(), at::kLong);
    const at::Tensor partner = at::arange(f_knn.size(0), at::TensorOptions(f.device()).dtype(at::kLong));
    stego_points p1 = points_of(c1.to(f.device(), at::kFloat), f.size(2), f.size(3));
    stego_points p2 = points_of(c2.to(f.device(), at::kFloat), f.size(2), f.size(3));
    at::Tensor f_rows, fk_rows;
    {
        c10::NoGradGuard no_grad; // the features take no gradient: their rows can be plain copies
        f_rows = stego_rows(f), fk_rows = stego_rows(f_knn);
    }
    at::Tensor s_rows = stego_rows(s), sk_rows = stego_rows(s_knn);
    at::Tensor feats = gather(f_rows, p1, own), code = gather(s_rows, p1, own);
    at::Tensor self_term = stego_pair_loss(feats, feats, code, code, config.shift_self, config, across_ranks);
    at::Tensor knn_term = stego_pair_loss(feats, gather(fk_rows, p2, partner), code, gather(sk_rows, p2, partner),
                                          config.shift_knn, config, across_ranks);
    at::Tensor random_term = at::zeros({}, f.options());
    for (int64_t n = 0; n < perms.size(0); n++) {
        at::Tensor perm = perms[n].to(f.device(), at::kLong);
        random_term = random_term + stego_pair_loss(feats, gather(f_rows, p2, perm), code, gather(s_rows, p2, perm),
                                                    config.shift_rand, config, across_ranks);
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
                                                dfs::stego_sample(a, ca), dfs::stego_sample(b, cb), shift, *config, false);
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
                                      at::arange(a.size(0), at::TensorOptions(device).dtype(at::kLong)),
                                      dfs::view_of(*f_knn).to(device, at::kFloat), b,
                                      dfs::view_of(*c1).to(device, at::kFloat), dfs::view_of(*c2).to(device, at::kFloat),
                                      p, *config, false);
        at::Tensor total = config->weight_self * terms[0] + config->weight_knn * terms[1] + config->weight_rand * terms[2];
        total.backward();
        for (int i = 0; i < 3; i++) losses[i] = terms[i].item<double>();
        losses[3] = total.item<double>();
        df_status status = hand_out_grad(a, grad_s, grad_s_desc);
        return status == DF_OK ? hand_out_grad(b, grad_s_knn, grad_s_knn_desc) : status;
    });
}
