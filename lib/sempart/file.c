/* The Sempart file (.dfsempart), little-endian: "DFSEMPRT", u32 format version, u32 header
 * length, a JSON header (sizes, settings, steps, batch, the generator, the backbone), then for
 * each of the 32 parameters its values, Adam's m and v, for each of the 8 BatchNorm buffers its
 * values (float32), and "DFSPTEND". Written to a temporary file and renamed. It is both the
 * trainer's checkpoint and the model file df_sempart_predict reads. */
#include "sempart_internal.h"
#include "../checkpoint/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char magic[8] = {'D', 'F', 'S', 'E', 'M', 'P', 'R', 'T'};
static const char end_marker[8] = {'D', 'F', 'S', 'P', 'T', 'E', 'N', 'D'};
#define FORMAT_VERSION 1u

/* Each parameter's Adam step count as a JSON array. */
static int adam_steps_text(const df_sempart *t, char *text, size_t size) {
    int64_t steps[DFS_SEMPART_PARAMETERS];
    if (dfs_sempart_adam_steps(t->shim, steps, 0) != DF_OK) return -1;
    size_t at = 0;
    for (int32_t i = 0; i < DFS_SEMPART_PARAMETERS; i++) {
        const int n = snprintf(text + at, size - at, "%s%lld", i ? ", " : "[", (long long)steps[i]);
        if (n < 0 || (size_t)n >= size - at) return -1;
        at += (size_t)n;
    }
    return at + 2 <= size ? (memcpy(text + at, "]", 2), 0) : -1;
}

static int header_text(const df_sempart *t, char *text, size_t size) {
    char model[512] = "null", adam[1024];
    if (adam_steps_text(t, adam, sizeof adam) != 0) return -1;
    if (t->has_model && dfi_model_identity_json(&t->model, model, sizeof model) != 0) return -1;
    const dfs_sempart_config *c = &t->config;
    const int n = snprintf(
        text, size,
        "{\"format\": \"dinofeat sempart\", \"dim\": %lld, \"grid\": [%lld, %lld], \"width\": %lld, \"heads\": %lld, "
        "\"tau\": %.17g, \"eps\": %.17g, \"sigma\": %.17g, \"weight_gtv_coarse\": %.17g, \"weight_gtv_fine\": %.17g, "
        "\"weight_sr\": %.17g, \"lr\": %.17g, \"adam_eps\": %.17g, \"joint\": %d, \"branches\": %d, \"precision\": %d, \"seed\": %lld, \"steps\": %lld, \"batch\": %lld, "
        "\"adam_steps\": %s, \"generator\": \"%016" PRIx64 "\", \"model\": %s, \"library\": \"%s\"}",
        (long long)c->dim, (long long)c->grid_height, (long long)c->grid_width, (long long)c->width,
        (long long)c->heads, c->tau, c->eps, c->sigma, c->weight_gtv_coarse, c->weight_gtv_fine, c->weight_sr, c->lr, c->adam_eps,
        c->joint, c->branches, (int)c->precision, (long long)t->seed, (long long)dfs_sempart_steps(t->shim), (long long)t->batch, adam,
        t->generator,
        model, df_version_string());
    return n > 0 && (size_t)n < size ? n : -1;
}

/* The trainer to the shared loop and file code: the 32 parameters, each its value and Adam's m and
 * v, then the 8 BatchNorm buffers, each its value. */
static int64_t steps_taken(const void *trainer) { return dfs_sempart_steps(((const df_sempart *)trainer)->shim); }
static df_status save(const void *trainer, const char *path) { return df_sempart_save(trainer, path); }
static int32_t state_count(const void *trainer) { return (void)trainer, DFS_SEMPART_STATES; }
static int32_t state_arrays(const void *trainer, int32_t index) {
    return (void)trainer, index < DFS_SEMPART_PARAMETERS ? 3 : 1;
}
static size_t state_numel(const void *trainer, int32_t index) {
    int64_t n = 0;
    dfs_sempart_state_info(&((const df_sempart *)trainer)->config, index, &n, NULL, NULL);
    return (size_t)n;
}
static df_status state_access(void *trainer, int32_t index, int32_t which, float *values, int write) {
    const df_status status = dfs_sempart_state(((df_sempart *)trainer)->shim, index, which, values, write);
    return status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error());
}
static df_status create(void *trainer, const float *const *values) { return dfi_sempart_create(trainer, values); }
static const char *const loss_names[] = {"ncut", "gtv_coarse", "gtv_fine", "sr", "total"};
static void last_losses(const void *trainer, double *values) { df_sempart_last_losses(trainer, values); }

static df_status to_device(void *trainer, df_device_type type, int32_t id) {
    df_sempart *t = trainer;
    const df_status status = dfs_sempart_to(t->shim, type, id);
    if (status != DF_OK) return dfi_error(status, "%s", dfs_last_error());
    t->config.device_type = type, t->config.device_id = id;
    return DF_OK;
}

const dfi_trainer_ops dfi_sempart_ops = {steps_taken, dfi_sempart_batch_step, save, DF_SEMPART_LOSSES, loss_names,
                                         last_losses, state_count, state_arrays, state_numel, state_access, create,
                                         to_device};

df_trainer *df_sempart_trainer(df_sempart *trainer) {
    return trainer ? dfi_trainer_view(&trainer->view, &dfi_sempart_ops, trainer) : NULL;
}

