/* What lib/stego/ shares: the trainer and its generator. */
#ifndef DINOFEAT_LIB_STEGO_INTERNAL_H
#define DINOFEAT_LIB_STEGO_INTERNAL_H

#include "../internal.h"
#include "../model/identity.h"
#include "../tensor_internal.h"

struct df_stego {
    dfs_stego *shim;
    dfs_stego_config config;
    double dropout;
    int64_t samples, negatives, knn_ranks, seed;
    uint64_t generator; /* splitmix64 state: every draw of initialisation and training */
    double last[6];     /* the last step's losses */
    int has_model;      /* trained on a feature cache of this backbone */
    dfi_model_identity model;
};

/* The backbone a feature cache was computed with (lib/dataset/cache.c). */
const dfi_model_identity *dfi_feature_cache_model(const df_feature_cache *cache);

/* The loss settings of options. */
dfs_stego_loss_config dfi_stego_loss_config(const df_options *options);
/* The trainer's shim state with the given initial values (7 arrays) and settings. */
df_status dfi_stego_create(df_stego *trainer, const float *const *initial);

#endif
