/* df_weak_live: the live scribble loop. The features are computed once; labels live in one plane;
 * a change marks the fit stale and every cached band of predictions invalid. Refitting the whole
 * forest on the labelled pixels (in raster order, as df_weak_train gathers them) costs tens of
 * milliseconds for scribbles, so the loop refits rather than patching trees: its forest is exactly
 * the one a full retrain gives. What it saves is the features and the bands already predicted. */
#include "weak_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows per cached band of predictions: contiguous in the pixel-major features, so one band is one
 * df_forest_predict call. */
#define BAND_ROWS 16
#define MAX_LABEL 65535

struct df_weak_live {
    size_t width, height, channels;
    df_options *options;
    df_weak_kind kind;   /* the classical settings, for df_weak_live_classifier */
    float *features;     /* width x height x channels */
    int32_t *labels;     /* width x height, 0 = unlabelled */
    int stale;           /* labels changed since the last fit */
    df_forest *forest;
    size_t classes;      /* of the forest */
    float *probabilities; /* width x height x classes, valid per band */
    unsigned char *band_valid;
};

void df_weak_live_free(df_weak_live *live) {
    if (live == NULL) return;
    df_options_free(live->options);
    free(live->features);
    free(live->labels);
    df_forest_free(live->forest);
    free(live->probabilities);
    free(live->band_valid);
    free(live);
}

static size_t bands_of(const df_weak_live *live) { return (live->height + BAND_ROWS - 1) / BAND_ROWS; }

static df_status start(df_weak_live *live, const df_image *image) {
    const size_t n = live->width * live->height;
    df_status status = dfi_weak_describe(NULL, live->options, &live->kind);
    if (status != DF_OK) return status;
    live->kind.features = DFI_WEAK_CLASSICAL, live->kind.classifier = DFI_WEAK_FOREST;
    live->channels = live->kind.classical_channels;
    size_t count;
    if (dfi_mul_size(n, live->channels, &count) != 0 || count > SIZE_MAX / sizeof(float))
        return dfi_error(DF_E_LIMIT, "image too large");
    live->features = malloc(count * sizeof *live->features);
    live->labels = calloc(n ? n : 1, sizeof *live->labels);
    live->band_valid = calloc(bands_of(live) + 1, 1);
    if (live->features == NULL || live->labels == NULL || live->band_valid == NULL)
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for the features of a %zu x %zu image", live->width,
                         live->height);
    return df_classical_compute_image(image, live->options, live->features);
}

df_status df_weak_live_new(const df_image *image, const df_options *options, df_weak_live **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(image);
    df_weak_live *live = calloc(1, sizeof *live);
    if (live == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    live->width = df_image_width(image), live->height = df_image_height(image);
    df_status status = options ? df_options_copy(options, &live->options) : df_options_new(&live->options);
    if (status == DF_OK) status = start(live, image);
    if (status != DF_OK) {
        df_weak_live_free(live);
        DFI_RETURN(status);
    }
    *out = live;
    return DF_OK;
}

static void changed(df_weak_live *live) {
    live->stale = 1;
    memset(live->band_valid, 0, bands_of(live));
}

/* Squared distance from (px, py) to the segment a-b. */
static double segment_distance2(double px, double py, double ax, double ay, double bx, double by) {
    const double dx = bx - ax, dy = by - ay, length2 = dx * dx + dy * dy;
    double t = length2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / length2 : 0.0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const double ex = ax + t * dx - px, ey = ay + t * dy - py;
    return ex * ex + ey * ey;
}

/* Paints the pixels within radius of segment a-b; returns how many changed. */
static size_t paint_segment(df_weak_live *live, const float *a, const float *b, double radius, int32_t label) {
    const double x0 = fmin(a[0], b[0]) - radius, x1 = fmax(a[0], b[0]) + radius,
                 y0 = fmin(a[1], b[1]) - radius, y1 = fmax(a[1], b[1]) + radius;
    if (x1 < 0 || y1 < 0 || x0 > (double)live->width - 1 || y0 > (double)live->height - 1) return 0;
    const size_t first_x = x0 < 0 ? 0 : (size_t)ceil(x0), first_y = y0 < 0 ? 0 : (size_t)ceil(y0);
    const size_t last_x = x1 > (double)live->width - 1 ? live->width - 1 : (size_t)floor(x1),
                 last_y = y1 > (double)live->height - 1 ? live->height - 1 : (size_t)floor(y1);
    size_t count = 0;
    for (size_t y = first_y; y <= last_y; y++)
        for (size_t x = first_x; x <= last_x; x++)
            if (segment_distance2((double)x, (double)y, a[0], a[1], b[0], b[1]) <= radius * radius &&
                live->labels[y * live->width + x] != label)
                live->labels[y * live->width + x] = label, count++;
    return count;
}

df_status df_weak_live_stroke(df_weak_live *live, const float *points, size_t count, float radius, int32_t label) {
    DFI_CHECK_NOT_NULL(live);
    DFI_CHECK_ARG(points != NULL && count > 0, "a stroke needs at least one point");
    DFI_CHECK_ARG(isfinite(radius) && radius > 0, "the brush radius must be a positive number");
    if (label < 0 || label > MAX_LABEL)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "label %d: 0 erases, classes are 1..%d", label, MAX_LABEL));
    for (size_t i = 0; i < 2 * count; i++)
        if (!isfinite(points[i]))
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "point %zu of the stroke is not finite", i / 2));
    size_t painted = 0;
    for (size_t i = 0; i < count; i++)
        painted += paint_segment(live, points + 2 * i, points + 2 * (i + 1 < count ? i + 1 : i), radius, label);
    if (painted) changed(live);
    return DF_OK;
}

