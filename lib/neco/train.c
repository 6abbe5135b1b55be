/* NeCo training over a folder's images: epochs in seeded orders, images decoded on worker
 * threads, periodic atomic checkpoints, resumption at any step. */
#include "neco_internal.h"
#include "../trainer/trainer_internal.h"

#include <stdlib.h>

/* Decodes the batch's images in parallel; the first failure is returned. */
static df_status load_images(const df_dataset *dataset, const size_t *items, size_t count, df_image **images) {
    df_status failure = DF_OK;
#pragma omp parallel for schedule(dynamic)
    for (size_t i = 0; i < count; i++) {
        const df_status status = df_dataset_get(dataset, items[i], &images[i], NULL);
        if (status != DF_OK) {
#pragma omp critical
            failure = status;
        }
    }
    return failure;
}

/* What a step reads: the dataset and room for a batch's decoded images. */
typedef struct step_data {
    const df_dataset *dataset;
    df_image **images;
} step_data;

df_status dfi_neco_batch_step(void *trainer, void *data, const size_t *items, size_t count, size_t begin, size_t end) {
    step_data *d = data;
    (void)count;
    df_status status = load_images(d->dataset, items + begin, end - begin, d->images);
    if (status == DF_OK) status = dfi_neco_step(trainer, (const df_image *const *)d->images, end - begin, NULL);
    for (size_t i = 0; i < end - begin; i++) df_image_free(d->images[i]), d->images[i] = NULL;
    return status;
}

static df_status check_schedule(df_neco *t, size_t total, size_t epochs, size_t batch) {
    if (t->batch != 0 && (size_t)t->batch != batch)
        return dfi_error(DF_E_INVALID_ARG, "this training ran with batch %lld; resume it with the same batch",
                         (long long)t->batch);
    if (t->settings.total_steps != 0 && (size_t)t->settings.total_steps != total)
        return dfi_error(DF_E_INVALID_ARG,
                         "the schedules span %lld steps, not the %zu of %zu epochs here: resume with the epochs, batch "
                         "and images the training started with",
                         (long long)t->settings.total_steps, total, epochs);
    return DF_OK;
}

df_status df_neco_train(df_neco *trainer, const df_dataset *dataset, size_t epochs, size_t batch,
                        const char *checkpoint, size_t every, df_progress_fn progress, void *user_data) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(dataset);
    DFI_CHECK_ARG(batch >= 1 && batch <= 65536, "batch must be in 1..65536");
    DFI_CHECK_ARG(epochs >= 1, "epochs must be at least 1");
    /* each image brings 7 x 7 ROI-aligned reference features, and a step draws the whole batch's
     * references from the queue: refused here, before any work, rather than mid-training */
    if (trainer->settings.queue > 0 && (size_t)trainer->settings.queue < batch * 49)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG,
                             "the reference queue (neco.queue %d) must hold at least batch x 49 = %zu entries "
                             "(7 x 7 aligned features an image), or be 0 for none",
                             (int)trainer->settings.queue, batch * 49));
    size_t items = 0;
    df_dataset_count(dataset, &items);
    if (items == 0) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "the dataset has no images"));
    const size_t per_epoch = (items + batch - 1) / batch, total = epochs * per_epoch;
    df_status status = check_schedule(trainer, total, epochs, batch);
    if (status != DF_OK) DFI_RETURN(status);
    trainer->settings.total_steps = (int64_t)total, trainer->batch = (int64_t)batch;
    dfs_neco_set_total_steps(trainer->shim, (int64_t)total);
    step_data data = {dataset, calloc(batch, sizeof *data.images)};
    if (data.images == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    const dfi_train_plan plan = {.items = items, .batch = batch, .per_epoch = per_epoch, .total = total,
                                 .seed = trainer->seed, .seed_name = "seed"};
    status = dfi_train_loop(status, &dfi_neco_ops, trainer, &data, &plan, checkpoint, every, progress, user_data);
    free(data.images);
    DFI_RETURN(status);
}
