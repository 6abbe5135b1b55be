/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_DATUS_H
#define DINOFEAT_SHIM_DATUS_H

#include "df_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- DatUS² linear algebra: PCA (shim/pca.cpp), key affinities (shim/datus.cpp) ---------------------------------------------------------- */

/* The n x d points, centred, projected on their covariance's `components` leading eigenvectors
 * (largest first): out gets n x components floats. */
df_status dfs_pca_project(const float *points, int64_t n, int64_t d, int64_t components, float *out) DFS_NOEXCEPT;
/* positive (n x n bytes) gets 1 where the dot product of keys m and n (n x d floats) is > 0,
 * computed in float64. */
df_status dfs_positive_pairs(const float *keys, int64_t n, int64_t d, uint8_t *positive) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
