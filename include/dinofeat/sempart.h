/*
 * dinofeat Sempart (Ravindran and Basu 2023, specs/sempart.md): a small network over a frozen
 * backbone's features that predicts a coarse saliency mask on the patch grid and a fine one at 8x
 * its resolution, trained without labels by the expected normalized cut of the patch graph, the
 * graph total variation of both masks and their super-resolution consistency.
 */
#ifndef DINOFEAT_SEMPART_H
#define DINOFEAT_SEMPART_H

#include "dinofeat/cache.h"
#include "dinofeat/core.h"
#include "dinofeat/dataset.h"
#include "dinofeat/image.h"
#include "dinofeat/model.h"
#include "dinofeat/tensor.h"
#include "dinofeat/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which of the two partitions of a mask is the foreground (DF_PARAM_SEMPART_SELECT). */
typedef enum df_sempart_select {
    DF_SEMPART_SELECT_CORNERS = 0,    /* touching fewer of the 4 corners; ties to the smaller */
    DF_SEMPART_SELECT_CENTRALITY = 1, /* lower mean distance to the centre */
    DF_SEMPART_SELECT_FRAMING = 2,    /* a partition spanning the full width or height is background;
                                         ties to the smaller */
    DF_SEMPART_SELECT_ATTENTION = 3   /* more of the backbone's [CLS] attention (last block, heads summed) */
} df_sempart_select;

/* What a training step trains (DF_PARAM_SEMPART_BRANCHES): the paper trains both jointly; its
 * ablation trains the coarse branch first, then the fine one. */
typedef enum df_sempart_branches {
    DF_SEMPART_BRANCH_COARSE = 1, /* the encoder and the coarse branch, by the cut and coarse GTV */
    DF_SEMPART_BRANCH_FINE = 2,   /* the fine branch, by the fine GTV and the super-resolution term
                                     (the encoder and the coarse mask fixed) */
    DF_SEMPART_BRANCH_BOTH = 3
} df_sempart_branches;

/* A Sempart trainer: the network, its Adam state and BatchNorm statistics, the settings, and one
 * generator for the initial weights and the epochs' orders, so training is deterministic on CPU
 * and resumes exactly. It computes on the CPU. */
typedef struct df_sempart df_sempart;

/* The losses of a step, in the order df_ncut_train returns them. */
typedef enum df_sempart_loss {
    DF_SEMPART_LOSS_NCUT = 0,
    DF_SEMPART_LOSS_GTV_COARSE = 1,
    DF_SEMPART_LOSS_GTV_FINE = 2,
    DF_SEMPART_LOSS_SR = 3,
    DF_SEMPART_LOSS_TOTAL = 4, /* weighted by DF_PARAM_SEMPART_WEIGHT_* */
    DF_SEMPART_LOSSES = 5
} df_sempart_loss;

/* out: new, free with df_sempart_free, for dim-channel features on a grid_height x grid_width
 * patch grid (the position embedding's size). options: DF_PARAM_SEMPART_* (NULL: defaults).
 * Initial weights as PyTorch's defaults (linear and convolution weights and biases uniform in
 * +-1/sqrt(fan_in); LayerNorm and BatchNorm 1 and 0) and, ours, [CLS] and the position embedding
 * normal with standard deviation 0.02, drawn from a splitmix64 generator seeded with
 * DF_PARAM_SEMPART_SEED. */
DF_API df_status df_sempart_new(size_t dim, size_t grid_height, size_t grid_width, const df_options *options,
                                df_sempart **out);
/* One Adam step on a batch: features (B, h, w, D) as DF_OUTPUT_PATCH gives them, images (B, 3,
 * H, W) normalised (resized bilinearly to 2h, 4h and 8h where the fine branch takes them; the
 * fine GTV sees the 8h x 8w image). BatchNorm in training mode. losses (DF_SEMPART_LOSSES, may
 * be NULL) gets every term. */
DF_API df_status df_ncut_train(df_sempart *trainer, const df_tensor *features, const df_tensor *images,
                               double *losses);
/* The network's masks (new, float32 in [0, 1]): coarse (B, h, w) and fine (B, 8h, 8w) (either may
 * be NULL). training 1 normalises with the batch's statistics (the running ones left as they
 * are), 0 with the running statistics (inference). */
DF_API df_status df_sempart_forward(const df_sempart *trainer, const df_tensor *features, const df_tensor *images,
                                    int training, df_tensor **coarse, df_tensor **fine);
/* Changes what the next steps train (df_sempart_branches); saved with the trainer. As in
 * torch.optim.Adam, a parameter that gets no gradient is not updated and keeps its own step count. */
DF_API df_status df_sempart_set_branches(df_sempart *trainer, int branches);
/* Steps taken. */
DF_API df_status df_sempart_steps(const df_sempart *trainer, int64_t *steps);
/* The trainer seen as any trainer (dinofeat/trainer.h: steps, losses by name, saving); NULL for
 * NULL. It lives as long as the trainer. */
