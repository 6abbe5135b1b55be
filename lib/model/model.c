/* df_model: open a checkpoint, parameters, information, forward passes. */
#include "layout.h"
#include "model_internal.h"
#include "../tensor_internal.h"

#include "../checkpoint/json.h"

#include <stdlib.h>
#include <string.h>

struct df_model {
    dfs_vit *vit;
    dfi_layout layout;
    df_options *options;
    char device[24];
    df_dtype precision;
    int64_t parameters;
    int64_t recorded_heads; /* the heads the file (or a Hugging Face config.json beside it) records; 0: none */
};

struct df_forward {
    df_tensor *slots[DFS_VIT_OUT_FIRST_LAYER];
    df_tensor **layers;
    size_t layer_count;
};

/* Frees what is set; model itself included. */
static void release(df_model *model) {
    dfs_vit_free(model->vit);
    df_options_free(model->options);
    free(model);
}

/* num_attention_heads of the config.json that Hugging Face keeps beside model.safetensors; 0 when
 * there is none or it does not say. Only a hint: a missing or odd file is no error. */
static int64_t huggingface_config_heads(const char *path) {
    const char *slash = strrchr(path, '/');
    char config[4096];
    const int n = slash ? snprintf(config, sizeof config, "%.*s/config.json", (int)(slash - path), path)
                        : snprintf(config, sizeof config, "config.json");
    if (n < 0 || (size_t)n >= sizeof config) return 0;
    unsigned char *bytes = NULL;
    size_t size = 0;
    dfi_json *json = NULL;
    int64_t heads = 0;
    if (dfi_read_file(config, &bytes, &size) == DF_OK && dfi_json_parse((const char *)bytes, size, &json) == DF_OK) {
        const dfi_json *value = json->kind == DFI_JSON_OBJECT ? dfi_json_member(json, "num_attention_heads") : NULL;
        if (value && value->kind == DFI_JSON_NUMBER && value->is_integer && value->integer > 0 && value->integer <= 4096)
            heads = value->integer;
    }
    dfi_json_free(json);
    free(bytes);
    return heads;
}

static df_status build(df_model *model, const char *path, df_device_type type, int32_t id) {
    dfi_state_dict *dict = NULL;
    df_status status = dfi_state_dict_read_file(path, &dict);
    if (status == DF_OK)
        status = dfi_layout_detect(dict, dfi_option_str(model->options, DF_PARAM_MODEL_CHECKPOINT), &model->layout);
    if (status == DF_OK && dfs_vit_create(&model->layout.config, type, id, model->precision, &model->vit) != DF_OK)
        status = dfi_error(DF_E_INTERNAL, "%s", dfs_last_error());
    if (status == DF_OK) status = dfi_layout_load(dict, &model->layout, model->vit);
    if (status == DF_OK) model->recorded_heads = dict->recorded_heads;
    if (status == DF_OK && model->recorded_heads == 0 && model->layout.kind == DFI_LAYOUT_HUGGINGFACE)
        model->recorded_heads = huggingface_config_heads(path);
    if (status == DF_OK && model->recorded_heads > 0 && model->layout.config.dim % model->recorded_heads != 0)
        status = dfi_error(DF_E_FORMAT, "the file records %lld heads, which do not divide dim %d",
                           (long long)model->recorded_heads, (int)model->layout.config.dim);
    dfi_state_dict_free(dict);
    model->parameters = dfi_layout_parameter_count(&model->layout);
    return status;
}

