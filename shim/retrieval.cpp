// Exact k-nearest-neighbour search by dot product: one GEMM and one top-k per block of queries,
// the blocks bounding the similarity matrix's memory.
#include "fence.hpp"
#include "tensor_util.hpp"
#include "retrieval_shim.h"

#include <c10/core/GradMode.h>

#include <algorithm>
#include <cstring>
#include <tuple>

extern "C" df_status dfs_top_k_dot(const dfs_tensor_desc *bank, const dfs_tensor_desc *queries, int64_t k,
                                   int64_t *indices, float *similarities) noexcept {
    DFS_FENCE({
        c10::NoGradGuard no_grad;
        at::Tensor b = dfs::view_of(*bank).to(at::kFloat);
        at::Tensor q = dfs::view_of(*queries).to(b.device(), at::kFloat);
        TORCH_CHECK(b.dim() == 2 && q.dim() == 2 && b.size(1) == q.size(1), "bank and queries must be (M, D), (N, D)");
        TORCH_CHECK(k >= 1 && k <= b.size(0), "k must be in 1..", b.size(0));
        // about 256 MiB of similarities per block
        const int64_t block = std::max<int64_t>(1, (int64_t{1} << 26) / std::max<int64_t>(1, b.size(0)));
        for (int64_t start = 0; start < q.size(0); start += block) {
            const int64_t rows = std::min(block, q.size(0) - start);
            auto top = at::matmul(q.narrow(0, start, rows), b.t()).topk(k, 1, true, true);
            at::Tensor values = std::get<0>(top).to(at::kCPU).contiguous();
            at::Tensor index = std::get<1>(top).to(at::kCPU, at::kLong).contiguous();
            std::memcpy(similarities + start * k, values.data_ptr<float>(), static_cast<size_t>(rows * k) * sizeof(float));
            std::memcpy(indices + start * k, index.data_ptr<int64_t>(), static_cast<size_t>(rows * k) * sizeof(int64_t));
        }
        return DF_OK;
    });
}
