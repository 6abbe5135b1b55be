/* A DatUS² run over a dataset (specs/datus.md): per-image records in the store (store.c), the
 * dataset's k-means over every valid segment (step 7), pseudo masks (step 8) and the optional
 * de-noising segmenter (step 9). */
#include "datus_internal.h"
#include "../../shim/df_shim.h"
#include "datus_shim.h"
#include "dinofeat/cluster.h"

#include <stdlib.h>
#include <string.h>

void df_datus_free(df_datus *run) {
    if (run == NULL) return;
    if (run->file) fclose(run->file);
    for (size_t i = 0; i < run->count; i++) {
        free(run->records[i].name);
        free(run->records[i].grid);
    }
    free(run->records);
    free(run->features);
    free(run->clusters);
    free(run->path);
    free(run);
}

df_status df_datus_open(const char *path, const df_options *options, df_datus **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(path);
    df_datus *run = calloc(1, sizeof *run);
    if (run == NULL || (run->path = strdup(path)) == NULL) {
        free(run);
        DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    }
    run->settings = (dfi_datus_settings){dfi_option_int(options, DF_PARAM_DATUS_THRESHOLD),
                                         dfi_option_int(options, DF_PARAM_DATUS_SIZE),
                                         dfi_option_int(options, DF_PARAM_DATUS_RESIZE),
                                         dfi_option_int(options, DF_PARAM_DATUS_CROP),
                                         dfi_option_int(options, DF_PARAM_DATUS_SEED)};
    df_status status = run->settings.crop <= run->settings.resize
                           ? dfi_datus_store_open(run)
                           : dfi_error(DF_E_INVALID_ARG, "datus.crop %lld exceeds datus.resize %lld",
                                       (long long)run->settings.crop, (long long)run->settings.resize);
    if (status != DF_OK) {
        df_datus_free(run);
        DFI_RETURN(status);
    }
    *out = run;
    return DF_OK;
}

static int find(const df_datus *run, const char *name, size_t *index) {
    for (size_t i = 0; i < run->count; i++)
        if (strcmp(run->records[i].name, name) == 0) {
            if (index) *index = i;
            return 1;
        }
    return 0;
}

static df_status check_new_name(const df_datus *run, const char *name) {
    if (name[0] == 0) return dfi_error(DF_E_INVALID_ARG, "an image's name is empty");
    return find(run, name, NULL) ? dfi_error(DF_E_INVALID_ARG, "'%s' is recorded already", name) : DF_OK;
}

static df_status check_dim(const df_datus *run, size_t dim) {
    if (dim == 0 || dim > UINT32_MAX) return dfi_error(DF_E_INVALID_ARG, "feature dimension %zu", dim);
    if (run->dim != 0 && run->dim != dim)
        return dfi_error(DF_E_INVALID_ARG, "%s holds %zu-dimensional features, not %zu: another model's store?",
                         run->path, run->dim, dim);
    return DF_OK;
}

df_status df_datus_add_segments(df_datus *run, const char *name, size_t width, size_t height, const int32_t *segments,
                                size_t gh, size_t gw, const float *features, size_t count, size_t dim) {
    DFI_CHECK_NOT_NULL(run);
    DFI_CHECK_NOT_NULL(name);
    DFI_CHECK_NOT_NULL(segments);
    DFI_CHECK_ARG(count == 0 || features != NULL, "features is NULL");
    DFI_CHECK_ARG(width > 0 && height > 0 && width <= UINT32_MAX && height <= UINT32_MAX, "image size");
    DFI_CHECK_ARG(gh > 0 && gw > 0 && gh <= 65535 && gw <= 65535 && count < UINT32_MAX, "grid size");
    df_status status = check_new_name(run, name);
    if (status == DF_OK) status = check_dim(run, dim);
    for (size_t i = 0; status == DF_OK && i < gh * gw; i++)
        if (segments[i] < 0 || (size_t)segments[i] > count)
            status = dfi_error(DF_E_INVALID_ARG, "segment id %d at patch %zu is outside 0..%zu", segments[i], i, count);
    if (status == DF_OK)
        status = dfi_datus_store_append(run, name, (uint32_t)width, (uint32_t)height, segments, (uint32_t)gh,
                                        (uint32_t)gw, features, (uint32_t)count, dim);
    DFI_RETURN(status);
}

/* The image as RGB, resized to size x size and cut to whole patches from the top left, so the
 * patch grid starts at pixel (0, 0) as the crops assume. */
static df_status prepare(const df_image *image, size_t size, size_t patch, df_image **out) {
    df_image *rgb = NULL, *sized = NULL;
    const size_t side = size / patch * patch;
    if (side == 0) return dfi_error(DF_E_INVALID_ARG, "datus.size %zu is smaller than a %zu-pixel patch", size, patch);
    if (df_image_bit_depth(image) != 8)
        return dfi_error(DF_E_UNSUPPORTED, "%zu-bit images: convert to 8-bit first", df_image_bit_depth(image));
    df_status status = df_image_convert(image, 3, &rgb);
    if (status == DF_OK) status = df_image_resize(rgb, size, size, DF_RESIZE_BICUBIC, &sized);
    if (status == DF_OK) status = df_image_from_pixels(df_image_pixels(sized), side, side, 3, 8, size * 3, out);
    df_image_free(sized);
    df_image_free(rgb);
    return status;
}

