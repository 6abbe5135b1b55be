// TokenCut's spectral step (Wang et al. 2022): the generalised eigenproblem (D - A) y = lambda D y
// on the keys' affinity graph, solved as the symmetric problem D^-1/2 (D - A) D^-1/2 z = lambda z
// with y = D^-1/2 z, in float64 (scipy.linalg.eigh(D - A, D) gives the same y, y^T D y = 1).
#include "fence.hpp"
#include "tensor_util.hpp"
#include "tokencut_shim.h"

#include <c10/core/GradMode.h>

#include <tuple>

#include <cstring>

extern "C" df_status dfs_tokencut_eigenvector(const dfs_tensor_desc *keys, int64_t first_patch, double tau,
                                              double eps, int32_t binary, float *eigenvector,
                                              double *eigenvalue) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        at::Tensor k = dfs::view_of(*keys);
        TORCH_CHECK(k.dim() == 3 && k.size(0) == 1, "keys must be (1, N, D)");
        at::Tensor f = k[0].narrow(0, first_patch, k.size(1) - first_patch).to(at::kCPU, at::kDouble);
        TORCH_CHECK(f.size(0) >= 2, "TokenCut needs at least 2 patch tokens");
        f = f / f.norm(2, 1, true).clamp_min(1e-12);
        at::Tensor a = at::matmul(f, f.t());
        at::Tensor above = a > tau;
        a = binary ? at::where(above, at::ones_like(a), at::full_like(a, eps)) : at::where(above, a, at::full_like(a, eps));
        at::Tensor inv_sqrt = a.sum(1).rsqrt();
        at::Tensor laplacian = at::eye(a.size(0), a.options()) - inv_sqrt.unsqueeze(1) * a * inv_sqrt.unsqueeze(0);
        auto decomposition = at::linalg_eigh(laplacian, "L");
        at::Tensor y = std::get<1>(decomposition).select(1, 1) * inv_sqrt;
        *eigenvalue = std::get<0>(decomposition)[1].item<double>();
        at::Tensor out = y.to(at::kFloat).contiguous();
        std::memcpy(eigenvector, out.data_ptr<float>(), static_cast<size_t>(out.numel()) * sizeof(float));
        return DF_OK;
    });
}
