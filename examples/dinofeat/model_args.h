/* The options every model-using verb shares: --model, --device, --heads, --precision,
 * --pos-interp, --stride, --checkpoint. */
#ifndef DINOFEAT_CLI_MODEL_ARGS_H
#define DINOFEAT_CLI_MODEL_ARGS_H

#include "dinofeat/core.h"
#include "dinofeat/image.h"
#include "dinofeat/model.h"
#include "rows.h"


typedef struct model_args {
    const char *path, *device, *checkpoint;
    long heads, stride;
    int precision;  /* 0 float32, 1 bfloat16, 2 float16, 3 auto (the --precision choices) */
    int pos_interp; /* df_pos_interp */
    int heads_optional; /* open a model whose head count is unknown (info describes it) */
    int trains_backbone; /* the verb trains the model (neco): --precision auto keeps float32 */
} model_args;

/* The same options as rows (rows.h) of a request whose model_args is field; verbs whose
 * --stride means the upsampling views' stride take MODEL_ROWS_BUT_STRIDE and their own row. */
#define MODEL_ROW_FILE(field, where, flags)                                                                            \
    ROW_STRING("model", "FILE", field.path,                                                                     \
               "a DINO / DINOv2 checkpoint: official .pth, training checkpoint,\n"                              \
               "Hugging Face or timm .safetensors", where, flags)
#define MODEL_ROWS_OTHER(field, where)                                                                                  \
    ROW_STRING("device", "DEV", field.device, "cpu (default), cuda, cuda:N", where, CLI_ROW_NO_DEFAULT),             \
    ROW_LONG("heads", "N", field.heads, 1, 4096,                                                                 \
             "attention heads (default: what the file records, else dim / 64 as in\n"                            \
             "every released model; needed for other dims)", where, CLI_ROW_NO_DEFAULT),                            \
    ROW_CHOICE("precision", "P", field.precision, "float32|bfloat16|float16|auto",                              \
               "float32, bfloat16 (CPU and CUDA), float16 (CUDA), or auto: bfloat16 on\n"                        \
               "a CPU with AVX512-BF16, else float32 (float32 where the backbone trains)", where),                   \
    ROW_CHOICE("pos-interp", "V", field.pos_interp, "auto|offset|size_aa|size",                                 \
               "position-embedding resampling: auto (the checkpoint's official one),\n"                          \
               "offset, size_aa, size", where),                                                                       \
    ROW_STRING("checkpoint", "W", field.checkpoint, "teacher (default) or student, in a training checkpoint", where, \
               CLI_ROW_NO_DEFAULT)
#define MODEL_ROW_STRIDE(field, where)                                                                                  \
    ROW_LONG("stride", "S", field.stride, 1, 1024,                                                              \
             "patch stride of the backbone's forward passes, in pixels (default: the\n"                          \
             "patch size)", where, CLI_ROW_NO_DEFAULT)
#define MODEL_ROWS_BUT_STRIDE(field) MODEL_ROW_FILE(field, 0, CLI_ROW_REQUIRED), MODEL_ROWS_OTHER(field, 0)
#define MODEL_ROWS(field) MODEL_ROWS_BUT_STRIDE(field), MODEL_ROW_STRIDE(field, 0)
/* For verbs that can do without a model (info). */
#define MODEL_ROWS_OPTIONAL(field) MODEL_ROW_FILE(field, 0, 0), MODEL_ROWS_OTHER(field, 0), MODEL_ROW_STRIDE(field, 0)

/* The upsampling views' rows every HR-Dv2 verb shares (upsample, segment, weak). */
#define UPSAMPLE_VIEW_ROWS                                                                                       \
    ROW_PARAM("stride", "S", DF_PARAM_UPS_STRIDE, "patch stride of the views' forward passes, in pixels"), \
    ROW_PARAM("shifts", "D,D,...", DF_PARAM_UPS_SHIFTS, "shift distances of the views in pixels ('' for none)"),  \
    ROW_PARAM_FIXED("no-flips", DF_PARAM_UPS_FLIPS, "off", "no flipped views: the shifted ones only")

void model_args_init(model_args *args);
/* Opens the model the arguments describe; prints the error and returns an exit code on failure.
 * A model whose number of heads neither the file nor --heads gives is a usage error naming
 * --heads (unless heads_optional). */
int model_args_open(const model_args *args, const char *verb, df_model **out);

/* What every single-image verb (features, upsample, segment, tokencut) starts from: the image,
 * resized to width x height when they are given, as RGB and as the model's input, and the model. */
typedef struct image_job {
    df_image *rgb;
    df_tensor *pixels;
    df_model *model;
} image_job;
/* Fills job (zeroed first); prints the error and returns an exit code on failure, job then empty.
 * A missing --model is reported before the image is read, the image before the model is loaded. */
int image_job_open(const char *verb, const char *image, long width, long height, const model_args *args,
                   image_job *job);
void image_job_free(image_job *job);

#endif
