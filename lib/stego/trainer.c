/* The STEGO trainer (specs/stego.md): settings, the generator behind every random draw, the
 * initial weights and the draws of a step; the arithmetic is the shim's (shim/stego_trainer.cpp). */
#include "stego_internal.h"
#include "dinofeat/distributed.h"
#include "distributed_shim.h"

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
                                   dfi_option_float(options, DF_PARAM_STEGO_ADAM_EPS),
                                   dfi_stego_loss_config(options),
                                   DF_DEVICE_CPU,
                                   0,
                                   DF_DTYPE_FLOAT32};
    t->dropout = dfi_option_float(options, DF_PARAM_STEGO_DROPOUT);
    t->samples = dfi_option_int(options, DF_PARAM_STEGO_SAMPLES);
    t->negatives = dfi_option_int(options, DF_PARAM_STEGO_NEGATIVES);
    t->knn_ranks = dfi_option_int(options, DF_PARAM_STEGO_KNN_RANKS);
    t->seed = dfi_option_int(options, DF_PARAM_STEGO_SEED);
    t->generator = (uint64_t)t->seed;
    df_status status = dfi_trainer_device(dfi_option_str(options, DF_PARAM_STEGO_DEVICE), "stego.device",
                                          &t->config.device_type, &t->config.device_id);
    if (status == DF_OK)
        status = dfi_trainer_precision(dfi_option_int(options, DF_PARAM_STEGO_PRECISION), "stego.precision",
                                       &t->config.precision);
    if (status == DF_OK) status = initialise(t);
    if (status != DF_OK) {
        df_stego_free(t);
        DFI_RETURN(status);
    }
    *out = t;
    return DF_OK;
}

void dfi_stego_draws_free(dfi_stego_draws *draws) {
    free(draws->masks), free(draws->c1), free(draws->c2), free(draws->perms);
    memset(draws, 0, sizeof *draws);
}

/* A step's draws in the official order: each image's three channel masks (the batch's, then the
 * partners'), both coordinate sets, the negatives' permutations (Fisher-Yates, then a fixed point
 * i moved to i + 1 mod B, as super_perm does). */
