/*
 * dinofeat clustering: k-means (k-means++ initialisation, best of several, Euclidean or cosine,
 * fit on a sample and assign every point, minibatch for data that do not fit), principal axes,
 * agglomerative clustering and Louvain communities.
 */
#ifndef DINOFEAT_CLUSTER_H
#define DINOFEAT_CLUSTER_H

#include "dinofeat/core.h"
#include "dinofeat/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_kmeans df_kmeans;

typedef enum df_kmeans_metric {
    DF_KMEANS_EUCLIDEAN = 0,
    DF_KMEANS_COSINE = 1 /* points are L2-normalised first, as HR-Dv2 does; centroids are their
                            means, distances Euclidean between normalised points and centroids */
} df_kmeans_metric;

/* out: new, free with df_kmeans_free. Fits k-means to points, (N, D) on any device and float
 * dtype, with DF_PARAM_KMEANS_* from options (NULL: defaults). Errors: DF_E_INVALID_ARG for
 * points that are not (N, D) or fewer points than clusters. */
DF_API df_status df_kmeans_fit(const df_tensor *points, const df_options *options, df_kmeans **out);
/* labels: new, (N,) int64, the nearest centroid of each of points (N, D). */
DF_API df_status df_kmeans_predict(const df_kmeans *kmeans, const df_tensor *points, df_tensor **labels);
/* out: borrowed, the (K, D) float32 centroids, living as long as kmeans. */
DF_API df_status df_kmeans_centroids(const df_kmeans *kmeans, const df_tensor **out);
/* The sum of squared distances of the fitted points to their centroids (cosine: of the
 * normalised points), and the iterations the best initialisation took. */
DF_API df_status df_kmeans_inertia(const df_kmeans *kmeans, double *out);
DF_API df_status df_kmeans_iterations(const df_kmeans *kmeans, int64_t *out);
/* Does nothing when kmeans is NULL. */
DF_API void df_kmeans_free(df_kmeans *kmeans);

/* The principal axes of n points (n x dim float32, row-major), as faiss's PCAMatrix and
 * scikit-learn's PCA find them: mean (dim floats) gets the points' mean, basis (components x dim
 * floats, row-major) the unit eigenvectors of their covariance with the largest eigenvalues,
 * largest first, each signed so that its largest-magnitude entry is positive (computed in
 * float64). A point's coordinates are basis (point - mean). Errors: DF_E_INVALID_ARG for n 0 or
 * components outside 1..dim. */
DF_API df_status df_pca_fit(const float *points, size_t n, size_t dim, size_t components, float *mean, float *basis);

/* Complete-linkage agglomerative clustering of n points (n x dim float32, row-major) with
 * Euclidean distances: clusters merge in order of linkage distance while it is <= threshold and
 * more than min_clusters remain (the same flat clusters as scipy's linkage(points, 'complete')
 * cut by fcluster(Z, threshold, 'distance') when min_clusters is 1). labels (n entries) gets
 * 0..*count - 1, numbered in order of each cluster's first point. O(n^2) time and memory. */
DF_API df_status df_agglomerate_complete(const float *points, size_t n, size_t dim, double threshold,
                                         size_t min_clusters, int32_t *labels, size_t *count);

/* Louvain communities (igraph's multilevel algorithm) of an undirected graph of n vertices:
 * edges holds edge_count pairs of vertex indices, weights (may be NULL: all 1) one per edge.
 * membership (n entries) gets 0..*count - 1, numbered in order of each community's first vertex;
 * modularity (may be NULL) that of the final level. seed fixes igraph's vertex order, so the
 * same seed gives the same communities. Not thread-safe: igraph's generator and error handler are
 * process-wide. */
DF_API df_status df_louvain(size_t n, const int64_t *edges, size_t edge_count, const double *weights,
                            double resolution, uint64_t seed, int32_t *membership, size_t *count,
                            double *modularity);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_CLUSTER_H */
