/* The STEGO trainer file (.dfstego), little-endian: "DFSTEGO\0", u32 format version, u32 header
 * length, a JSON header (sizes, settings, steps, the generator's state), then for each of the 9
 * parameters its values, Adam's m and v (float32), and "DFSTGEND". Written to a temporary file
 * and renamed. Loading it gives back a trainer whose next step is the saved one's next step. */
#include "stego_internal.h"
#include "../checkpoint/json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char magic[8] = {'D', 'F', 'S', 'T', 'E', 'G', 'O', 0};
static const char end_marker[8] = {'D', 'F', 'S', 'T', 'G', 'E', 'N', 'D'};
#define FORMAT_VERSION 1u

static int header_text(const df_stego *t, char *text, size_t size) {
    char model[512] = "null";
    if (t->has_model && dfi_model_identity_json(&t->model, model, sizeof model) != 0) return -1;
    const dfs_stego_config *c = &t->config;
    const dfs_stego_loss_config *l = &c->loss;
    const int n = snprintf(
        text, size,
        "{\"format\": \"dinofeat stego trainer\", \"dim\": %lld, \"code_dim\": %lld, \"classes\": %lld, "
        "\"lr\": %.17g, \"probe_lr\": %.17g, \"adam_eps\": %.17g, \"dropout\": %.17g, \"samples\": %lld, \"negatives\": %lld, "
        "\"knn_ranks\": %lld, \"seed\": %lld, \"shifts\": [%.17g, %.17g, %.17g], \"weights\": [%.17g, %.17g, %.17g], "
        "\"center\": %d, \"stabilize\": %d, \"zero_clamp\": %d, \"precision\": %d, \"steps\": %lld, "
        "\"generator\": \"%016" PRIx64 "\", "
        "\"model\": %s, \"library\": \"%s\"}",
        (long long)c->dim, (long long)c->code_dim, (long long)c->classes, c->lr, c->probe_lr, c->adam_eps, t->dropout,
        (long long)t->samples, (long long)t->negatives, (long long)t->knn_ranks, (long long)t->seed, l->shift_self,
        l->shift_knn, l->shift_rand, l->weight_self, l->weight_knn, l->weight_rand, l->center, l->stabilize,
        l->zero_clamp, (int)c->precision, (long long)dfs_stego_steps(t->shim), t->generator, model, df_version_string());
    return n > 0 && (size_t)n < size ? n : -1;
}

/* The trainer to the shared loop and file code: 9 parameters, each its value and Adam's m and v. */
static int64_t steps_taken(const void *trainer) { return dfs_stego_steps(((const df_stego *)trainer)->shim); }
static df_status save(const void *trainer, const char *path) { return df_stego_save(trainer, path); }
static int32_t state_count(const void *trainer) { return (void)trainer, DFS_STEGO_PARAMETERS; }
static int32_t state_arrays(const void *trainer, int32_t index) { return (void)trainer, (void)index, 3; }
static size_t state_numel(const void *trainer, int32_t index) {
    return (size_t)dfs_stego_parameter_numel(&((const df_stego *)trainer)->config, index);
}
static df_status state_access(void *trainer, int32_t index, int32_t which, float *values, int write) {
    const df_status status = dfs_stego_state(((df_stego *)trainer)->shim, index, which, values, write);
    return status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error());
}
static df_status create(void *trainer, const float *const *values) { return dfi_stego_create(trainer, values); }
static const char *const loss_names[] = {"self", "knn", "random", "total", "cluster", "linear"};
static void last_losses(const void *trainer, double *values) { df_stego_last_losses(trainer, values); }

static df_status to_device(void *trainer, df_device_type type, int32_t id) {
    df_stego *t = trainer;
    const df_status status = dfs_stego_to(t->shim, type, id);
    if (status != DF_OK) return dfi_error(status, "%s", dfs_last_error());
    t->config.device_type = type, t->config.device_id = id;
    return DF_OK;
}

const dfi_trainer_ops dfi_stego_ops = {steps_taken, dfi_stego_batch_step, save, 6, loss_names, last_losses,
                                       state_count, state_arrays, state_numel, state_access, create, to_device};

df_trainer *df_stego_trainer(df_stego *trainer) {
    return trainer ? dfi_trainer_view(&trainer->view, &dfi_stego_ops, trainer) : NULL;
}

static int write_body(FILE *f, const void *trainer) { return dfi_trainer_write_states(&dfi_stego_ops, trainer, f); }

df_status df_stego_save(const df_stego *trainer, const char *path) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(path);
    char header[3072];
    const int length = header_text(trainer, header, sizeof header);
    if (length < 0) DFI_RETURN(dfi_error(DF_E_INTERNAL, "header too long"));
    DFI_RETURN(dfi_container_save(path, magic, FORMAT_VERSION, header, (size_t)length, write_body, trainer, end_marker));
}

