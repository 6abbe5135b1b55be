/*
 * dinofeat models: DINO and DINOv2 backbones (with or without registers) read straight from the
 * files people download (official .pth, full DINO training checkpoints, Hugging Face and timm
 * safetensors, files this library writes), and their forward pass.
 */
#ifndef DINOFEAT_MODEL_H
#define DINOFEAT_MODEL_H

#include "dinofeat/core.h"
#include "dinofeat/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_model df_model;
/* The outputs of one forward pass. */
typedef struct df_forward df_forward;

/* How the stored position embedding is resampled to another patch grid (specs/backbones.md). */
typedef enum df_pos_interp {
    DF_POS_INTERP_AUTO = 0,    /* the checkpoint's official choice: SIZE_AA for DINOv2 with
                                  registers, OFFSET otherwise, whatever file layout it came in */
    DF_POS_INTERP_OFFSET = 1,  /* bicubic, scale factor (grid + 0.1) / M: official DINO, DINOv2 */
    DF_POS_INTERP_SIZE_AA = 2, /* bicubic to the grid size, antialiased: DINOv2 registers, timm */
    DF_POS_INTERP_SIZE = 3     /* bicubic to the grid size: Hugging Face DINOv2 */
} df_pos_interp;

typedef enum df_cover {
    DF_COVER_CROP = 0, /* centre-crop to the largest size the patch grid covers */
    DF_COVER_PAD = 1,  /* zero-pad at the bottom and right to the next covered size (TokenCut) */
    DF_COVER_NONE = 2  /* as a strided convolution does: rows and columns past the last whole
                          patch are ignored (the official HR-Dv2 code, strides that do not divide
                          the size) */
} df_cover;

/* What a forward pass computes; a bit mask. */
typedef enum df_output {
    DF_OUTPUT_PATCH = 1,         /* final-norm patch tokens (B, gh, gw, D) */
    DF_OUTPUT_CLS = 2,           /* final-norm [CLS] (B, D) */
    DF_OUTPUT_REGISTERS = 4,     /* final-norm registers (B, R, D); R may be 0 */
    DF_OUTPUT_CLS_ATTENTION = 8, /* last block's softmax attention of [CLS] over patches (B, heads, gh, gw) */
    DF_OUTPUT_Q = 16,            /* last block's queries (B, N, D), N = 1 + R + gh * gw tokens in the */
    DF_OUTPUT_K = 32,            /* order [CLS], registers, patches; qkv bias included, before */
    DF_OUTPUT_V = 64,            /* scaling */
    DF_OUTPUT_LAYERS = 128,      /* normed patch tokens of the blocks DF_PARAM_MODEL_LAYERS names */
    DF_OUTPUT_ALL = 255
} df_output;

/* What df_model_info_int / df_model_info_str report. */
typedef enum df_model_info {
    DF_MODEL_INFO_FAMILY = 1,     /* str: "dino" or "dinov2" */
    DF_MODEL_INFO_SIZE = 2,       /* str: "S", "B", "L", "G", or "custom" */
    DF_MODEL_INFO_LAYOUT = 3,     /* str: the file layout it was read from: "official",
                                     "training-checkpoint", "chunked", "huggingface", "timm" */
    DF_MODEL_INFO_DEVICE = 4,     /* str: "cpu", "cuda:0", ... */
    DF_MODEL_INFO_PRECISION = 5,  /* str: "float32", "bfloat16", "float16" */
    DF_MODEL_INFO_POS_INTERP = 6, /* str: the variant in effect: "offset", "size_aa", "size" */
    DF_MODEL_INFO_MLP = 7,        /* str: "gelu" or "swiglu" */
    DF_MODEL_INFO_PATCH = 100,    /* int: patch size in pixels */
    DF_MODEL_INFO_DIM = 101,      /* int: embedding dimension D */
    DF_MODEL_INFO_DEPTH = 102,    /* int: blocks */
    DF_MODEL_INFO_HEADS = 103,    /* int: attention heads in effect; 0 when unknown (set model.heads) */
    DF_MODEL_INFO_REGISTERS = 104,/* int: register tokens */
    DF_MODEL_INFO_POS_GRID = 105, /* int: M, the stored position grid is M x M */
    DF_MODEL_INFO_PARAMETERS = 106, /* int: parameter count (without mask token and heads) */
    DF_MODEL_INFO_LAYERSCALE = 107, /* int: 1 if the blocks have LayerScale */
    DF_MODEL_INFO_STRIDE = 108      /* int: patch-embedding stride in effect */
} df_model_info;

