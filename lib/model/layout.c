/* Checkpoint layouts (specs/backbones.md, 'Checkpoint layouts to read'): where each official
 * weight lives in an official, training-checkpoint, chunked, Hugging Face or timm file. */
#include "layout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const dfi_tensor_entry *find(const dfi_state_dict *dict, const dfi_layout *layout, const char *key) {
    char name[512];
    snprintf(name, sizeof name, "%s%s", layout->prefix, key);
    return dfi_state_dict_find(dict, name);
}

static int ends_with(const char *text, const char *suffix) {
    size_t a = strlen(text), b = strlen(suffix);
    return a >= b && strcmp(text + a - b, suffix) == 0;
}

static int starts_with(const char *text, const char *prefix) { return strncmp(text, prefix, strlen(prefix)) == 0; }

/* Picks the model inside the file: the entry named ...cls_token whose prefix fits. */
static df_status choose_prefix(const dfi_state_dict *dict, const char *checkpoint, dfi_layout *layout) {
    int found = 0, training = 0;
    char wanted[64];
    snprintf(wanted, sizeof wanted, "%s.", checkpoint);
    for (size_t i = 0; i < dict->count; i++) {
        const char *name = dict->entries[i].name;
        int huggingface = ends_with(name, "embeddings.cls_token");
        if (!huggingface && !ends_with(name, "cls_token")) continue;
        size_t length = strlen(name) - strlen(huggingface ? "embeddings.cls_token" : "cls_token");
        if ((length > 0 && name[length - 1] != '.') || length >= sizeof layout->prefix) continue;
        int in_training = starts_with(name, "teacher.") || starts_with(name, "student.");
        training |= in_training;
        if (in_training && !starts_with(name, wanted)) continue;
        if (found && !in_training) continue; /* the first match stands, unless a training model is asked for */
        memcpy(layout->prefix, name, length);
        layout->prefix[length] = '\0';
        layout->kind = huggingface ? DFI_LAYOUT_HUGGINGFACE : DFI_LAYOUT_OFFICIAL;
        found = 1;
    }
    if (!found && training)
        return dfi_error(DF_E_FORMAT, "the training checkpoint holds no '%s' model", checkpoint);
    if (!found)
        return dfi_error(DF_E_FORMAT, "no [CLS] token ('cls_token' or 'embeddings.cls_token'): not a DINO or DINOv2 backbone");
    layout->name = training ? "training-checkpoint" : layout->kind == DFI_LAYOUT_HUGGINGFACE ? "huggingface" : "official";
    return DF_OK;
}

/* Counts blocks: official blocks.{i} or blocks.{chunk}.{i}, Hugging Face encoder.layer.{i}. */
static df_status count_blocks(const dfi_state_dict *dict, dfi_layout *layout, int32_t *depth) {
    const char *stem = layout->kind == DFI_LAYOUT_HUGGINGFACE ? "encoder.layer." : "blocks.";
    char start[256];
    snprintf(start, sizeof start, "%s%s", layout->prefix, stem);
    long highest = -1;
    for (size_t i = 0; i < dict->count; i++) {
        const char *name = dict->entries[i].name;
        if (!starts_with(name, start)) continue;
        char *end;
        long first = strtol(name + strlen(start), &end, 10), index = first;
        if (*end != '.') continue;
        if (layout->kind != DFI_LAYOUT_HUGGINGFACE && end[1] >= '0' && end[1] <= '9') {
            layout->chunked = 1;
            index = strtol(end + 1, &end, 10);
        }
        if (index > highest && index < 4096) highest = index;
    }
    if (highest < 0) return dfi_error(DF_E_FORMAT, "no transformer blocks ('%s...')", start);
    *depth = (int32_t)(highest + 1);
    return DF_OK;
}

/* The key of block i's parameter `rest` in the file (official names, before renames). */
static void block_key(const dfi_state_dict *dict, const dfi_layout *layout, int i, const char *rest, char *out, size_t size) {
    if (layout->kind == DFI_LAYOUT_HUGGINGFACE) {
        snprintf(out, size, "encoder.layer.%d.%s", i, rest);
        return;
    }
    if (!layout->chunked) {
        snprintf(out, size, "blocks.%d.%s", i, rest);
        return;
    }
    /* FSDP chunks: blocks.{chunk}.{i}, i counting on across chunks; find the chunk. */
    for (int chunk = 0; chunk <= i; chunk++) {
        snprintf(out, size, "blocks.%d.%d.%s", chunk, i, rest);
        if (find(dict, layout, out)) return;
    }
}

