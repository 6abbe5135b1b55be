/* df_weak: train a classifier from scribbles and segment images with it (specs/hrdv2.md
 * section 3): a feature set (features.c), a random forest or logistic regression. */
#include "weak_internal.h"
#include "dinofeat/crf.h"

#include <stdlib.h>
#include <string.h>

void df_weak_free(df_weak *weak) {
    if (weak == NULL) return;
    df_forest_free(weak->forest);
    df_logreg_free(weak->logreg);
    free(weak);
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

/* The labelled pixels of label image k: all of them, or `samples` of them drawn with a seed of
 * k, so that dense labels (DatUS² pseudo masks) do not need every pixel's features. */
static size_t pick_labelled(const df_image *labels, size_t k, size_t samples, size_t *picked) {
    const size_t pixels = df_image_width(labels) * df_image_height(labels);
    size_t labelled = 0;
    for (size_t i = 0; i < pixels; i++)
        if (label_at(labels, i) > 0) picked[labelled++] = i;
    if (samples == 0 || labelled <= samples) return labelled;
    uint64_t state = 0x5eed0000u + k;
    for (size_t i = 0; i < samples; i++) { /* partial Fisher-Yates */
        const size_t j = i + (size_t)(dfi_splitmix64(&state) % (labelled - i)), t = picked[i];
        picked[i] = picked[j], picked[j] = t;
    }
    for (size_t i = 1; i < samples; i++) /* back in raster order: insertion sort keeps it exact */
        for (size_t j = i; j > 0 && picked[j - 1] > picked[j]; j--) {
            const size_t t = picked[j];
            picked[j] = picked[j - 1], picked[j - 1] = t;
        }
    return samples;
}

static df_status grow(float **x, int32_t **y, size_t *capacity, size_t needed, size_t channels) {
    if (needed <= *capacity) return DF_OK;
    *capacity = 2 * needed;
    float *gx = realloc(*x, *capacity * channels * sizeof *gx);
    if (gx) *x = gx;
    int32_t *gy = gx ? realloc(*y, *capacity * sizeof *gy) : NULL;
    if (gy) *y = gy;
    return gx && gy ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for training data");
}

/* The labelled (or sampled) pixels' features and classes (0-based) of every image. */
static df_status gather(const df_weak_kind *kind, df_model *model, const df_image *const *images,
                        const df_image *const *labels, size_t count, size_t samples, float **x, int32_t **y,
                        size_t *n, size_t *classes) {
    const size_t channels = dfi_weak_channels(kind);
    size_t total = 0, capacity = 0;
    *classes = 0;
    df_status status = DF_OK;
    for (size_t k = 0; k < count && status == DF_OK; k++) {
        status = check_pair(images[k], labels[k], k);
        if (status != DF_OK) break;
        const size_t pixels = df_image_width(labels[k]) * df_image_height(labels[k]);
        size_t *picked = malloc((pixels ? pixels : 1) * sizeof *picked);
        if (picked == NULL) {
            status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
            break;
        }
        for (size_t i = 0; i < pixels; i++)
            if ((size_t)label_at(labels[k], i) > *classes) *classes = (size_t)label_at(labels[k], i);
        const size_t used = pick_labelled(labels[k], k, samples, picked);
        float *features = NULL;
        if (used > 0) status = dfi_weak_features(kind, model, images[k], &features);
        if (used > 0 && status == DF_OK) status = grow(x, y, &capacity, total + used, channels);
        for (size_t i = 0; used > 0 && status == DF_OK && i < used; i++) {
            memcpy(*x + total * channels, features + picked[i] * channels, channels * sizeof **x);
            (*y)[total++] = label_at(labels[k], picked[i]) - 1;
        }
        free(features);
        free(picked);
    }
    if (status == DF_OK && total == 0) status = dfi_error(DF_E_INVALID_ARG, "the label images have no labelled pixel (> 0)");
    *n = total;
    return status;
}

static df_status choose(df_model *model, const df_options *options, df_weak_kind *kind) {
    kind->features = (dfi_weak_features_kind)dfi_option_int(options, DF_PARAM_WEAK_FEATURES);
    const int64_t classifier = dfi_option_int(options, DF_PARAM_WEAK_CLASSIFIER);
    kind->classifier = classifier == DF_WEAK_FOREST   ? DFI_WEAK_FOREST
                       : classifier == DF_WEAK_LOGREG ? DFI_WEAK_LOGREG
                       : kind->features == DFI_WEAK_CLASSICAL ? DFI_WEAK_FOREST
                                                              : DFI_WEAK_LOGREG;
    if (kind->features == DFI_WEAK_CLASSICAL && model != NULL)
        return dfi_error(DF_E_INVALID_ARG, "model must be NULL for the classical feature set");
    if (kind->features != DFI_WEAK_CLASSICAL && model == NULL)
        return dfi_error(DF_E_INVALID_ARG, "the deep and hybrid feature sets need a model");
    return dfi_weak_describe(kind->features == DFI_WEAK_CLASSICAL ? NULL : model, options, kind);
}

static df_status fit(df_weak *weak, const float *x, const int32_t *y, size_t n, const df_options *options) {
    if (weak->kind.classifier == DFI_WEAK_FOREST)
        return df_forest_train(x, y, n, weak->channels, weak->classes, options, &weak->forest);
    if (weak->classes < 2) return dfi_error(DF_E_INVALID_ARG, "logistic regression needs at least 2 classes");
    return df_logreg_train(x, y, n, weak->channels, weak->classes, options, &weak->logreg);
}

df_status df_weak_train(df_model *model, const df_image *const *images, const df_image *const *labels, size_t count,
                        const df_options *options, df_weak **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_ARG(count > 0 && images != NULL && labels != NULL, "no images");
    df_weak *weak = calloc(1, sizeof *weak);
    if (weak == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    float *x = NULL;
    int32_t *y = NULL;
    size_t n = 0;
    df_status status = choose(model, options, &weak->kind);
    weak->channels = dfi_weak_channels(&weak->kind);
    if (status == DF_OK) status = gather(&weak->kind, model, images, labels, count,
                                          (size_t)dfi_option_int(options, DF_PARAM_WEAK_SAMPLES), &x, &y, &n,
                                          &weak->classes);
    if (status == DF_OK) status = fit(weak, x, y, n, options);
    free(x);
    free(y);
    if (status != DF_OK) {
        df_weak_free(weak);
        DFI_RETURN(status);
    }
    *out = weak;
    return DF_OK;
}

df_status df_weak_feature_set(const df_weak *weak, df_weak_features *out) {
    DFI_CHECK_NOT_NULL(weak);
    DFI_CHECK_NOT_NULL(out);
    *out = (df_weak_features)weak->kind.features;
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

static df_status predict(const df_weak *weak, df_model *model, const df_image *image, const df_options *options,
                         float *probabilities, int32_t *labels) {
    const size_t n = df_image_width(image) * df_image_height(image), c = weak->classes;
    float *features = NULL, *p = probabilities ? probabilities : malloc(n * c * sizeof *p);
    if (p == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    df_status status = dfi_weak_features(&weak->kind, model, image, &features);
    if (status == DF_OK)
        status = weak->forest ? df_forest_predict(weak->forest, features, n, p) : df_logreg_predict(weak->logreg, features, n, p);
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
    df_status status = dfi_weak_check_model(&weak->kind, model);
    if (status == DF_OK && weak->kind.features == DFI_WEAK_CLASSICAL && model != NULL)
        status = dfi_error(DF_E_INVALID_ARG, "model must be NULL for the classical feature set");
    if (status == DF_OK) status = predict(weak, weak->kind.features == DFI_WEAK_CLASSICAL ? NULL : model, image,
                                          options, probabilities, labels);
    DFI_RETURN(status);
}
