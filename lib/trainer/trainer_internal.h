/* What every trainer (STEGO, Sempart, NeCo) is to the code they share: one training loop
 * (schedule, data-parallel shares and agreement, periodic and on-stop checkpoints, progress) and
 * one way to write and read their state arrays in a container file. A trainer is a table of
 * these operations; the loop and the files know nothing else about it. */
#ifndef DINOFEAT_LIB_TRAINER_INTERNAL_H
#define DINOFEAT_LIB_TRAINER_INTERNAL_H

#include "../internal.h"
#include "dinofeat/tensor.h"
#include "dinofeat/trainer.h"

#include <stdio.h>

typedef struct dfi_trainer_ops {
    /* The steps taken so far (a loaded trainer's count included). */
    int64_t (*steps_taken)(const void *trainer);
    /* One step on this rank's share [begin, end) of a batch of count items: items holds the
     * batch's item numbers, or is NULL when the trainer draws its batches itself. */
    df_status (*step)(void *trainer, void *data, const size_t *items, size_t count, size_t begin, size_t end);
    /* Writes the whole trainer to path atomically. */
    df_status (*save)(const void *trainer, const char *path);
    /* The losses a step reports: their count, names and the last step's values. */
    size_t loss_count;
    const char *const *loss_names;
    void (*last_losses)(const void *trainer, double *values);

    /* The state arrays, in file order: state_count states, each arrays(i) arrays (its value and
     * optimiser moments, say) of numel(i) float32 values. */
    int32_t (*state_count)(const void *trainer);
    int32_t (*state_arrays)(const void *trainer, int32_t index);
    size_t (*state_numel)(const void *trainer, int32_t index);
    /* Reads (write 0) or replaces (write 1) array `which` of state index. */
    df_status (*state_access)(void *trainer, int32_t index, int32_t which, float *values, int write);
    /* Builds the trainer's network from the states' first arrays (their values) when loading; the
     * other arrays are then written through state_access. NULL: the network already exists and
     * every array is written through state_access. */
    df_status (*create)(void *trainer, const float *const *values);
    /* Moves the trainer to a device that dfi_trainer_device accepted; NULL: it stays where its
     * backbone is (NeCo). */
    df_status (*to_device)(void *trainer, df_device_type type, int32_t id);
} dfi_trainer_ops;

/* The device named by a trainer's setting `what` (say "stego.device"): DF_E_INVALID_ARG for a name
 * that is no device, DF_E_UNSUPPORTED saying why for one this build or machine lacks. */
df_status dfi_trainer_device(const char *device, const char *what, df_device_type *type, int32_t *id);
/* The compute precision a trainer's setting `what` (say "stego.precision") names: float32 or
 * bfloat16; DF_E_UNSUPPORTED for float16, which would need loss scaling. */
df_status dfi_trainer_precision(int64_t value, const char *what, df_dtype *out);

/* The public view of a trainer (dinofeat/trainer.h): a member of each trainer, filled when asked for. */
struct df_trainer {
    const dfi_trainer_ops *ops;
    void *self;
};
df_trainer *dfi_trainer_view(df_trainer *view, const dfi_trainer_ops *ops, void *self);

/* A training's schedule. Epoch schedules (per_epoch > 0) visit the items in an order drawn from
 * seed and the epoch, per_epoch batches an epoch, the last one shorter when batch does not divide
 * items; drawn schedules (per_epoch 0) leave the batch's items to the trainer's step. */
typedef struct dfi_train_plan {
    size_t items, batch, per_epoch;
    size_t total;            /* the step the training ends at */
    int64_t seed;            /* the epoch orders' seed, or the drawing generator's state */
    const char *seed_name;   /* what seed is, in the ranks' disagreement message */
} dfi_train_plan;

/* Runs trainer from its steps taken to plan->total on data: each rank steps on its share of every
 * batch; rank 0 saves to checkpoint (may be NULL) every `every` steps (0: only at the end), at the
 * end, and when progress (may be NULL) asks to stop after a step, which then returns
 * DF_E_CANCELLED. The ranks first agree on the steps taken, seed, batch, total and items, and on
 * each one's status so far (a rank that failed in its preparation says so to the others, which
 * would otherwise wait for it); nothing runs unless that is DF_OK. */
df_status dfi_train_loop(df_status status, const dfi_trainer_ops *ops, void *trainer, void *data, const dfi_train_plan *plan,
                         const char *checkpoint, size_t every, df_progress_fn progress, void *user_data);

/* Every state array of trainer to f, in order; 0, or -1 when a read or write failed. */
int dfi_trainer_write_states(const dfi_trainer_ops *ops, const void *trainer, FILE *f);
/* The states from a container body (the arrays and the 8-byte end marker, nothing else) into
 * trainer, through create and state_access. DF_E_FORMAT naming path when the size or the marker
 * is not what the trainer's states need. */
df_status dfi_trainer_read_states(const dfi_trainer_ops *ops, void *trainer, const char *path,
                                  const unsigned char *body, size_t size, const char end_marker[8]);

#endif