static int is_square(int64_t n, int32_t *root) {
    int64_t r = (int64_t)llround(sqrt((double)n));
    if (r * r != n || r <= 0) return 0;
    *root = (int32_t)r;
    return 1;
}

df_status dfi_layout_detect(const dfi_state_dict *dict, const char *checkpoint, dfi_layout *out) {
    dfi_layout layout;
    memset(&layout, 0, sizeof layout);
    df_status status = choose_prefix(dict, checkpoint ? checkpoint : "teacher", &layout);
    if (status != DF_OK) return status;
    int hf = layout.kind == DFI_LAYOUT_HUGGINGFACE;
    dfs_vit_config *c = &layout.config;
    if ((status = count_blocks(dict, &layout, &c->depth)) != DF_OK) return status;
    if (layout.chunked) layout.name = "chunked";

    const dfi_tensor_entry *cls = find(dict, &layout, hf ? "embeddings.cls_token" : "cls_token");
    if (cls->ndim != 3 || cls->shape[0] != 1 || cls->shape[1] != 1 || cls->shape[2] < 1)
        return dfi_error(DF_E_FORMAT, "'%scls_token' has an unexpected shape", layout.prefix);
    c->dim = (int32_t)cls->shape[2];

    const char *patch_key = hf ? "embeddings.patch_embeddings.projection.weight" : "patch_embed.proj.weight";
    const dfi_tensor_entry *patch = find(dict, &layout, patch_key);
    if (patch == NULL) return dfi_error(DF_E_FORMAT, "the checkpoint lacks '%s%s'", layout.prefix, patch_key);
    if (patch->ndim != 4 || patch->shape[0] != c->dim || patch->shape[1] != 3 || patch->shape[2] != patch->shape[3])
        return dfi_error(DF_E_FORMAT, "'%s%s' has an unexpected shape", layout.prefix, patch_key);
    c->patch = (int32_t)patch->shape[2];

    const char *pos_key = hf ? "embeddings.position_embeddings" : "pos_embed";
    const dfi_tensor_entry *pos = find(dict, &layout, pos_key);
    if (pos == NULL) return dfi_error(DF_E_FORMAT, "the checkpoint lacks '%s%s'", layout.prefix, pos_key);
    if (pos->ndim != 3 || pos->shape[0] != 1 || pos->shape[2] != c->dim)
        return dfi_error(DF_E_FORMAT, "'%s%s' has an unexpected shape", layout.prefix, pos_key);
    const dfi_tensor_entry *registers = find(dict, &layout, hf ? "embeddings.register_tokens" : "register_tokens");
    if (!hf && registers == NULL && (registers = find(dict, &layout, "reg_token")) != NULL) layout.kind = DFI_LAYOUT_TIMM;
    if (!is_square(pos->shape[1] - 1, &c->pos_grid)) {
        if (layout.kind != DFI_LAYOUT_TIMM || !is_square(pos->shape[1], &c->pos_grid))
            return dfi_error(DF_E_FORMAT, "'%s%s' has %lld rows: not 1 + M * M", layout.prefix, pos_key, (long long)pos->shape[1]);
        layout.pos_without_cls = 1;
    }
    if (registers != NULL) {
        if (registers->ndim != 3 || registers->shape[0] != 1 || registers->shape[2] != c->dim)
            return dfi_error(DF_E_FORMAT, "the register tokens have an unexpected shape");
        c->registers = (int32_t)registers->shape[1];
    }
    if (!hf && strcmp(dict->container, "safetensors") == 0) layout.kind = DFI_LAYOUT_TIMM;
    if (layout.kind == DFI_LAYOUT_TIMM) layout.name = "timm";

    char key[256];
    block_key(dict, &layout, 0, hf ? "layer_scale1.lambda1" : "ls1.gamma", key, sizeof key);
    c->layerscale = find(dict, &layout, key) != NULL;
    block_key(dict, &layout, 0, "layernorm_before.weight", key, sizeof key);
    layout.huggingface_v1 = hf && find(dict, &layout, key) != NULL;

    /* The MLP: SwiGLU's packed input layer is twice as wide as its output layer's input. */
    const char *in_name = hf ? (layout.huggingface_v1 ? "intermediate.dense.weight" : "mlp.fc1.weight") : "mlp.fc1.weight";
    const char *swiglu_name = hf ? "mlp.weights_in.weight" : "mlp.w12.weight";
    block_key(dict, &layout, 0, swiglu_name, key, sizeof key);
    const dfi_tensor_entry *mlp_in = find(dict, &layout, key);
    c->swiglu = mlp_in != NULL;
    if (mlp_in == NULL) {
        block_key(dict, &layout, 0, in_name, key, sizeof key);
        mlp_in = find(dict, &layout, key);
        char out_key[256];
        block_key(dict, &layout, 0, hf ? (layout.huggingface_v1 ? "output.dense.weight" : "mlp.fc2.weight") : "mlp.fc2.weight",
                  out_key, sizeof out_key);
        const dfi_tensor_entry *mlp_out = find(dict, &layout, out_key);
        if (mlp_in == NULL || mlp_out == NULL || mlp_in->ndim != 2 || mlp_out->ndim != 2)
            return dfi_error(DF_E_FORMAT, "the checkpoint lacks the MLP of block 0 ('%s%s')", layout.prefix, mlp_in ? out_key : key);
        c->swiglu = mlp_in->shape[0] == 2 * mlp_out->shape[1] && mlp_in->shape[0] != mlp_out->shape[1];
    }
    if (mlp_in->ndim != 2) return dfi_error(DF_E_FORMAT, "the MLP of block 0 has an unexpected shape");
    c->mlp_hidden = (int32_t)(c->swiglu ? mlp_in->shape[0] / 2 : mlp_in->shape[0]);
    layout.is_dinov2 = c->layerscale || c->registers > 0 || c->patch == 14;
    *out = layout;
    return DF_OK;
}

