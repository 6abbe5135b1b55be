/*
 * dinofeat STEGO (Hamilton et al. 2022, specs/stego.md): the feature-correspondence loss that
 * distils a backbone's feature correlations into a segmentation head's codes, and the trainer of
 * that head and its cluster probe.
 */
#ifndef DINOFEAT_STEGO_H
#define DINOFEAT_STEGO_H

#include "dinofeat/cache.h"
#include "dinofeat/core.h"
#include "dinofeat/image.h"
#include "dinofeat/model.h"
#include "dinofeat/tensor.h"
#include "dinofeat/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Switches of the correspondence loss (DF_PARAM_STEGO_CENTER, _STABILIZE, _ZERO_CLAMP). */
typedef enum df_stego_flag {
    DF_STEGO_CENTER = 1,     /* F <- F - its mean over the second image's points, + F's global mean */
    DF_STEGO_STABILIZE = 2,  /* S clamped at 0.8 from above */
    DF_STEGO_ZERO_CLAMP = 4, /* S clamped at 0 from below (else at -9999, i.e. not) */
    DF_STEGO_DEFAULT_FLAGS = DF_STEGO_CENTER | DF_STEGO_ZERO_CLAMP
} df_stego_flag;

typedef enum df_stego_preset {
    DF_STEGO_PRESET_CODE = 0,  /* the official code's active configuration (the defaults) */
    DF_STEGO_PRESET_PAPER = 1  /* the paper's Table 6 (CocoStuff): lambdas 0.10 / 1.00 / 0.15,
                                  shifts 0.12 / 0.20 / 1.00 */
} df_stego_preset;
/* Sets the six lambdas and shifts of preset in options. */
DF_API df_status df_stego_preset_apply(df_options *options, df_stego_preset preset);

/* A STEGO trainer: the head (linear + nonlinear 1 x 1 convolutions, D -> K), the cluster probe
 * (C centroids) and the linear probe (1 x 1 convolution K -> C, trained when labels are given),
 * their Adam states, the settings and one generator from which every random draw comes, so
 * training is deterministic on CPU and resumes exactly. It computes on the CPU. */
typedef struct df_stego df_stego;

/* out: new, free with df_stego_free, for dim-channel backbone features. options:
 * DF_PARAM_STEGO_* (the code's defaults). Initial weights as PyTorch's: the convolutions
 * uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), the centroids standard normal, drawn from the
 * generator (DF_PARAM_STEGO_SEED): splitmix64, uniforms (x >> 40) 2^-24, normals by Box-Muller. */
DF_API df_status df_stego_new(size_t dim, const df_options *options, df_stego **out);
/* One optimisation step on a batch of features (B, D, H, W) and their KNN partners' features
 * (same shape), as the official training step: per image three channel-dropout masks (the linear
 * branch's, the nonlinear branch's, the loss features'), coordinates for both, one permutation
 * without fixed points per negative, the three loss terms, the cluster probe's loss on the
 * detached codes and, with labels ((B, H', W') int64, classes outside 0..C-1 ignored; NULL for
 * none), the linear probe's cross-entropy on the detached codes upsampled to them; one Adam step
 * of each. losses (may be NULL) gets self, KNN, random, the weighted total, the cluster probe's
 * and the linear probe's loss (0 without labels). In a process group (dinofeat/distributed.h)
 * each rank passes its share of the batch (at least one image; ranks in order make the whole
 * batch): the draws are the whole batch's, the features and codes are gathered from every rank
 * for the negatives, and each rank takes the step one process would take with the whole batch. */
DF_API df_status df_stego_head_step(df_stego *trainer, const df_tensor *features, const df_tensor *knn_features,
                                    const df_tensor *labels, double losses[6]);
/* The trainer's value of a DF_PARAM_STEGO_* setting (as created, or as the loaded file records
 * it): int keys with _get_int, float keys with _get_float; another key is DF_E_INVALID_ARG. */
