/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_TOKENCUT_H
#define DINOFEAT_SHIM_TOKENCUT_H

#include "df_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- TokenCut (shim/tokencut.cpp) ------------------------------------------------------ */

/* keys: (1, N, D) last-block keys; the patch tokens start at first_patch. Builds the affinity of
 * the L2-normalised patch keys (entries > tau become 1, or keep their value when binary is 0;
 * others eps), and writes the eigenvector y of the second-smallest eigenvalue of
 * (D - A) y = lambda D y (N - first_patch floats, y^T D y = 1, sign arbitrary). */
df_status dfs_tokencut_eigenvector(const dfs_tensor_desc *keys, int64_t first_patch, double tau, double eps,
                                   int32_t binary, float *eigenvector, double *eigenvalue) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
