/* df_cas_segment: the HR-Dv2 unsupervised class-agnostic segmentation (specs/hrdv2.md section 2),
 * from upsampled features to classes, densities, boxes and the saliency mask. */
#include "cas_steps.h"

#include "../internal.h"
#include "../tensor_internal.h"
#include "dinofeat/cluster.h"
#include "dinofeat/crf.h"
#include "dinofeat/model.h"
#include "dinofeat/regions.h"
#include "dinofeat/segment.h"
#include "dinofeat/upsample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct df_cas_result {
    df_cas_view view;
    /* owned storage behind the view's pointers */
    int32_t *clusters, *class_of_cluster, *classes, *boxes, *box_class;
    float *centroids;
    double *cluster_density, *class_density;
    uint8_t *cluster_foreground, *class_foreground, *saliency;
};

void df_cas_result_free(df_cas_result *r) {
    if (r == NULL) return;
    free(r->clusters);
    free(r->class_of_cluster);
    free(r->classes);
    free(r->boxes);
    free(r->box_class);
    free(r->centroids);
    free(r->cluster_density);
    free(r->class_density);
    free(r->cluster_foreground);
    free(r->class_foreground);
    free(r->saliency);
    free(r);
}

df_status df_cas_result_view(const df_cas_result *result, df_cas_view *out) {
    DFI_CHECK_NOT_NULL(result);
    DFI_CHECK_NOT_NULL(out);
    DFI_CHECK_ARG(out->struct_size >= sizeof *out, "out->struct_size is not sizeof(df_cas_view)");
    size_t size = out->struct_size;
    *out = result->view;
    out->struct_size = size;
    return DF_OK;
}

/* What one run works on. */
typedef struct work {
    const df_options *options;
    df_progress_fn progress;
    void *user_data;
    size_t n, d, heads, w, h;
    float *x;         /* n x d normalised features */
    float *attention; /* n: attention summed over heads */
    const uint8_t *rgb;
} work;

static df_status report(const work *wk, uint64_t done, uint64_t total, const char *stage) {
    if (wk->progress && wk->progress(wk->user_data, done, total, stage) != 0)
        return dfi_error(DF_E_CANCELLED, "cancelled during %s", stage);
    return DF_OK;
}