/* The last block's keys of the patch tokens (gh * gw x dim, new) and the grid. */
static df_status patch_keys(df_model *model, const df_image *picture, float **keys, size_t *gh, size_t *gw,
                            size_t dim) {
    df_tensor *x = NULL;
    df_forward *forward = NULL;
    const df_tensor *k = NULL, *patches = NULL;
    int64_t shape[4], kshape[3];
    float *all = NULL;
    df_status status = df_image_to_tensor(picture, NULL, NULL, &x);
    if (status == DF_OK) status = df_model_forward(model, x, DF_OUTPUT_K | DF_OUTPUT_PATCH, &forward);
    if (status == DF_OK) status = df_forward_output(forward, DF_OUTPUT_K, &k);
    if (status == DF_OK) status = df_forward_output(forward, DF_OUTPUT_PATCH, &patches);
    if (status == DF_OK) status = df_tensor_shape(patches, shape, 4);
    if (status == DF_OK) status = df_tensor_shape(k, kshape, 3);
    if (status == DF_OK) {
        *gh = (size_t)shape[1], *gw = (size_t)shape[2];
        all = malloc((size_t)kshape[1] * dim * sizeof *all);
        *keys = malloc(*gh * *gw * dim * sizeof **keys);
        status = all && *keys ? df_tensor_copy_to_host(k, all, (size_t)kshape[1] * dim)
                              : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    if (status == DF_OK) /* [CLS] and registers come first */
        memcpy(*keys, all + ((size_t)kshape[1] - *gh * *gw) * dim, *gh * *gw * dim * sizeof **keys);
    free(all);
    df_forward_free(forward);
    df_tensor_free(x);
    return status;
}

static df_status add_picture(df_datus *run, df_model *model, const char *name, const df_image *image,
                             const df_image *picture, size_t dim) {
    float *keys = NULL, *features = NULL;
    int32_t *segments = NULL;
    size_t gh = 0, gw = 0, count = 0;
    const dfi_datus_settings *s = &run->settings;
    df_status status = patch_keys(model, picture, &keys, &gh, &gw, dim);
    if (status == DF_OK) {
        segments = malloc(gh * gw * sizeof *segments);
        status = segments ? df_datus_segments(keys, gh, gw, dim, (size_t)s->threshold, (uint64_t)s->seed, segments,
                                              &count, NULL)
                          : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    if (status == DF_OK) {
        features = malloc((count ? count : 1) * dim * sizeof *features);
        status = features ? df_datus_crop_features(model, picture, segments, gh, gw, count, (size_t)s->resize,
                                                   (size_t)s->crop, features)
                          : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    if (status == DF_OK)
        status = dfi_datus_store_append(run, name, (uint32_t)df_image_width(image), (uint32_t)df_image_height(image),
                                        segments, (uint32_t)gh, (uint32_t)gw, features, (uint32_t)count, dim);
    free(features);
    free(segments);
    free(keys);
    return status;
}

df_status df_datus_add_image(df_datus *run, df_model *model, const char *name, const df_image *image) {
    DFI_CHECK_NOT_NULL(run);
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(name);
    DFI_CHECK_NOT_NULL(image);
    int64_t patch = 0, dim = 0;
    df_image *picture = NULL;
    df_status status = check_new_name(run, name);
    if (status == DF_OK) status = df_model_info_int(model, DF_MODEL_INFO_PATCH, &patch);
    if (status == DF_OK) status = df_model_info_int(model, DF_MODEL_INFO_DIM, &dim);
    if (status == DF_OK) status = check_dim(run, (size_t)dim);
    if (status == DF_OK) status = prepare(image, (size_t)run->settings.size, (size_t)patch, &picture);
    if (status == DF_OK) status = add_picture(run, model, name, image, picture, (size_t)dim);
    df_image_free(picture);
    DFI_RETURN(status);
}

df_status df_datus_images(const df_datus *run, size_t *count) {
    DFI_CHECK_NOT_NULL(run);
    DFI_CHECK_NOT_NULL(count);
    *count = run->count;
    return DF_OK;
}

df_status df_datus_find(const df_datus *run, const char *name, int *found, size_t *index) {
    DFI_CHECK_NOT_NULL(run);
    DFI_CHECK_NOT_NULL(name);
    DFI_CHECK_NOT_NULL(found);
    size_t at = 0;
    *found = find(run, name, &at);
    if (*found && index) *index = at;
    return DF_OK;
}

static df_status check_index(const df_datus *run, size_t index) {
    return index < run->count ? DF_OK : dfi_error(DF_E_INVALID_ARG, "image %zu of %zu", index, run->count);
}

df_status df_datus_image(const df_datus *run, size_t index, const char **name, size_t *width, size_t *height,
                         size_t *segments) {
    DFI_CHECK_NOT_NULL(run);
    df_status status = check_index(run, index);
    if (status != DF_OK) DFI_RETURN(status);
    const dfi_datus_record *r = &run->records[index];
    if (name) *name = r->name;
    if (width) *width = r->width;
    if (height) *height = r->height;
    if (segments) *segments = r->count;
    return DF_OK;
}

df_status df_datus_grid(const df_datus *run, size_t index, const int32_t **segments, size_t *gh, size_t *gw) {
    DFI_CHECK_NOT_NULL(run);
    DFI_CHECK_NOT_NULL(segments);
    DFI_CHECK_NOT_NULL(gh);
    DFI_CHECK_NOT_NULL(gw);
    df_status status = check_index(run, index);
    if (status != DF_OK) DFI_RETURN(status);
    *segments = run->records[index].grid;
    *gh = run->records[index].gh, *gw = run->records[index].gw;
    return DF_OK;
}

/* The features projected on their first `components` principal components (new). */
static df_status project(const df_datus *run, size_t components, float **out) {
    if (components > run->dim)
        return dfi_error(DF_E_INVALID_ARG, "datus.pca %zu exceeds the features' %zu dimensions", components, run->dim);
    *out = malloc(run->segments * components * sizeof **out);
    if (*out == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    df_status status = dfs_pca_project(run->features, (int64_t)run->segments, (int64_t)run->dim,
                                       (int64_t)components, *out);
    return status == DF_OK ? DF_OK : dfi_error(status, "PCA: %s", dfs_last_error());
}

static df_status assign(df_datus *run, const float *points, size_t dim, const df_options *options) {
    const int64_t shape[2] = {(int64_t)run->segments, (int64_t)dim};
    df_tensor *x = NULL, *labels = NULL;
    df_kmeans *kmeans = NULL;
    float *ids = malloc(run->segments * sizeof *ids);
    int32_t *clusters = malloc(run->segments * sizeof *clusters);
    df_status status = ids && clusters ? df_tensor_borrow_host(points, 2, shape, &x)
                                       : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK) status = df_kmeans_fit(x, options, &kmeans);
    if (status == DF_OK) status = df_kmeans_predict(kmeans, x, &labels);
    if (status == DF_OK) status = df_tensor_copy_to_host(labels, ids, run->segments);
    for (size_t i = 0; status == DF_OK && i < run->segments; i++) clusters[i] = (int32_t)ids[i];
    if (status == DF_OK) {
        free(run->clusters);
        run->clusters = clusters, clusters = NULL;
    }
    free(clusters);
    free(ids);
    df_tensor_free(labels);
    df_kmeans_free(kmeans);
    df_tensor_free(x);
    return status;
}

df_status df_datus_cluster(df_datus *run, const df_options *options) {
    DFI_CHECK_NOT_NULL(run);
    const int64_t k = dfi_option_int(options, DF_PARAM_KMEANS_K);
    const size_t components = (size_t)dfi_option_int(options, DF_PARAM_DATUS_PCA);
    if (k > DF_DATUS_NOISE) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "at most %d clusters (%d marks noise), not %lld",
                                                 DF_DATUS_NOISE, DF_DATUS_NOISE, (long long)k));
    if ((size_t)k > run->segments)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "%lld clusters but %zu valid segments recorded", (long long)k,
                             run->segments));
    float *projected = NULL;
    df_status status = components > 0 ? project(run, components, &projected) : DF_OK;
    if (status == DF_OK)
        status = assign(run, projected ? projected : run->features, projected ? components : run->dim, options);
    free(projected);
    DFI_RETURN(status);
}

