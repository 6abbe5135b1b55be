/* What lib/stego/ shares: the trainer and its generator. */
#ifndef DINOFEAT_LIB_STEGO_INTERNAL_H
#define DINOFEAT_LIB_STEGO_INTERNAL_H

#include "../internal.h"
#include "../trainer/trainer_internal.h"
#include "../model/identity.h"
#include "../tensor_internal.h"
#include "dinofeat/cache.h"
#include "dinofeat/stego.h"
#include "stego_shim.h"

struct df_stego {
    df_trainer view; /* df_stego_trainer's */
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

/* One step's random draws for a whole batch of `batch` images: data-parallel ranks all make them,
 * in the same order, so their generators stay in lockstep. */
typedef struct dfi_stego_draws {
    size_t batch;
    float *masks;   /* 6 x batch x D: linear, nonlinear, loss features; then the partners' three */
    float *c1, *c2; /* batch x S x S x 2 coordinates */
    int64_t *perms; /* negatives x batch: the image each one is paired with */
} dfi_stego_draws;
df_status dfi_stego_draw(df_stego *trainer, size_t batch, dfi_stego_draws *out);
void dfi_stego_draws_free(dfi_stego_draws *draws);
/* The batch images a share begin..end-1 needs, in pool order: the share, then the images its
 * negatives pair it with; pool holds at most the batch's count. Returns the pool's size. */
size_t dfi_stego_pool(const df_stego *trainer, const dfi_stego_draws *draws, size_t begin, size_t end, size_t *pool);
/* One step on the share begin..end-1 of the drawn batch: features (P, D, H, W) of the pool
 * images pool[0..P-1] (batch indices), knn_features and labels (may be NULL) of the share; the
 * losses go to trainer->last. */
df_status dfi_stego_step(df_stego *trainer, const dfi_stego_draws *draws, size_t begin, size_t end, const size_t *pool,
                         size_t pool_count, const df_tensor *features, const df_tensor *knn_features,
                         const df_tensor *labels);

/* A step of the shared training loop (lib/trainer/): data is train.c's step data. */
df_status dfi_stego_batch_step(void *trainer, void *data, const size_t *items, size_t count, size_t begin, size_t end);
/* The trainer to the shared loop and file code. */
extern const dfi_trainer_ops dfi_stego_ops;
/* df_stego_predict (linear 0) or df_stego_predict_linear (1), its arguments checked. */
df_status dfi_stego_predict(const df_stego *trainer, int linear, const df_tensor *features, const df_tensor *flipped,
                            size_t width, size_t height, float *probabilities, int32_t *labels);

#endif
