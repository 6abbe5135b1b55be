/* The options every model-using verb shares: --model, --device, --heads, --precision,
 * --pos-interp, --stride, --checkpoint. */
#ifndef DINOFEAT_CLI_MODEL_ARGS_H
#define DINOFEAT_CLI_MODEL_ARGS_H

#include "dinofeat/dinofeat.h"

#include <getopt.h>

typedef struct model_args {
    const char *path, *device, *checkpoint;
    long heads, stride;
    int precision;  /* df_dtype */
    int pos_interp; /* df_pos_interp */
    int heads_optional; /* open a model whose head count is unknown (info describes it) */
} model_args;

/* getopt_long entries for the shared options (values 1000..1099), to append to a verb's table. */
#define MODEL_ARGS_OPTIONS                                                                        \
    {"model", required_argument, NULL, 1000}, {"device", required_argument, NULL, 1001},          \
    {"heads", required_argument, NULL, 1002}, {"precision", required_argument, NULL, 1003},       \
    {"pos-interp", required_argument, NULL, 1004}, {"stride", required_argument, NULL, 1005},     \
    {"checkpoint", required_argument, NULL, 1006}

#define MODEL_ARGS_HELP                                                                            \
    "  --model FILE       a DINO / DINOv2 checkpoint: official .pth, training checkpoint,\n"       \
    "                     Hugging Face or timm .safetensors (required)\n"                          \
    "  --device DEV       cpu (default), cuda, cuda:N\n"                                           \
    "  --heads N          attention heads (default: what the file records, else dim / 64 as in\n"  \
    "                     every released model; needed for other dims)\n"                          \
    "  --precision P      float32 (default), bfloat16, float16 (CUDA)\n"                          \
    "  --pos-interp V     position-embedding resampling: auto (default: the official one),\n"     \
    "                     offset, size_aa, size\n"                                                 \
    "  --stride S         patch-embedding stride in pixels (default: the patch size)\n"           \
    "  --checkpoint W     teacher (default) or student, in a training checkpoint\n"

void model_args_init(model_args *args);
/* Handles option (a getopt_long value); returns 1 if it was a model option, 0 if not, -1 on a bad
 * value (after printing a usage error for verb). */
int model_args_parse(model_args *args, int option, const char *value, const char *verb);
/* Opens the model the arguments describe; prints the error and returns an exit code on failure.
 * A model whose number of heads neither the file nor --heads gives is a usage error naming
 * --heads (unless heads_optional). */
int model_args_open(const model_args *args, const char *verb, df_model **out);

#endif
