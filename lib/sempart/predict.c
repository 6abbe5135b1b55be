/* Sempart inference: the backbone's features of a resized image, the network's masks, the
 * foreground partition by one of four rules, and the boxes of the foreground's components. */
#include "sempart_internal.h"
#include "dinofeat/regions.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bilinear resampling of a float map as F.interpolate(align_corners=False) does it. */
static void resize_bilinear(const float *in, size_t iw, size_t ih, float *out, size_t ow, size_t oh) {
    const double sx = (double)iw / (double)ow, sy = (double)ih / (double)oh;
    for (size_t y = 0; y < oh; y++) {
        double fy = ((double)y + 0.5) * sy - 0.5;
        if (fy < 0) fy = 0;
        const size_t y0 = (size_t)fy, y1 = y0 + 1 < ih ? y0 + 1 : y0;
        const double wy = fy - (double)y0;
        for (size_t x = 0; x < ow; x++) {
            double fx = ((double)x + 0.5) * sx - 0.5;
            if (fx < 0) fx = 0;
            const size_t x0 = (size_t)fx, x1 = x0 + 1 < iw ? x0 + 1 : x0;
            const double wx = fx - (double)x0;
            const double top = in[y0 * iw + x0] * (1 - wx) + in[y0 * iw + x1] * wx;
            const double bottom = in[y1 * iw + x0] * (1 - wx) + in[y1 * iw + x1] * wx;
            out[y * ow + x] = (float)(top * (1 - wy) + bottom * wy);
        }
    }
}

/* What decides between a partition (mask 1) and its complement on the h x w grid. */
typedef struct partition_facts {
    size_t size[2], corners[2];
    double distance[2], attention[2]; /* summed distances to the centre, summed attention */
    int spans[2];                     /* the bounding box covers the full width or height */
} partition_facts;

static void facts_of(const uint8_t *in, const float *attention, size_t w, size_t h, partition_facts *f) {
    size_t lo_x[2] = {w, w}, hi_x[2] = {0, 0}, lo_y[2] = {h, h}, hi_y[2] = {0, 0};
    memset(f, 0, sizeof *f);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            const int p = in[y * w + x] ? 1 : 0;
            const double dx = ((double)x + 0.5) / (double)w - 0.5, dy = ((double)y + 0.5) / (double)h - 0.5;
            f->size[p]++;
            f->distance[p] += sqrt(dx * dx + dy * dy);
            if (attention) f->attention[p] += attention[y * w + x];
            if ((x == 0 || x + 1 == w) && (y == 0 || y + 1 == h)) f->corners[p]++;
            if (x < lo_x[p]) lo_x[p] = x;
            if (x > hi_x[p]) hi_x[p] = x;
            if (y < lo_y[p]) lo_y[p] = y;
            if (y > hi_y[p]) hi_y[p] = y;
        }
    for (int p = 0; p < 2; p++)
        f->spans[p] = f->size[p] > 0 && ((lo_x[p] == 0 && hi_x[p] + 1 == w) || (lo_y[p] == 0 && hi_y[p] + 1 == h));
}

/* 1 when the partition (mask 1) is the foreground, 0 when its complement is. */
static int partition_is_foreground(const partition_facts *f, df_sempart_select rule) {
    const int smaller = f->size[1] <= f->size[0];
    switch (rule) {
    case DF_SEMPART_SELECT_CENTRALITY: {
        const double mean1 = f->size[1] ? f->distance[1] / (double)f->size[1] : INFINITY;
        const double mean0 = f->size[0] ? f->distance[0] / (double)f->size[0] : INFINITY;
        return mean1 == mean0 ? smaller : mean1 < mean0;
    }
    case DF_SEMPART_SELECT_FRAMING: return f->spans[1] == f->spans[0] ? smaller : f->spans[0];
    case DF_SEMPART_SELECT_ATTENTION: return f->attention[1] == f->attention[0] ? smaller : f->attention[1] > f->attention[0];
    default: return f->corners[1] == f->corners[0] ? smaller : f->corners[1] < f->corners[0];
    }
}

/* The image resized as training saw it (*x, new), its features (1, h, w, D) and, for the
 * attention rule, its [CLS] attention summed over heads (h x w floats, new). */
