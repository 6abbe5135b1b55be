/* What lib/sempart/ shares: the trainer. */
#ifndef DINOFEAT_LIB_SEMPART_INTERNAL_H
#define DINOFEAT_LIB_SEMPART_INTERNAL_H

#include "../internal.h"
#include "../trainer/trainer_internal.h"
#include "../model/identity.h"
#include "../tensor_internal.h"
#include "dinofeat/cache.h"
#include "dinofeat/sempart.h"
#include "sempart_shim.h"

struct df_sempart {
    df_trainer view; /* df_sempart_trainer's */
    dfs_sempart *shim;
    dfs_sempart_config config;
    int64_t seed;
    int64_t batch;      /* the batch size df_sempart_train ran with (0: not yet) */
    uint64_t generator; /* splitmix64 state after the initial weights */
    double last[DF_SEMPART_LOSSES];
    int has_model;      /* trained on a feature cache of this backbone */
    dfi_model_identity model;
};

/* The backbone a feature cache was computed with (lib/dataset/cache.c). */
const dfi_model_identity *dfi_feature_cache_model(const df_feature_cache *cache);
/* The trainer's shim state from initial values (DFS_SEMPART_STATES arrays). */
df_status dfi_sempart_create(df_sempart *trainer, const float *const *initial);
/* DF_OK when backbone is the recorded one (or none is recorded), else DF_E_INVALID_ARG. */
df_status dfi_sempart_same_model(const df_sempart *trainer, const dfi_model_identity *backbone);

/* A step of the shared training loop (lib/trainer/): data is train.c's batch buffers. */
df_status dfi_sempart_batch_step(void *trainer, void *data, const size_t *items, size_t count, size_t begin,
                                 size_t end);
/* The trainer to the shared loop and file code. */
extern const dfi_trainer_ops dfi_sempart_ops;

#endif