DF_API df_status df_stego_get_int(const df_stego *trainer, df_param key, int64_t *out);
DF_API df_status df_stego_get_float(const df_stego *trainer, df_param key, double *out);
/* Steps taken. */
DF_API df_status df_stego_steps(const df_stego *trainer, int64_t *steps);
/* The trainer seen as any trainer (dinofeat/trainer.h: steps, losses by name, saving); NULL for
 * NULL. It lives as long as the trainer. */
DF_API df_trainer *df_stego_trainer(df_stego *trainer);
/* The head's codes (new, (B, K, H, W)) of features, without dropout. */
DF_API df_status df_stego_codes(const df_stego *trainer, const df_tensor *features, df_tensor **codes);
/* Cluster labels (B x height x width, 0..C-1; may be NULL) of features: codes averaged with those
 * of the horizontally flipped image's features (flipped, may be NULL), upsampled bilinearly,
 * nearest centroid by cosine; probabilities (may be NULL) gets softmax(2 x cosine), B x height x
 * width x C, pixel-major as df_crf_infer takes them (STEGO's CRF unary is their -log). */
DF_API df_status df_stego_predict(const df_stego *trainer, const df_tensor *features, const df_tensor *flipped,
                                  size_t width, size_t height, float *probabilities, int32_t *labels);
/* Cluster labels (height x width of image, row-major, 0..C-1) of one image, as STEGO's evaluation
 * computes them: the image (any channels; 16-bit samples scaled to 8) resized bicubically so its
 * short side is `side` pixels, each side rounded to whole patches; the backbone's patch features
 * of it and of its mirror image into df_stego_predict at the image's size; then, when crf is not
 * NULL, the dense CRF (df_crf_infer) with crf's DF_PARAM_CRF_* over its probabilities
 * (df_crf_preset_apply(crf, DF_CRF_PRESET_STEGO) gives the official evaluation's). model must be
 * the backbone the head was trained on (df_stego_check_model). */
DF_API df_status df_stego_segment(const df_stego *trainer, df_model *model, const df_image *image, size_t side,
                                  const df_options *crf, int32_t *labels);
/* The same with the linear probe (trained when df_stego_train had labels) in place of the
 * clusters, as STEGO's evaluation computes its linear-probe metrics: the averaged codes upsampled
 * bilinearly, the probe's 1 x 1 convolution, labels its argmax (classes 0..C-1, scored as they
 * are, without matching: DF_MATCH_NONE) and probabilities the softmax of its logits (the CRF's
 * unary is their -log). */
DF_API df_status df_stego_predict_linear(const df_stego *trainer, const df_tensor *features, const df_tensor *flipped,
                                         size_t width, size_t height, float *probabilities, int32_t *labels);
DF_API df_status df_stego_segment_linear(const df_stego *trainer, df_model *model, const df_image *image, size_t side,
                                         const df_options *crf, int32_t *labels);
/* The losses of the last step (self, KNN, random, weighted total, cluster probe, linear probe);
 * zeros before the first. */
DF_API df_status df_stego_last_losses(const df_stego *trainer, double losses[6]);
/* The backbone the trainer has been trained on (recorded by df_stego_train from the feature
 * cache, and saved): DF_OK for model, DF_OK when none is recorded yet, else DF_E_INVALID_ARG
 * saying how they differ. */
DF_API df_status df_stego_check_model(const df_stego *trainer, df_model *model);
/* Trains until `steps` steps are done (a resumed trainer continues where it stopped; one already
 * there returns at once) on a feature cache and its KNN table (items x k, rank 0 the item itself):
 * each step takes batch items drawn uniformly, each with a partner from ranks 1..knn_ranks.
 * labels (may be NULL) is the cache's dataset opened with its label folder: each item's label
 * image then trains the linear probe (values 0..C-1; others, such as 255, ignored).
 * checkpoint (may be NULL) is saved atomically every `every` steps (0: never between), at the end
 * and when progress stops the training. progress (may be NULL) after each step, with the steps
 * done and `steps`; non-zero stops after that step with DF_E_CANCELLED. The cache's backbone is
 * recorded; a cache of another backbone than the one recorded is DF_E_INVALID_ARG. In a process
 * group (dinofeat/distributed.h) every rank draws the whole batch, computes its share's codes,
 * gathers the others' and reads from the cache the features of the images its negatives pair it
 * with; the gradients and the feature correspondences' centring are the whole batch's, and only
 * rank 0 writes the checkpoint: N processes take the steps of one (batch must be at least the
 * number of ranks). */
