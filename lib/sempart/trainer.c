/* The Sempart trainer (specs/sempart.md): settings, initial weights from the generator, one step,
 * the network's masks and access to its states; the arithmetic is the shim's
 * (shim/sempart_net.cpp). */
#include "sempart_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void df_sempart_free(df_sempart *trainer) {
    if (trainer == NULL) return;
    dfs_sempart_free(trainer->shim);
    free(trainer);
}

df_status dfi_sempart_create(df_sempart *trainer, const float *const *initial) {
    df_status status = dfs_sempart_create(&trainer->config, initial, &trainer->shim);
    return status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error());
}

static float initial_value(uint64_t *generator, int32_t init, int64_t fan_in) {
    switch (init) {
    case DFS_INIT_UNIFORM: return (float)((2.0 * dfi_uniform24(generator) - 1.0) / sqrt((double)fan_in));
    case DFS_INIT_ONES: return 1.0f;
    case DFS_INIT_ZEROS: return 0.0f;
    default: return 0.02f * dfi_normal(generator);
    }
}

/* Every state in index order, each element drawn in row-major order. */
static df_status initialise(df_sempart *t) {
    float *values[DFS_SEMPART_STATES] = {0};
    df_status status = DF_OK;
    for (int32_t i = 0; i < DFS_SEMPART_STATES && status == DF_OK; i++) {
        int64_t n = 0, fan_in = 0;
        int32_t init = 0;
        dfs_sempart_state_info(&t->config, i, &n, &init, &fan_in);
        values[i] = malloc((size_t)n * sizeof *values[i]);
        if (values[i] == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        for (int64_t j = 0; values[i] && j < n; j++) values[i][j] = initial_value(&t->generator, init, fan_in);
    }
    if (status == DF_OK) status = dfi_sempart_create(t, (const float *const *)values);
    for (int32_t i = 0; i < DFS_SEMPART_STATES; i++) free(values[i]);
    return status;
}

df_status df_sempart_new(size_t dim, size_t grid_height, size_t grid_width, const df_options *options,
                         df_sempart **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_ARG(dim > 0 && dim <= 65536, "dim must be in 1..65536");
    DFI_CHECK_ARG(grid_height >= 2 && grid_width >= 2 && grid_height <= 1024 && grid_width <= 1024,
                  "the grid must be 2..1024 on each side");
    const int64_t width = dfi_option_int(options, DF_PARAM_SEMPART_WIDTH), heads = dfi_option_int(options, DF_PARAM_SEMPART_HEADS);
    if (width % heads != 0)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "sempart.width %lld is not a multiple of sempart.heads %lld",
                             (long long)width, (long long)heads));
    df_sempart *t = calloc(1, sizeof *t);
    if (t == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    t->config = (dfs_sempart_config){(int64_t)dim,
                                     (int64_t)grid_height,
                                     (int64_t)grid_width,
                                     width,
                                     heads,
                                     dfi_option_float(options, DF_PARAM_SEMPART_TAU),
                                     dfi_option_float(options, DF_PARAM_SEMPART_EPS),
                                     dfi_option_float(options, DF_PARAM_SEMPART_SIGMA),
                                     dfi_option_float(options, DF_PARAM_SEMPART_WEIGHT_GTV_COARSE),
                                     dfi_option_float(options, DF_PARAM_SEMPART_WEIGHT_GTV_FINE),
                                     dfi_option_float(options, DF_PARAM_SEMPART_WEIGHT_SR),
                                     dfi_option_float(options, DF_PARAM_SEMPART_LR),
                                     dfi_option_float(options, DF_PARAM_SEMPART_ADAM_EPS),
                                     (int32_t)dfi_option_int(options, DF_PARAM_SEMPART_JOINT),
                                     (int32_t)dfi_option_int(options, DF_PARAM_SEMPART_BRANCHES),
                                     DF_DEVICE_CPU,
                                     0,
                                     DF_DTYPE_FLOAT32};
    t->seed = dfi_option_int(options, DF_PARAM_SEMPART_SEED);
    t->generator = (uint64_t)t->seed;
    df_status status = dfi_trainer_device(dfi_option_str(options, DF_PARAM_SEMPART_DEVICE), "sempart.device",
                                          &t->config.device_type, &t->config.device_id);
    if (status == DF_OK)
        status = dfi_trainer_precision(dfi_option_int(options, DF_PARAM_SEMPART_PRECISION), "sempart.precision",
                                       &t->config.precision);
    if (status == DF_OK) status = initialise(t);
    if (status != DF_OK) {
        df_sempart_free(t);
        DFI_RETURN(status);
    }
    *out = t;
    return DF_OK;
}

/* features (B, h, w, D) on the trainer's grid, images (B, 3, H, W) of H, W >= 1. */
static df_status check_batch(const df_sempart *t, const df_tensor *features, const df_tensor *images) {
    int64_t f[4], x[4];
    const dfs_sempart_config *c = &t->config;
    if (df_tensor_ndim(features) != 4 || df_tensor_shape(features, f, 4) != DF_OK || f[0] < 1 || f[1] != c->grid_height ||
        f[2] != c->grid_width || f[3] != c->dim)
        return dfi_error(DF_E_INVALID_ARG, "features must be (B, %lld, %lld, %lld)", (long long)c->grid_height,
                         (long long)c->grid_width, (long long)c->dim);
    if (df_tensor_ndim(images) != 4 || df_tensor_shape(images, x, 4) != DF_OK || x[0] != f[0] || x[1] != 3 || x[2] < 1 ||
        x[3] < 1)
        return dfi_error(DF_E_INVALID_ARG, "images must be (%lld, 3, H, W)", (long long)f[0]);
    return DF_OK;
}