df_status dfi_stego_draw(df_stego *t, size_t b, dfi_stego_draws *out) {
    const size_t d = (size_t)t->config.dim, points = (size_t)(t->samples * t->samples * 2);
    dfi_stego_draws draws = {b, malloc(6 * b * d * sizeof(float)), malloc(b * points * sizeof(float)),
                             malloc(b * points * sizeof(float)), malloc(((size_t)t->negatives * b + 1) * sizeof(int64_t))};
    if (!(draws.masks && draws.c1 && draws.c2 && draws.perms)) {
        dfi_stego_draws_free(&draws);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    const float keep = (float)(1.0 / (1.0 - t->dropout));
    for (size_t i = 0; i < 6 * b * d; i++)
        draws.masks[i] = dfi_uniform24(&t->generator) >= (float)t->dropout ? keep : 0.0f;
    for (size_t i = 0; i < b * points; i++) draws.c1[i] = 2.0f * dfi_uniform24(&t->generator) - 1.0f;
    for (size_t i = 0; i < b * points; i++) draws.c2[i] = 2.0f * dfi_uniform24(&t->generator) - 1.0f;
    for (int64_t n = 0; n < t->negatives; n++) {
        int64_t *p = draws.perms + (size_t)n * b;
        for (size_t i = 0; i < b; i++) p[i] = (int64_t)i;
        for (size_t i = b; i > 1; i--) {
            const size_t j = (size_t)(dfi_splitmix64(&t->generator) % i);
            const int64_t swap = p[i - 1];
            p[i - 1] = p[j], p[j] = swap;
        }
        for (size_t i = 0; i < b; i++)
            if (p[i] == (int64_t)i) p[i] = (p[i] + 1) % (int64_t)b;
    }
    *out = draws;
    return DF_OK;
}

size_t dfi_stego_pool(const df_stego *t, const dfi_stego_draws *draws, size_t begin, size_t end, size_t *pool) {
    size_t count = 0;
    for (size_t g = begin; g < end; g++) pool[count++] = g;
    for (int64_t n = 0; n < t->negatives; n++)
        for (size_t g = begin; g < end; g++) {
            const size_t other = (size_t)draws->perms[(size_t)n * draws->batch + g];
            size_t p = 0;
            while (p < count && pool[p] != other) p++;
            if (p == count) pool[count++] = other;
        }
    return count;
}

/* The share's inputs in pool terms (where[g]: the pool row of batch image g, or -1), then the step. */
static df_status share_step(df_stego *t, const dfi_stego_draws *draws, size_t begin, size_t end, const size_t *pool,
                            size_t pool_count, const int64_t *where, const df_tensor *features,
                            const df_tensor *knn_features, const df_tensor *labels, double losses[6]) {
    const size_t n = end - begin, b = draws->batch, d = (size_t)t->config.dim,
                 points = (size_t)(t->samples * t->samples * 2), negatives = (size_t)t->negatives;
    float *pool_masks = malloc(3 * pool_count * d * sizeof *pool_masks), *knn_masks = malloc(3 * n * d * sizeof *knn_masks);
    int64_t *own = malloc(n * sizeof *own), *perms = malloc((negatives * n + 1) * sizeof *perms),
            *rows = malloc(pool_count * sizeof *rows);
    df_status status =
        pool_masks && knn_masks && own && perms && rows ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t p = 0; status == DF_OK && p < pool_count; p++) rows[p] = (int64_t)pool[p];
    for (size_t w = 0; status == DF_OK && w < 3; w++) {
        for (size_t p = 0; p < pool_count; p++)
            memcpy(pool_masks + (w * pool_count + p) * d, draws->masks + (w * b + pool[p]) * d, d * sizeof *pool_masks);
        memcpy(knn_masks + w * n * d, draws->masks + ((3 + w) * b + begin) * d, n * d * sizeof *knn_masks);
    }
    for (size_t i = 0; status == DF_OK && i < n; i++) {
        own[i] = where[begin + i];
        int missing = own[i] < 0;
        for (size_t k = 0; k < negatives; k++) {
            perms[k * n + i] = where[draws->perms[k * b + begin + i]];
            missing |= perms[k * n + i] < 0;
        }
        if (missing) status = dfi_error(DF_E_INTERNAL, "image %zu of the batch or a negative of it is not in the pool", begin + i);
    }
    const dfs_stego_batch batch = {dfi_tensor_desc(features), dfi_tensor_desc(knn_features),
                                   labels ? dfi_tensor_desc(labels) : NULL, own, rows, (int64_t)n, (int64_t)b, pool_masks,
                                   knn_masks, draws->c1 + begin * points, draws->c2 + begin * points, t->samples, perms,
                                   t->negatives};
    const df_status stepped = status == DF_OK ? dfs_stego_step(t->shim, &batch, losses) : DF_OK;
    if (stepped != DF_OK) status = dfi_error(stepped, "%s", dfs_last_error());
    free(pool_masks), free(knn_masks), free(own), free(perms), free(rows);
    return status;
}

df_status dfi_stego_step(df_stego *t, const dfi_stego_draws *draws, size_t begin, size_t end, const size_t *pool,
                         size_t pool_count, const df_tensor *features, const df_tensor *knn_features,
                         const df_tensor *labels) {
    int64_t *where = malloc(draws->batch * sizeof *where);
    if (where == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t g = 0; g < draws->batch; g++) where[g] = -1;
    for (size_t p = 0; p < pool_count; p++) where[pool[p]] = (int64_t)p;
    double losses[6];
    df_status status = share_step(t, draws, begin, end, pool, pool_count, where, features, knn_features, labels, losses);
    if (status == DF_OK) memcpy(t->last, losses, sizeof losses);
    free(where);
    return status;
}

