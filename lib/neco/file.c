/* The NeCo training file (.dfneco), little-endian: "DFNECO01", u32 format version, u32 header
 * length, a JSON header (settings, steps, batch, the generator, the queue's fill, the backbone),
 * then for each parameter (the backbone's in official order, then the head's) the student's
 * values, the teacher's, AdamW's m and v (float32), then the queue, and "DFNECEND". Written to a
 * temporary file and renamed. */
#include "neco_internal.h"

#include "../checkpoint/json.h"
#include "../model/model_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char magic[8] = {'D', 'F', 'N', 'E', 'C', 'O', '0', '1'};
static const char end_marker[8] = {'D', 'F', 'N', 'E', 'C', 'E', 'N', 'D'};
#define FORMAT_VERSION 1u

static int header_text(const df_neco *t, char *text, size_t size) {
    char model[512];
    if (dfi_model_identity_json(&t->model, model, sizeof model) != 0) return -1;
    const dfs_neco_settings *s = &t->settings;
    const dfi_neco_views *v = &t->views;
    int64_t entries = 0;
    if (dfs_neco_queue(t->shim, NULL, &entries, 0) != DF_OK) return -1;
    const int n = snprintf(
        text, size,
        "{\"format\": \"dinofeat neco\", \"global_size\": %d, \"local_size\": %d, \"globals\": %d, \"locals\": %d, "
        "\"min_intersection\": %.17g, \"jitter_p\": %.17g, \"grey_p\": %.17g, \"blur_p\": %.17g, \"heads\": %d, "
        "\"pos_interp\": %d, \"head_hidden\": %d, \"head_out\": %d, \"queue\": %d, \"total_steps\": %lld, "
        "\"lr_head\": %.17g, \"lr_backbone\": %.17g, \"weight_decay\": %.17g, \"weight_decay_end\": %.17g, "
        "\"momentum\": %.17g, \"drop_path\": %.17g, \"adam_eps\": %.17g, \"network\": %d, \"sigmoid\": %d, \"euclidean\": %d, "
        "\"symmetric\": %d, \"steepness\": %.17g, \"seed\": %lld, \"steps\": %lld, \"batch\": %lld, "
        "\"generator\": \"%016" PRIx64 "\", \"queue_entries\": %lld, \"last_loss\": %.17g, \"parameters\": %d, "
        "\"model\": %s, \"library\": \"%s\"}",
        v->global_size, v->local_size, v->globals, v->locals, v->min_intersection, v->jitter_p, v->grey_p, v->blur_p,
        s->heads, s->pos_interp, s->head_hidden, s->head_out, s->queue, (long long)s->total_steps, s->lr_head,
        s->lr_backbone, s->weight_decay, s->weight_decay_end, s->momentum, s->drop_path, s->adam_eps, s->loss.network,
        s->loss.sigmoid, s->loss.euclidean, s->loss.symmetric, s->loss.steepness, (long long)t->seed,
        (long long)dfs_neco_steps(t->shim), (long long)t->batch, t->generator, (long long)entries, t->last_loss,
        dfs_neco_state_count(t->shim), model, df_version_string());
    return n > 0 && (size_t)n < size ? n : -1;
}

static size_t queue_numel(const df_neco *t) {
    return (size_t)t->settings.queue * (size_t)t->settings.globals * (size_t)t->settings.head_out;
}

/* The trainer to the shared loop and file code: the parameters (the backbone's in official order,
 * then the head's), each the student's value, the teacher's, AdamW's m and v; then the queue. */
