/* The one training loop of every trainer: schedule, data-parallel shares, checkpoints, progress. */
#include "trainer_internal.h"
#include "dinofeat/distributed.h"

#include <stdlib.h>

/* The ranks agree before the first step: ranks resumed from different checkpoints, or given other
 * settings, would drift apart silently. */
static df_status agree(df_status status, const dfi_trainer_ops *ops, const void *trainer, const dfi_train_plan *plan) {
    const size_t shared = plan->per_epoch ? plan->items : plan->batch;
    if (status == DF_OK) status = dfi_distributed_check_shares(shared, plan->batch);
    const char *const names[] = {"steps taken", plan->seed_name, "batch", "total steps", "items"};
    const int64_t values[] = {ops->steps_taken(trainer), plan->seed, (int64_t)plan->batch, (int64_t)plan->total,
                              (int64_t)plan->items};
    const df_status agreement = dfi_distributed_agree(status, values, names, 5);
    return status == DF_OK ? agreement : status;
}

df_status dfi_train_loop(df_status status, const dfi_trainer_ops *ops, void *trainer, void *data,
                         const dfi_train_plan *plan, const char *checkpoint, size_t every, df_progress_fn progress,
                         void *user_data) {
    size_t *order = plan->per_epoch ? malloc(plan->items * sizeof *order) : NULL;
    if (status == DF_OK && plan->per_epoch && order == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    status = agree(status, ops, trainer, plan);
    int rank = 0;
    df_distributed_rank(&rank, NULL);
    size_t ordered = (size_t)-1; /* the epoch whose order is in `order` */
    for (size_t s = (size_t)ops->steps_taken(trainer); status == DF_OK && s < plan->total; s++) {
        size_t count = plan->batch, first = 0;
        if (plan->per_epoch) {
            const size_t epoch = s / plan->per_epoch;
            first = (s % plan->per_epoch) * plan->batch;
            if (epoch != ordered) dfi_epoch_order((uint64_t)plan->seed, epoch, plan->items, order), ordered = epoch;
            if (first + count > plan->items) count = plan->items - first;
        }
        /* data-parallel: rank r takes its contiguous share of the batch */
        size_t begin, end;
        dfi_distributed_share(count, &begin, &end);
        status = ops->step(trainer, data, order ? order + first : NULL, count, begin, end);
        const int last = s + 1 == plan->total;
        const int stop = status == DF_OK && progress && progress(user_data, s + 1, plan->total, "steps");
        if (status == DF_OK && rank == 0 && checkpoint && ((every && (s + 1) % every == 0) || last || stop))
            status = ops->save(trainer, checkpoint);
        if (status == DF_OK && stop)
            status = dfi_error(DF_E_CANCELLED, "stopped after %zu of %zu steps%s%s", s + 1, plan->total,
                               checkpoint ? "; saved to " : "", checkpoint ? checkpoint : "");
    }
    free(order);
    return status;
}