static df_status backbone(const df_sempart *t, df_model *model, const df_image *image, const df_options *options,
                          int want_attention, df_tensor **x, df_forward **forward, float **attention) {
    int64_t patch = 0, stride = 0;
    df_model_info_int(model, DF_MODEL_INFO_PATCH, &patch);
    df_model_info_int(model, DF_MODEL_INFO_STRIDE, &stride);
    const size_t w = (size_t)((t->config.grid_width - 1) * stride + patch);
    const size_t h = (size_t)((t->config.grid_height - 1) * stride + patch);
    df_image *resized = NULL;
    df_status status = df_image_resize(image, w, h, (df_resize_filter)dfi_option_int(options, DF_PARAM_DATASET_FILTER),
                                       &resized);
    if (status == DF_OK) status = df_image_to_tensor(resized, NULL, NULL, x);
    if (status == DF_OK)
        status = df_model_forward(model, *x, DF_OUTPUT_PATCH | (want_attention ? DF_OUTPUT_CLS_ATTENTION : 0), forward);
    df_image_free(resized);
    const df_tensor *a = NULL;
    if (status == DF_OK && want_attention) status = df_forward_output(*forward, DF_OUTPUT_CLS_ATTENTION, &a);
    if (status != DF_OK || !want_attention) return status;
    const size_t cells = (size_t)(t->config.grid_height * t->config.grid_width), heads = (size_t)df_tensor_numel(a) / cells;
    float *all = malloc(heads * cells * sizeof *all);
    *attention = calloc(cells, sizeof **attention);
    if (all == NULL || *attention == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK) status = df_tensor_copy_to_host(a, all, heads * cells);
    for (size_t k = 0; status == DF_OK && k < heads * cells; k++) (*attention)[k % cells] += all[k];
    free(all);
    return status;
}

/* 255 x the foreground probability, rounded, of n probabilities of the mask's partition. */
static void to_bytes(const float *p, size_t n, int flip, uint8_t *out) {
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)lrint(255.0 * (flip ? 1.0 - p[i] : p[i]));
}

static df_status byte_tensor(size_t height, size_t width, df_tensor **out, uint8_t **data) {
    const int64_t shape[2] = {(int64_t)height, (int64_t)width};
    df_tensor_view view = {.struct_size = sizeof view};
    df_status status = df_tensor_new(2, shape, DF_DTYPE_UINT8, NULL, out);
    if (status == DF_OK) status = df_tensor_view_of(*out, &view);
    *data = (uint8_t *)view.data; /* a tensor just made here: ours to fill */
    return status;
}

static int by_area_descending(const void *a, const void *b) {
    const int32_t *x = a, *y = b;
    const int64_t ax = (int64_t)(x[2] - x[0]) * (x[3] - x[1]), ay = (int64_t)(y[2] - y[0]) * (y[3] - y[1]);
    return ax < ay ? 1 : ax > ay ? -1 : 0;
}

/* The boxes of the 4-connected components of mask > cut (width x height bytes), largest first. */
static df_status component_boxes(const uint8_t *mask, size_t width, size_t height, uint8_t cut, df_tensor **out) {
    const size_t n = width * height;
    int32_t *labels = malloc(n * sizeof *labels), *components = malloc(n * sizeof *components), *boxes = NULL;
    size_t count = 0;
    df_status status = labels && components ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; status == DF_OK && i < n; i++) labels[i] = mask[i] > cut;
    if (status == DF_OK) status = df_connected_components(labels, width, height, 4, 0, components, &count);
    if (status == DF_OK && (boxes = malloc((count + 1) * 4 * sizeof *boxes)) == NULL)
        status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK) status = df_component_boxes(components, width, height, count, boxes, NULL);
    if (status == DF_OK) qsort(boxes, count, 4 * sizeof *boxes, by_area_descending);
    const int64_t shape[2] = {(int64_t)count, 4};
    df_tensor_view view = {.struct_size = sizeof view};
    if (status == DF_OK) status = df_tensor_new(2, shape, DF_DTYPE_INT32, NULL, out);
    if (status == DF_OK) status = df_tensor_view_of(*out, &view);
    if (status == DF_OK && count) memcpy((void *)view.data, boxes, count * 4 * sizeof *boxes);
    free(labels), free(components), free(boxes);
    return status;
}