df_status df_weak_live_set_labels(df_weak_live *live, size_t x, size_t y, size_t width, size_t height,
                                  const int32_t *labels) {
    DFI_CHECK_NOT_NULL(live);
    DFI_CHECK_NOT_NULL(labels);
    if (!(x <= live->width && width <= live->width - x && y <= live->height && height <= live->height - y))
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "the rectangle %zu x %zu at (%zu, %zu) leaves the %zu x %zu image", width,
                             height, x, y, live->width, live->height));
    for (size_t i = 0; i < width * height; i++)
        if (labels[i] < -1 || labels[i] > MAX_LABEL)
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "label %d at %zu: -1 leaves a pixel, 0 erases, classes are 1..%d",
                                 labels[i], i, MAX_LABEL));
    int any = 0;
    for (size_t r = 0; r < height; r++)
        for (size_t c = 0; c < width; c++) {
            const int32_t value = labels[r * width + c];
            int32_t *at = &live->labels[(y + r) * live->width + x + c];
            if (value >= 0 && *at != value) *at = value, any = 1;
        }
    if (any) changed(live);
    return DF_OK;
}

df_status df_weak_live_labels(const df_weak_live *live, int32_t *labels) {
    DFI_CHECK_NOT_NULL(live);
    DFI_CHECK_NOT_NULL(labels);
    memcpy(labels, live->labels, live->width * live->height * sizeof *labels);
    return DF_OK;
}

/* The labelled pixels' features and classes (0-based) in raster order, as df_weak_train gathers
 * them; *classes: the largest label. */
static df_status gather(const df_weak_live *live, float **x, int32_t **y, size_t *count, size_t *classes) {
    const size_t n = live->width * live->height;
    size_t labelled = 0;
    *classes = 0;
    for (size_t i = 0; i < n; i++)
        if (live->labels[i] > 0) {
            labelled++;
            if ((size_t)live->labels[i] > *classes) *classes = (size_t)live->labels[i];
        }
    if (labelled == 0) return dfi_error(DF_E_INVALID_ARG, "no pixel is labelled yet: paint a stroke first");
    *x = malloc(labelled * live->channels * sizeof **x);
    *y = malloc(labelled * sizeof **y);
    if (*x == NULL || *y == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for %zu samples", labelled);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (live->labels[i] > 0) {
            memcpy(*x + k * live->channels, live->features + i * live->channels, live->channels * sizeof **x);
            (*y)[k++] = live->labels[i] - 1;
        }
    *count = labelled;
    return DF_OK;
}

/* A forest on the current labels with `trees` trees and the options' other forest settings. */
static df_status fit_forest(const df_weak_live *live, int64_t trees, df_forest **forest, size_t *classes) {
    float *x = NULL;
    int32_t *y = NULL;
    size_t count = 0;
    df_options *forest_options = NULL;
    df_status status = gather(live, &x, &y, &count, classes);
    if (status == DF_OK) status = df_options_copy(live->options, &forest_options);
    if (status == DF_OK) status = df_options_set_int(forest_options, DF_PARAM_FOREST_TREES, trees);
    if (status == DF_OK) status = df_forest_train(x, y, count, live->channels, *classes, forest_options, forest);
    df_options_free(forest_options);
    free(x);
    free(y);
    return status;
}

