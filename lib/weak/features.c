/* The feature sets of the weakly supervised workflow (specs/hrdv2.md section 3): classical (the
 * 58-channel stack), deep (HR-Dv2 upsampled features), hybrid (deep then classical, each channel
 * min-max scaled to [0, 1] over the image). Deep features of an image whose longest side exceeds
 * max_size are computed on a resized copy and resized back (nearest, as F.interpolate's default). */
#include "weak_internal.h"
#include "dinofeat/upsample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


df_status dfi_weak_classical_options(const df_weak_kind *kind, df_options **out) {
    df_status status = df_options_new(out);
    if (status == DF_OK) status = df_options_set_str(*out, DF_PARAM_CLASSICAL_GROUPS, kind->groups);
    if (status == DF_OK) status = df_options_set_int(*out, DF_PARAM_CLASSICAL_MIN_SIGMA, kind->min_sigma);
    if (status == DF_OK) status = df_options_set_int(*out, DF_PARAM_CLASSICAL_MAX_SIGMA, kind->max_sigma);
    if (status == DF_OK) status = df_options_set_int(*out, DF_PARAM_CLASSICAL_MEMBRANE_SIZE, kind->membrane_size);
    if (status == DF_OK)
        status = df_options_set_int(*out, DF_PARAM_CLASSICAL_MEMBRANE_THICKNESS, kind->membrane_thickness);
    if (status != DF_OK) {
        df_options_free(*out);
        *out = NULL;
    }
    return status;
}

df_status dfi_weak_classical_check(df_weak_kind *kind) {
    df_options *classical = NULL;
    df_status status = dfi_weak_classical_options(kind, &classical);
    if (status == DF_OK) status = df_classical_channels(classical, &kind->classical_channels);
    df_options_free(classical);
    return status;
}

df_status dfi_weak_describe(df_model *model, const df_options *options, df_weak_kind *kind) {
    snprintf(kind->groups, sizeof kind->groups, "%s", dfi_option_str(options, DF_PARAM_CLASSICAL_GROUPS));
    kind->min_sigma = dfi_option_int(options, DF_PARAM_CLASSICAL_MIN_SIGMA);
    kind->max_sigma = dfi_option_int(options, DF_PARAM_CLASSICAL_MAX_SIGMA);
    kind->membrane_size = dfi_option_int(options, DF_PARAM_CLASSICAL_MEMBRANE_SIZE);
    kind->membrane_thickness = dfi_option_int(options, DF_PARAM_CLASSICAL_MEMBRANE_THICKNESS);
    df_status status = dfi_weak_classical_check(kind);
    if (status != DF_OK) return status;
    kind->stride = dfi_option_int(options, DF_PARAM_UPS_STRIDE);
    kind->flips = dfi_option_int(options, DF_PARAM_UPS_FLIPS);
    kind->max_size = dfi_option_int(options, DF_PARAM_WEAK_MAX_SIZE);
    snprintf(kind->shifts, sizeof kind->shifts, "%s", dfi_option_str(options, DF_PARAM_UPS_SHIFTS));
    return model == NULL ? DF_OK : dfi_model_identity_of(model, &kind->model);
}

df_status dfi_weak_check_model(const df_weak_kind *kind, df_model *model) {
    if (kind->features == DFI_WEAK_CLASSICAL) return DF_OK;
    if (model == NULL) return dfi_error(DF_E_INVALID_ARG, "this classifier's features need its model (%s, dim %lld)",
                                        kind->model.family, (long long)kind->model.dim);
    dfi_model_identity now;
    df_status status = dfi_model_identity_of(model, &now);
    if (status != DF_OK || dfi_model_identity_equal(&now, &kind->model)) return status;
    char given[256], trained[256];
    dfi_model_identity_text(&now, given, sizeof given);
    dfi_model_identity_text(&kind->model, trained, sizeof trained);
    return dfi_error(DF_E_INVALID_ARG, "the model does not match the classifier's: %s given, %s trained with", given,
                     trained);
}

size_t dfi_weak_channels(const df_weak_kind *kind) {
    switch (kind->features) {
    case DFI_WEAK_DEEP: return (size_t)kind->model.dim;
    case DFI_WEAK_HYBRID: return (size_t)kind->model.dim + kind->classical_channels;
    default: return kind->classical_channels;
    }
}

/* The classical stack of image (8 or 16 bits, grey or colour) with kind's settings into out,
 * channel stride `stride` from channel `first`. */