/* out: new, free with df_model_free. Reads the checkpoint at path (the layout and architecture
 * are recognised from tensor names and shapes) onto device ("cpu", "cuda", "cuda:N"; NULL:
 * "cpu"). options (NULL: defaults) supplies DF_PARAM_MODEL_* values. Errors: DF_E_IO,
 * DF_E_FORMAT (malformed file, missing key or wrong shape: the message names the key),
 * DF_E_UNSUPPORTED (legacy PyTorch format, a device or precision this build lacks). */
DF_API df_status df_model_open(const char *path, const char *device, const df_options *options,
                               df_model **out);
/* Does nothing when model is NULL. */
DF_API void df_model_free(df_model *model);

/* The precision inference-only work (features, upsampling, segmentation) runs fastest in on device
 * ("cpu", "cuda", "cuda:N"; NULL: "cpu") at an accuracy the README documents: DF_DTYPE_BFLOAT16
 * on a CPU with AVX512-BF16 dot products (the fused attention's bfloat16 kernel), else
 * DF_DTYPE_FLOAT32 (also on CUDA, where bfloat16 is not measured). For DF_PARAM_MODEL_PRECISION
 * when a user asks for "auto"; float32 stays the default wherever equality with the official
 * code is the point. reason (may be NULL): a borrowed static sentence saying why, for the user. */
DF_API df_status df_inference_precision(const char *device, df_dtype *out, const char **reason);

/* Forward-time parameters (DF_PARAM_MODEL_HEADS and later); the others are fixed at open. */
DF_API df_status df_model_set_int(df_model *model, df_param key, int64_t value);
DF_API df_status df_model_get_int(const df_model *model, df_param key, int64_t *out);
DF_API df_status df_model_set_str(df_model *model, df_param key, const char *value);
/* out: borrowed, lives until the key is set again or the model is freed. */
DF_API df_status df_model_get_str(const df_model *model, df_param key, const char **out);

DF_API df_status df_model_info_int(const df_model *model, df_model_info key, int64_t *out);
/* out: borrowed, lives as long as the model (or until the parameter behind it changes). */
DF_API df_status df_model_info_str(const df_model *model, df_model_info key, const char **out);

/* out: new, free with df_forward_free. images: (B, 3, H, W) float32, normalised (see
 * df_image_to_tensor), on any device; any H, W of at least one patch. outputs: df_output bits. */
DF_API df_status df_model_forward(df_model *model, const df_tensor *images, unsigned outputs,
                                  df_forward **out);
/* out: borrowed, lives as long as forward. DF_E_INVALID_ARG if it was not requested. */
DF_API df_status df_forward_output(const df_forward *forward, df_output which, const df_tensor **out);
/* Number of DF_OUTPUT_LAYERS tensors; 0 for NULL. */
DF_API size_t df_forward_layer_count(const df_forward *forward);
/* out: borrowed, the normed patch tokens (B, gh, gw, D) of the index-th block named in
 * DF_PARAM_MODEL_LAYERS. */
DF_API df_status df_forward_layer(const df_forward *forward, size_t index, const df_tensor **out);
/* Does nothing when forward is NULL. */
DF_API void df_forward_free(df_forward *forward);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_MODEL_H */
