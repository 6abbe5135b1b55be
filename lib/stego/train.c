/* STEGO training over a feature cache and its KNN table: batches drawn from the trainer's
 * generator, periodic atomic checkpoints. */
#include "stego_internal.h"

#include <stdlib.h>
#include <string.h>

/* The batch's label images (B, S, S) as an int64 tensor (new), from the labelled dataset. */
static df_status load_labels(const df_dataset *labels, const size_t *items, size_t batch, df_tensor **out) {
    df_image *image = NULL, *marks = NULL;
    df_status status = df_dataset_get(labels, items[0], &image, &marks);
    const size_t w = marks ? df_image_width(marks) : 0, h = marks ? df_image_height(marks) : 0;
    const int64_t shape[3] = {(int64_t)batch, (int64_t)h, (int64_t)w};
    if (status == DF_OK && marks == NULL) status = dfi_error(DF_E_INVALID_ARG, "the dataset has no label folder");
    if (status == DF_OK) status = df_tensor_new(3, shape, DF_DTYPE_INT64, NULL, out);
    df_tensor_view view = {.struct_size = sizeof view};
    if (status == DF_OK) status = df_tensor_view_of(*out, &view);
    for (size_t b = 0; status == DF_OK && b < batch; b++) {
        if (b > 0) {
            df_image_free(image), df_image_free(marks);
            image = marks = NULL;
            status = df_dataset_get(labels, items[b], &image, &marks);
        }
        const uint8_t *p = status == DF_OK ? df_image_pixels(marks) : NULL;
        if (status == DF_OK && (df_image_width(marks) != w || df_image_height(marks) != h || df_image_bit_depth(marks) != 8))
            status = dfi_error(DF_E_INVALID_ARG, "label images must be 8-bit and of one size");
        for (size_t i = 0; status == DF_OK && i < w * h; i++) ((int64_t *)view.data)[b * w * h + i] = p[i];
    }
    df_image_free(image), df_image_free(marks);
    return status;
}

/* Items and their partners for one step, read from the cache into (B, D, H, W) host tensors. */
static df_status load_batch(df_stego *t, const df_feature_cache *cache, const int32_t *knn, size_t k, size_t batch,
                            float *hwd, float *f, float *fk, size_t *chosen) {
    size_t items, h, w, d;
    df_feature_cache_shape(cache, &items, &h, &w, &d);
    df_status status = DF_OK;
    for (size_t b = 0; b < batch && status == DF_OK; b++) {
        const size_t item = (size_t)(dfi_splitmix64(&t->generator) % items);
        chosen[b] = item;
        const size_t rank = 1 + (size_t)(dfi_splitmix64(&t->generator) % (uint64_t)t->knn_ranks);
        const size_t pair[2] = {item, (size_t)knn[item * k + rank]};
        for (int side = 0; side < 2 && status == DF_OK; side++) {
            status = df_feature_cache_read(cache, pair[side], hwd);
            float *target = (side ? fk : f) + b * d * h * w;
            for (size_t c = 0; status == DF_OK && c < d; c++) /* (h, w, D) -> (D, h, w) */
                for (size_t p = 0; p < h * w; p++) target[c * h * w + p] = hwd[p * d + c];
        }
    }
    return status;
}

static df_status check_training(df_stego *t, const df_feature_cache *cache, size_t k) {
    const dfi_model_identity *backbone = dfi_feature_cache_model(cache);
    if (t->has_model && !dfi_model_identity_equal(backbone, &t->model)) {
        char want[256], got[256];
        dfi_model_identity_text(&t->model, want, sizeof want);
        dfi_model_identity_text(backbone, got, sizeof got);
        return dfi_error(DF_E_INVALID_ARG, "the trainer was trained on %s; this cache is of %s", want, got);
    }
    t->has_model = 1, t->model = *backbone;
    size_t items, h, w, d;
    df_feature_cache_shape(cache, &items, &h, &w, &d);
    if ((int64_t)d != t->config.dim)
        return dfi_error(DF_E_INVALID_ARG, "the cache holds %zu-channel features, the trainer takes %lld", d,
                         (long long)t->config.dim);
    if ((size_t)t->knn_ranks >= k)
        return dfi_error(DF_E_INVALID_ARG, "partners come from ranks 1..%lld, the KNN table has %zu columns",
                         (long long)t->knn_ranks, k);
    return DF_OK;
}

static df_status one_step(df_stego *t, const df_feature_cache *cache, const int32_t *knn, size_t k,
                          const df_dataset *labels, size_t batch, float *hwd, float *f, float *fk, size_t *chosen) {
    size_t items, h, w, d;
    df_feature_cache_shape(cache, &items, &h, &w, &d);
    const int64_t shape[4] = {(int64_t)batch, (int64_t)d, (int64_t)h, (int64_t)w};
    df_tensor *x = NULL, *xk = NULL, *y = NULL;
    df_status status = load_batch(t, cache, knn, k, batch, hwd, f, fk, chosen);
    if (status == DF_OK && labels) status = load_labels(labels, chosen, batch, &y);
    if (status == DF_OK) status = df_tensor_borrow_host(f, 4, shape, &x);
    if (status == DF_OK) status = df_tensor_borrow_host(fk, 4, shape, &xk);
    if (status == DF_OK) status = df_stego_head_step(t, x, xk, y, NULL);
    df_tensor_free(x), df_tensor_free(xk), df_tensor_free(y);
    return status;
}

df_status df_stego_train(df_stego *trainer, const df_feature_cache *cache, const int32_t *knn, size_t k,
                         const df_dataset *labels, size_t steps, size_t batch, const char *checkpoint, size_t every,
                         df_progress_fn progress, void *user_data) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(cache);
    DFI_CHECK_NOT_NULL(knn);
    DFI_CHECK_ARG(batch >= 1 && k >= 2, "batch >= 1 and k >= 2");
    df_status status = check_training(trainer, cache, k);
    size_t items, h, w, d;
    df_feature_cache_shape(cache, &items, &h, &w, &d);
    float *hwd = malloc(h * w * d * sizeof *hwd), *f = malloc(batch * h * w * d * sizeof *f),
          *fk = malloc(batch * h * w * d * sizeof *fk);
    size_t *chosen = malloc(batch * sizeof *chosen), labelled = 0;
    if (status == DF_OK && !(hwd && f && fk && chosen)) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK && labels && (df_dataset_count(labels, &labelled) != DF_OK || labelled != items))
        status = dfi_error(DF_E_INVALID_ARG, "the labelled dataset has %zu items, the cache %zu", labelled, items);
    for (size_t s = 0; status == DF_OK && s < steps; s++) {
        status = one_step(trainer, cache, knn, k, labels, batch, hwd, f, fk, chosen);
        const int last = s + 1 == steps;
        if (status == DF_OK && checkpoint && ((every && (s + 1) % every == 0) || last))
            status = df_stego_save(trainer, checkpoint);
        if (status == DF_OK && progress && progress(user_data, s + 1, steps, "steps"))
            status = dfi_error(DF_E_CANCELLED, "cancelled after %zu of %zu steps", s + 1, steps);
    }
    free(hwd), free(f), free(fk), free(chosen);
    DFI_RETURN(status);
}
