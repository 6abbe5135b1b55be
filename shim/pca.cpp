// Principal axes in float64: for df_pca_fit (as faiss's PCAMatrix and scikit-learn's PCA find
// them, each axis's sign fixed so results repeat across LAPACK builds) and DatUS²'s step 7 (the
// centred points projected on them; the official code's IncrementalPCA spans the same subspace,
// signs may differ, which no Euclidean k-means can see).
#include "datus_shim.h"
#include "fence.hpp"
#include "pca_shim.h"

#include <ATen/ATen.h>

#include <c10/core/GradMode.h>

#include <cstring>
#include <tuple>

namespace {

// The n x d points as float64, centred (centre: their mean, 1 x d), and the covariance's leading
// `components` eigenvectors as columns (d x components), largest eigenvalue first.
at::Tensor leading_axes(const float *points, int64_t n, int64_t d, int64_t components, at::Tensor &x,
                        at::Tensor &centre) {
    TORCH_CHECK(n >= 1 && d >= 1 && components >= 1 && components <= d, "PCA of ", n, " x ", d, " to ", components,
                " components");
    x = at::from_blob(const_cast<float *>(points), {n, d}, at::kFloat).to(at::kDouble);
    centre = x.mean(0, true);
    x = x - centre;
    auto decomposition = at::linalg_eigh(at::matmul(x.t(), x), "L"); // ascending eigenvalues
    return std::get<1>(decomposition).narrow(1, d - components, components).flip({1});
}

} // namespace

extern "C" df_status dfs_pca_project(const float *points, int64_t n, int64_t d, int64_t components,
                                     float *out) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        at::Tensor x, centre;
        at::Tensor basis = leading_axes(points, n, d, components, x, centre);
        at::Tensor projected = at::matmul(x, basis).to(at::kFloat).contiguous();
        std::memcpy(out, projected.data_ptr<float>(), static_cast<size_t>(n * components) * sizeof(float));
        return DF_OK;
    });
}

extern "C" df_status dfs_pca_basis(const float *points, int64_t n, int64_t d, int64_t components, float *mean,
                                   float *basis) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        at::Tensor x, centre;
        at::Tensor axes = leading_axes(points, n, d, components, x, centre).t();
        at::Tensor largest = axes.abs().argmax(1, true);
        axes = axes * at::sign(axes.gather(1, largest));
        at::Tensor axes_out = axes.to(at::kFloat).contiguous(), mean_out = centre.to(at::kFloat).contiguous();
        std::memcpy(basis, axes_out.data_ptr<float>(), static_cast<size_t>(components * d) * sizeof(float));
        std::memcpy(mean, mean_out.data_ptr<float>(), static_cast<size_t>(d) * sizeof(float));
        return DF_OK;
    });
}
