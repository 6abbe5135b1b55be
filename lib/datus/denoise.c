/* DatUS² step 9 (optional): a segmenter trained on the pseudo masks, ignoring unlabelled pixels,
 * so every pixel gets a class. The paper trains DeepLabV3; ours is the weak-supervision trainer's
 * deep features with logistic regression, i.e. a linear 1 x 1 convolution head on the frozen
 * backbone, which needs no gradient code and trains in seconds. */
#include "datus_internal.h"
#include "dinofeat/upsample.h"

#include <stdlib.h>

/* The defaults of the de-noiser where options leave them: one stride-4 view (no shifts, no
 * flips: the multi-view HR-Dv2 upsampling would cost ~50 forward passes an image), logistic
 * regression, 1000 pixels an image. */
static df_status denoise_options(const df_options *options, int64_t patch, df_options **out) {
    df_status status = options ? df_options_copy(options, out) : df_options_new(out);
    if (status != DF_OK) return status;
    df_options *o = *out;
    if (!dfi_option_is_set(options, DF_PARAM_WEAK_FEATURES)) df_options_set_int(o, DF_PARAM_WEAK_FEATURES, DF_WEAK_DEEP);
    if (!dfi_option_is_set(options, DF_PARAM_WEAK_CLASSIFIER))
        df_options_set_int(o, DF_PARAM_WEAK_CLASSIFIER, DF_WEAK_LOGREG);
    if (!dfi_option_is_set(options, DF_PARAM_WEAK_SAMPLES)) df_options_set_int(o, DF_PARAM_WEAK_SAMPLES, 1000);
    if (!dfi_option_is_set(options, DF_PARAM_UPS_STRIDE)) df_options_set_int(o, DF_PARAM_UPS_STRIDE, patch < 4 ? patch : 4);
    if (!dfi_option_is_set(options, DF_PARAM_UPS_FLIPS)) df_options_set_int(o, DF_PARAM_UPS_FLIPS, DF_UPS_FLIPS_OFF);
    if (!dfi_option_is_set(options, DF_PARAM_UPS_SHIFTS)) status = df_options_set_str(o, DF_PARAM_UPS_SHIFTS, "");
    return status;
}

/* The pseudo mask of record index as a weak label image: cluster + 1, 0 for noise. */
static df_status label_image(const df_datus *run, size_t index, const df_image *image, df_image **out) {
    const dfi_datus_record *r = &run->records[index];
    const size_t w = df_image_width(image), h = df_image_height(image);
    if (w != r->width || h != r->height)
        return dfi_error(DF_E_INVALID_ARG, "image %zu is %zu x %zu, but '%s' was recorded at %u x %u", index, w, h,
                         r->name, r->width, r->height);
    df_status status = df_image_new(w, h, 1, 8, out);
    uint8_t *labels = status == DF_OK ? df_image_pixels(*out) : NULL;
    if (status == DF_OK) status = df_datus_mask(run, index, w, h, labels);
    for (size_t i = 0; status == DF_OK && i < w * h; i++) labels[i] = labels[i] == DF_DATUS_NOISE ? 0 : labels[i] + 1;
    return status;
}

df_status df_datus_denoise(const df_datus *run, df_model *model, const size_t *indices, const df_image *const *images,
                           size_t count, const df_options *options, df_weak **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(run);
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_ARG(count > 0 && indices != NULL && images != NULL, "no images");
    int64_t patch = 0;
    df_options *settings = NULL;
    df_status status = df_model_info_int(model, DF_MODEL_INFO_PATCH, &patch);
    if (status == DF_OK) status = denoise_options(options, patch, &settings);
    df_image **labels = calloc(count, sizeof *labels);
    if (status == DF_OK && labels == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; status == DF_OK && i < count; i++) {
        if (images[i] == NULL) status = dfi_error(DF_E_INVALID_ARG, "image %zu is NULL", i);
        if (status == DF_OK) status = df_datus_segment_clusters(run, indices[i], &(const int32_t *){NULL});
        if (status == DF_OK) status = label_image(run, indices[i], images[i], &labels[i]);
    }
    if (status == DF_OK)
        status = df_weak_train(model, images, (const df_image *const *)labels, count, settings, out);
    for (size_t i = 0; labels && i < count; i++) df_image_free(labels[i]);
    free(labels);
    df_options_free(settings);
    DFI_RETURN(status);
}