static df_status check_features(const df_stego *t, const df_tensor *f, const df_tensor *fk, int64_t shape[4]) {
    int64_t other[4];
    if (df_tensor_ndim(f) != 4 || df_tensor_ndim(fk) != 4 || df_tensor_shape(f, shape, 4) != DF_OK ||
        df_tensor_shape(fk, other, 4) != DF_OK || shape[1] != t->config.dim || memcmp(shape, other, sizeof other) != 0)
        return dfi_error(DF_E_INVALID_ARG, "features and KNN features must both be (B, %lld, H, W)",
                         (long long)t->config.dim);
    return shape[0] >= 1 ? DF_OK : dfi_error(DF_E_INVALID_ARG, "an empty batch");
}

static df_status check_labels(const df_tensor *labels, int64_t batch) {
    int64_t shape[3];
    if (labels && (df_tensor_ndim(labels) != 3 || df_tensor_dtype(labels) != DF_DTYPE_INT64 ||
                   df_tensor_shape(labels, shape, 3) != DF_OK || shape[0] != batch))
        return dfi_error(DF_E_INVALID_ARG, "labels must be (%lld, H, W) int64", (long long)batch);
    return DF_OK;
}

/* The whole batch's features (new): every rank's rows in rank order, or a copy of this one's alone. */
static df_status whole_batch(const df_tensor *features, df_tensor **out) {
    dfs_tensor *gathered = NULL;
    dfs_tensor_desc desc;
    if (dfs_dist_gather_rows(dfi_tensor_desc(features), &gathered, &desc) != DF_OK)
        return dfi_error(DF_E_INTERNAL, "%s", dfs_last_error());
    return dfi_tensor_wrap_shim(gathered, &desc, out);
}

df_status df_stego_head_step(df_stego *trainer, const df_tensor *features, const df_tensor *knn_features,
                             const df_tensor *labels, double losses[6]) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(features);
    DFI_CHECK_NOT_NULL(knn_features);
    int64_t shape[4], offset = 0, total = 0;
    df_status status = check_features(trainer, features, knn_features, shape);
    if (status == DF_OK) status = check_labels(labels, shape[0]);
    if (status != DF_OK) DFI_RETURN(status);
    int world = 1;
    df_distributed_rank(NULL, &world);
    /* data-parallel: this rank's images are rows offset.. of the whole batch, whose draws every
     * rank makes; the negatives pair them with any image of it, so the features are gathered */
    if (world > 1 && dfs_dist_offset(shape[0], &offset, &total) != DF_OK)
        DFI_RETURN(dfi_error(DF_E_INTERNAL, "%s", dfs_last_error()));
    if (world == 1) total = shape[0];
    df_tensor *pool = NULL;
    dfi_stego_draws draws = {0};
    size_t *rows = malloc((size_t)total * sizeof *rows);
    if (rows == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (int64_t g = 0; status == DF_OK && g < total; g++) rows[g] = (size_t)g;
    if (status == DF_OK && world > 1) status = whole_batch(features, &pool);
    if (status == DF_OK) status = dfi_stego_draw(trainer, (size_t)total, &draws);
    if (status == DF_OK)
        status = dfi_stego_step(trainer, &draws, (size_t)offset, (size_t)(offset + shape[0]), rows, (size_t)total,
                                pool ? pool : features, knn_features, labels);
    if (status == DF_OK && losses) memcpy(losses, trainer->last, sizeof trainer->last);
    dfi_stego_draws_free(&draws);
    df_tensor_free(pool);
    free(rows);
    DFI_RETURN(status);
}