df_status df_model_open(const char *path, const char *device, const df_options *options, df_model **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(path);
    df_device_type type;
    int32_t id;
    df_status status = dfi_parse_device(device, &type, &id);
    if (status == DF_OK && (status = dfs_device_check(type, id)) != DF_OK)
        status = dfi_error(status, "%s", dfs_last_error());
    if (status != DF_OK) DFI_RETURN(status);
    df_model *model = calloc(1, sizeof *model);
    if (model == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    status = options ? df_options_copy(options, &model->options) : df_options_new(&model->options);
    if (status != DF_OK) {
        release(model);
        DFI_RETURN(status);
    }
    model->precision = (df_dtype)dfi_option_int(model->options, DF_PARAM_MODEL_PRECISION);
    snprintf(model->device, sizeof model->device, type == DF_DEVICE_CUDA ? "cuda:%d" : "cpu", (int)id);
    if (model->precision == DF_DTYPE_FLOAT16 && type == DF_DEVICE_CPU)
        status = dfi_error(DF_E_UNSUPPORTED, "float16 needs a CUDA device; use bfloat16 or float32 on the CPU");
    if (status == DF_OK) status = build(model, path, type, id);
    if (status != DF_OK) {
        char reason[768];
        snprintf(reason, sizeof reason, "%s", df_last_error_message());
        dfi_error(status, "%s: %s", path, reason);
        release(model);
        DFI_RETURN(status);
    }
    *out = model;
    return DF_OK;
}

void df_model_free(df_model *model) {
    if (model != NULL) release(model);
}

static df_status check_forward_key(df_param key) {
    if (key == DF_PARAM_MODEL_PRECISION || key == DF_PARAM_MODEL_CHECKPOINT)
        return dfi_error(DF_E_INVALID_ARG, "parameter '%s' is fixed when the model is opened", df_param_name(key));
    if (key < DF_PARAM_MODEL_PRECISION || key > DF_PARAM_MODEL_LAYERS)
        return dfi_error(DF_E_UNSUPPORTED, "parameter %d is not a model parameter", (int)key);
    return DF_OK;
}

/* Parses "a,b,-1" into block indices in [0, depth); returns the count or -1. */
static int parse_layers(const char *text, int32_t depth, int32_t *indices, int capacity) {
    int count = 0;
    for (const char *at = text; *at;) {
        char *end;
        long value = strtol(at, &end, 10);
        if (end == at || count == capacity) return -1;
        if (value < 0) value += depth;
        if (value < 0 || value >= depth) return -1;
        indices[count++] = (int32_t)value;
        at = end;
        if (*at == ',') at++;
        else if (*at != '\0') return -1;
    }
    return count;
}

df_status df_model_set_int(df_model *model, df_param key, int64_t value) {
    DFI_CHECK_NOT_NULL(model);
    df_status status = check_forward_key(key);
    if (status == DF_OK && key == DF_PARAM_MODEL_STRIDE && value > model->layout.config.patch)
        status = dfi_error(DF_E_INVALID_ARG, "stride %lld exceeds the patch size %d", (long long)value,
                           (int)model->layout.config.patch);
    if (status == DF_OK && key == DF_PARAM_MODEL_HEADS && value > 0 && model->layout.config.dim % value != 0)
        status = dfi_error(DF_E_INVALID_ARG, "dim %d is not divisible by %lld heads", (int)model->layout.config.dim,
                           (long long)value);
    if (status == DF_OK) status = df_options_set_int(model->options, key, value);
    DFI_RETURN(status);
}

df_status df_model_get_int(const df_model *model, df_param key, int64_t *out) {
    DFI_CHECK_NOT_NULL(model);
    DFI_RETURN(df_options_get_int(model->options, key, out));
}

df_status df_model_set_str(df_model *model, df_param key, const char *value) {
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(value);
    df_status status = check_forward_key(key);
    int32_t indices[256];
    if (status == DF_OK && key == DF_PARAM_MODEL_LAYERS && parse_layers(value, model->layout.config.depth, indices, 256) < 0)
        status = dfi_error(DF_E_INVALID_ARG, "'%s' is not a comma-separated list of block indices in [-%d, %d)", value,
                           (int)model->layout.config.depth, (int)model->layout.config.depth);
    if (status == DF_OK) status = df_options_set_str(model->options, key, value);
    DFI_RETURN(status);
}

df_status df_model_get_str(const df_model *model, df_param key, const char **out) {
    DFI_CHECK_NOT_NULL(model);
    DFI_RETURN(df_options_get_str(model->options, key, out));
}

/* model.heads if set; else what the file records; else dim / 64, as in every released DINO and
 * DINOv2 model (dims 384 to 1536); 0 (unknown) for a dim that is no multiple of 64. */
static int effective_heads(const df_model *model) {
    const int64_t heads = dfi_option_int(model->options, DF_PARAM_MODEL_HEADS);
    if (heads > 0) return (int)heads;
    if (model->recorded_heads > 0) return (int)model->recorded_heads;
    return model->layout.config.dim % 64 == 0 ? model->layout.config.dim / 64 : 0;
}

static int effective_pos_interp(const df_model *model) {
    int64_t variant = dfi_option_int(model->options, DF_PARAM_MODEL_POS_INTERP);
    if (variant != DF_POS_INTERP_AUTO) return (int)variant;
    return model->layout.config.registers > 0 ? DF_POS_INTERP_SIZE_AA : DF_POS_INTERP_OFFSET;
}

df_status df_model_info_int(const df_model *model, df_model_info key, int64_t *out) {
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(out);
    const dfs_vit_config *c = &model->layout.config;
    int64_t stride = dfi_option_int(model->options, DF_PARAM_MODEL_STRIDE);
    switch (key) {
    case DF_MODEL_INFO_PATCH: *out = c->patch; return DF_OK;
    case DF_MODEL_INFO_DIM: *out = c->dim; return DF_OK;
    case DF_MODEL_INFO_DEPTH: *out = c->depth; return DF_OK;
    case DF_MODEL_INFO_HEADS: *out = effective_heads(model); return DF_OK;
    case DF_MODEL_INFO_REGISTERS: *out = c->registers; return DF_OK;
    case DF_MODEL_INFO_POS_GRID: *out = c->pos_grid; return DF_OK;
    case DF_MODEL_INFO_PARAMETERS: *out = model->parameters; return DF_OK;
    case DF_MODEL_INFO_LAYERSCALE: *out = c->layerscale; return DF_OK;
    case DF_MODEL_INFO_STRIDE: *out = stride > 0 ? stride : c->patch; return DF_OK;
    default: break;
    }
    DFI_RETURN(dfi_error(DF_E_UNSUPPORTED, "%d is not an integer df_model_info key", (int)key));
}

df_status df_model_info_str(const df_model *model, df_model_info key, const char **out) {
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(out);
    static const char *const variants[] = {"auto", "offset", "size_aa", "size"};
    const dfs_vit_config *c = &model->layout.config;
    switch (key) {
    case DF_MODEL_INFO_FAMILY: *out = model->layout.is_dinov2 ? "dinov2" : "dino"; return DF_OK;
    case DF_MODEL_INFO_SIZE:
        *out = c->dim == 384 ? "S" : c->dim == 768 ? "B" : c->dim == 1024 ? "L" : c->dim == 1536 ? "G" : "custom";
        return DF_OK;
    case DF_MODEL_INFO_LAYOUT: *out = model->layout.name; return DF_OK;
    case DF_MODEL_INFO_DEVICE: *out = model->device; return DF_OK;
    case DF_MODEL_INFO_PRECISION: *out = df_dtype_name(model->precision); return DF_OK;
    case DF_MODEL_INFO_POS_INTERP: *out = variants[effective_pos_interp(model)]; return DF_OK;
    case DF_MODEL_INFO_MLP: *out = c->swiglu ? "swiglu" : "gelu"; return DF_OK;
    default: break;
    }
    DFI_RETURN(dfi_error(DF_E_UNSUPPORTED, "%d is not a string df_model_info key", (int)key));
}

void df_forward_free(df_forward *forward) {
    if (forward == NULL) return;
    for (int k = 0; k < DFS_VIT_OUT_FIRST_LAYER; k++) df_tensor_free(forward->slots[k]);
    for (size_t l = 0; l < forward->layer_count; l++) df_tensor_free(forward->layers[l]);
    free(forward->layers);
    free(forward);
}

/* Settles the run's parameters for an image of h x w; the grid decides chunking. */
static df_status plan_run(const df_model *model, int64_t h, int64_t w, dfs_vit_run *run) {
    const dfs_vit_config *c = &model->layout.config;
    run->heads = effective_heads(model);
    if (run->heads <= 0 || c->dim % run->heads != 0)
        return dfi_error(DF_E_INVALID_ARG, "dim %d needs the number of heads: set parameter model.heads", (int)c->dim);
    int64_t stride = dfi_option_int(model->options, DF_PARAM_MODEL_STRIDE);
    run->stride = (int32_t)(stride > 0 ? stride : c->patch);
    run->cover = (int32_t)dfi_option_int(model->options, DF_PARAM_MODEL_COVER);
    run->pos_interp = effective_pos_interp(model);
    if (h < c->patch || w < c->patch)
        return dfi_error(DF_E_INVALID_ARG, "the image (%lld x %lld) is smaller than one patch (%d)", (long long)h,
                         (long long)w, (int)c->patch);
    int pad = run->cover == DF_COVER_PAD;
    int64_t covered_h = pad ? h + run->stride - 1 : h, covered_w = pad ? w + run->stride - 1 : w;
    int64_t tokens = 1 + c->registers + (1 + (covered_h - c->patch) / run->stride) * (1 + (covered_w - c->patch) / run->stride);
    int64_t chunk = dfi_option_int(model->options, DF_PARAM_MODEL_ATTN_CHUNK);
    run->attn_chunk = (int32_t)(chunk < 0 ? 0 : chunk > 0 ? chunk : tokens > 2048 ? 1024 : 0);
    return DF_OK;
}

dfs_vit *dfi_model_vit(df_model *model) { return model->vit; }
int32_t dfi_model_patch(const df_model *model) { return model->layout.config.patch; }
df_status dfi_model_plan(const df_model *model, int64_t h, int64_t w, dfs_vit_run *run) {
    return plan_run(model, h, w, run);
}

df_status df_model_forward(df_model *model, const df_tensor *images, unsigned outputs, df_forward **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(images);
    if (outputs == 0 || (outputs & ~(unsigned)DF_OUTPUT_ALL))
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "outputs 0x%x is not a non-empty set of df_output bits", outputs));
    const dfs_tensor_desc *desc = dfi_tensor_desc(images);
    if (desc->ndim != 4 || desc->shape[1] != 3 || desc->shape[0] < 1)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "images must have shape (B, 3, H, W)"));
    dfs_vit_run run = {.outputs = outputs & 127u};
    int32_t layers[256];
    int layer_count = 0;
    if (outputs & DF_OUTPUT_LAYERS) {
        layer_count = parse_layers(dfi_option_str(model->options, DF_PARAM_MODEL_LAYERS), model->layout.config.depth, layers, 256);
        if (layer_count <= 0)
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "DF_OUTPUT_LAYERS needs block indices in parameter model.layers"));
    }
    run.layers = layers;
    run.layer_count = layer_count;
    df_status status = plan_run(model, desc->shape[2], desc->shape[3], &run);
    if (status != DF_OK) DFI_RETURN(status);
    dfs_tensor *results[DFS_VIT_OUT_FIRST_LAYER + 256] = {0};
    dfs_tensor_desc descs[DFS_VIT_OUT_FIRST_LAYER + 256];
    status = dfs_vit_forward(model->vit, desc, &run, results, descs);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    df_forward *forward = calloc(1, sizeof *forward);
    if (forward && layer_count) forward->layers = calloc((size_t)layer_count, sizeof *forward->layers);
    int total = DFS_VIT_OUT_FIRST_LAYER + layer_count;
    if (forward == NULL || (layer_count && forward->layers == NULL)) {
        for (int k = 0; k < total; k++) dfs_tensor_release(results[k]);
        df_forward_free(forward);
        DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    }
    forward->layer_count = (size_t)layer_count;
    for (int k = 0; k < total; k++) {
        if (results[k] == NULL) continue;
        df_tensor **slot = k < DFS_VIT_OUT_FIRST_LAYER ? &forward->slots[k] : &forward->layers[k - DFS_VIT_OUT_FIRST_LAYER];
        if (status == DF_OK) status = dfi_tensor_wrap_shim(results[k], &descs[k], slot);
        else dfs_tensor_release(results[k]);
    }
    if (status != DF_OK) {
        df_forward_free(forward);
        DFI_RETURN(status);
    }
    *out = forward;
    return DF_OK;
}

df_status df_forward_output(const df_forward *forward, df_output which, const df_tensor **out) {
    DFI_CHECK_NOT_NULL(forward);
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    for (int k = 0; k < DFS_VIT_OUT_FIRST_LAYER; k++)
        if ((unsigned)which == 1u << k) {
            if (forward->slots[k] == NULL)
                DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "output %d was not requested from df_model_forward", (int)which));
            *out = forward->slots[k];
            return DF_OK;
        }
    DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "%d is not a single df_output (use df_forward_layer for layers)", (int)which));
}

size_t df_forward_layer_count(const df_forward *forward) { return forward ? forward->layer_count : 0; }

df_status df_forward_layer(const df_forward *forward, size_t index, const df_tensor **out) {
    DFI_CHECK_NOT_NULL(forward);
    DFI_CHECK_NOT_NULL(out);
    if (index >= forward->layer_count)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "layer %zu of %zu", index, forward->layer_count));
    *out = forward->layers[index];
    return DF_OK;
}
