/* The public view of any trainer (dinofeat/trainer.h), through its operations table. */
#include "trainer_internal.h"

df_trainer *dfi_trainer_view(df_trainer *view, const dfi_trainer_ops *ops, void *self) {
    view->ops = ops, view->self = self;
    return view;
}

df_status df_trainer_steps(const df_trainer *trainer, int64_t *steps) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(steps);
    *steps = trainer->ops->steps_taken(trainer->self);
    return DF_OK;
}

df_status df_trainer_losses(const df_trainer *trainer, double *values, const char **names, size_t capacity,
                            size_t *count) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(count);
    const dfi_trainer_ops *ops = trainer->ops;
    double all[16];
    ops->last_losses(trainer->self, all);
    *count = ops->loss_count;
    for (size_t i = 0; i < capacity && i < ops->loss_count; i++) {
        if (values) values[i] = all[i];
        if (names) names[i] = ops->loss_names[i];
    }
    return DF_OK;
}

df_status df_trainer_save(const df_trainer *trainer, const char *path) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(path);
    DFI_RETURN(trainer->ops->save(trainer->self, path));
}