df_status df_stego_get_int(const df_stego *trainer, df_param key, int64_t *out) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(out);
    const dfs_stego_config *c = &trainer->config;
    switch (key) {
    case DF_PARAM_STEGO_CENTER: *out = c->loss.center; return DF_OK;
    case DF_PARAM_STEGO_STABILIZE: *out = c->loss.stabilize; return DF_OK;
    case DF_PARAM_STEGO_ZERO_CLAMP: *out = c->loss.zero_clamp; return DF_OK;
    case DF_PARAM_STEGO_SAMPLES: *out = trainer->samples; return DF_OK;
    case DF_PARAM_STEGO_NEGATIVES: *out = trainer->negatives; return DF_OK;
    case DF_PARAM_STEGO_CODE_DIM: *out = c->code_dim; return DF_OK;
    case DF_PARAM_STEGO_CLASSES: *out = c->classes; return DF_OK;
    case DF_PARAM_STEGO_SEED: *out = trainer->seed; return DF_OK;
    case DF_PARAM_STEGO_KNN_RANKS: *out = trainer->knn_ranks; return DF_OK;
    case DF_PARAM_STEGO_PRECISION: *out = c->precision; return DF_OK;
    default: DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "%s is not an int setting of a STEGO trainer",
                                  df_param_name(key) ? df_param_name(key) : "the key"));
    }
}

df_status df_stego_get_float(const df_stego *trainer, df_param key, double *out) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(out);
    const dfs_stego_config *c = &trainer->config;
    switch (key) {
    case DF_PARAM_STEGO_SHIFT_SELF: *out = c->loss.shift_self; return DF_OK;
    case DF_PARAM_STEGO_SHIFT_KNN: *out = c->loss.shift_knn; return DF_OK;
    case DF_PARAM_STEGO_SHIFT_RAND: *out = c->loss.shift_rand; return DF_OK;
    case DF_PARAM_STEGO_WEIGHT_SELF: *out = c->loss.weight_self; return DF_OK;
    case DF_PARAM_STEGO_WEIGHT_KNN: *out = c->loss.weight_knn; return DF_OK;
    case DF_PARAM_STEGO_WEIGHT_RAND: *out = c->loss.weight_rand; return DF_OK;
    case DF_PARAM_STEGO_DROPOUT: *out = trainer->dropout; return DF_OK;
    case DF_PARAM_STEGO_LR: *out = c->lr; return DF_OK;
    case DF_PARAM_STEGO_PROBE_LR: *out = c->probe_lr; return DF_OK;
    case DF_PARAM_STEGO_ADAM_EPS: *out = c->adam_eps; return DF_OK;
    default: DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "%s is not a float setting of a STEGO trainer",
                                  df_param_name(key) ? df_param_name(key) : "the key"));
    }
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

df_status dfi_stego_predict(const df_stego *trainer, int linear, const df_tensor *features, const df_tensor *flipped,
                            size_t width, size_t height, float *probabilities, int32_t *labels) {
    if (trainer == NULL || features == NULL) return dfi_error(DF_E_INVALID_ARG, "invalid argument '%s'", trainer ? "features" : "trainer");
    if (labels == NULL && probabilities == NULL) return dfi_error(DF_E_INVALID_ARG, "neither labels nor probabilities asked for");
    if (width == 0 || height == 0) return dfi_error(DF_E_INVALID_ARG, "the output size is %zu x %zu", width, height);
    df_status status = dfs_stego_predict(trainer->shim, dfi_tensor_desc(features), flipped ? dfi_tensor_desc(flipped) : NULL,
                                         (int64_t)height, (int64_t)width, linear, probabilities, labels);
    return status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error());
}

df_status df_stego_predict(const df_stego *trainer, const df_tensor *features, const df_tensor *flipped, size_t width,
                           size_t height, float *probabilities, int32_t *labels) {
    DFI_RETURN(dfi_stego_predict(trainer, 0, features, flipped, width, height, probabilities, labels));
}

df_status df_stego_predict_linear(const df_stego *trainer, const df_tensor *features, const df_tensor *flipped,
                                  size_t width, size_t height, float *probabilities, int32_t *labels) {
    DFI_RETURN(dfi_stego_predict(trainer, 1, features, flipped, width, height, probabilities, labels));
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