static df_status classical_into(const df_weak_kind *kind, const df_image *image, float *out, size_t stride,
                                size_t first) {
    const size_t n = df_image_width(image) * df_image_height(image), channels = kind->classical_channels;
    df_options *classical = NULL;
    float *stack = stride == channels ? out : malloc(n * channels * sizeof *stack);
    df_status status = stack ? dfi_weak_classical_options(kind, &classical)
                             : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK) status = df_classical_compute_image(image, classical, stack);
    for (size_t i = 0; status == DF_OK && stack != out && i < n; i++)
        memcpy(out + i * stride + first, stack + i * channels, channels * sizeof *out);
    if (stack != out) free(stack);
    df_options_free(classical);
    return status;
}

/* Upsampled features of image (resized to at most max_size on its longest side and back) into
 * out, channel stride `stride`. */
static df_status deep_into(const df_weak_kind *kind, df_model *model, const df_image *image, float *out, size_t stride) {
    const size_t w = df_image_width(image), h = df_image_height(image), longest = w > h ? w : h;
    df_image *rgb = NULL, *sized = NULL;
    df_tensor *pixels = NULL, *features = NULL;
    df_options *ups = NULL;
    df_status status = df_image_convert(image, 3, &rgb);
    size_t fw = w, fh = h;
    if (status == DF_OK && kind->max_size > 0 && longest > (size_t)kind->max_size) {
        fw = (size_t)fmax(1.0, round((double)w * (double)kind->max_size / (double)longest));
        fh = (size_t)fmax(1.0, round((double)h * (double)kind->max_size / (double)longest));
        status = df_image_resize(rgb, fw, fh, DF_RESIZE_BICUBIC, &sized);
    }
    if (status == DF_OK) status = df_image_to_tensor(sized ? sized : rgb, NULL, NULL, &pixels);
    if (status == DF_OK) status = df_options_new(&ups);
    if (status == DF_OK) {
        df_options_set_int(ups, DF_PARAM_UPS_STRIDE, kind->stride);
        df_options_set_int(ups, DF_PARAM_UPS_FLIPS, kind->flips);
        df_options_set_int(ups, DF_PARAM_UPS_PAD, 1);
        df_options_set_int(ups, DF_PARAM_UPS_ATTENTION, DF_UPS_ATTN_NONE);
        status = df_options_set_str(ups, DF_PARAM_UPS_SHIFTS, kind->shifts);
    }
    if (status == DF_OK) status = df_upsample(model, pixels, ups, NULL, NULL, &features, NULL);
    float *values = NULL;
    const size_t d = (size_t)kind->model.dim;
    if (status == DF_OK) {
        values = malloc(fw * fh * d * sizeof *values);
        status = values ? df_tensor_copy_to_host(features, values, fw * fh * d)
                        : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for %zu x %zu x %zu features", fw, fh, d);
    }
    /* nearest back to w x h: pixel y reads row floor(y * fh / h), as torch's 'nearest' */
    for (size_t y = 0; status == DF_OK && y < h; y++) {
        const size_t sy = (size_t)((double)y * (double)fh / (double)h);
        for (size_t x = 0; x < w; x++) {
            const size_t sx = (size_t)((double)x * (double)fw / (double)w);
            memcpy(out + (y * w + x) * stride, values + (sy * fw + sx) * d, d * sizeof *out);
        }
    }
    free(values);
    df_tensor_free(features);
    df_tensor_free(pixels);
    df_options_free(ups);
    df_image_free(sized);
    df_image_free(rgb);
    return status;
}

/* Each channel scaled to [0, 1] over the image (a constant channel becomes 0). */
static void min_max_scale(float *x, size_t n, size_t channels) {
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < channels; c++) {
        float lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < n; i++) lo = fminf(lo, x[i * channels + c]), hi = fmaxf(hi, x[i * channels + c]);
        const float range = hi - lo;
        for (size_t i = 0; i < n; i++) x[i * channels + c] = range > 0 ? (x[i * channels + c] - lo) / range : 0.0f;
    }
}

df_status dfi_weak_features(const df_weak_kind *kind, df_model *model, const df_image *image, float **out) {
    const size_t w = df_image_width(image), h = df_image_height(image), channels = dfi_weak_channels(kind);
    size_t count;
    if (dfi_mul_size(w * h, channels, &count) != 0 || count > SIZE_MAX / sizeof **out)
        return dfi_error(DF_E_LIMIT, "image too large");
    *out = malloc(count * sizeof **out);
    if (*out == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for %zu x %zu x %zu features", w, h, channels);
    df_status status = DF_OK;
    if (kind->features != DFI_WEAK_CLASSICAL) status = deep_into(kind, model, image, *out, channels);
    if (status == DF_OK && kind->features != DFI_WEAK_DEEP)
        status = classical_into(kind, image, *out, channels, kind->features == DFI_WEAK_HYBRID ? (size_t)kind->model.dim : 0);
    if (status == DF_OK && kind->features == DFI_WEAK_HYBRID) min_max_scale(*out, w * h, channels);
    if (status != DF_OK) {
        free(*out);
        *out = NULL;
    }
    return status;
}