DF_API df_trainer *df_sempart_trainer(df_sempart *trainer);
/* The losses of the last step (DF_SEMPART_LOSSES values; zeros before the first). */
DF_API df_status df_sempart_last_losses(const df_sempart *trainer, double *losses);
/* Trains until `epochs` epochs are done (a resumed trainer continues where it stopped; one already
 * there returns at once): each
 * epoch visits every item of the feature cache once in an order drawn from the seed and the
 * epoch, in batches of `batch` (the last one smaller), the images from dataset (the one the cache
 * was built from: same items, same size). batch must stay the same across resumptions.
 * checkpoint (may be NULL) is saved atomically every `every` steps (0: never between), at the end
 * and when progress stops the training. progress (may be NULL) after each step, with the steps
 * done and the total; non-zero stops after that step with DF_E_CANCELLED. The cache's backbone is
 * recorded; another backbone's cache is
 * DF_E_INVALID_ARG. In a data-parallel group (df_distributed_init) each rank takes its share of
 * every batch (each needs at least one image), the gradients are averaged and BatchNorm takes
 * the whole batch's statistics (as SyncBatchNorm), so a step equals one process's with the whole
 * batch; the losses are the batch's, and only rank 0 writes the checkpoint. */
DF_API df_status df_sempart_train(df_sempart *trainer, const df_feature_cache *cache, const df_dataset *dataset,
                                  size_t epochs, size_t batch, const char *checkpoint, size_t every,
                                  df_progress_fn progress, void *user_data);
/* Masks and boxes of one image with the backbone model (the one trained on; another is
 * DF_E_INVALID_ARG): the image resized (DF_PARAM_DATASET_FILTER, as datasets resize) to the training grid times the patch size,
 * normalised, its features through the network in inference mode; the foreground partition
 * chosen on the coarse mask by DF_PARAM_SEMPART_SELECT and used for both masks (ours). coarse
 * (may be NULL; new, (h, w) uint8) and fine (may be NULL; new, (height, width) uint8, the fine
 * mask resized bilinearly to the image) get 255 x the foreground probability, rounded: foreground
 * is above 255 x DF_PARAM_SEMPART_THRESHOLD. boxes (may be NULL; new, (N, 4) int32,
 * [x_min, y_min, x_max, y_max] in pixels, max exclusive) gets the boxes of the fine foreground's
 * 4-connected components, the largest box first (the single-object prediction). */
DF_API df_status df_sempart_predict(const df_sempart *trainer, df_model *model, const df_image *image,
                                    const df_options *options, df_tensor **coarse, df_tensor **fine,
                                    df_tensor **boxes);
/* DF_OK when model is the backbone the trainer was trained on, or none is recorded yet; else
 * DF_E_INVALID_ARG saying how they differ. */
DF_API df_status df_sempart_check_model(const df_sempart *trainer, df_model *model);
/* Writes everything (settings, states, Adam moments, steps, batch, the backbone) to path
 * atomically (.dfsempart); df_sempart_load gives a trainer whose next step equals the saved one's
 * next step, and which df_sempart_predict takes as a model file. */
DF_API df_status df_sempart_save(const df_sempart *trainer, const char *path);
DF_API df_status df_sempart_load(const char *path, df_sempart **out);
/* Does nothing when trainer is NULL. */
DF_API void df_sempart_free(df_sempart *trainer);

#ifdef DINOFEAT_EXPERIMENTAL
/* Experimental (the losses with their gradients, the states by index):
 * what the trainers and the conformance tests use inside. See core.h on the tiers. */
/* The losses, each the mean over a batch of its per-image value, with its gradient (new,
 * float32, shaped as the input; each gradient pointer may be NULL). Masks are (B, h, w) in
 * [0, 1], features (B, h, w, D) (L2-normalised here), images (B, C, H, W); float32 or float64
 * (computed in the masks' type).
 *
 * The expected normalized cut: W_ij = 1 where the cosine of features i and j exceeds tau, else
 * eps, W_ii = 0; with S_A = masks, S_B = 1 - masks, sum over X of S_X^T W (1 - S_X) / S_X^T W 1,
 * where an empty partition's term (0 / 0) is 1, its limit (ours), so a constant mask scores 1. */
DF_API df_status df_ncut_loss(const df_tensor *masks, const df_tensor *features, double tau, double eps,
                              double *loss, df_tensor **grad_masks);
/* The coarse graph total variation: the sum over 4-neighbour pairs of a_ij (s_i - s_j)^2, a_ij = 1
 * where the features' cosine is > 0, else eps. */
DF_API df_status df_sempart_gtv_coarse_loss(const df_tensor *masks, const df_tensor *features, double eps,
                                            double *loss, df_tensor **grad_masks);
/* The fine graph total variation on the pixel grid: a_ij = exp(-|X_i - X_j|^2 / sigma) of the
 * images (B, C, H, W, the masks' size). */
DF_API df_status df_sempart_gtv_fine_loss(const df_tensor *masks, const df_tensor *images, double sigma,
                                          double *loss, df_tensor **grad_masks);
/* The super-resolution term: the sum of squares of fine (B, H, W) average-pooled by H / h to
 * coarse's (B, h, w) minus coarse. */
DF_API df_status df_sempart_sr_loss(const df_tensor *fine, const df_tensor *coarse, double *loss,
                                    df_tensor **grad_fine, df_tensor **grad_coarse);
/* State index 0..39: the 32 parameters, then the 4 BatchNorm layers' running mean and variance,
 * named as a PyTorch module's state_dict names them ("encoder.proj.weight", ...,
 * "fine.block4.bn.running_var"). name (may be NULL; borrowed), count (may be NULL) its values;
 * values (may be NULL) gets them, row-major, when capacity >= count. */
DF_API df_status df_sempart_parameter(const df_sempart *trainer, size_t index, const char **name, float *values,
                                      size_t capacity, size_t *count);
/* Replaces state index's values (count must be its size), e.g. to start from given weights. */
DF_API df_status df_sempart_set_parameter(df_sempart *trainer, size_t index, const float *values, size_t count);
#endif /* DINOFEAT_EXPERIMENTAL */

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_SEMPART_H */