DF_API df_status df_stego_train(df_stego *trainer, const df_feature_cache *cache, const int32_t *knn, size_t k,
                                const df_dataset *labels, size_t steps, size_t batch, const char *checkpoint,
                                size_t every, df_progress_fn progress, void *user_data);
/* Writes everything (settings, weights, Adam states, steps, the generator) to path atomically;
 * df_stego_load gives a trainer whose next step equals the saved one's next step. */
DF_API df_status df_stego_save(const df_stego *trainer, const char *path);
DF_API df_status df_stego_load(const char *path, df_stego **out);
/* Does nothing when trainer is NULL. */
DF_API void df_stego_free(df_stego *trainer);

#ifdef DINOFEAT_EXPERIMENTAL
/* Experimental (the correspondence loss and its gradients, the parameters by index):
 * what the trainers and the conformance tests use inside. See core.h on the tiers. */
/* The correspondence loss of one pair (specs/stego.md): backbone feature maps f1, f2 (B, D, H, W)
 * and code maps s1, s2 (B, K, H, W) sampled bilinearly (border padding, corners aligned) at
 * coords1 and coords2 (B, P, P, 2, x then y, in [-1, 1]); F and S the cosine correlations of the
 * samples, F without gradient; loss = mean(-clamp(S) (F - b)). grad_s1 and grad_s2 (each may be
 * NULL; new, float32, shaped as s1 and s2) get d loss / d s1 and d s2, taking s1 and s2 as separate
 * inputs even when they are the same tensor (the self term's gradient is then their sum). Any
 * device; a CUDA input computes there. */
DF_API df_status df_stego_corr_loss(const df_tensor *f1, const df_tensor *f2, const df_tensor *s1, const df_tensor *s2,
                                    const df_tensor *coords1, const df_tensor *coords2, double b, unsigned flags,
                                    double *loss, df_tensor **grad_s1, df_tensor **grad_s2);
/* The three terms with fixed coordinates and permutations: self (f, s with themselves at coords1),
 * KNN (f, s at coords1 against f_knn, s_knn at coords2), random (against f, s reordered by each
 * row of perms (negatives x B, int64; NULL for none) at coords2, averaged); losses gets self,
 * KNN, random and the total weighted by DF_PARAM_STEGO_WEIGHT_*; shifts and switches from
 * options (NULL: the code's defaults). grad_s and grad_s_knn (may be NULL; new) get the total's
 * gradient with respect to s and s_knn. */
DF_API df_status df_stego_loss(const df_tensor *f, const df_tensor *s, const df_tensor *f_knn, const df_tensor *s_knn,
                               const df_tensor *coords1, const df_tensor *coords2, const df_tensor *perms,
                               const df_options *options, double losses[4], df_tensor **grad_s,
                               df_tensor **grad_s_knn);
/* Parameter index (0..8: linear.weight, linear.bias, nonlinear1.weight, nonlinear1.bias,
 * nonlinear2.weight, nonlinear2.bias, clusters, probe.weight, probe.bias): name (may be NULL;
 * borrowed), count (may be NULL) its values; values (may be NULL) gets them when capacity >=
 * count. Index 9 and beyond is DF_E_INVALID_ARG. */
DF_API df_status df_stego_parameter(const df_stego *trainer, size_t index, const char **name, float *values,
                                    size_t capacity, size_t *count);
#endif /* DINOFEAT_EXPERIMENTAL */

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_STEGO_H */