static int triple(const dfi_json *json, const char *key, double out[3]) {
    const dfi_json *v = dfi_json_member(json, key);
    if (v == NULL || v->kind != DFI_JSON_ARRAY || v->count != 3) return -1;
    for (int i = 0; i < 3; i++) {
        if (v->items[i].kind != DFI_JSON_NUMBER) return -1;
        out[i] = v->items[i].number;
    }
    return 0;
}

static int read_settings(const dfi_json *json, df_stego *t, int64_t *steps) {
    dfs_stego_config *c = &t->config;
    dfs_stego_loss_config *l = &c->loss;
    double shifts[3], weights[3];
    int64_t center, stabilize, zero_clamp;
    const dfi_json *format = dfi_json_member(json, "format"), *generator = dfi_json_member(json, "generator");
    if (format == NULL || format->kind != DFI_JSON_STRING || strcmp(format->string, "dinofeat stego trainer") != 0 ||
        dfi_json_integer(json, "dim", &c->dim) || dfi_json_integer(json, "code_dim", &c->code_dim) || dfi_json_integer(json, "classes", &c->classes) ||
        dfi_json_number(json, "lr", &c->lr) || dfi_json_number(json, "probe_lr", &c->probe_lr) || dfi_json_number(json, "dropout", &t->dropout) ||
        dfi_json_integer(json, "samples", &t->samples) || dfi_json_integer(json, "negatives", &t->negatives) ||
        dfi_json_integer(json, "knn_ranks", &t->knn_ranks) || dfi_json_integer(json, "seed", &t->seed) || triple(json, "shifts", shifts) ||
        triple(json, "weights", weights) || dfi_json_integer(json, "center", &center) || dfi_json_integer(json, "stabilize", &stabilize) ||
        dfi_json_integer(json, "zero_clamp", &zero_clamp) || dfi_json_integer(json, "steps", steps) || generator == NULL ||
        generator->kind != DFI_JSON_STRING || sscanf(generator->string, "%" SCNx64, &t->generator) != 1)
        return -1;
    if (c->dim < 1 || c->dim > 65536 || c->code_dim < 1 || c->code_dim > 65536 || c->classes < 1 || c->classes > 65536 ||
        t->samples < 1 || t->negatives < 0 || *steps < 0)
        return -1;
    /* files written before adam_eps was recorded trained with PyTorch's default */
    const dfi_json *adam_eps = dfi_json_member(json, "adam_eps");
    if (adam_eps != NULL && (adam_eps->kind != DFI_JSON_NUMBER || !(adam_eps->number > 0))) return -1;
    c->adam_eps = adam_eps != NULL ? adam_eps->number : 1e-8;
    /* files written before the precision was recorded trained in float32 */
    int64_t precision = DF_DTYPE_FLOAT32;
    if (dfi_json_member(json, "precision") != NULL && dfi_json_integer(json, "precision", &precision)) return -1;
    if (precision != DF_DTYPE_FLOAT32 && precision != DF_DTYPE_BFLOAT16) return -1;
    c->precision = (df_dtype)precision;
    *l = (dfs_stego_loss_config){shifts[0], shifts[1], shifts[2], weights[0], weights[1], weights[2],
                                 (int32_t)center, (int32_t)stabilize, (int32_t)zero_clamp};
    const dfi_json *model = dfi_json_member(json, "model");
    if (model == NULL) return -1;
    if (model->kind == DFI_JSON_NULL) return 0;
    t->has_model = 1;
    return dfi_model_identity_from_json(model, &t->model);
}

static df_status read_body(const char *path, const dfi_json *header, const unsigned char *body, size_t size,
                           void *trainer) {
    df_stego *t = trainer;
    int64_t steps = 0;
    if (read_settings(header, t, &steps) != 0)
        return dfi_error(DF_E_FORMAT, "%s: the header lacks a field or has a wrong one", path);
    df_status status = dfi_trainer_read_states(&dfi_stego_ops, t, path, body, size, end_marker);
    if (status == DF_OK) dfs_stego_set_steps(t->shim, steps);
    return status;
}

df_status df_stego_load(const char *path, df_stego **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(path);
    df_stego *t = calloc(1, sizeof *t);
    df_status status = t ? dfi_container_load(path, magic, "dinofeat STEGO trainer file", FORMAT_VERSION, read_body, t)
                         : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status != DF_OK) {
        df_stego_free(t);
        DFI_RETURN(status);
    }
    *out = t;
    return DF_OK;
}
