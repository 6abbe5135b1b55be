/* NeCo training over a folder's images: epochs in seeded orders, images decoded on worker
 * threads, periodic atomic checkpoints, resumption at any step. */
#include "neco_internal.h"
#include "dinofeat/distributed.h"

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
    size_t *order = malloc(items * sizeof *order);
    df_image **images = calloc(batch, sizeof *images);
    if (!(order && images)) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    size_t ordered = (size_t)-1; /* the epoch whose order is in `order` */
    int rank = 0;
    df_distributed_rank(&rank, NULL);
    status = dfi_distributed_start_epochs(status, items, batch, epochs, dfs_neco_steps(trainer->shim), trainer->seed);
    for (size_t s = (size_t)dfs_neco_steps(trainer->shim); status == DF_OK && s < total; s++) {
        const size_t epoch = s / per_epoch, first = (s % per_epoch) * batch;
        if (epoch != ordered) dfi_epoch_order((uint64_t)trainer->seed, epoch, items, order), ordered = epoch;
        const size_t count = first + batch <= items ? batch : items - first;
        /* data-parallel: rank r takes its contiguous share of the batch */
        size_t begin, end;
        dfi_distributed_share(count, &begin, &end);
        status = load_images(dataset, order + first + begin, end - begin, images);
        if (status == DF_OK) status = dfi_neco_step(trainer, (const df_image *const *)images, end - begin, NULL);
        for (size_t i = 0; i < end - begin; i++) df_image_free(images[i]), images[i] = NULL;
        if (status == DF_OK && rank == 0 && checkpoint && ((every && (s + 1) % every == 0) || s + 1 == total))
            status = df_neco_save(trainer, checkpoint);
        if (status == DF_OK && progress && progress(user_data, s + 1, total, "steps"))
            status = dfi_error(DF_E_CANCELLED, "cancelled after %zu of %zu steps", s + 1, total);
    }
    free(order), free(images);
    DFI_RETURN(status);
}
