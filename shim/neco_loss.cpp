// NeCo's patch neighbour consistency loss (specs/neco.md): each query patch's distances to the
// reference patches are sorted by the relaxed network, for the student and (as the target, without
// gradient) the teacher; the loss is the cross-entropy of the teacher's permutation matrices
// against the student's. The student's gradient goes through the analytic backward pass of the
// sort (shim/diffsort.cpp) and libtorch's autograd for the distances.
#include "fence.hpp"
#include "neco_internal.hpp"
#include "tensor_util.hpp"

#include <c10/core/GradMode.h>

#include <cmath>

namespace {

// (B, Nq, R): cosine similarities of queries to references, or Euclidean distances.
at::Tensor distances(const at::Tensor &queries, const at::Tensor &refs, int32_t euclidean) {
    if (euclidean) return at::cdist(queries, refs);
    auto unit = [](const at::Tensor &t) { return t / t.norm(2, {-1}, true).clamp_min(1e-12); };
    return at::matmul(unit(queries), unit(refs).transpose(1, 2));
}

}  // namespace

namespace dfs {

double neco_loss(const at::Tensor &student, const at::Tensor &teacher, const at::Tensor &refs,
                 const dfs_neco_config &config, at::Tensor *grad) {
    const auto type = student.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    at::Tensor fs = student.to(at::kCPU, type).detach().clone().set_requires_grad(grad != nullptr);
    const at::Tensor ft = teacher.to(at::kCPU, type).detach(), fr = refs.to(at::kCPU, type).detach();
    TORCH_CHECK(fs.dim() == 3 && ft.sizes() == fs.sizes() && fr.dim() == 3 && fr.size(0) == fs.size(0) &&
                    fr.size(2) == fs.size(2),
                "student and teacher must be (B, Nq, d), references (B, R, d)");
    const int64_t r = fr.size(1);
    at::Tensor ds;
    {
        c10::AutoGradMode mode(grad != nullptr);
        ds = distances(fs, fr, config.euclidean);
    }
    at::Tensor rows_s = ds.detach().reshape({-1, r}).contiguous();
    at::Tensor ps = diffsort_permutation(rows_s, config.network, config.sigmoid, config.steepness);
    at::Tensor pt;
    {
        c10::NoGradGuard no_grad;
        at::Tensor rows_t = distances(ft, fr, config.euclidean).reshape({-1, r}).contiguous();
        pt = diffsort_permutation(rows_t, config.network, config.sigmoid, config.steepness);
    }
    const double count = static_cast<double>(ps.size(0) * r); // the mean over (batch, query, reference i)
    at::Tensor log_pt = config.symmetric ? pt.log() : at::Tensor();
    at::Tensor value = -(pt * ps.log()).sum() / count;
    if (config.symmetric) value = value - (ps * log_pt).sum() / count;
    const double loss = value.item<double>();
    TORCH_CHECK(std::isfinite(loss), "the NeCo loss is not finite (", loss, "): a permutation entry reached 0");
    if (grad == nullptr) return loss;
    // d loss / d P_s: the target's weights over the student's, and with the symmetric form the
    // other direction's log-target (its gradient through the student side only)
    at::Tensor grad_p = -pt / ps / count;
    if (config.symmetric) grad_p = grad_p - log_pt / count;
    at::Tensor grad_rows = diffsort_permutation_vjp(rows_s, config.network, config.sigmoid, config.steepness, grad_p);
    ds.backward(grad_rows.view_as(ds));
    *grad = fs.grad();
    return loss;
}

}  // namespace dfs

extern "C" df_status dfs_neco_loss(const dfs_tensor_desc *student, const dfs_tensor_desc *teacher,
                                   const dfs_tensor_desc *refs, const dfs_neco_config *config, double *loss,
                                   dfs_tensor **grad, dfs_tensor_desc *grad_desc) noexcept {
    DFS_FENCE({
        at::Tensor g;
        *loss = dfs::neco_loss(dfs::view_of(*student), dfs::view_of(*teacher), dfs::view_of(*refs), *config,
                               grad ? &g : nullptr);
        return grad ? dfs::hand_out(g.contiguous(), grad, grad_desc) : DF_OK;
    });
}
