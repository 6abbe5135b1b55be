/* df_kmeans: parameters and the handle around the shim's k-means. */
#include "../internal.h"
#include "../tensor_internal.h"
#include "dinofeat/cluster.h"
#include "kmeans_shim.h"

#include <stdlib.h>

struct df_kmeans {
    df_tensor *centroids;
    double inertia;
    int64_t iterations;
    int cosine;
};

static df_status check_points(const df_tensor *points) {
    const dfs_tensor_desc *desc = dfi_tensor_desc(points);
    if (desc->ndim != 2 || desc->shape[0] < 1 || desc->shape[1] < 1)
        return dfi_error(DF_E_INVALID_ARG, "points must have shape (N, D) with N, D >= 1");
    if (desc->dtype != DF_DTYPE_FLOAT32 && desc->dtype != DF_DTYPE_FLOAT64 && desc->dtype != DF_DTYPE_FLOAT16 &&
        desc->dtype != DF_DTYPE_BFLOAT16)
        return dfi_error(DF_E_INVALID_ARG, "points must be floating point, not %s", df_dtype_name(desc->dtype));
    return DF_OK;
}

df_status df_kmeans_fit(const df_tensor *points, const df_options *options, df_kmeans **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(points);
    df_status status = check_points(points);
    if (status != DF_OK) DFI_RETURN(status);
    dfs_kmeans_config config = {
        .k = (int32_t)dfi_option_int(options, DF_PARAM_KMEANS_K),
        .cosine = dfi_option_int(options, DF_PARAM_KMEANS_METRIC) == DF_KMEANS_COSINE,
        .inits = (int32_t)dfi_option_int(options, DF_PARAM_KMEANS_INITS),
        .max_iter = (int32_t)dfi_option_int(options, DF_PARAM_KMEANS_MAX_ITER),
        .tol = dfi_option_float(options, DF_PARAM_KMEANS_TOL),
        .seed = (uint64_t)dfi_option_int(options, DF_PARAM_KMEANS_SEED),
        .sample = dfi_option_int(options, DF_PARAM_KMEANS_SAMPLE),
        .batch = dfi_option_int(options, DF_PARAM_KMEANS_BATCH)};
    const dfs_tensor_desc *desc = dfi_tensor_desc(points);
    int64_t usable = config.sample > 0 && config.sample < desc->shape[0] ? config.sample : desc->shape[0];
    if (config.k > usable)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "%d clusters need at least as many points, got %lld", (int)config.k,
                             (long long)usable));
    df_kmeans *kmeans = calloc(1, sizeof *kmeans);
    if (kmeans == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    kmeans->cosine = config.cosine;
    dfs_tensor *centroids = NULL;
    dfs_tensor_desc centroids_desc;
    int32_t iterations = 0;
    status = dfs_kmeans_fit(desc, &config, &centroids, &centroids_desc, &kmeans->inertia, &iterations);
    if (status != DF_OK) status = dfi_error(status, "%s", dfs_last_error());
    if (status == DF_OK) status = dfi_tensor_wrap_shim(centroids, &centroids_desc, &kmeans->centroids);
    if (status != DF_OK) {
        df_kmeans_free(kmeans);
        DFI_RETURN(status);
    }
    kmeans->iterations = iterations;
    *out = kmeans;
    return DF_OK;
}

df_status df_kmeans_predict(const df_kmeans *kmeans, const df_tensor *points, df_tensor **labels) {
    DFI_CHECK_NOT_NULL(labels);
    *labels = NULL;
    DFI_CHECK_NOT_NULL(kmeans);
    DFI_CHECK_NOT_NULL(points);
    df_status status = check_points(points);
    const dfs_tensor_desc *desc = dfi_tensor_desc(points), *centres = dfi_tensor_desc(kmeans->centroids);
    if (status == DF_OK && desc->shape[1] != centres->shape[1])
        status = dfi_error(DF_E_INVALID_ARG, "points have %lld dimensions, the centroids %lld",
                           (long long)desc->shape[1], (long long)centres->shape[1]);
    if (status != DF_OK) DFI_RETURN(status);
    dfs_tensor *result = NULL;
    dfs_tensor_desc result_desc;
    double inertia;
    status = dfs_kmeans_assign(desc, centres, kmeans->cosine, &result, &result_desc, &inertia);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    DFI_RETURN(dfi_tensor_wrap_shim(result, &result_desc, labels));
}

df_status df_kmeans_centroids(const df_kmeans *kmeans, const df_tensor **out) {
    DFI_CHECK_NOT_NULL(kmeans);
    DFI_CHECK_NOT_NULL(out);
    *out = kmeans->centroids;
    return DF_OK;
}

df_status df_kmeans_inertia(const df_kmeans *kmeans, double *out) {
    DFI_CHECK_NOT_NULL(kmeans);
    DFI_CHECK_NOT_NULL(out);
    *out = kmeans->inertia;
    return DF_OK;
}

df_status df_kmeans_iterations(const df_kmeans *kmeans, int64_t *out) {
    DFI_CHECK_NOT_NULL(kmeans);
    DFI_CHECK_NOT_NULL(out);
    *out = kmeans->iterations;
    return DF_OK;
}

void df_kmeans_free(df_kmeans *kmeans) {
    if (kmeans == NULL) return;
    df_tensor_free(kmeans->centroids);
    free(kmeans);
}
