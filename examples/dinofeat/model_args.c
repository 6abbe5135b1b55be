/* Shared model options of the dinofeat verbs. */
#include "model_args.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void model_args_init(model_args *args) {
    memset(args, 0, sizeof *args);
}

int model_args_open(const model_args *args, const char *verb, df_model **out) {
    if (args->path == NULL) return cli_usage_error(verb, "--model FILE is required");
    df_options *options = NULL;
    df_status status = cli_options_new(&options);
    static const df_dtype precisions[] = {DF_DTYPE_FLOAT32, DF_DTYPE_BFLOAT16, DF_DTYPE_FLOAT16};
    if (status == DF_OK) status = df_options_set_int(options, DF_PARAM_MODEL_PRECISION, precisions[args->precision]);
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