/* ---- weights ------------------------------------------------------------------------------- */

typedef struct source {
    const dfi_tensor_entry *parts[3];
    char keys[3][256];
    int count;       /* parts concatenated along dimension 0 */
    int prepend_row; /* timm pos_embed: a zero [CLS] row goes first */
} source;

/* Where the official weight `name` lives in this file. */
static void resolve(const dfi_state_dict *dict, const dfi_layout *layout, const char *name, source *src) {
    memset(src, 0, sizeof *src);
    src->count = 1;
    char *key = src->keys[0];
    int hf = layout->kind == DFI_LAYOUT_HUGGINGFACE;
    int block;
    char rest[160];
    if (sscanf(name, "blocks.%d.%159s", &block, rest) == 2) {
        const char *mapped = rest;
        char renamed[256];
        if (hf) {
            static const char *const table[][3] = {
                /* official, Hugging Face DINOv2, Hugging Face DINO (ViTModel) */
                {"norm1.weight", "norm1.weight", "layernorm_before.weight"},
                {"norm1.bias", "norm1.bias", "layernorm_before.bias"},
                {"norm2.weight", "norm2.weight", "layernorm_after.weight"},
                {"norm2.bias", "norm2.bias", "layernorm_after.bias"},
                {"attn.proj.weight", "attention.output.dense.weight", "attention.output.dense.weight"},
                {"attn.proj.bias", "attention.output.dense.bias", "attention.output.dense.bias"},
                {"mlp.fc1.weight", "mlp.fc1.weight", "intermediate.dense.weight"},
                {"mlp.fc1.bias", "mlp.fc1.bias", "intermediate.dense.bias"},
                {"mlp.fc2.weight", "mlp.fc2.weight", "output.dense.weight"},
                {"mlp.fc2.bias", "mlp.fc2.bias", "output.dense.bias"},
                {"mlp.w12.weight", "mlp.weights_in.weight", "mlp.weights_in.weight"},
                {"mlp.w12.bias", "mlp.weights_in.bias", "mlp.weights_in.bias"},
                {"mlp.w3.weight", "mlp.weights_out.weight", "mlp.weights_out.weight"},
                {"mlp.w3.bias", "mlp.weights_out.bias", "mlp.weights_out.bias"},
                {"ls1.gamma", "layer_scale1.lambda1", "layer_scale1.lambda1"},
                {"ls2.gamma", "layer_scale2.lambda1", "layer_scale2.lambda1"}};
            if (strcmp(rest, "attn.qkv.weight") == 0 || strcmp(rest, "attn.qkv.bias") == 0) {
                const char *part = rest + strlen("attn.qkv.");
                static const char *const names[3] = {"query", "key", "value"};
                src->count = 3;
                for (int k = 0; k < 3; k++) {
                    snprintf(renamed, sizeof renamed, "attention.attention.%s.%s", names[k], part);
                    block_key(dict, layout, block, renamed, src->keys[k], sizeof src->keys[k]);
                    src->parts[k] = find(dict, layout, src->keys[k]);
                }
                return;
            }
            for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
                if (strcmp(table[k][0], rest) == 0) mapped = table[k][layout->huggingface_v1 ? 2 : 1];
        } else if (layout->config.swiglu && (starts_with(rest, "mlp.w12.") || starts_with(rest, "mlp.w3."))) {
            /* timm stores SwiGLU's w12 / w3 as fc1 / fc2 */
            block_key(dict, layout, block, rest, key, sizeof src->keys[0]);
            if (find(dict, layout, key) == NULL) {
                snprintf(renamed, sizeof renamed, "mlp.%s.%s", starts_with(rest, "mlp.w12.") ? "fc1" : "fc2",
                         strchr(rest + 4, '.') + 1);
                mapped = renamed;
            }
        }
        block_key(dict, layout, block, mapped, key, sizeof src->keys[0]);
    } else if (hf) {
        static const char *const table[][2] = {
            {"cls_token", "embeddings.cls_token"}, {"pos_embed", "embeddings.position_embeddings"},
            {"register_tokens", "embeddings.register_tokens"},
            {"patch_embed.proj.weight", "embeddings.patch_embeddings.projection.weight"},
            {"patch_embed.proj.bias", "embeddings.patch_embeddings.projection.bias"},
            {"norm.weight", "layernorm.weight"}, {"norm.bias", "layernorm.bias"}};
        snprintf(key, sizeof src->keys[0], "%s", name);
        for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
            if (strcmp(table[k][0], name) == 0) snprintf(key, sizeof src->keys[0], "%s", table[k][1]);
    } else if (strcmp(name, "register_tokens") == 0 && layout->kind == DFI_LAYOUT_TIMM &&
               find(dict, layout, "register_tokens") == NULL) {
        snprintf(key, sizeof src->keys[0], "reg_token");
    } else {
        snprintf(key, sizeof src->keys[0], "%s", name);
        src->prepend_row = strcmp(name, "pos_embed") == 0 && layout->pos_without_cls;
    }
    src->parts[0] = find(dict, layout, key);
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0x1F) bits = sign | 0x7F800000 | mantissa << 13;
    else if (exponent != 0) bits = sign | (exponent + 112) << 23 | mantissa << 13;
    else if (mantissa == 0) bits = sign;
    else { /* subnormal: normalise */
        exponent = 113;
        while (!(mantissa & 0x400)) { mantissa <<= 1; exponent--; }
        bits = sign | exponent << 23 | (mantissa & 0x3FF) << 13;
    }
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static float element_at(const dfi_tensor_entry *entry, int64_t offset) {
    const unsigned char *p = entry->data + offset * (int64_t)df_dtype_size(entry->dtype);
    switch (entry->dtype) {
    case DF_DTYPE_FLOAT32: { float v; memcpy(&v, p, 4); return v; }
    case DF_DTYPE_FLOAT64: { double v; memcpy(&v, p, 8); return (float)v; }
    case DF_DTYPE_FLOAT16: { uint16_t v; memcpy(&v, p, 2); return half_to_float(v); }
    case DF_DTYPE_BFLOAT16: { uint16_t v; memcpy(&v, p, 2); uint32_t bits = (uint32_t)v << 16; float f; memcpy(&f, &bits, 4); return f; }
    default: return 0.0f;
    }
}