static df_status oom(void) { return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"); }

/* Step 2: k-means on a sample of the normalised features, then every pixel's cluster. */
static df_status cluster_step(const work *wk, df_cas_result *r) {
    df_options *km = NULL;
    df_status status = wk->options ? df_options_copy(wk->options, &km) : df_options_new(&km);
    if (status != DF_OK) return status;
    if (!dfi_option_is_set(wk->options, DF_PARAM_KMEANS_K)) df_options_set_int(km, DF_PARAM_KMEANS_K, 80);
    if (!dfi_option_is_set(wk->options, DF_PARAM_KMEANS_SAMPLE)) df_options_set_int(km, DF_PARAM_KMEANS_SAMPLE, 50000);
    df_options_set_int(km, DF_PARAM_KMEANS_METRIC, DF_KMEANS_EUCLIDEAN); /* the rows are normalised already */
    int64_t shape[2] = {(int64_t)wk->n, (int64_t)wk->d};
    df_tensor *points = NULL, *labels = NULL;
    df_kmeans *kmeans = NULL;
    const df_tensor *centroids = NULL;
    status = df_tensor_borrow_host(wk->x, 2, shape, &points);
    if (status == DF_OK) status = df_kmeans_fit(points, km, &kmeans);
    if (status == DF_OK) status = df_kmeans_predict(kmeans, points, &labels);
    if (status == DF_OK) status = df_kmeans_centroids(kmeans, &centroids);
    if (status == DF_OK) {
        size_t k = (size_t)df_tensor_numel(centroids) / wk->d;
        r->view.cluster_count = k;
        r->clusters = malloc(wk->n * sizeof *r->clusters);
        r->centroids = malloc(k * wk->d * sizeof *r->centroids);
        int64_t *host_labels = malloc(wk->n * sizeof *host_labels);
        if (r->clusters == NULL || r->centroids == NULL || host_labels == NULL) status = oom();
        if (status == DF_OK) status = df_tensor_copy_to_host(centroids, r->centroids, k * wk->d);
        df_tensor_view lv = {.struct_size = sizeof lv};
        if (status == DF_OK) status = df_tensor_view_of(labels, &lv);
        if (status == DF_OK) memcpy(host_labels, lv.data, wk->n * sizeof *host_labels);
        for (size_t i = 0; status == DF_OK && i < wk->n; i++) r->clusters[i] = (int32_t)host_labels[i];
        free(host_labels);
    }
    df_tensor_free(labels);
    df_kmeans_free(kmeans);
    df_tensor_free(points);
    df_options_free(km);
    return status;
}

/* Steps 3 to 5: densities, the cutoff, complete-linkage merging of the centroids. */
static df_status merge_step(const work *wk, df_cas_result *r) {
    const size_t k = r->view.cluster_count;
    int8_t *side = malloc(k);
    r->cluster_density = malloc(k * sizeof *r->cluster_density);
    r->cluster_foreground = malloc(k);
    r->class_of_cluster = malloc(k * sizeof *r->class_of_cluster);
    df_status status = DF_OK;
    if (side == NULL || r->cluster_density == NULL || r->cluster_foreground == NULL || r->class_of_cluster == NULL ||
        dfi_cas_densities(r->clusters, wk->attention, wk->n, k, r->cluster_density) != 0)
        status = oom();
    if (status == DF_OK) {
        dfi_cas_sides(r->cluster_density, k, side, r->cluster_foreground);
        double edge = dfi_cas_histogram_cutoff(r->centroids, k, wk->d, side,
                                               (int)dfi_option_int(wk->options, DF_PARAM_CAS_BINS));
        if (isnan(edge)) status = oom();
        r->view.cutoff = edge * dfi_option_float(wk->options, DF_PARAM_CAS_CUTOFF_SCALE);
    }
    size_t classes = 0;
    /* Merge while the linkage distance is strictly below the cutoff (the spec; scikit-learn's
     * distance_threshold in the official code): the cutoff can equal a linkage height exactly when
     * the fullest bin is the last, whose edge is the largest distance itself. */
    if (status == DF_OK)
        status = df_agglomerate_complete(r->centroids, k, wk->d, nextafter(r->view.cutoff, -INFINITY), 1,
                                         r->class_of_cluster, &classes);
    r->view.class_count = classes;
    free(side);
    return status;
}

/* Step 6: the merged map, refined by the dense CRF on L1-distance unaries unless switched off. */
static df_status refine_step(const work *wk, df_cas_result *r) {
    const size_t c = r->view.class_count;
    r->classes = malloc(wk->n * sizeof *r->classes);
    if (r->classes == NULL) return oom();
    for (size_t i = 0; i < wk->n; i++) r->classes[i] = r->class_of_cluster[r->clusters[i]];
    if (!dfi_option_int(wk->options, DF_PARAM_CAS_CRF)) return DF_OK;
    float *means = malloc(c * wk->d * sizeof *means), *unary = NULL;
    size_t cells;
    df_status status = DF_OK;
    if (means == NULL || dfi_mul_size(wk->n, c, &cells) != 0 || (unary = malloc(cells * sizeof *unary)) == NULL ||
        dfi_cas_class_means(r->centroids, r->view.cluster_count, wk->d, r->class_of_cluster, c, means) != 0)
        status = oom();
    if (status == DF_OK) {
        dfi_cas_l1_unary(wk->x, wk->n, wk->d, means, c, unary);
        status = df_crf_infer(wk->rgb, wk->w, wk->h, unary, c, DF_CRF_ENERGIES, wk->options, NULL, r->classes);
    }
    free(means);
    free(unary);
    return status;
}

/* The 8-connected components of map (background -1: every pixel counts) with their boxes and areas. */
static df_status components_with_boxes(const int32_t *map, size_t w, size_t h, int32_t background, int32_t *components,
                                       size_t *count, int32_t **boxes, int64_t **areas) {
    df_status status = df_connected_components(map, w, h, 8, background, components, count);
    if (status != DF_OK) return status;
    *boxes = malloc((*count + 1) * 4 * sizeof **boxes);
    *areas = malloc((*count + 1) * sizeof **areas);
    if (*boxes == NULL || *areas == NULL) return oom();
    return df_component_boxes(components, w, h, *count, *boxes, *areas);
}

/* The superbox: around the largest 8-connected component of the saliency mask. */
static df_status superbox_step(const work *wk, df_cas_result *r, int32_t *components) {
    int32_t *mask = malloc(wk->n * sizeof *mask), *boxes = NULL;
    int64_t *areas = NULL;
    size_t count = 0;
    df_status status = mask ? DF_OK : oom();
    for (size_t i = 0; status == DF_OK && i < wk->n; i++) mask[i] = r->saliency[i] != 0;
    if (status == DF_OK) status = components_with_boxes(mask, wk->w, wk->h, 0, components, &count, &boxes, &areas);
    if (status == DF_OK && count > 0) {
        size_t largest = 0;
        for (size_t i = 1; i < count; i++)
            if (areas[i] > areas[largest]) largest = i;
        memcpy(r->view.superbox, boxes + 4 * largest, sizeof r->view.superbox);
        r->view.has_superbox = 1;
    }
    free(mask);
    free(boxes);
    free(areas);
    return status;
}

/* Step 7: class densities on the final map, the foreground, the saliency mask, and the boxes of
 * foreground components larger than the minimum area, less those the superbox replaces. */
static df_status regions_step(const work *wk, df_cas_result *r) {
    const size_t c = r->view.class_count;
    r->class_density = malloc(c * sizeof *r->class_density);
    r->class_foreground = malloc(c);
    r->saliency = malloc(wk->n);
    int8_t *side = malloc(c);
    int32_t *components = malloc(wk->n * sizeof *components), *boxes = NULL;
    int64_t *areas = NULL;
    size_t count = 0;
    df_status status = DF_OK;
    if (r->class_density == NULL || r->class_foreground == NULL || r->saliency == NULL || side == NULL ||
        components == NULL || dfi_cas_densities(r->classes, wk->attention, wk->n, c, r->class_density) != 0)
        status = oom();
    if (status == DF_OK) {
        dfi_cas_sides(r->class_density, c, side, r->class_foreground);
        for (size_t i = 0; i < wk->n; i++) r->saliency[i] = r->class_foreground[r->classes[i]] ? 255 : 0;
        status = superbox_step(wk, r, components);
    }
    if (status == DF_OK) status = components_with_boxes(r->classes, wk->w, wk->h, -1, components, &count, &boxes, &areas);
    if (status == DF_OK) {
        r->boxes = malloc((count + 1) * 4 * sizeof *r->boxes);
        r->box_class = malloc((count + 1) * sizeof *r->box_class);
        if (r->boxes == NULL || r->box_class == NULL) status = oom();
    }
    if (status == DF_OK) {
        /* each component's class: that of its first pixel in raster order */
        int32_t *class_of_component = calloc(count + 1, sizeof *class_of_component);
        if (class_of_component == NULL) status = oom();
        for (size_t i = wk->n; status == DF_OK && i-- > 0;) class_of_component[components[i]] = r->classes[i];
        const int64_t min_area = dfi_option_int(wk->options, DF_PARAM_CAS_MIN_AREA);
        const double limit = dfi_option_float(wk->options, DF_PARAM_CAS_SUPERBOX_IOU);
        size_t kept = 0;
        for (size_t b = 0; status == DF_OK && b < count; b++) {
            if (!r->class_foreground[class_of_component[b + 1]] || areas[b] <= min_area) continue;
            double iou = 0;
            if (r->view.has_superbox) df_box_iou(boxes + 4 * b, r->view.superbox, &iou);
            if (iou > limit) continue;
            memcpy(r->boxes + 4 * kept, boxes + 4 * b, 4 * sizeof *boxes);
            r->box_class[kept++] = class_of_component[b + 1];
        }
        r->view.box_count = kept;
        free(class_of_component);
    }
    free(side);
    free(components);
    free(boxes);
    free(areas);
    return status;
}

static void fill_view(const work *wk, df_cas_result *r) {
    df_cas_view *v = &r->view;
    v->height = (int64_t)wk->h;
    v->width = (int64_t)wk->w;
    v->dim = (int64_t)wk->d;
    v->clusters = r->clusters;
    v->centroids = r->centroids;
    v->cluster_density = r->cluster_density;
    v->cluster_foreground = r->cluster_foreground;
    v->class_of_cluster = r->class_of_cluster;
    v->classes = r->classes;
    v->class_density = r->class_density;
    v->class_foreground = r->class_foreground;
    v->boxes = r->boxes;
    v->box_class = r->box_class;
    v->saliency = r->saliency;
}

static df_status run_steps(work *wk, df_cas_result *r) {
    static const char *const stages[] = {"kmeans", "merge", "crf", "regions"};
    df_status (*const steps[])(const work *, df_cas_result *) = {cluster_step, merge_step, refine_step, regions_step};
    df_status status = DF_OK;
    for (int s = 0; s < 4 && status == DF_OK; s++) {
        status = steps[s](wk, r);
        if (status == DF_OK) status = report(wk, (uint64_t)s + 1, 4, stages[s]);
    }
    if (status == DF_OK) fill_view(wk, r);
    return status;
}

/* Host copies: the features, normalised, and the attention summed over heads. */
static df_status load_inputs(const df_tensor *features, const df_tensor *attention, work *wk) {
    const dfs_tensor_desc *f = dfi_tensor_desc(features), *a = dfi_tensor_desc(attention);
    if (f->ndim != 3 || a->ndim != 3 || f->shape[0] != a->shape[0] || f->shape[1] != a->shape[1] || f->shape[2] < 1 ||
        a->shape[2] < 1 || f->shape[0] < 1 || f->shape[1] < 1)
        return dfi_error(DF_E_INVALID_ARG, "features must be (H, W, D) and attention (H, W, heads) of the same H, W");
    wk->h = (size_t)f->shape[0], wk->w = (size_t)f->shape[1], wk->d = (size_t)f->shape[2];
    wk->heads = (size_t)a->shape[2];
    wk->n = wk->h * wk->w;
    wk->x = malloc(wk->n * wk->d * sizeof *wk->x);
    float *heads = malloc(wk->n * wk->heads * sizeof *heads);
    wk->attention = malloc(wk->n * sizeof *wk->attention);
    df_status status = wk->x && heads && wk->attention ? DF_OK : oom();
    if (status == DF_OK) status = df_tensor_copy_to_host(features, wk->x, wk->n * wk->d);
    if (status == DF_OK) status = df_tensor_copy_to_host(attention, heads, wk->n * wk->heads);
    if (status == DF_OK) {
        dfi_normalise_rows(wk->x, wk->n, wk->d);
        for (size_t i = 0; i < wk->n; i++) {
            float sum = 0;
            for (size_t k = 0; k < wk->heads; k++) sum += heads[i * wk->heads + k];
            wk->attention[i] = sum;
        }
    }
    free(heads);
    return status;
}

static df_status segment_features(const df_tensor *features, const df_tensor *attention, const uint8_t *rgb,
                                  const df_options *options, df_progress_fn progress, void *user_data,
                                  df_cas_result **out) {
    work wk = {.options = options, .progress = progress, .user_data = user_data, .rgb = rgb};
    df_cas_result *r = calloc(1, sizeof *r);
    df_status status = r ? load_inputs(features, attention, &wk) : oom();
    if (status == DF_OK) status = run_steps(&wk, r);
    free(wk.x);
    free(wk.attention);
    if (status != DF_OK) {
        df_cas_result_free(r);
        return status;
    }
    *out = r;
    return DF_OK;
}

df_status df_cas_segment_features(const df_tensor *features, const df_tensor *attention, const uint8_t *rgb,
                                  const df_options *options, df_progress_fn progress, void *user_data,
                                  df_cas_result **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(features);
    DFI_CHECK_NOT_NULL(attention);
    DFI_CHECK_NOT_NULL(rgb);
    DFI_RETURN(segment_features(features, attention, rgb, options, progress, user_data, out));
}

/* The image's pixels back in 0..255 from its ImageNet normalisation, cut as df_upsample cuts. */
static df_status recover_rgb(const df_tensor *image, size_t h, size_t w, uint8_t **out) {
    static const double mean[3] = {0.485, 0.456, 0.406}, std[3] = {0.229, 0.224, 0.225};
    const dfs_tensor_desc *desc = dfi_tensor_desc(image);
    const size_t ih = (size_t)desc->shape[2], iw = (size_t)desc->shape[3];
    float *pixels = malloc(3 * ih * iw * sizeof *pixels);
    uint8_t *rgb = malloc(3 * h * w);
    if (pixels == NULL || rgb == NULL) {
        free(pixels);
        free(rgb);
        return oom();
    }
    df_status status = df_tensor_copy_to_host(image, pixels, 3 * ih * iw);
    /* crop: centred; pad: the top-left h x w is the image itself */
    const size_t top = h <= ih ? dfi_centre_offset(ih - h) : 0, left = w <= iw ? dfi_centre_offset(iw - w) : 0;
    for (size_t y = 0; status == DF_OK && y < h; y++)
        for (size_t x = 0; x < w; x++)
            for (size_t c = 0; c < 3; c++) {
                double v = (pixels[(c * ih + y + top) * iw + x + left] * std[c] + mean[c]) * 255.0;
                rgb[(y * w + x) * 3 + c] = (uint8_t)fmin(255.0, fmax(0.0, round(v)));
            }
    free(pixels);
    if (status != DF_OK) free(rgb);
    else *out = rgb;
    return status;
}

typedef struct upsample_progress {
    df_progress_fn progress;
    void *user_data;
} upsample_progress;

static int forward_upsample_progress(void *user_data, uint64_t done, uint64_t total, const char *stage) {
    (void)stage;
    const upsample_progress *p = user_data;
    return p->progress(p->user_data, done, total, "upsample");
}

static df_status segment_image(df_model *model, const df_tensor *image, const df_options *options,
                               df_progress_fn progress, void *user_data, df_cas_result **out) {
    const dfs_tensor_desc *desc = dfi_tensor_desc(image);
    if (desc->ndim != 4 || desc->shape[0] != 1 || desc->shape[1] != 3)
        return dfi_error(DF_E_INVALID_ARG, "image must have shape (1, 3, H, W)");
    df_options *ups = NULL;
    df_status status = options ? df_options_copy(options, &ups) : df_options_new(&ups);
    if (status != DF_OK) return status;
    if (!dfi_option_is_set(options, DF_PARAM_UPS_ATTENTION)) df_options_set_int(ups, DF_PARAM_UPS_ATTENTION, DF_UPS_ATTN_O);
    if (dfi_option_int(ups, DF_PARAM_UPS_ATTENTION) == DF_UPS_ATTN_NONE)
        status = dfi_error(DF_E_INVALID_ARG, "the workflow needs attention: upsample.attention cannot be none");
    df_options_set_int(ups, DF_PARAM_UPS_ON_DEVICE, 0);
    int64_t pos_interp = DF_POS_INTERP_AUTO;
    if (status == DF_OK) status = df_model_get_int(model, DF_PARAM_MODEL_POS_INTERP, &pos_interp);
    if (status == DF_OK && pos_interp == DF_POS_INTERP_AUTO)
        status = df_model_set_int(model, DF_PARAM_MODEL_POS_INTERP, DF_POS_INTERP_OFFSET);
    df_tensor *features = NULL, *attention = NULL;
    upsample_progress forward = {progress, user_data};
    if (status == DF_OK)
        status = df_upsample(model, image, ups, progress ? forward_upsample_progress : NULL, &forward, &features,
                             &attention);
    if (pos_interp == DF_POS_INTERP_AUTO) df_model_set_int(model, DF_PARAM_MODEL_POS_INTERP, DF_POS_INTERP_AUTO);
    uint8_t *rgb = NULL;
    if (status == DF_OK) {
        int64_t shape[3];
        df_tensor_shape(features, shape, 3);
        status = recover_rgb(image, (size_t)shape[0], (size_t)shape[1], &rgb);
    }
    if (status == DF_OK) status = segment_features(features, attention, rgb, ups, progress, user_data, out);
    free(rgb);
    df_tensor_free(features);
    df_tensor_free(attention);
    df_options_free(ups);
    return status;
}

df_status df_cas_segment(df_model *model, const df_tensor *image, const df_options *options, df_progress_fn progress,
                         void *user_data, df_cas_result **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(image);
    DFI_RETURN(segment_image(model, image, options, progress, user_data, out));
}
