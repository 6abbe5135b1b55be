/* The linear probe of frozen features (NeCo's linear segmentation, after Leopart): the state and
 * its schedule here, the step and prediction in shim/linear_probe.cpp. The file (.dfprobe),
 * little-endian: "DFPROBE\0", u32 format version, u32 header length, a JSON header (sizes,
 * settings, epochs, steps), the weight, bias and both momentum buffers (float32), "DFPRBEND". */
#include "../checkpoint/json.h"
#include "../internal.h"
#include "../tensor_internal.h"
#include "dinofeat/eval.h"
#include "linear_probe_shim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char magic[8] = {'D', 'F', 'P', 'R', 'O', 'B', 'E', 0};
static const char end_marker[8] = {'D', 'F', 'P', 'R', 'B', 'E', 'N', 'D'};
#define FORMAT_VERSION 1u
#define MAX_DIM 65536

struct df_linear_probe {
    dfs_linear_probe_state state;
    double lr, momentum, weight_decay, gamma;
    int64_t drop_at, seed, epochs, steps;
};

static df_status allocate(df_linear_probe *p, size_t dim, size_t classes) {
    p->state.dim = (int64_t)dim, p->state.classes = (int64_t)classes;
    p->state.weight = calloc(2 * (dim + 1) * classes, sizeof(float));
    if (p->state.weight == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    p->state.bias = p->state.weight + dim * classes;
    p->state.weight_buffer = p->state.bias + classes;
    p->state.bias_buffer = p->state.weight_buffer + dim * classes;
    return DF_OK;
}

/* PyTorch's Conv2d initialisation: kaiming_uniform(a = sqrt(5)) and the bias alike, both
 * uniform in +-1/sqrt(fan_in). */
static void initialise(df_linear_probe *p) {
    uint64_t generator = (uint64_t)p->seed;
    const size_t n = (size_t)(p->state.dim * p->state.classes);
    const float bound = (float)(1.0 / sqrt((double)p->state.dim));
    for (size_t i = 0; i < n; i++) p->state.weight[i] = bound * (2 * dfi_uniform24(&generator) - 1);
    for (int64_t c = 0; c < p->state.classes; c++) p->state.bias[c] = bound * (2 * dfi_uniform24(&generator) - 1);
}

df_status df_linear_probe_new(size_t dim, size_t classes, const df_options *options, df_linear_probe **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_ARG(dim >= 1 && dim <= MAX_DIM, "dim must be in 1..65536");
    DFI_CHECK_ARG(classes >= 1 && classes < DF_IGNORE_LABEL, "classes must be in 1..254");
    df_linear_probe *p = calloc(1, sizeof *p);
    df_status status = p ? allocate(p, dim, classes) : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status != DF_OK) {
        df_linear_probe_free(p);
        DFI_RETURN(status);
    }
    p->lr = dfi_option_float(options, DF_PARAM_PROBE_LR);
    p->momentum = dfi_option_float(options, DF_PARAM_PROBE_MOMENTUM);
    p->weight_decay = dfi_option_float(options, DF_PARAM_PROBE_WEIGHT_DECAY);
    p->drop_at = dfi_option_int(options, DF_PARAM_PROBE_DROP_AT);
    p->gamma = dfi_option_float(options, DF_PARAM_PROBE_GAMMA);
    p->seed = dfi_option_int(options, DF_PARAM_PROBE_SEED);
    initialise(p);
    *out = p;
    return DF_OK;
}

void df_linear_probe_free(df_linear_probe *probe) {
    if (probe == NULL) return;
    free(probe->state.weight);
    free(probe);
}

/* The features' shape checked against the probe: B, h, w, D. */
static df_status check_features(const df_linear_probe *p, const df_tensor *features, int64_t shape[4]) {
    if (df_tensor_ndim(features) != 4 || df_tensor_shape(features, shape, 4) != DF_OK || shape[3] != p->state.dim)
        return dfi_error(DF_E_INVALID_ARG, "features must be (B, h, w, %lld)", (long long)p->state.dim);
    if (df_tensor_dtype(features) != DF_DTYPE_FLOAT32) return dfi_error(DF_E_INVALID_ARG, "features must be float32");
    if (shape[0] < 1 || shape[1] < 1 || shape[2] < 1) return dfi_error(DF_E_INVALID_ARG, "features are empty");
    return DF_OK;
}

df_status df_linear_probe_step(df_linear_probe *probe, const df_tensor *features, const uint8_t *labels,
                               size_t height, size_t width, double *loss) {
    DFI_CHECK_NOT_NULL(probe);
    DFI_CHECK_NOT_NULL(features);
    DFI_CHECK_NOT_NULL(labels);
    DFI_CHECK_ARG(height >= 1 && height <= 65536 && width >= 1 && width <= 65536, "height and width must be in 1..65536");
    if (loss) *loss = 0;
    int64_t shape[4];
    df_status status = check_features(probe, features, shape);
    if (status != DF_OK) DFI_RETURN(status);
    /* StepLR: the rate of epoch e is lr gamma^floor(e / drop_at) */
    const double lr = probe->lr * pow(probe->gamma, (double)(probe->epochs / probe->drop_at));
    double value = 0;
    int64_t scored = 0;
    status = dfs_linear_probe_step(&probe->state, dfi_tensor_desc(features), labels, (int64_t)height, (int64_t)width, lr,
                                   probe->momentum, probe->weight_decay, &value, &scored);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    if (scored > 0) probe->steps++;
    if (loss) *loss = value;
    return DF_OK;
}

