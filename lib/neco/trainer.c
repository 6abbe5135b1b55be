/* The NeCo trainer: settings, the batch's views on worker threads, a step; the arithmetic is the
 * shim's (shim/neco_trainer.cpp). */
#include "neco_internal.h"

#include "../model/model_internal.h"
#include "dinofeat/distributed.h"
#include "distributed_shim.h"

#include <stdlib.h>
#include <string.h>

df_status dfi_neco_settings(df_model *model, const df_options *options, df_neco *t) {
    dfi_neco_views_from(options, &t->views);
    t->patch = dfi_model_patch(model);
    if (t->views.global_size % t->patch != 0 || t->views.local_size % t->patch != 0)
        return dfi_error(DF_E_INVALID_ARG, "crop sides (%d, %d) must be multiples of the patch (%d)",
                         t->views.global_size, t->views.local_size, t->patch);
    dfs_vit_run run;
    df_status status = dfi_model_plan(model, t->views.global_size, t->views.global_size, &run);
    if (status != DF_OK) return status;
    dfs_neco_settings *s = &t->settings;
    s->heads = run.heads, s->pos_interp = run.pos_interp;
    s->globals = t->views.globals, s->locals = t->views.locals;
    s->head_hidden = (int32_t)dfi_option_int(options, DF_PARAM_NECO_HEAD_HIDDEN);
    s->head_out = (int32_t)dfi_option_int(options, DF_PARAM_NECO_HEAD_OUT);
    s->queue = (int32_t)dfi_option_int(options, DF_PARAM_NECO_QUEUE);
    s->lr_head = dfi_option_float(options, DF_PARAM_NECO_LR_HEAD);
    s->lr_backbone = dfi_option_float(options, DF_PARAM_NECO_LR_BACKBONE);
    s->weight_decay = dfi_option_float(options, DF_PARAM_NECO_WEIGHT_DECAY);
    s->weight_decay_end = dfi_option_float(options, DF_PARAM_NECO_WEIGHT_DECAY_END);
    s->momentum = dfi_option_float(options, DF_PARAM_NECO_MOMENTUM);
    s->drop_path = dfi_option_float(options, DF_PARAM_NECO_DROP_PATH);
    s->adam_eps = dfi_option_float(options, DF_PARAM_NECO_ADAM_EPS);
    s->loss = (dfs_neco_config){(int32_t)dfi_option_int(options, DF_PARAM_NECO_NETWORK),
                                (int32_t)dfi_option_int(options, DF_PARAM_NECO_SIGMOID),
                                (int32_t)dfi_option_int(options, DF_PARAM_NECO_EUCLIDEAN),
                                (int32_t)dfi_option_int(options, DF_PARAM_NECO_SYMMETRIC),
                                dfi_option_float(options, DF_PARAM_NECO_STEEPNESS)};
    t->seed = dfi_option_int(options, DF_PARAM_NECO_SEED);
    t->generator = (uint64_t)t->seed;
    return dfi_model_identity_of(model, &t->model);
}

df_status dfi_neco_create(df_neco *t, df_model *model) {
    const df_status status = dfs_neco_create(dfi_model_vit(model), &t->settings, &t->generator, &t->shim);
    return status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error());
}

df_status df_neco_new(df_model *model, size_t total_steps, const df_options *options, df_neco **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(model);
    df_neco *t = calloc(1, sizeof *t);
    if (t == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    df_status status = dfi_neco_settings(model, options, t);
    t->settings.total_steps = (int64_t)total_steps;
    if (status == DF_OK) status = dfi_neco_create(t, model);
    if (status != DF_OK) {
        df_neco_free(t);
        DFI_RETURN(status);
    }
    *out = t;
    return DF_OK;
}

void df_neco_free(df_neco *trainer) {
    if (trainer == NULL) return;
    dfs_neco_free(trainer->shim);
    free(trainer);
}

df_status df_neco_steps(const df_neco *trainer, int64_t *steps) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(steps);
    *steps = dfs_neco_steps(trainer->shim);
    return DF_OK;
}

df_status df_neco_last_loss(const df_neco *trainer, double *loss) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(loss);
    *loss = trainer->last_loss;
    return DF_OK;
}

typedef struct batch_buffers {
    float *global, *local;
    double *boxes, *gc, *all;
} batch_buffers;

static void free_buffers(batch_buffers *b) { free(b->global), free(b->local), free(b->boxes), free(b->gc), free(b->all); }

