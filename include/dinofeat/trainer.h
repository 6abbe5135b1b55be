/*
 * dinofeat/trainer.h: what the trainers (df_stego, df_sempart, df_neco) share, reached through
 * one view of any of them: the steps taken, the last step's losses by name, saving.
 *
 * The three train alike: df_*_train trains until a total (STEGO's steps, Sempart's and NeCo's
 * epochs) counted from the start of the training, so a loaded trainer goes on where it stopped
 * and one already there returns at once; the checkpoint is written atomically every `every`
 * steps, at the end and when the progress callback stops the training (DF_E_CANCELLED); under
 * df_distributed_init each rank takes its share of every batch and rank 0 writes.
 */
#ifndef DINOFEAT_TRAINER_H
#define DINOFEAT_TRAINER_H

#include "dinofeat/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A view of a trainer, from df_stego_trainer, df_sempart_trainer or df_neco_trainer: it lives as
 * long as the trainer and is not freed on its own. */
typedef struct df_trainer df_trainer;

/* Steps taken since the training started (a loaded trainer's included). */
DF_API df_status df_trainer_steps(const df_trainer *trainer, int64_t *steps);
/* The last step's losses (zeros before the first step): *count gets how many the trainer reports;
 * the first min(count, capacity) go to values and their names (static lower-case strings, the
 * columns of the tool's loss logs) to names; either may be NULL. */
DF_API df_status df_trainer_losses(const df_trainer *trainer, double *values, const char **names, size_t capacity,
                                   size_t *count);
/* Writes the whole trainer to path atomically (as df_stego_save, df_sempart_save, df_neco_save). */
DF_API df_status df_trainer_save(const df_trainer *trainer, const char *path);
/* Moves a STEGO or Sempart trainer (its parameters, optimiser moments and buffers) to device
 * ("cpu", "cuda", "cuda:N"): its next steps and predictions compute there, so a checkpoint written
 * on one device resumes on another (a loaded trainer starts on the CPU; a new one where its
 * stego.device / sempart.device setting says). DF_E_UNSUPPORTED, saying why, for a device this
 * build or machine lacks, and for a NeCo trainer, which computes where its backbone is. */
DF_API df_status df_trainer_to(df_trainer *trainer, const char *device);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_TRAINER_H */
