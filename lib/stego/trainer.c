/* The STEGO trainer (specs/stego.md): settings, the generator behind every random draw, the
 * initial weights and the draws of a step; the arithmetic is the shim's (shim/stego_trainer.cpp). */
#include "stego_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const parameter_names[DFS_STEGO_PARAMETERS] = {
    "linear.weight", "linear.bias", "nonlinear1.weight", "nonlinear1.bias", "nonlinear2.weight", "nonlinear2.bias",
    "clusters", "probe.weight", "probe.bias"};

void df_stego_free(df_stego *trainer) {
    if (trainer == NULL) return;
    dfs_stego_free(trainer->shim);
    free(trainer);
}

df_status dfi_stego_create(df_stego *trainer, const float *const *initial) {
    df_status status = dfs_stego_create(&trainer->config, initial, &trainer->shim);
    return status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error());
}

/* PyTorch's initialisation, from the generator in parameter order: convolutions (weights and
 * biases) uniform in +-1/sqrt(fan_in) (D for the head, K for the linear probe), centroids standard
 * normal. */
static df_status initialise(df_stego *trainer) {
    float *values[DFS_STEGO_PARAMETERS] = {0};
    df_status status = DF_OK;
    for (int i = 0; i < DFS_STEGO_PARAMETERS && status == DF_OK; i++) {
        const size_t n = (size_t)dfs_stego_parameter_numel(&trainer->config, i);
        values[i] = malloc(n * sizeof *values[i]);
        if (values[i] == NULL) {
            status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
            break;
        }
        const double bound = 1.0 / sqrt((double)(i < DFS_STEGO_CLUSTERS ? trainer->config.dim : trainer->config.code_dim));
        for (size_t j = 0; j < n; j++)
            values[i][j] = i == DFS_STEGO_CLUSTERS
                               ? dfi_normal(&trainer->generator)
                               : (float)((2.0 * dfi_uniform24(&trainer->generator) - 1.0) * bound);
    }
    if (status == DF_OK) status = dfi_stego_create(trainer, (const float *const *)values);
    for (int i = 0; i < DFS_STEGO_PARAMETERS; i++) free(values[i]);
    return status;
}

df_status df_stego_new(size_t dim, const df_options *options, df_stego **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_ARG(dim > 0 && dim <= 65536, "dim must be in 1..65536");
    df_stego *t = calloc(1, sizeof *t);
    if (t == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    t->config = (dfs_stego_config){(int64_t)dim,
                                   dfi_option_int(options, DF_PARAM_STEGO_CODE_DIM),
                                   dfi_option_int(options, DF_PARAM_STEGO_CLASSES),
                                   dfi_option_float(options, DF_PARAM_STEGO_LR),
                                   dfi_option_float(options, DF_PARAM_STEGO_PROBE_LR),
                                   dfi_stego_loss_config(options)};
    t->dropout = dfi_option_float(options, DF_PARAM_STEGO_DROPOUT);
    t->samples = dfi_option_int(options, DF_PARAM_STEGO_SAMPLES);
    t->negatives = dfi_option_int(options, DF_PARAM_STEGO_NEGATIVES);
    t->knn_ranks = dfi_option_int(options, DF_PARAM_STEGO_KNN_RANKS);
    t->seed = dfi_option_int(options, DF_PARAM_STEGO_SEED);
    t->generator = (uint64_t)t->seed;
    df_status status = initialise(t);
    if (status != DF_OK) {
        df_stego_free(t);
        DFI_RETURN(status);
    }
    *out = t;
    return DF_OK;
}

/* A step's draws in the official order: each image's three channel masks (the batch's, then the
 * partners'), both coordinate sets, the negatives' permutations (Fisher-Yates, then a fixed point
 * i moved to i + 1 mod B, as super_perm does). */
static void draw_step(df_stego *t, size_t b, float *masks, float *c1, float *c2, int64_t *perms) {
    const size_t d = (size_t)t->config.dim, points = (size_t)(t->samples * t->samples * 2);
    const float keep = (float)(1.0 / (1.0 - t->dropout));
    for (size_t i = 0; i < 6 * b * d; i++) masks[i] = dfi_uniform24(&t->generator) >= (float)t->dropout ? keep : 0.0f;
    for (size_t i = 0; i < b * points; i++) c1[i] = 2.0f * dfi_uniform24(&t->generator) - 1.0f;
    for (size_t i = 0; i < b * points; i++) c2[i] = 2.0f * dfi_uniform24(&t->generator) - 1.0f;
    for (int64_t n = 0; n < t->negatives; n++) {
        int64_t *p = perms + (size_t)n * b;
        for (size_t i = 0; i < b; i++) p[i] = (int64_t)i;
        for (size_t i = b; i > 1; i--) {
            const size_t j = (size_t)(dfi_splitmix64(&t->generator) % i);
            const int64_t swap = p[i - 1];
            p[i - 1] = p[j], p[j] = swap;
        }
        for (size_t i = 0; i < b; i++)
            if (p[i] == (int64_t)i) p[i] = (p[i] + 1) % (int64_t)b;
    }
}

static df_status check_features(const df_stego *t, const df_tensor *f, const df_tensor *fk, int64_t shape[4]) {
    int64_t other[4];
    if (df_tensor_ndim(f) != 4 || df_tensor_ndim(fk) != 4 || df_tensor_shape(f, shape, 4) != DF_OK ||
        df_tensor_shape(fk, other, 4) != DF_OK || shape[1] != t->config.dim || memcmp(shape, other, sizeof other) != 0)
        return dfi_error(DF_E_INVALID_ARG, "features and KNN features must both be (B, %lld, H, W)",
                         (long long)t->config.dim);
    return shape[0] >= 1 ? DF_OK : dfi_error(DF_E_INVALID_ARG, "an empty batch");
}

df_status df_stego_head_step(df_stego *trainer, const df_tensor *features, const df_tensor *knn_features,
                             const df_tensor *labels, double losses[6]) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(features);
    DFI_CHECK_NOT_NULL(knn_features);
    int64_t shape[4];
    df_status status = check_features(trainer, features, knn_features, shape);
    if (status != DF_OK) DFI_RETURN(status);
    const size_t b = (size_t)shape[0], d = (size_t)shape[1], points = (size_t)(trainer->samples * trainer->samples * 2);
    float *masks = malloc(6 * b * d * sizeof *masks), *c1 = malloc(b * points * sizeof *c1),
          *c2 = malloc(b * points * sizeof *c2);
    int64_t *perms = malloc(((size_t)trainer->negatives * b + 1) * sizeof *perms);
    double ignored[6];
    if (masks && c1 && c2 && perms) {
        draw_step(trainer, b, masks, c1, c2, perms);
        status = dfs_stego_step(trainer->shim, dfi_tensor_desc(features), dfi_tensor_desc(knn_features),
                                labels ? dfi_tensor_desc(labels) : NULL, masks, c1, c2, trainer->samples, perms,
                                trainer->negatives, ignored);
        if (status != DF_OK) status = dfi_error(status, "%s", dfs_last_error());
        if (status == DF_OK) memcpy(trainer->last, ignored, sizeof ignored);
        if (status == DF_OK && losses) memcpy(losses, ignored, sizeof ignored);
    } else
        status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    free(masks), free(c1), free(c2), free(perms);
    DFI_RETURN(status);
}

