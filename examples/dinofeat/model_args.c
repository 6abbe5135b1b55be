/* Shared model options of the dinofeat verbs. */
#include "model_args.h"
#include "cli.h"
#include "draw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void model_args_init(model_args *args) {
    memset(args, 0, sizeof *args);
}

static int model_required(const char *verb) { return cli_usage_error(verb, "--model FILE is required"); }

/* A CPU without bfloat16 dot products computes bfloat16's matrix products in float32: no faster,
 * only less precise, which a user asking for bfloat16 for speed would not guess. */
static void warn_bfloat16_without_gain(const model_args *args, const char *verb, df_dtype chosen) {
    df_dtype fastest = DF_DTYPE_FLOAT32;
    const char *reason = NULL;
    int on_cpu = args->device == NULL || strncmp(args->device, "cuda", 4) != 0;
    if (chosen != DF_DTYPE_BFLOAT16 || !on_cpu) return;
    if (df_inference_precision(args->device, &fastest, &reason) == DF_OK && fastest != DF_DTYPE_BFLOAT16)
        fprintf(stderr, "dinofeat %s: warning: --precision bfloat16 on this CPU; --precision auto takes %s\n", verb,
                reason);
}

/* The --precision choice as a df_dtype; auto is the library's pick for the device, said on stderr. */
static df_status chosen_precision(const model_args *args, const char *verb, df_dtype *out) {
    static const df_dtype named[] = {DF_DTYPE_FLOAT32, DF_DTYPE_BFLOAT16, DF_DTYPE_FLOAT16};
    if (args->precision < 3) {
        *out = named[args->precision];
        warn_bfloat16_without_gain(args, verb, *out);
        return DF_OK;
    }
    const char *reason = "float32: the backbone trains";
    df_status status = args->trains_backbone ? DF_OK : df_inference_precision(args->device, out, &reason);
    if (args->trains_backbone) *out = DF_DTYPE_FLOAT32;
    if (status == DF_OK) fprintf(stderr, "dinofeat %s: --precision auto: %s\n", verb, reason);
    return status;
}

int model_args_open(const model_args *args, const char *verb, df_model **out) {
    if (args->path == NULL) return model_required(verb);
    df_options *options = NULL;
    df_status status = cli_options_new(&options);
    df_dtype precision = DF_DTYPE_FLOAT32;
    if (status == DF_OK) status = chosen_precision(args, verb, &precision);
    if (status == DF_OK) status = df_options_set_int(options, DF_PARAM_MODEL_PRECISION, precision);
    if (status == DF_OK && args->heads) status = df_options_set_int(options, DF_PARAM_MODEL_HEADS, args->heads);
    if (status == DF_OK && args->checkpoint) status = df_options_set_str(options, DF_PARAM_MODEL_CHECKPOINT, args->checkpoint);
    if (status == DF_OK) status = df_model_open(args->path, args->device, options, out);
    if (status == DF_OK && args->pos_interp) status = df_model_set_int(*out, DF_PARAM_MODEL_POS_INTERP, args->pos_interp);
    if (status == DF_OK && args->stride) status = df_model_set_int(*out, DF_PARAM_MODEL_STRIDE, args->stride);
    df_options_free(options);
    if (status != DF_OK) {
        int code = cli_fail(verb, status);
        df_model_free(*out);
        *out = NULL;
        return code;
    }
    int64_t heads = 0, dim = 0;
    df_model_info_int(*out, DF_MODEL_INFO_HEADS, &heads);
    df_model_info_int(*out, DF_MODEL_INFO_DIM, &dim);
    if (heads == 0 && !args->heads_optional) {
        df_model_free(*out);
        *out = NULL;
        return cli_usage_error(verb, "%s: the file does not record its number of attention heads and dim %lld is no "
                               "multiple of 64: pass --heads N", args->path, (long long)dim);
    }
    return EXIT_OK;
}

int image_job_open(const char *verb, const char *image, long width, long height, const model_args *args,
                   image_job *job) {
    memset(job, 0, sizeof *job);
    if (args->path == NULL) return model_required(verb);
    df_status status = cli_load_rgb(image, (size_t)width, (size_t)height, &job->rgb);
    if (status == DF_OK) status = df_image_to_tensor(job->rgb, NULL, NULL, &job->pixels);
    int code = status == DF_OK ? model_args_open(args, verb, &job->model) : cli_fail(verb, status);
    if (code != EXIT_OK) image_job_free(job);
    return code;
}

void image_job_free(image_job *job) {
    df_model_free(job->model);
    df_tensor_free(job->pixels);
    df_image_free(job->rgb);
    memset(job, 0, sizeof *job);
}