/* Appends an entry's elements in row-major order, following its strides. */
static float *copy_strided(const dfi_tensor_entry *entry, float *target) {
    int64_t numel = dfi_entry_numel(entry), index[DF_TENSOR_MAX_DIMS] = {0};
    for (int64_t n = 0; n < numel; n++) {
        int64_t offset = 0;
        for (int32_t d = 0; d < entry->ndim; d++) offset += index[d] * entry->strides[d];
        *target++ = element_at(entry, offset);
        for (int32_t d = entry->ndim; d-- > 0;) {
            if (++index[d] < entry->shape[d]) break;
            index[d] = 0;
        }
    }
    return target;
}

static int is_float(df_dtype dtype) {
    return dtype == DF_DTYPE_FLOAT32 || dtype == DF_DTYPE_FLOAT16 || dtype == DF_DTYPE_BFLOAT16 || dtype == DF_DTYPE_FLOAT64;
}

/* One weight: check the parts against the expected shape, convert, hand over. */
static df_status load_weight(const dfi_layout *layout, dfs_vit *vit, const char *name, int32_t ndim,
                             const int64_t *shape, const source *src) {
    int64_t expected = 1, have = 0;
    for (int32_t d = 0; d < ndim; d++) expected *= shape[d];
    for (int k = 0; k < src->count; k++) {
        const dfi_tensor_entry *part = src->parts[k];
        if (part == NULL) return dfi_error(DF_E_FORMAT, "the checkpoint lacks '%s%s'", layout->prefix, src->keys[k]);
        if (!is_float(part->dtype))
            return dfi_error(DF_E_FORMAT, "'%s%s' holds %s, not floating point", layout->prefix, src->keys[k],
                             df_dtype_name(part->dtype));
        int64_t trailing = 1;
        for (int32_t d = 1; d < part->ndim; d++) trailing *= part->shape[d];
        int64_t expected_trailing = expected / (shape[0] ? shape[0] : 1);
        if (src->count > 1 && (part->ndim != ndim || trailing != expected_trailing))
            return dfi_error(DF_E_FORMAT, "'%s%s' has an unexpected shape for a third of '%s'", layout->prefix,
                             src->keys[k], name);
        have += dfi_entry_numel(part);
    }
    if (src->prepend_row) have += shape[2];
    if (have != expected || (src->count == 1 && !src->prepend_row && src->parts[0]->ndim != ndim)) {
        char got[128] = "", want[128] = "";
        const dfi_tensor_entry *part = src->parts[0];
        for (int32_t d = 0; d < part->ndim; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? ", " : "", (long long)part->shape[d]);
        for (int32_t d = 0; d < ndim; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? ", " : "", (long long)shape[d]);
        return dfi_error(DF_E_FORMAT, "'%s%s' has shape [%s], expected [%s]%s", layout->prefix, src->keys[0], got, want,
                         src->count > 1 ? " in all" : "");
    }
    float *buffer = malloc((size_t)expected * sizeof *buffer), *at = buffer;
    if (buffer == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "cannot allocate %lld floats for '%s'", (long long)expected, name);
    if (src->prepend_row) {
        memset(at, 0, (size_t)shape[2] * sizeof *at);
        at += shape[2];
    }
    for (int k = 0; k < src->count; k++) at = copy_strided(src->parts[k], at);
    df_status status = dfs_vit_set_weight(vit, name, buffer, ndim, shape);
    free(buffer);
    if (status != DF_OK) return dfi_error(status, "'%s%s': %s", layout->prefix, src->keys[0], dfs_last_error());
    return DF_OK;
}