static df_status refit(df_weak_live *live) {
    df_forest *forest = NULL;
    size_t classes = 0;
    df_status status = fit_forest(live, dfi_option_int(live->options, DF_PARAM_WEAK_LIVE_TREES), &forest, &classes);
    if (status != DF_OK) return status;
    if (classes != live->classes || live->probabilities == NULL) {
        float *grown = realloc(live->probabilities, live->width * live->height * classes * sizeof *grown);
        if (grown == NULL) {
            df_forest_free(forest);
            return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for the predictions");
        }
        live->probabilities = grown;
    }
    df_forest_free(live->forest);
    live->forest = forest, live->classes = classes, live->stale = 0;
    memset(live->band_valid, 0, bands_of(live));
    return DF_OK;
}

df_status df_weak_live_update(df_weak_live *live) {
    DFI_CHECK_NOT_NULL(live);
    DFI_RETURN(live->stale || live->forest == NULL ? refit(live) : DF_OK);
}

df_status df_weak_live_classes(const df_weak_live *live, size_t *out) {
    DFI_CHECK_NOT_NULL(live);
    DFI_CHECK_NOT_NULL(out);
    *out = live->forest ? live->classes : 0;
    return DF_OK;
}

/* Predicts the invalid bands among first..last: consecutive ones in one call. */
static df_status predict_bands(df_weak_live *live, size_t first, size_t last) {
    for (size_t band = first; band <= last; band++) {
        if (live->band_valid[band]) continue;
        size_t end = band;
        while (end + 1 <= last && !live->band_valid[end + 1]) end++;
        const size_t row = band * BAND_ROWS, rows = ((end + 1) * BAND_ROWS < live->height ? (end + 1) * BAND_ROWS
                                                                                           : live->height) - row;
        const size_t at = row * live->width;
        const df_status status = df_forest_predict(live->forest, live->features + at * live->channels,
                                                   rows * live->width, live->probabilities + at * live->classes);
        if (status != DF_OK) return status;
        memset(live->band_valid + band, 1, end - band + 1);
        band = end;
    }
    return DF_OK;
}

df_status df_weak_live_predict(df_weak_live *live, size_t x, size_t y, size_t width, size_t height,
                               float *probabilities, int32_t *labels) {
    DFI_CHECK_NOT_NULL(live);
    if (!(width > 0 && height > 0 && x <= live->width && width <= live->width - x && y <= live->height &&
          height <= live->height - y))
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "the rectangle %zu x %zu at (%zu, %zu) is empty or leaves the %zu x %zu image",
                             width, height, x, y, live->width, live->height));
    df_status status = live->stale || live->forest == NULL ? refit(live) : DF_OK;
    if (status == DF_OK) status = predict_bands(live, y / BAND_ROWS, (y + height - 1) / BAND_ROWS);
    if (status != DF_OK) DFI_RETURN(status);
    const size_t c = live->classes;
    for (size_t r = 0; r < height; r++)
        for (size_t q = 0; q < width; q++) {
            const float *p = live->probabilities + ((y + r) * live->width + x + q) * c;
            const size_t out = r * width + q;
            if (probabilities) memcpy(probabilities + out * c, p, c * sizeof *p);
            if (labels) {
                size_t best = 0;
                for (size_t k = 1; k < c; k++)
                    if (p[k] > p[best]) best = k;
                labels[out] = (int32_t)best + 1;
            }
        }
    return DF_OK;
}

df_status df_weak_live_classifier(const df_weak_live *live, df_weak **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(live);
    df_weak *weak = calloc(1, sizeof *weak);
    if (weak == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    weak->kind = live->kind;
    weak->channels = live->channels;
    const df_status status =
        fit_forest(live, dfi_option_int(live->options, DF_PARAM_FOREST_TREES), &weak->forest, &weak->classes);
    if (status != DF_OK) {
        df_weak_free(weak);
        DFI_RETURN(status);
    }
    *out = weak;
    return DF_OK;
}
