/* Sempart training over a feature cache and the dataset it was built from: epochs in seeded
 * orders, periodic atomic checkpoints, resumption at any step. */
#include "sempart_internal.h"
#include "../trainer/trainer_internal.h"

#include <stdlib.h>
#include <string.h>

/* One item's normalised image into images (3 x side x side floats). */
static df_status load_image(const df_dataset *dataset, size_t item, size_t side, float *images) {
    df_image *image = NULL;
    df_tensor *tensor = NULL;
    df_status status = df_dataset_get(dataset, item, &image, NULL);
    if (status == DF_OK && (df_image_width(image) != side || df_image_height(image) != side))
        status = dfi_error(DF_E_INVALID_ARG, "item %zu is %zu x %zu, not %zu x %zu", item, df_image_width(image),
                           df_image_height(image), side, side);
    if (status == DF_OK) status = df_image_to_tensor(image, NULL, NULL, &tensor);
    if (status == DF_OK) status = df_tensor_copy_to_host(tensor, images, 3 * side * side);
    df_tensor_free(tensor);
    df_image_free(image);
    return status;
}

/* What a step reads: the cache and its dataset, and buffers for a batch's features and images. */
typedef struct batch_buffers {
    const df_feature_cache *cache;
    const df_dataset *dataset;
    size_t h, w, d, side;
    float *features, *images;
} batch_buffers;

df_status dfi_sempart_batch_step(void *trainer, void *data, const size_t *batch_items, size_t batch_count,
                                 size_t begin, size_t end) {
    const batch_buffers *b = data;
    const size_t *items = batch_items + begin, count = end - begin;
    df_status status = DF_OK;
    (void)batch_count;
    for (size_t i = 0; i < count && status == DF_OK; i++) {
        status = df_feature_cache_read(b->cache, items[i], b->features + i * b->h * b->w * b->d);
        if (status == DF_OK) status = load_image(b->dataset, items[i], b->side, b->images + i * 3 * b->side * b->side);
    }
    const int64_t fshape[4] = {(int64_t)count, (int64_t)b->h, (int64_t)b->w, (int64_t)b->d};
    const int64_t ishape[4] = {(int64_t)count, 3, (int64_t)b->side, (int64_t)b->side};
    df_tensor *f = NULL, *x = NULL;
    if (status == DF_OK) status = df_tensor_borrow_host(b->features, 4, fshape, &f);
    if (status == DF_OK) status = df_tensor_borrow_host(b->images, 4, ishape, &x);
    if (status == DF_OK) status = df_ncut_train(trainer, f, x, NULL);
    df_tensor_free(f), df_tensor_free(x);
    return status;
}

/* The cache must be of the recorded backbone and the trainer's grid and width, the dataset of
 * the cache's items; the batch the one of earlier epochs. */
static df_status check_training(df_sempart *t, const df_feature_cache *cache, const df_dataset *dataset, size_t batch,
                                batch_buffers *b, size_t *items) {
    df_status status = dfi_sempart_same_model(t, dfi_feature_cache_model(cache));
    if (status != DF_OK) return status;
    df_feature_cache_shape(cache, items, &b->h, &b->w, &b->d);
    if ((int64_t)b->h != t->config.grid_height || (int64_t)b->w != t->config.grid_width || (int64_t)b->d != t->config.dim)
        return dfi_error(DF_E_INVALID_ARG, "the cache holds %zu x %zu x %zu features, the network takes %lld x %lld x %lld",
                         b->h, b->w, b->d, (long long)t->config.grid_height, (long long)t->config.grid_width,
                         (long long)t->config.dim);
    size_t count = 0;
    df_dataset_count(dataset, &count);
    if (count != *items) return dfi_error(DF_E_INVALID_ARG, "the dataset has %zu items, the cache %zu", count, *items);
    if (*items == 0) return dfi_error(DF_E_INVALID_ARG, "an empty cache");
    if (t->batch != 0 && (size_t)t->batch != batch)
        return dfi_error(DF_E_INVALID_ARG, "this training ran with batch %lld; resume it with the same batch",
                         (long long)t->batch);
    df_image *first = NULL;
    status = df_dataset_get(dataset, 0, &first, NULL);
    if (status == DF_OK) b->side = df_image_width(first);
    df_image_free(first);
    return status;
}

df_status df_sempart_train(df_sempart *trainer, const df_feature_cache *cache, const df_dataset *dataset,
                           size_t epochs, size_t batch, const char *checkpoint, size_t every, df_progress_fn progress,
                           void *user_data) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(cache);
    DFI_CHECK_NOT_NULL(dataset);
    DFI_CHECK_ARG(batch >= 1 && batch <= 4096, "batch must be in 1..4096");
    batch_buffers b = {0};
    size_t items = 0;
    df_status status = check_training(trainer, cache, dataset, batch, &b, &items);
    if (status == DF_OK)
        trainer->has_model = 1, trainer->model = *dfi_feature_cache_model(cache), trainer->batch = (int64_t)batch;
    const size_t per_epoch = (items + batch - 1) / batch;
    b.cache = cache, b.dataset = dataset;
    b.features = malloc(batch * b.h * b.w * b.d * sizeof(float) + 1);
    b.images = malloc(batch * 3 * b.side * b.side * sizeof(float) + 1);
    if (status == DF_OK && !(b.features && b.images)) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    const dfi_train_plan plan = {.items = items, .batch = batch, .per_epoch = per_epoch, .total = epochs * per_epoch,
                                 .seed = trainer->seed, .seed_name = "seed"};
    status = dfi_train_loop(status, &dfi_sempart_ops, trainer, &b, &plan, checkpoint, every, progress, user_data);
    free(b.features), free(b.images);
    DFI_RETURN(status);
}
