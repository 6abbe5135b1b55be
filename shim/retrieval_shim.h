/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_RETRIEVAL_H
#define DINOFEAT_SHIM_RETRIEVAL_H

#include "df_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- nearest neighbours (shim/retrieval.cpp) ------------------------------------------- */

/* For each of queries (N, D), the k rows of bank (M, D) with the largest dot products, in
 * decreasing order: indices (N x k int64) and similarities (N x k float), on the host. */
df_status dfs_top_k_dot(const dfs_tensor_desc *bank, const dfs_tensor_desc *queries, int64_t k, int64_t *indices,
                        float *similarities) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
