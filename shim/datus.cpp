// DatUS²'s dense linear algebra. PCA (step 7): the centred points projected on the leading
// eigenvectors of their covariance, in float64 (the official code's IncrementalPCA spans the same
// subspace; signs may differ, which no Euclidean k-means can see).
#include "fence.hpp"
#include "tensor_util.hpp"
#include "datus_shim.h"

#include <c10/core/GradMode.h>

#include <cstring>
#include <tuple>

extern "C" df_status dfs_pca_project(const float *points, int64_t n, int64_t d, int64_t components,
                                     float *out) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        TORCH_CHECK(n >= 1 && d >= 1 && components >= 1 && components <= d, "PCA of ", n, " x ", d, " to ",
                    components, " components");
        at::Tensor x = at::from_blob(const_cast<float *>(points), {n, d}, at::kFloat).to(at::kDouble);
        x = x - x.mean(0, true);
        auto decomposition = at::linalg_eigh(at::matmul(x.t(), x), "L"); // ascending eigenvalues
        at::Tensor basis = std::get<1>(decomposition).narrow(1, d - components, components).flip({1});
        at::Tensor projected = at::matmul(x, basis).to(at::kFloat).contiguous();
        std::memcpy(out, projected.data_ptr<float>(), static_cast<size_t>(n * components) * sizeof(float));
        return DF_OK;
    });
}

// DatUS² step 2's graph: which pairs of keys have a positive dot product, computed as one
// float64 GEMM (the affinities' signs are what matter, so float32 rounding is avoided).
extern "C" df_status dfs_positive_pairs(const float *keys, int64_t n, int64_t d, uint8_t *positive) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        TORCH_CHECK(n >= 1 && d >= 1, "keys of ", n, " x ", d);
        at::Tensor k = at::from_blob(const_cast<float *>(keys), {n, d}, at::kFloat).to(at::kDouble);
        at::Tensor above = at::gt(at::matmul(k, k.t()), 0.0).to(at::kByte).contiguous();
        std::memcpy(positive, above.data_ptr<uint8_t>(), static_cast<size_t>(n * n));
        return DF_OK;
    });
}