df_status df_linear_probe_end_epoch(df_linear_probe *probe) {
    DFI_CHECK_NOT_NULL(probe);
    probe->epochs++;
    return DF_OK;
}

df_status df_linear_probe_progress(const df_linear_probe *probe, int64_t *epochs, int64_t *steps) {
    DFI_CHECK_NOT_NULL(probe);
    if (epochs) *epochs = probe->epochs;
    if (steps) *steps = probe->steps;
    return DF_OK;
}

df_status df_linear_probe_predict(const df_linear_probe *probe, const df_tensor *features, size_t height,
                                  size_t width, uint8_t *labels) {
    DFI_CHECK_NOT_NULL(probe);
    DFI_CHECK_NOT_NULL(features);
    DFI_CHECK_NOT_NULL(labels);
    DFI_CHECK_ARG(height >= 1 && height <= 65536 && width >= 1 && width <= 65536, "height and width must be in 1..65536");
    int64_t shape[4];
    df_status status = check_features(probe, features, shape);
    if (status != DF_OK) DFI_RETURN(status);
    status = dfs_linear_probe_predict(&probe->state, dfi_tensor_desc(features), (int64_t)height, (int64_t)width, labels);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    return DF_OK;
}

static size_t state_floats(const df_linear_probe *p) { return (size_t)(2 * (p->state.dim + 1) * p->state.classes); }

static int write_body(FILE *f, const void *user) {
    const df_linear_probe *p = user;
    const size_t n = state_floats(p);
    return fwrite(p->state.weight, sizeof(float), n, f) == n ? 0 : -1;
}

df_status df_linear_probe_save(const df_linear_probe *probe, const char *path) {
    DFI_CHECK_NOT_NULL(probe);
    DFI_CHECK_NOT_NULL(path);
    char header[1024];
    const int length = snprintf(
        header, sizeof header,
        "{\"format\": \"dinofeat linear probe\", \"dim\": %lld, \"classes\": %lld, \"lr\": %.17g, \"momentum\": %.17g, "
        "\"weight_decay\": %.17g, \"drop_at\": %lld, \"gamma\": %.17g, \"seed\": %lld, \"epochs\": %lld, \"steps\": %lld, "
        "\"has_buffers\": %d, \"library\": \"%s\"}",
        (long long)probe->state.dim, (long long)probe->state.classes, probe->lr, probe->momentum, probe->weight_decay,
        (long long)probe->drop_at, probe->gamma, (long long)probe->seed, (long long)probe->epochs,
        (long long)probe->steps, (int)probe->state.has_buffers, df_version_string());
    if (length < 0 || (size_t)length >= sizeof header) DFI_RETURN(dfi_error(DF_E_INTERNAL, "header too long"));
    DFI_RETURN(dfi_container_save(path, magic, FORMAT_VERSION, header, (size_t)length, write_body, probe, end_marker));
}

static int read_settings(const dfi_json *json, df_linear_probe *p, int64_t *dim, int64_t *classes) {
    const dfi_json *format = dfi_json_member(json, "format");
    int64_t has_buffers = 0;
    if (format == NULL || format->kind != DFI_JSON_STRING || strcmp(format->string, "dinofeat linear probe") != 0 ||
        dfi_json_integer(json, "dim", dim) || dfi_json_integer(json, "classes", classes) ||
        dfi_json_number(json, "lr", &p->lr) || dfi_json_number(json, "momentum", &p->momentum) ||
        dfi_json_number(json, "weight_decay", &p->weight_decay) || dfi_json_integer(json, "drop_at", &p->drop_at) ||
        dfi_json_number(json, "gamma", &p->gamma) || dfi_json_integer(json, "seed", &p->seed) ||
        dfi_json_integer(json, "epochs", &p->epochs) || dfi_json_integer(json, "steps", &p->steps) ||
        dfi_json_integer(json, "has_buffers", &has_buffers))
        return -1;
    p->state.has_buffers = has_buffers != 0;
    return *dim >= 1 && *dim <= MAX_DIM && *classes >= 1 && *classes < DF_IGNORE_LABEL && p->drop_at >= 1 &&
                   p->epochs >= 0 && p->steps >= 0
               ? 0
               : -1;
}

static df_status read_body(const char *path, const dfi_json *header, const unsigned char *body, size_t size,
                           void *user) {
    df_linear_probe *p = user;
    int64_t dim = 0, classes = 0;
    if (read_settings(header, p, &dim, &classes) != 0)
        return dfi_error(DF_E_FORMAT, "%s: the header lacks a field or has a wrong one", path);
    df_status status = allocate(p, (size_t)dim, (size_t)classes);
    const size_t bytes = state_floats(p) * sizeof(float);
    if (status == DF_OK && (size != bytes + 8 || memcmp(body + bytes, end_marker, 8) != 0))
        status = dfi_error(DF_E_FORMAT, "%s: truncated or corrupt (%zu bytes of state, %zu expected)", path, size, bytes + 8);
    if (status == DF_OK) memcpy(p->state.weight, body, bytes);
    return status;
}

df_status df_linear_probe_load(const char *path, df_linear_probe **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(path);
    df_linear_probe *p = calloc(1, sizeof *p);
    df_status status = p ? dfi_container_load(path, magic, "dinofeat linear probe file", FORMAT_VERSION, read_body, p)
                         : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status != DF_OK) {
        df_linear_probe_free(p);
        DFI_RETURN(status);
    }
    *out = p;
    return DF_OK;
}