static df_status alloc_buffers(const dfi_neco_views *v, size_t count, batch_buffers *b) {
    const size_t views = (size_t)(v->globals + v->locals);
    b->global = malloc(count * (size_t)v->globals * 3 * (size_t)v->global_size * v->global_size * sizeof(float));
    b->local = malloc((count * (size_t)v->locals * 3 * (size_t)v->local_size * v->local_size + 1) * sizeof(float));
    b->boxes = malloc(count * views * 4 * sizeof(double));
    b->gc = malloc(count * views * (size_t)v->globals * 4 * sizeof(double));
    b->all = malloc(count * views * (size_t)v->globals * 4 * sizeof(double));
    if (b->global && b->local && b->boxes && b->gc && b->all) return DF_OK;
    free_buffers(b);
    return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a batch of %zu images' crops", count);
}

/* Every image's views, in parallel: image i draws from its own stream, seeded by the step's draw
 * and its index in the whole batch (offset + i), so the batch is the same whatever the threads
 * and the ranks. */
static df_status make_views(const df_neco *t, const df_image *const *images, size_t count, size_t offset,
                            uint64_t step_seed, batch_buffers *b) {
    const dfi_neco_views *v = &t->views;
    const size_t views = (size_t)(v->globals + v->locals);
    const size_t gsize = (size_t)v->globals * 3 * (size_t)v->global_size * v->global_size;
    const size_t lsize = (size_t)v->locals * 3 * (size_t)v->local_size * v->local_size;
    df_status failure = DF_OK;
#pragma omp parallel for schedule(dynamic)
    for (size_t i = 0; i < count; i++) {
        uint64_t seed = step_seed ^ (0x9E3779B97F4A7C15ull * (offset + i + 1)); /* its index in the whole batch */
        const df_status status = dfi_neco_augment(images[i], dfi_splitmix64(&seed), v, b->global + i * gsize,
                                                  b->local + i * lsize, b->boxes + i * views * 4);
        if (status != DF_OK) {
#pragma omp critical
            failure = status;
        } else {
            dfi_neco_intersections(b->boxes + i * views * 4, v, b->gc + i * views * (size_t)v->globals * 4,
                                   b->all + i * views * (size_t)v->globals * 4);
        }
    }
    return failure;
}

df_status dfi_neco_step(df_neco *t, const df_image *const *images, size_t count, double *loss) {
    if (t->settings.total_steps <= 0)
        return dfi_error(DF_E_INVALID_ARG, "the schedules' length is not set: give total_steps to df_neco_new or "
                                           "call df_neco_train");
    batch_buffers b = {0};
    df_status status = alloc_buffers(&t->views, count, &b);
    if (status != DF_OK) return status;
    const dfi_neco_views *v = &t->views;
    int64_t offset = 0, total = 0;
    int rank = 0;
    df_distributed_rank(&rank, NULL);
    if (dfs_dist_offset((int64_t)count, &offset, &total) != DF_OK) status = dfi_error(DF_E_INTERNAL, "%s", dfs_last_error());
    if (status == DF_OK) status = make_views(t, images, count, (size_t)offset, dfi_splitmix64(&t->generator), &b);
    const int64_t gshape[4] = {(int64_t)count * v->globals, 3, v->global_size, v->global_size};
    const int64_t lshape[4] = {(int64_t)count * v->locals, 3, v->local_size, v->local_size};
    dfs_tensor_desc global = {.data = b.global, .ndim = 4, .dtype = DF_DTYPE_FLOAT32, .device_type = DF_DEVICE_CPU};
    dfs_tensor_desc local = global;
    local.data = b.local;
    for (int k = 0; k < 4; k++) {
        global.shape[k] = gshape[k], local.shape[k] = lshape[k];
        global.strides[k] = k == 3 ? 1 : k == 2 ? gshape[3] : k == 1 ? gshape[2] * gshape[3] : 3 * gshape[2] * gshape[3];
        local.strides[k] = k == 3 ? 1 : k == 2 ? lshape[3] : k == 1 ? lshape[2] * lshape[3] : 3 * lshape[2] * lshape[3];
    }
    double value = 0;
    if (status == DF_OK && dfs_neco_step(t->shim, &global, v->locals > 0 ? &local : NULL, b.gc, b.all, (int64_t)count,
                                         rank, &t->generator, &value) != DF_OK)
        status = dfi_error(DF_E_INTERNAL, "%s", dfs_last_error());
    if (status == DF_OK) t->last_loss = value;
    if (status == DF_OK && loss) *loss = value;
    free_buffers(&b);
    return status;
}

df_status df_neco_step(df_neco *trainer, const df_image *const *images, size_t count, double *loss) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(images);
    DFI_CHECK_ARG(count >= 1 && count <= 65536, "count must be in 1..65536");
    for (size_t i = 0; i < count; i++) DFI_CHECK_ARG(images[i] != NULL, "images[i] is NULL");
    DFI_RETURN(dfi_neco_step(trainer, images, count, loss));
}