df_status df_stego_steps(const df_stego *trainer, int64_t *steps) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(steps);
    *steps = dfs_stego_steps(trainer->shim);
    return DF_OK;
}

df_status df_stego_parameter(const df_stego *trainer, size_t index, const char **name, float *values, size_t capacity,
                             size_t *count) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_ARG(index < DFS_STEGO_PARAMETERS, "parameter index must be in 0..8");
    const size_t n = (size_t)dfs_stego_parameter_numel(&trainer->config, (int32_t)index);
    if (name) *name = parameter_names[index];
    if (count) *count = n;
    if (values == NULL) return DF_OK;
    if (capacity < n) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "capacity %zu is below the %zu values", capacity, n));
    df_status status = dfs_stego_state(trainer->shim, (int32_t)index, 0, values, 0);
    DFI_RETURN(status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error()));
}

df_status df_stego_codes(const df_stego *trainer, const df_tensor *features, df_tensor **codes) {
    DFI_CHECK_NOT_NULL(codes);
    *codes = NULL;
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(features);
    dfs_tensor *out = NULL;
    dfs_tensor_desc desc;
    df_status status = dfs_stego_codes(trainer->shim, dfi_tensor_desc(features), &out, &desc);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    DFI_RETURN(dfi_tensor_wrap_shim(out, &desc, codes));
}

df_status df_stego_predict(const df_stego *trainer, const df_tensor *features, const df_tensor *flipped, size_t width,
                           size_t height, float *probabilities, int32_t *labels) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(features);
    DFI_CHECK_ARG(labels != NULL || probabilities != NULL, "neither labels nor probabilities asked for");
    DFI_CHECK_ARG(width > 0 && height > 0, "the output size");
    df_status status = dfs_stego_predict(trainer->shim, dfi_tensor_desc(features), flipped ? dfi_tensor_desc(flipped) : NULL,
                                         (int64_t)height, (int64_t)width, probabilities, labels);
    DFI_RETURN(status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error()));
}

df_status df_stego_last_losses(const df_stego *trainer, double losses[6]) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(losses);
    memcpy(losses, trainer->last, sizeof trainer->last);
    return DF_OK;
}

df_status df_stego_check_model(const df_stego *trainer, df_model *model) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(model);
    dfi_model_identity given;
    df_status status = dfi_model_identity_of(model, &given);
    if (status == DF_OK && trainer->has_model && !dfi_model_identity_equal(&given, &trainer->model)) {
        char want[256], got[256];
        dfi_model_identity_text(&trainer->model, want, sizeof want);
        dfi_model_identity_text(&given, got, sizeof got);
        status = dfi_error(DF_E_INVALID_ARG, "this head was trained on %s, not %s", want, got);
    }
    DFI_RETURN(status);
}