df_status dfi_layout_load(const dfi_state_dict *dict, const dfi_layout *layout, dfs_vit *vit) {
    int32_t count = dfs_vit_weight_count(vit);
    for (int32_t i = 0; i < count; i++) {
        const char *name;
        int32_t ndim;
        int64_t shape[DF_TENSOR_MAX_DIMS];
        df_status status = dfs_vit_weight_spec(vit, i, &name, &ndim, shape);
        if (status != DF_OK) return dfi_error(status, "%s", dfs_last_error());
        source src;
        resolve(dict, layout, name, &src);
        if ((status = load_weight(layout, vit, name, ndim, shape, &src)) != DF_OK) return status;
    }
    df_status status = dfs_vit_check_complete(vit);
    return status == DF_OK ? DF_OK : dfi_error(status, "%s", dfs_last_error());
}

int64_t dfi_layout_parameter_count(const dfi_layout *layout) {
    const dfs_vit_config *c = &layout->config;
    int64_t d = c->dim, h = c->mlp_hidden;
    int64_t mlp = c->swiglu ? (2 * h * d + 2 * h + d * h + d) : (h * d + h + d * h + d);
    int64_t block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + mlp + (c->layerscale ? 2 * d : 0);
    return d + (1 + (int64_t)c->pos_grid * c->pos_grid) * d + (int64_t)c->registers * d +
           (d * 3 * c->patch * c->patch + d) + 2 * d + c->depth * block;
}
