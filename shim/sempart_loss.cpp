// Sempart's losses (specs/sempart.md): the expected normalized cut of a soft bipartition of the
// patch graph, the graph total variation of the coarse and fine masks on their 4-neighbour
// grids, and the super-resolution consistency of the two masks.
#include "fence.hpp"
#include "sempart_internal.hpp"
#include "tensor_util.hpp"
#include "sempart_shim.h"

#include <c10/core/GradMode.h>

namespace dfs {

static at::Tensor normalised(const at::Tensor &features) {
    return features / features.norm(2, {-1}, true).clamp_min(1e-12);
}

// cut / assoc, and 1 for an empty partition (assoc 0): the ratio's limit as a partition empties,
// so a constant mask scores 1 (its value for any constant in (0, 1)) instead of 0 / 0.
static at::Tensor cut_ratio(const at::Tensor &cut, const at::Tensor &assoc) {
    at::Tensor some = assoc.gt(0);
    return at::where(some, cut / at::where(some, assoc, at::ones_like(assoc)), at::ones_like(assoc));
}

// With d = W 1 and cut = s^T W (1 - s) = s.d - s^T W s, both partitions' terms share the cut
// (W is symmetric): only W s is needed, one matrix-vector product per image.
at::Tensor ncut_loss(const at::Tensor &masks, const at::Tensor &features, double tau, double eps) {
    const int64_t b = masks.size(0);
    at::Tensor s = masks.reshape({b, -1});
    at::Tensor w;
    {
        c10::NoGradGuard no_grad;
        at::Tensor f = normalised(features.reshape({b, s.size(1), -1}).to(s.scalar_type()));
        at::Tensor similar = at::bmm(f, f.transpose(1, 2)).gt(tau);
        w = at::where(similar, at::ones({}, s.options()), at::full({}, eps, s.options()));
        w.diagonal(0, 1, 2).zero_();
    }
    at::Tensor degree = w.sum(2);
    at::Tensor ws = at::bmm(w, s.unsqueeze(2)).squeeze(2);
    at::Tensor cut = (s * (degree - ws)).sum(1);
    at::Tensor assoc_a = (s * degree).sum(1), assoc_b = ((1 - s) * degree).sum(1);
    return (cut_ratio(cut, assoc_a) + cut_ratio(cut, assoc_b)).mean();
}

// sum over unordered 4-neighbour pairs of a_ij (s_i - s_j)^2 (= 1/2 the sum over both orders),
// with a (B, h, w - 1) along rows and (B, h - 1, w) along columns; the batch mean.
static at::Tensor grid_tv(const at::Tensor &s, const at::Tensor &across, const at::Tensor &down) {
    at::Tensor dx = s.narrow(2, 1, s.size(2) - 1) - s.narrow(2, 0, s.size(2) - 1);
    at::Tensor dy = s.narrow(1, 1, s.size(1) - 1) - s.narrow(1, 0, s.size(1) - 1);
    return ((across * dx * dx).sum({1, 2}) + (down * dy * dy).sum({1, 2})).mean();
}

at::Tensor gtv_coarse_loss(const at::Tensor &masks, const at::Tensor &features, double eps) {
    at::Tensor across, down;
    {
        c10::NoGradGuard no_grad;
        at::Tensor f = normalised(features.to(masks.scalar_type()));
        const int64_t h = f.size(1), w = f.size(2);
        at::Tensor one = at::ones({}, masks.options()), small = at::full({}, eps, masks.options());
        across = at::where((f.narrow(2, 1, w - 1) * f.narrow(2, 0, w - 1)).sum(3).gt(0), one, small);
        down = at::where((f.narrow(1, 1, h - 1) * f.narrow(1, 0, h - 1)).sum(3).gt(0), one, small);
    }
    return grid_tv(masks, across, down);
}

at::Tensor gtv_fine_loss(const at::Tensor &masks, const at::Tensor &images, double sigma) {
    at::Tensor across, down;
    {
        c10::NoGradGuard no_grad;
        at::Tensor x = images.to(masks.scalar_type());
        const int64_t h = x.size(2), w = x.size(3);
        at::Tensor dx = x.narrow(3, 1, w - 1) - x.narrow(3, 0, w - 1), dy = x.narrow(2, 1, h - 1) - x.narrow(2, 0, h - 1);
        across = at::exp(-(dx * dx).sum(1) / sigma);
        down = at::exp(-(dy * dy).sum(1) / sigma);
    }
    return grid_tv(masks, across, down);
}

at::Tensor sr_loss(const at::Tensor &fine, const at::Tensor &coarse) {
    const int64_t factor = fine.size(1) / coarse.size(1);
    TORCH_CHECK(fine.size(1) == factor * coarse.size(1) && fine.size(2) == factor * coarse.size(2),
                "the fine mask must be a whole multiple of the coarse one");
    at::Tensor pooled = at::avg_pool2d(fine.unsqueeze(1), {factor, factor}).squeeze(1);
    at::Tensor d = pooled - coarse;
    return (d * d).sum({1, 2}).mean();
}

}  // namespace dfs