static int64_t steps_taken(const void *trainer) { return dfs_neco_steps(((const df_neco *)trainer)->shim); }
static df_status save(const void *trainer, const char *path) { return df_neco_save(trainer, path); }
static int32_t state_count(const void *trainer) { return dfs_neco_state_count(((const df_neco *)trainer)->shim) + 1; }
static int32_t state_arrays(const void *trainer, int32_t index) { return index < state_count(trainer) - 1 ? 4 : 1; }
static size_t state_numel(const void *trainer, int32_t index) {
    const df_neco *t = trainer;
    if (index == state_count(trainer) - 1) return queue_numel(t);
    const char *name;
    int32_t ndim;
    int64_t shape[DF_TENSOR_MAX_DIMS];
    size_t n = 1;
    if (dfs_neco_state_info(t->shim, index, &name, &ndim, shape) != DF_OK) return 0;
    for (int32_t k = 0; k < ndim; k++) n *= (size_t)shape[k];
    return n;
}
/* The queue keeps its filled rows' count: the file's header restores it. */
static df_status state_access(void *trainer, int32_t index, int32_t which, float *values, int write) {
    df_neco *t = trainer;
    int64_t entries = 0;
    df_status status = index < state_count(trainer) - 1
                           ? dfs_neco_state(t->shim, index, which, values, write)
                           : dfs_neco_queue(t->shim, NULL, &entries, 0) == DF_OK
                                 ? dfs_neco_queue(t->shim, values, &entries, write)
                                 : DF_E_INTERNAL;
    return status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error());
}

static const char *const loss_names[] = {"loss"};
static void last_losses(const void *trainer, double *values) { df_neco_last_loss(trainer, values); }

const dfi_trainer_ops dfi_neco_ops = {steps_taken, dfi_neco_batch_step, save, 1, loss_names, last_losses,
                                      state_count, state_arrays, state_numel, state_access, NULL, NULL};

df_trainer *df_neco_trainer(df_neco *trainer) {
    return trainer ? dfi_trainer_view(&trainer->view, &dfi_neco_ops, trainer) : NULL;
}

static int write_states(FILE *f, const void *trainer) { return dfi_trainer_write_states(&dfi_neco_ops, trainer, f); }

df_status df_neco_save(const df_neco *trainer, const char *path) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(path);
    char header[4096];
    const int length = header_text(trainer, header, sizeof header);
    if (length < 0) DFI_RETURN(dfi_error(DF_E_INTERNAL, "header too long"));
    DFI_RETURN(dfi_container_save(path, magic, FORMAT_VERSION, header, (size_t)length, write_states, trainer, end_marker));
}

typedef struct load_target {
    df_neco *trainer;
    df_model *model;
} load_target;

static int read_ints(const dfi_json *json, df_neco *t, int64_t *steps, int64_t *entries, int64_t *parameters) {
    const char *names[] = {"global_size", "local_size", "globals", "locals", "heads", "pos_interp", "head_hidden",
                           "head_out", "queue", "network", "sigmoid", "euclidean", "symmetric"};
    dfs_neco_settings *s = &t->settings;
    int32_t *targets[] = {&t->views.global_size, &t->views.local_size, &t->views.globals, &t->views.locals,
                          &s->heads, &s->pos_interp, &s->head_hidden, &s->head_out, &s->queue, &s->loss.network,
                          &s->loss.sigmoid, &s->loss.euclidean, &s->loss.symmetric};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int64_t value;
        if (dfi_json_integer(json, names[i], &value) || value < 0 || value > 1 << 24) return -1;
        *targets[i] = (int32_t)value;
    }
    s->globals = t->views.globals, s->locals = t->views.locals;
    return dfi_json_integer(json, "total_steps", &s->total_steps) || dfi_json_integer(json, "seed", &t->seed) ||
           dfi_json_integer(json, "steps", steps) || dfi_json_integer(json, "batch", &t->batch) ||
           dfi_json_integer(json, "queue_entries", entries) || dfi_json_integer(json, "parameters", parameters) ||
           *steps < 0 || t->batch < 0 || s->total_steps < 0 || *entries < 0 || *entries > s->queue || s->globals < 1;
}

