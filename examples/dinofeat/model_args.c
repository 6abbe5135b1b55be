/* Shared model options of the dinofeat verbs. */
#include "model_args.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

void model_args_init(model_args *args) {
    memset(args, 0, sizeof *args);
    args->precision = DF_DTYPE_FLOAT32;
}

int model_args_parse(model_args *args, int option, const char *value, const char *verb) {
    static const char *const variants[] = {"auto", "offset", "size_aa", "size"};
    switch (option) {
    case 1000: args->path = value; return 1;
    case 1001: args->device = value; return 1;
    case 1002:
        if (cli_parse_long(value, 1, 4096, &args->heads) == 0) return 1;
        cli_usage_error(verb, "--heads takes a positive number, not '%s'", value);
        return -1;
    case 1003:
        if (strcmp(value, "float32") == 0) args->precision = DF_DTYPE_FLOAT32;
        else if (strcmp(value, "bfloat16") == 0) args->precision = DF_DTYPE_BFLOAT16;
        else if (strcmp(value, "float16") == 0) args->precision = DF_DTYPE_FLOAT16;
        else {
            cli_usage_error(verb, "--precision is float32, bfloat16 or float16, not '%s'", value);
            return -1;
        }
        return 1;
    case 1004:
        for (int i = 0; i < 4; i++)
            if (strcmp(value, variants[i]) == 0) {
                args->pos_interp = i;
                return 1;
            }
        cli_usage_error(verb, "--pos-interp is auto, offset, size_aa or size, not '%s'", value);
        return -1;
    case 1005:
        if (cli_parse_long(value, 1, 1024, &args->stride) == 0) return 1;
        cli_usage_error(verb, "--stride takes a positive number of pixels, not '%s'", value);
        return -1;
    case 1006: args->checkpoint = value; return 1;
    default: return 0;
    }
}

int model_args_open(const model_args *args, const char *verb, df_model **out) {
    if (args->path == NULL) return cli_usage_error(verb, "--model FILE is required");
    df_options *options = NULL;
    df_status status = cli_options_new(&options);
    if (status == DF_OK) status = df_options_set_int(options, DF_PARAM_MODEL_PRECISION, args->precision);
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