namespace {

// A float32 or float64 leaf that asks for its gradient when grad is wanted.
at::Tensor input_of(const dfs_tensor_desc *desc, bool grad) {
    at::Tensor t = dfs::view_of(*desc);
    if (t.scalar_type() != at::kDouble) t = t.to(at::kFloat);
    t = t.detach().clone();
    return grad ? t.set_requires_grad(true) : t;
}

df_status finish(const at::Tensor &loss, double *out, const at::Tensor &x, dfs_tensor **grad, dfs_tensor_desc *desc) {
    *out = loss.item<double>();
    if (grad == nullptr) return DF_OK;
    loss.backward();
    return dfs::hand_out(x.grad().to(at::kFloat).contiguous(), grad, desc);
}

void check_masks(const at::Tensor &m, const char *what) {
    TORCH_CHECK(m.dim() == 3 && m.size(0) >= 1 && m.size(1) >= 2 && m.size(2) >= 2, what,
                " must be (B, h, w) with h, w >= 2");
}

}  // namespace

extern "C" df_status dfs_sempart_mask_loss(int32_t term, const dfs_tensor_desc *masks, const dfs_tensor_desc *other,
                                           double a, double b, double *loss, dfs_tensor **grad,
                                           dfs_tensor_desc *grad_desc) noexcept {
    DFS_FENCE({
        c10::AutoGradMode mode(grad != nullptr);
        at::Tensor s = input_of(masks, grad != nullptr), o = dfs::view_of(*other).to(s.device());
        check_masks(s, "masks");
        at::Tensor value;
        if (term == DFS_TERM_GTV_FINE) {
            TORCH_CHECK(o.dim() == 4 && o.size(0) == s.size(0) && o.size(2) == s.size(1) && o.size(3) == s.size(2),
                        "images must be (B, C, H, W) of the masks' size");
            value = dfs::gtv_fine_loss(s, o, a);
        } else {
            TORCH_CHECK(o.dim() == 4 && o.size(0) == s.size(0) && o.size(1) == s.size(1) && o.size(2) == s.size(2),
                        "features must be (B, h, w, D) on the masks' grid");
            value = term == DFS_TERM_NCUT ? dfs::ncut_loss(s, o, a, b) : dfs::gtv_coarse_loss(s, o, a);
        }
        return finish(value, loss, s, grad, grad_desc);
    });
}

extern "C" df_status dfs_sr_loss(const dfs_tensor_desc *fine, const dfs_tensor_desc *coarse, double *loss,
                                 dfs_tensor **grad_fine, dfs_tensor_desc *grad_fine_desc, dfs_tensor **grad_coarse,
                                 dfs_tensor_desc *grad_coarse_desc) noexcept {
    DFS_FENCE({
        const bool want = grad_fine != nullptr || grad_coarse != nullptr;
        c10::AutoGradMode mode(want);
        at::Tensor sf = input_of(fine, want), sc = input_of(coarse, want);
        check_masks(sf, "the fine mask");
        check_masks(sc, "the coarse mask");
        TORCH_CHECK(sf.size(0) == sc.size(0), "the masks' batches differ");
        at::Tensor l = dfs::sr_loss(sf, sc.to(sf.device(), sf.scalar_type()));
        *loss = l.item<double>();
        if (!want) return DF_OK;
        l.backward();
        df_status status = grad_fine ? dfs::hand_out(sf.grad().to(at::kFloat).contiguous(), grad_fine, grad_fine_desc) : DF_OK;
        if (status == DF_OK && grad_coarse)
            status = dfs::hand_out(sc.grad().to(at::kFloat).contiguous(), grad_coarse, grad_coarse_desc);
        return status;
    });
}