static int read_settings(const dfi_json *json, df_neco *t, int64_t *steps, int64_t *entries, int64_t *parameters) {
    dfs_neco_settings *s = &t->settings;
    const dfi_json *format = dfi_json_member(json, "format"), *generator = dfi_json_member(json, "generator");
    const dfi_json *model = dfi_json_member(json, "model");
    if (format == NULL || format->kind != DFI_JSON_STRING || strcmp(format->string, "dinofeat neco") != 0 ||
        read_ints(json, t, steps, entries, parameters) ||
        dfi_json_number(json, "min_intersection", &t->views.min_intersection) ||
        dfi_json_number(json, "jitter_p", &t->views.jitter_p) || dfi_json_number(json, "grey_p", &t->views.grey_p) ||
        dfi_json_number(json, "blur_p", &t->views.blur_p) || dfi_json_number(json, "lr_head", &s->lr_head) ||
        dfi_json_number(json, "lr_backbone", &s->lr_backbone) || dfi_json_number(json, "weight_decay", &s->weight_decay) ||
        dfi_json_number(json, "weight_decay_end", &s->weight_decay_end) ||
        dfi_json_number(json, "momentum", &s->momentum) || dfi_json_number(json, "drop_path", &s->drop_path) ||
        dfi_json_number(json, "steepness", &s->loss.steepness) || dfi_json_number(json, "last_loss", &t->last_loss) ||
        generator == NULL || generator->kind != DFI_JSON_STRING ||
        sscanf(generator->string, "%" SCNx64, &t->generator) != 1 || model == NULL)
        return -1;
    /* files written before adam_eps was recorded trained with PyTorch's default */
    const dfi_json *adam_eps = dfi_json_member(json, "adam_eps");
    if (adam_eps != NULL && (adam_eps->kind != DFI_JSON_NUMBER || !(adam_eps->number > 0))) return -1;
    s->adam_eps = adam_eps != NULL ? adam_eps->number : 1e-8;
    return dfi_model_identity_from_json(model, &t->model);
}

static df_status read_body(const char *path, const dfi_json *header, const unsigned char *body, size_t size,
                           void *user) {
    load_target *target = user;
    df_neco *t = target->trainer;
    int64_t steps = 0, entries = 0, parameters = 0;
    if (read_settings(header, t, &steps, &entries, &parameters) != 0)
        return dfi_error(DF_E_FORMAT, "%s: the header lacks a field or has a wrong one", path);
    dfi_model_identity given;
    df_status status = dfi_model_identity_of(target->model, &given);
    if (status != DF_OK) return status;
    if (!dfi_model_identity_equal(&given, &t->model)) {
        char want[256], have[256];
        dfi_model_identity_text(&t->model, want, sizeof want), dfi_model_identity_text(&given, have, sizeof have);
        return dfi_error(DF_E_INVALID_ARG, "%s was trained from %s, not %s", path, want, have);
    }
    t->patch = dfi_model_patch(target->model);
    uint64_t generator = t->generator; /* the head's fresh draws are overwritten below */
    status = dfi_neco_create(t, target->model);
    t->generator = generator;
    if (status == DF_OK && parameters != dfs_neco_state_count(t->shim))
        status = dfi_error(DF_E_FORMAT, "%s: %lld parameters, the backbone has %d", path, (long long)parameters,
                           dfs_neco_state_count(t->shim));
    if (status == DF_OK) status = dfi_trainer_read_states(&dfi_neco_ops, t, path, body, size, end_marker);
    if (status == DF_OK && dfs_neco_queue(t->shim, NULL, &entries, 1) != DF_OK)
        status = dfi_error(DF_E_INTERNAL, "%s", dfs_last_error());
    if (status == DF_OK) dfs_neco_set_steps(t->shim, steps);
    return status;
}

df_status df_neco_load(const char *path, df_model *model, df_neco **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(path);
    DFI_CHECK_NOT_NULL(model);
    df_neco *t = calloc(1, sizeof *t);
    load_target target = {t, model};
    df_status status = t ? dfi_container_load(path, magic, "dinofeat NeCo training file", FORMAT_VERSION, read_body,
                                              &target)
                         : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status != DF_OK) {
        df_neco_free(t);
        DFI_RETURN(status);
    }
    *out = t;
    return DF_OK;
}
