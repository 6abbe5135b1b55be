/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_KMEANS_H
#define DINOFEAT_SHIM_KMEANS_H

#include "df_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- k-means (shim/kmeans.cpp) --------------------------------------------------------- */

typedef struct dfs_kmeans_config {
    int32_t k, cosine, inits, max_iter;
    double tol;       /* on the squared centroid shift, relative to the data's mean variance */
    uint64_t seed;
    int64_t sample;   /* fit on at most this many points (0: all) */
    int64_t batch;    /* minibatch size (0: full Lloyd iterations) */
} dfs_kmeans_config;

/* points: (N, D) float. centroids: (K, D) float32 on the points' device; the best of the inits. */
df_status dfs_kmeans_fit(const dfs_tensor_desc *points, const dfs_kmeans_config *config, dfs_tensor **centroids,
                         dfs_tensor_desc *centroids_desc, double *inertia, int32_t *iterations) DFS_NOEXCEPT;
/* labels: (N,) int64, the nearest centroid of each point; inertia: the sum of squared distances
 * (cosine: of the L2-normalised points to the centroids, which are means of normalised points). */
df_status dfs_kmeans_assign(const dfs_tensor_desc *points, const dfs_tensor_desc *centroids, int32_t cosine,
                            dfs_tensor **labels, dfs_tensor_desc *labels_desc, double *inertia) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
