/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_PCA_H
#define DINOFEAT_SHIM_PCA_H

#include "df_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- principal axes (shim/pca.cpp) ------------------------------------------------------- */

/* mean (d floats) and basis (components x d floats, row-major): the n x d points' mean and the
 * unit eigenvectors of their covariance with the largest eigenvalues, largest first, each signed
 * so that its largest-magnitude entry is positive. */
df_status dfs_pca_basis(const float *points, int64_t n, int64_t d, int64_t components, float *mean,
                        float *basis) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