static int write_states(FILE *f, const void *trainer) { return dfi_trainer_write_states(&dfi_sempart_ops, trainer, f); }

df_status df_sempart_save(const df_sempart *trainer, const char *path) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(path);
    char header[3072];
    const int length = header_text(trainer, header, sizeof header);
    if (length < 0) DFI_RETURN(dfi_error(DF_E_INTERNAL, "header too long"));
    DFI_RETURN(dfi_container_save(path, magic, FORMAT_VERSION, header, (size_t)length, write_states, trainer, end_marker));
}

static int read_adam_steps(const dfi_json *json, int64_t *steps) {
    const dfi_json *v = dfi_json_member(json, "adam_steps");
    if (v == NULL || v->kind != DFI_JSON_ARRAY || v->count != DFS_SEMPART_PARAMETERS) return -1;
    for (int32_t i = 0; i < DFS_SEMPART_PARAMETERS; i++) {
        if (!v->items[i].is_integer || v->items[i].integer < 0) return -1;
        steps[i] = v->items[i].integer;
    }
    return 0;
}

static int read_settings(const dfi_json *json, df_sempart *t, int64_t *steps, int64_t *adam_steps) {
    dfs_sempart_config *c = &t->config;
    int64_t joint, branches;
    const dfi_json *format = dfi_json_member(json, "format"), *generator = dfi_json_member(json, "generator");
    const dfi_json *grid = dfi_json_member(json, "grid");
    if (format == NULL || format->kind != DFI_JSON_STRING || strcmp(format->string, "dinofeat sempart") != 0 ||
        grid == NULL || grid->kind != DFI_JSON_ARRAY || grid->count != 2 || !grid->items[0].is_integer ||
        !grid->items[1].is_integer || dfi_json_integer(json, "dim", &c->dim) || dfi_json_integer(json, "width", &c->width) ||
        dfi_json_integer(json, "heads", &c->heads) || dfi_json_number(json, "tau", &c->tau) ||
        dfi_json_number(json, "eps", &c->eps) || dfi_json_number(json, "sigma", &c->sigma) ||
        dfi_json_number(json, "weight_gtv_coarse", &c->weight_gtv_coarse) ||
        dfi_json_number(json, "weight_gtv_fine", &c->weight_gtv_fine) || dfi_json_number(json, "weight_sr", &c->weight_sr) ||
        dfi_json_number(json, "lr", &c->lr) || dfi_json_number(json, "adam_eps", &c->adam_eps) || dfi_json_integer(json, "joint", &joint) ||
        dfi_json_integer(json, "branches", &branches) || read_adam_steps(json, adam_steps) ||
        dfi_json_integer(json, "seed", &t->seed) || dfi_json_integer(json, "steps", steps) ||
        dfi_json_integer(json, "batch", &t->batch) || generator == NULL || generator->kind != DFI_JSON_STRING ||
        sscanf(generator->string, "%" SCNx64, &t->generator) != 1)
        return -1;
    c->grid_height = grid->items[0].integer, c->grid_width = grid->items[1].integer, c->joint = (int32_t)joint;
    c->branches = (int32_t)branches;
    /* files written before the precision was recorded trained in float32 */
    int64_t precision = DF_DTYPE_FLOAT32;
    if (dfi_json_member(json, "precision") != NULL && dfi_json_integer(json, "precision", &precision)) return -1;
    if (precision != DF_DTYPE_FLOAT32 && precision != DF_DTYPE_BFLOAT16) return -1;
    c->precision = (df_dtype)precision;
    if (c->dim < 1 || c->dim > 65536 || c->grid_height < 2 || c->grid_height > 1024 || c->grid_width < 2 ||
        c->grid_width > 1024 || c->width < 1 || c->width > 4096 || c->heads < 1 || c->width % c->heads != 0 ||
        *steps < 0 || t->batch < 0 || branches < 1 || branches > 3)
        return -1;
    const dfi_json *model = dfi_json_member(json, "model");
    if (model == NULL) return -1;
    if (model->kind == DFI_JSON_NULL) return 0;
    t->has_model = 1;
    return dfi_model_identity_from_json(model, &t->model);
}

static df_status read_body(const char *path, const dfi_json *header, const unsigned char *body, size_t size,
                           void *trainer) {
    df_sempart *t = trainer;
    int64_t steps = 0, adam_steps[DFS_SEMPART_PARAMETERS];
    if (read_settings(header, t, &steps, adam_steps) != 0)
        return dfi_error(DF_E_FORMAT, "%s: the header lacks a field or has a wrong one", path);
    df_status status = dfi_trainer_read_states(&dfi_sempart_ops, t, path, body, size, end_marker);
    if (status == DF_OK) dfs_sempart_set_steps(t->shim, steps);
    if (status == DF_OK && dfs_sempart_adam_steps(t->shim, adam_steps, 1) != DF_OK)
        status = dfi_error(DF_E_INTERNAL, "%s", dfs_last_error());
    return status;
}

df_status df_sempart_load(const char *path, df_sempart **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(path);
    df_sempart *t = calloc(1, sizeof *t);
    df_status status = t ? dfi_container_load(path, magic, "dinofeat Sempart file", FORMAT_VERSION, read_body, t)
                         : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status != DF_OK) {
        df_sempart_free(t);
        DFI_RETURN(status);
    }
    *out = t;
    return DF_OK;
}