typedef struct prediction {
    float *coarse, *fine, *fine_full; /* h x w, 8h x 8w, the image's size */
    float *attention;
    uint8_t *partition;
} prediction;

static void prediction_free(prediction *p) {
    free(p->coarse), free(p->fine), free(p->fine_full), free(p->attention), free(p->partition);
}

/* The network's masks of the image into p (host arrays). */
static df_status masks_of(const df_sempart *t, df_model *model, const df_image *image, const df_options *options,
                          int want_attention, prediction *p) {
    df_forward *forward = NULL;
    const df_tensor *features = NULL;
    df_tensor *c = NULL, *f = NULL, *x = NULL;
    const size_t h = (size_t)t->config.grid_height, w = (size_t)t->config.grid_width;
    df_status status = backbone(t, model, image, options, want_attention, &x, &forward, &p->attention);
    if (status == DF_OK) status = df_forward_output(forward, DF_OUTPUT_PATCH, &features);
    if (status == DF_OK) status = df_sempart_forward(t, features, x, 0, &c, &f);
    p->coarse = malloc(h * w * sizeof(float));
    p->fine = malloc(64 * h * w * sizeof(float));
    if (status == DF_OK && !(p->coarse && p->fine)) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK) status = df_tensor_copy_to_host(c, p->coarse, h * w);
    if (status == DF_OK) status = df_tensor_copy_to_host(f, p->fine, 64 * h * w);
    df_tensor_free(c), df_tensor_free(f), df_tensor_free(x), df_forward_free(forward);
    return status;
}

df_status df_sempart_predict(const df_sempart *trainer, df_model *model, const df_image *image,
                             const df_options *options, df_tensor **coarse, df_tensor **fine, df_tensor **boxes) {
    if (coarse) *coarse = NULL;
    if (fine) *fine = NULL;
    if (boxes) *boxes = NULL;
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(image);
    DFI_CHECK_ARG(coarse || fine || boxes, "no output asked for");
    df_status status = df_sempart_check_model(trainer, model);
    if (status != DF_OK) DFI_RETURN(status);
    const df_sempart_select rule = (df_sempart_select)dfi_option_int(options, DF_PARAM_SEMPART_SELECT);
    const double threshold = dfi_option_float(options, DF_PARAM_SEMPART_THRESHOLD);
    const size_t h = (size_t)trainer->config.grid_height, w = (size_t)trainer->config.grid_width;
    const size_t width = df_image_width(image), height = df_image_height(image);
    prediction p = {0};
    status = masks_of(trainer, model, image, options, rule == DF_SEMPART_SELECT_ATTENTION, &p);
    p.partition = malloc(h * w);
    p.fine_full = malloc(width * height * sizeof(float));
    if (status == DF_OK && !(p.partition && p.fine_full)) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    int flip = 0;
    if (status == DF_OK) {
        partition_facts facts;
        for (size_t i = 0; i < h * w; i++) p.partition[i] = p.coarse[i] > threshold;
        facts_of(p.partition, p.attention, w, h, &facts);
        flip = !partition_is_foreground(&facts, rule);
        resize_bilinear(p.fine, 8 * w, 8 * h, p.fine_full, width, height);
    }
    uint8_t *data = NULL, *fine_bytes = NULL;
    df_tensor *fine_mask = NULL;
    if (status == DF_OK && coarse && (status = byte_tensor(h, w, coarse, &data)) == DF_OK) to_bytes(p.coarse, h * w, flip, data);
    if (status == DF_OK && (status = byte_tensor(height, width, &fine_mask, &fine_bytes)) == DF_OK)
        to_bytes(p.fine_full, width * height, flip, fine_bytes);
    if (status == DF_OK && boxes) status = component_boxes(fine_bytes, width, height, (uint8_t)floor(255.0 * threshold), boxes);
    if (status == DF_OK && fine) *fine = fine_mask, fine_mask = NULL;
    df_tensor_free(fine_mask);
    prediction_free(&p);
    if (status != DF_OK) {
        if (coarse) df_tensor_free(*coarse), *coarse = NULL;
        if (boxes) df_tensor_free(*boxes), *boxes = NULL;
    }
    DFI_RETURN(status);
}
