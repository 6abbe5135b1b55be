/* df_upsample: parameters, checks, and the call into the shim's upsampler. */
#include "../internal.h"
#include "../model/model_internal.h"
#include "../tensor_internal.h"
#include "dinofeat/upsample.h"
#include "upsample_shim.h"

#include <stdlib.h>

#define MAX_DISTANCES 64

/* Parses "1,2" into distances; "" is no shifts. Returns the count, or -1 with a message. */
static int parse_distances(const char *text, int32_t *distances) {
    int count = 0;
    for (const char *at = text; *at;) {
        char *end;
        long value = strtol(at, &end, 10);
        if (end == at || count == MAX_DISTANCES) {
            dfi_error(DF_E_INVALID_ARG, "upsample.shifts '%s' is not a comma-separated list of distances", text);
            return -1;
        }
        if (value <= 0 || value > 4096) {
            dfi_error(DF_E_INVALID_ARG, "upsample.shifts: a shift distance must be > 0, got %ld", value);
            return -1;
        }
        distances[count++] = (int32_t)value;
        at = end;
        if (*at == ',') at++;
        else if (*at != '\0') {
            dfi_error(DF_E_INVALID_ARG, "upsample.shifts '%s' is not a comma-separated list of distances", text);
            return -1;
        }
    }
    return count;
}

df_status df_upsample_view_count(const df_options *options, size_t *out) {
    DFI_CHECK_NOT_NULL(out);
    int32_t distances[MAX_DISTANCES];
    int count = parse_distances(dfi_option_str(options, DF_PARAM_UPS_SHIFTS), distances);
    if (count < 0) DFI_RETURN(DF_E_INVALID_ARG);
    size_t directions = dfi_option_int(options, DF_PARAM_UPS_NEIGHBOURHOOD) == DF_UPS_VON_NEUMANN ? 4 : 8;
    size_t flips = dfi_option_int(options, DF_PARAM_UPS_FLIPS) == DF_UPS_FLIPS_OFF ? 1 : 3;
    *out = (1 + directions * (size_t)count) * flips;
    return DF_OK;
}

df_status df_upsample(df_model *model, const df_tensor *image, const df_options *options, df_progress_fn progress,
                      void *user_data, df_tensor **features, df_tensor **attention) {
    DFI_CHECK_NOT_NULL(features);
    *features = NULL;
    if (attention) *attention = NULL;
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(image);
    const dfs_tensor_desc *desc = dfi_tensor_desc(image);
    int32_t patch = dfi_model_patch(model);
    if (desc->ndim != 4 || desc->shape[0] != 1 || desc->shape[1] != 3)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "image must have shape (1, 3, H, W)"));
    if ((desc->shape[2] < patch || desc->shape[3] < patch) && !dfi_option_int(options, DF_PARAM_UPS_PAD))
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "the image (%lld x %lld) is smaller than one patch (%d)",
                             (long long)desc->shape[2], (long long)desc->shape[3], (int)patch));
    dfs_upsample_config config = {0};
    int64_t stride = dfi_option_int(options, DF_PARAM_UPS_STRIDE);
    if (stride > patch)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "upsample.stride %lld exceeds the patch size %d", (long long)stride, (int)patch));
    int32_t distances[MAX_DISTANCES];
    config.distance_count = parse_distances(dfi_option_str(options, DF_PARAM_UPS_SHIFTS), distances);
    if (config.distance_count < 0) DFI_RETURN(DF_E_INVALID_ARG);
    df_status status = dfi_model_plan(model, desc->shape[2], desc->shape[3], &config.run);
    if (status != DF_OK) DFI_RETURN(status);
    config.run.stride = (int32_t)stride;
    config.distances = distances;
    config.von_neumann = dfi_option_int(options, DF_PARAM_UPS_NEIGHBOURHOOD) == DF_UPS_VON_NEUMANN;
    config.flips = (int32_t)dfi_option_int(options, DF_PARAM_UPS_FLIPS);
    config.border = (int32_t)dfi_option_int(options, DF_PARAM_UPS_BORDER);
    config.bilinear = dfi_option_int(options, DF_PARAM_UPS_INTERP) == DF_UPS_BILINEAR;
    config.attention = attention ? (int32_t)dfi_option_int(options, DF_PARAM_UPS_ATTENTION) : DF_UPS_ATTN_NONE;
    config.batch = (int32_t)dfi_option_int(options, DF_PARAM_UPS_BATCH);
    config.on_device = (int32_t)dfi_option_int(options, DF_PARAM_UPS_ON_DEVICE);
    config.pad = (int32_t)dfi_option_int(options, DF_PARAM_UPS_PAD);
    config.progress = progress;
    config.progress_user = user_data;
    /* The grid at the upsampling stride decides attention chunking, not the model's own stride. */
    int64_t rounding = dfi_option_int(options, DF_PARAM_UPS_PAD) ? patch - 1 : 0;
    int64_t gh = 1 + ((desc->shape[2] + rounding) / patch * patch - patch) / stride;
    int64_t gw = 1 + ((desc->shape[3] + rounding) / patch * patch - patch) / stride;
    int64_t chunk_setting = 0;
    df_model_get_int(model, DF_PARAM_MODEL_ATTN_CHUNK, &chunk_setting);
    if (chunk_setting == 0) config.run.attn_chunk = gh * gw > 2048 ? 1024 : 0;

    dfs_tensor *torch_features = NULL, *torch_attention = NULL;
    dfs_tensor_desc features_desc, attention_desc;
    status = dfs_upsample(dfi_model_vit(model), desc, &config, &torch_features, &features_desc, &torch_attention,
                          &attention_desc);
    if (status != DF_OK) DFI_RETURN(dfi_error(status, "%s", dfs_last_error()));
    status = dfi_tensor_wrap_shim(torch_features, &features_desc, features);
    if (status == DF_OK && torch_attention) status = dfi_tensor_wrap_shim(torch_attention, &attention_desc, attention);
    else if (torch_attention) dfs_tensor_release(torch_attention);
    if (status != DF_OK) {
        df_tensor_free(*features);
        *features = NULL;
    }
    DFI_RETURN(status);
}
