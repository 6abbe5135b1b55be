/* STEGO training over a feature cache and its KNN table: batches drawn from the trainer's
 * generator, periodic atomic checkpoints. */
#include "stego_internal.h"
#include "../trainer/trainer_internal.h"

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

/* The cache items of a step's batch and their KNN partners, drawn (every rank draws them all). */
static void draw_items(df_stego *t, const int32_t *knn, size_t items, size_t k, size_t batch, size_t *chosen,
                       size_t *partners) {
    for (size_t b = 0; b < batch; b++) {
        chosen[b] = (size_t)(dfi_splitmix64(&t->generator) % items);
        const size_t rank = 1 + (size_t)(dfi_splitmix64(&t->generator) % (uint64_t)t->knn_ranks);
        partners[b] = (size_t)knn[chosen[b] * k + rank];
    }
}

/* Cache items into a (count, D, H, W) host buffer. */
static df_status read_items(const df_feature_cache *cache, const size_t *which, size_t count, float *hwd, float *out) {
    size_t items, h, w, d;
    df_feature_cache_shape(cache, &items, &h, &w, &d);
    df_status status = DF_OK;
    for (size_t b = 0; b < count && status == DF_OK; b++) {
        status = df_feature_cache_read(cache, which[b], hwd);
        float *target = out + b * d * h * w;
        for (size_t c = 0; status == DF_OK && c < d; c++) /* (h, w, D) -> (D, h, w) */
            for (size_t p = 0; p < h * w; p++) target[c * h * w + p] = hwd[p * d + c];
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

/* What a step reads: the cache, its KNN table, the labels (may be NULL), and buffers for the batch's
 * items and partners, the share's pool (batch indices) and its items. */
typedef struct step_data {
    const df_feature_cache *cache;
    const int32_t *knn;
    size_t k;
    const df_dataset *labels;
    float *hwd, *f, *fk;
    size_t *chosen, *partners, *pool, *pool_items;
} step_data;

/* The trainer draws its batches: items is NULL and count the batch. */
df_status dfi_stego_batch_step(void *trainer, void *data, const size_t *items, size_t count, size_t begin, size_t end) {
    df_stego *t = trainer;
    step_data *b = data;
    (void)items;
    size_t cached, h, w, d;
    df_feature_cache_shape(b->cache, &cached, &h, &w, &d);
    draw_items(t, b->knn, cached, b->k, count, b->chosen, b->partners);
    dfi_stego_draws draws = {0};
    df_status status = dfi_stego_draw(t, count, &draws);
    size_t pool_count = 0;
    if (status == DF_OK) pool_count = dfi_stego_pool(t, &draws, begin, end, b->pool);
    for (size_t p = 0; p < pool_count; p++) b->pool_items[p] = b->chosen[b->pool[p]];
    const int64_t pool_shape[4] = {(int64_t)pool_count, (int64_t)d, (int64_t)h, (int64_t)w},
                  share_shape[4] = {(int64_t)(end - begin), (int64_t)d, (int64_t)h, (int64_t)w};
    df_tensor *x = NULL, *xk = NULL, *y = NULL;
    if (status == DF_OK) status = read_items(b->cache, b->pool_items, pool_count, b->hwd, b->f);
    if (status == DF_OK) status = read_items(b->cache, b->partners + begin, end - begin, b->hwd, b->fk);
    if (status == DF_OK && b->labels) status = load_labels(b->labels, b->chosen + begin, end - begin, &y);
    if (status == DF_OK) status = df_tensor_borrow_host(b->f, 4, pool_shape, &x);
    if (status == DF_OK) status = df_tensor_borrow_host(b->fk, 4, share_shape, &xk);
    if (status == DF_OK) status = dfi_stego_step(t, &draws, begin, end, b->pool, pool_count, x, xk, y);
    df_tensor_free(x), df_tensor_free(xk), df_tensor_free(y);
    dfi_stego_draws_free(&draws);
    return status;
}

static void free_step_data(step_data *b) {
    free(b->hwd), free(b->f), free(b->fk), free(b->chosen), free(b->partners), free(b->pool), free(b->pool_items);
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
    step_data b = {cache, knn, k, labels, malloc(h * w * d * sizeof(float)), malloc(batch * h * w * d * sizeof(float)),
                   malloc(batch * h * w * d * sizeof(float)), malloc(batch * sizeof(size_t)),
                   malloc(batch * sizeof(size_t)), malloc(batch * sizeof(size_t)), malloc(batch * sizeof(size_t))};
    size_t labelled = 0;
    if (status == DF_OK && !(b.hwd && b.f && b.fk && b.chosen && b.partners && b.pool && b.pool_items))
        status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK && labels && (df_dataset_count(labels, &labelled) != DF_OK || labelled != items))
        status = dfi_error(DF_E_INVALID_ARG, "the labelled dataset has %zu items, the cache %zu", labelled, items);
    const dfi_train_plan plan = {.items = items, .batch = batch, .total = steps, .seed = (int64_t)trainer->generator,
                                 .seed_name = "generator state"};
    status = dfi_train_loop(status, &dfi_stego_ops, trainer, &b, &plan, checkpoint, every, progress, user_data);
    free_step_data(&b);
    DFI_RETURN(status);
}