df_status df_datus_segment_clusters(const df_datus *run, size_t index, const int32_t **clusters) {
    DFI_CHECK_NOT_NULL(run);
    DFI_CHECK_NOT_NULL(clusters);
    df_status status = check_index(run, index);
    if (status == DF_OK && run->clusters == NULL)
        status = dfi_error(DF_E_INVALID_ARG, "no clusters yet: call df_datus_cluster after the last image");
    if (status != DF_OK) DFI_RETURN(status);
    *clusters = run->clusters + run->records[index].first;
    return DF_OK;
}

df_status df_datus_mask(const df_datus *run, size_t index, size_t width, size_t height, uint8_t *mask) {
    const int32_t *clusters = NULL;
    DFI_CHECK_NOT_NULL(mask);
    DFI_CHECK_ARG(width > 0 && height > 0, "mask size");
    df_status status = df_datus_segment_clusters(run, index, &clusters);
    if (status != DF_OK) return status;
    const dfi_datus_record *r = &run->records[index];
    for (size_t y = 0; y < height; y++) { /* torch's 'nearest': source floor(y * gh / height) */
        const size_t gy = (size_t)((double)y * r->gh / (double)height);
        for (size_t x = 0; x < width; x++) {
            const size_t gx = (size_t)((double)x * r->gw / (double)width);
            const int32_t id = r->grid[gy * r->gw + gx];
            mask[y * width + x] = id == 0 ? DF_DATUS_NOISE : (uint8_t)clusters[id - 1];
        }
    }
    return DF_OK;
}
