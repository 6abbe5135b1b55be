/* df_weak: train a classifier from scribbles and segment images with it (specs/hrdv2.md
 * section 3), on the classical feature stack with a random forest. */
#include "weak_internal.h"

#include <stdlib.h>
#include <string.h>

void df_weak_free(df_weak *weak) {
    if (weak == NULL) return;
    df_forest_free(weak->forest);
    free(weak);
}

/* A grey 8-bit copy of image (w x h bytes, malloc'ed). */
static df_status grey_pixels(const df_image *image, uint8_t **out) {
    if (df_image_bit_depth(image) != 8)
        return dfi_error(DF_E_UNSUPPORTED, "%zu-bit images are not supported yet: convert to 8-bit first",
                         df_image_bit_depth(image));
    df_image *grey = NULL;
    df_status status = df_image_convert(image, 1, &grey);
    if (status != DF_OK) return status;
    const size_t n = df_image_width(grey) * df_image_height(grey);
    *out = malloc(n);
    if (*out) memcpy(*out, df_image_pixels(grey), n);
    df_image_free(grey);
    return *out ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
}

df_status dfi_weak_features(const df_weak_kind *kind, const df_image *image, float **out) {
    (void)kind;
    uint8_t *grey = NULL;
    df_status status = grey_pixels(image, &grey);
    const size_t w = df_image_width(image), h = df_image_height(image);
    if (status == DF_OK) {
        *out = malloc(w * h * DF_CLASSICAL_CHANNELS * sizeof **out);
        if (*out == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for %zu x %zu features", w, h);
    }
    if (status == DF_OK) status = df_classical_features(grey, w, h, *out);
    if (status != DF_OK && out) {
        free(*out);
        *out = NULL;
    }
    free(grey);
    return status;
}

/* The label of each pixel of a one-channel label image. */
static int32_t label_at(const df_image *labels, size_t i) {
    const void *p = df_image_pixels((df_image *)labels);
    return df_image_bit_depth(labels) == 16 ? ((const uint16_t *)p)[i] : ((const uint8_t *)p)[i];
}

static df_status check_pair(const df_image *image, const df_image *labels, size_t index) {
    if (image == NULL || labels == NULL) return dfi_error(DF_E_INVALID_ARG, "image or labels %zu is NULL", index);
    if (df_image_channels(labels) != 1 || df_image_bit_depth(labels) > 16)
        return dfi_error(DF_E_INVALID_ARG, "label image %zu must have one channel of 8 or 16 bits, not %zu", index,
                         df_image_channels(labels));
    if (df_image_width(labels) != df_image_width(image) || df_image_height(labels) != df_image_height(image))
        return dfi_error(DF_E_INVALID_ARG, "label image %zu is %zu x %zu, its image %zu x %zu", index,
                         df_image_width(labels), df_image_height(labels), df_image_width(image),
                         df_image_height(image));
    return DF_OK;
}

/* The labelled pixels' features and classes (0-based) of every image. */
static df_status gather(const df_weak_kind *kind, const df_image *const *images, const df_image *const *labels,
                        size_t count, float **x, int32_t **y, size_t *n, size_t *classes) {
    size_t total = 0, capacity = 0;
    *classes = 0;
    df_status status = DF_OK;
    for (size_t k = 0; k < count && status == DF_OK; k++) {
        status = check_pair(images[k], labels[k], k);
        const size_t pixels = status == DF_OK ? df_image_width(labels[k]) * df_image_height(labels[k]) : 0;
        size_t labelled = 0;
        for (size_t i = 0; i < pixels; i++) {
            const int32_t l = label_at(labels[k], i);
            labelled += l > 0;
            if ((size_t)l > *classes) *classes = (size_t)l;
        }
        if (labelled == 0) continue;
        float *features = NULL;
        if (status == DF_OK) status = dfi_weak_features(kind, images[k], &features);
        if (status == DF_OK && total + labelled > capacity) {
            capacity = 2 * (total + labelled);
            float *gx = realloc(*x, capacity * DF_CLASSICAL_CHANNELS * sizeof *gx);
            if (gx) *x = gx;
            int32_t *gy = gx ? realloc(*y, capacity * sizeof *gy) : NULL;
            if (gy) *y = gy;
            if (gx == NULL || gy == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for training data");
        }
        for (size_t i = 0; status == DF_OK && i < pixels; i++) {
            const int32_t l = label_at(labels[k], i);
            if (l <= 0) continue;
            memcpy(*x + total * DF_CLASSICAL_CHANNELS, features + i * DF_CLASSICAL_CHANNELS,
                   DF_CLASSICAL_CHANNELS * sizeof **x);
            (*y)[total++] = l - 1;
        }
        free(features);
    }
    if (status == DF_OK && total == 0) status = dfi_error(DF_E_INVALID_ARG, "the label images have no labelled pixel (> 0)");
    *n = total;
    return status;
}

df_status df_weak_train(df_model *model, const df_image *const *images, const df_image *const *labels, size_t count,
                        const df_options *options, df_weak **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_ARG(model == NULL, "model must be NULL: the classical feature set needs none");
    DFI_CHECK_ARG(count > 0 && images != NULL && labels != NULL, "no images");
    df_weak *weak = calloc(1, sizeof *weak);
    if (weak == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    weak->kind.features = DFI_WEAK_CLASSICAL;
    float *x = NULL;
    int32_t *y = NULL;
    size_t n = 0;
    df_status status = gather(&weak->kind, images, labels, count, &x, &y, &n, &weak->classes);
    if (status == DF_OK) status = df_forest_train(x, y, n, DF_CLASSICAL_CHANNELS, weak->classes, options, &weak->forest);
    free(x);
    free(y);
    if (status != DF_OK) {
        df_weak_free(weak);
        DFI_RETURN(status);
    }
    *out = weak;
    return DF_OK;
}

df_status df_weak_classes(const df_weak *weak, size_t *out) {
    DFI_CHECK_NOT_NULL(weak);
    DFI_CHECK_NOT_NULL(out);
    *out = weak->classes;
    return DF_OK;
}

/* The dense CRF over the forest's probabilities, with the image's colours. */
static df_status refine(const df_image *image, const df_options *options, float *p, size_t classes) {
    df_image *rgb = NULL;
    df_status status = df_image_convert(image, 3, &rgb);
    if (status == DF_OK)
        status = df_crf_infer(df_image_pixels(rgb), df_image_width(image), df_image_height(image), p, classes,
                              DF_CRF_PROBABILITIES, options, p, NULL);
    df_image_free(rgb);
    return status;
}

static df_status predict(const df_weak *weak, const df_image *image, const df_options *options, float *probabilities,
                         int32_t *labels) {
    const size_t n = df_image_width(image) * df_image_height(image), c = weak->classes;
    float *features = NULL, *p = probabilities ? probabilities : malloc(n * c * sizeof *p);
    if (p == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    df_status status = dfi_weak_features(&weak->kind, image, &features);
    if (status == DF_OK) status = df_forest_predict(weak->forest, features, n, p);
    free(features);
    if (status == DF_OK && dfi_option_int(options, DF_PARAM_WEAK_CRF)) status = refine(image, options, p, c);
    for (size_t i = 0; status == DF_OK && labels && i < n; i++) {
        size_t best = 0;
        for (size_t k = 1; k < c; k++)
            if (p[i * c + k] > p[i * c + best]) best = k;
        labels[i] = (int32_t)best + 1;
    }
    if (p != probabilities) free(p);
    return status;
}

df_status df_weak_predict(const df_weak *weak, df_model *model, const df_image *image, const df_options *options,
                          float *probabilities, int32_t *labels) {
    DFI_CHECK_NOT_NULL(weak);
    DFI_CHECK_NOT_NULL(image);
    DFI_CHECK_ARG(model == NULL, "model must be NULL: the classical feature set needs none");
    DFI_RETURN(predict(weak, image, options, probabilities, labels));
}