df_status df_ncut_train(df_sempart *trainer, const df_tensor *features, const df_tensor *images, double *losses) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(features);
    DFI_CHECK_NOT_NULL(images);
    df_status checked = check_batch(trainer, features, images);
    if (checked != DF_OK) DFI_RETURN(checked);
    double terms[DF_SEMPART_LOSSES];
    df_status status = dfs_sempart_step(trainer->shim, dfi_tensor_desc(features), dfi_tensor_desc(images), terms);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    memcpy(trainer->last, terms, sizeof terms);
    if (losses) memcpy(losses, terms, sizeof terms);
    return DF_OK;
}

df_status df_sempart_forward(const df_sempart *trainer, const df_tensor *features, const df_tensor *images,
                             int training, df_tensor **coarse, df_tensor **fine) {
    if (coarse) *coarse = NULL;
    if (fine) *fine = NULL;
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(features);
    DFI_CHECK_NOT_NULL(images);
    DFI_CHECK_ARG(coarse != NULL || fine != NULL, "neither mask asked for");
    df_status checked = check_batch(trainer, features, images);
    if (checked != DF_OK) DFI_RETURN(checked);
    dfs_tensor *c = NULL, *f = NULL;
    dfs_tensor_desc cd, fd;
    df_status status = dfs_sempart_forward(trainer->shim, dfi_tensor_desc(features), dfi_tensor_desc(images),
                                           training != 0, &c, &cd, &f, &fd);
    if (status != DF_OK) {
        dfs_tensor_release(c);
        DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    }
    if (coarse) status = dfi_tensor_wrap_shim(c, &cd, coarse);
    else dfs_tensor_release(c);
    if (fine && status == DF_OK) status = dfi_tensor_wrap_shim(f, &fd, fine);
    else dfs_tensor_release(f);
    if (status != DF_OK && coarse) df_tensor_free(*coarse), *coarse = NULL;
    DFI_RETURN(status);
}

df_status df_sempart_set_branches(df_sempart *trainer, int branches) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_ARG(branches >= DF_SEMPART_BRANCH_COARSE && branches <= DF_SEMPART_BRANCH_BOTH, "branches must be 1, 2 or 3");
    trainer->config.branches = branches;
    dfs_sempart_set_branches(trainer->shim, branches);
    return DF_OK;
}

df_status df_sempart_steps(const df_sempart *trainer, int64_t *steps) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(steps);
    *steps = dfs_sempart_steps(trainer->shim);
    return DF_OK;
}

df_status df_sempart_last_losses(const df_sempart *trainer, double *losses) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(losses);
    memcpy(losses, trainer->last, sizeof trainer->last);
    return DF_OK;
}

df_status df_sempart_parameter(const df_sempart *trainer, size_t index, const char **name, float *values,
                               size_t capacity, size_t *count) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_ARG(index < DFS_SEMPART_STATES, "state index must be in 0..39");
    int64_t n = 0;
    const char *state = dfs_sempart_state_info(&trainer->config, (int32_t)index, &n, NULL, NULL);
    if (name) *name = state;
    if (count) *count = (size_t)n;
    if (values == NULL) return DF_OK;
    if (capacity < (size_t)n) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "capacity %zu is below the %lld values", capacity, (long long)n));
    df_status status = dfs_sempart_state(trainer->shim, (int32_t)index, 0, values, 0);
    DFI_RETURN(status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error()));
}

df_status df_sempart_set_parameter(df_sempart *trainer, size_t index, const float *values, size_t count) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(values);
    DFI_CHECK_ARG(index < DFS_SEMPART_STATES, "state index must be in 0..39");
    int64_t n = 0;
    const char *name = dfs_sempart_state_info(&trainer->config, (int32_t)index, &n, NULL, NULL);
    if (count != (size_t)n)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "%s has %lld values, not %zu", name, (long long)n, count));
    df_status status = dfs_sempart_state(trainer->shim, (int32_t)index, 0, (float *)values, 1);
    DFI_RETURN(status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error()));
}

df_status dfi_sempart_same_model(const df_sempart *trainer, const dfi_model_identity *backbone) {
    if (!trainer->has_model || dfi_model_identity_equal(backbone, &trainer->model)) return DF_OK;
    char want[256], got[256];
    dfi_model_identity_text(&trainer->model, want, sizeof want);
    dfi_model_identity_text(backbone, got, sizeof got);
    return dfi_error(DF_E_INVALID_ARG, "this Sempart network was trained on %s, not %s", want, got);
}

df_status df_sempart_check_model(const df_sempart *trainer, df_model *model) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(model);
    dfi_model_identity given;
    df_status status = dfi_model_identity_of(model, &given);
    if (status == DF_OK) status = dfi_sempart_same_model(trainer, &given);
    DFI_RETURN(status);
}
