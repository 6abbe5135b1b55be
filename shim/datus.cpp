// DatUS²'s dense linear algebra (its PCA, step 7, is in pca.cpp).
#include "fence.hpp"
#include "tensor_util.hpp"
#include "datus_shim.h"

#include <c10/core/GradMode.h>

#include <cstring>

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
