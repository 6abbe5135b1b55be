/*
 * dinofeat NeCo (Pariza et al. 2024, specs/neco.md): the differentiable sorting networks its patch
 * neighbour consistency loss ranks with (Petersen et al. 2021), the loss, ROI align, the crops,
 * and the post-pretraining trainer that writes a backbone df_model_open reads.
 */
#ifndef DINOFEAT_NECO_H
#define DINOFEAT_NECO_H

#include "dinofeat/core.h"
#include "dinofeat/dataset.h"
#include "dinofeat/image.h"
#include "dinofeat/model.h"
#include "dinofeat/tensor.h"
#include "dinofeat/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sorting networks: lists of layers of disjoint compare-and-swaps. */
typedef enum df_sort_network {
    DF_SORT_BITONIC = 0, /* padded to a power of 2 with the padding wires first; log2(N)(log2(N)+1)/2 layers */
    DF_SORT_ODD_EVEN = 1 /* n layers of neighbour pairs, even then odd */
} df_sort_network;

/* The relaxed swap's weight alpha of v = steepness (x_b - x_a): the minimum becomes
 * alpha x_a + (1 - alpha) x_b, the maximum (1 - alpha) x_a + alpha x_b. */
typedef enum df_sort_sigmoid {
    DF_SORT_CAUCHY = 0,       /* atan(v) / pi + 1/2 (NeCo's) */
    DF_SORT_LOGISTIC = 1,     /* 1 / (1 + exp(-v)) */
    DF_SORT_LOGISTIC_PHI = 2, /* logistic of v / (|x_a - x_b| + 1e-10)^0.25 */
    DF_SORT_RECIPROCAL = 3,   /* (v / (2 + |v|) + 1) / 2 */
    DF_SORT_GAUSSIAN = 4,     /* the standard normal CDF of v */
    DF_SORT_OPTIMAL = 5       /* 1/2 + clamp(v, +-1/4) + sign(v) max(0, 1/4 - 1 / (16 (|v| + 1e-10))) */
} df_sort_sigmoid;

/* Sorts each row of values (rows, n; float32 or float64; computed on the CPU, the results on
 * values' device) ascending through the relaxed
 * network: sorted (new, (rows, n)) and permutation (may be NULL; new, (rows, n, n), P[r, i, p] the
 * weight of input i at position p, so sorted[r, p] = sum_i values[r, i] P[r, i, p]; doubly
 * stochastic), in values' type. Each layer updates only its compared columns: O(n^2) per layer
 * against the reference's O(n^3), the same values. Rows run in parallel. */
DF_API df_status df_diffsort(const df_tensor *values, df_sort_network network, df_sort_sigmoid sigmoid,
                             double steepness, df_tensor **sorted, df_tensor **permutation);

/* ROI align (He et al. 2017) with torchvision.ops.roi_align's arithmetic, how NeCo brings two
 * crops' feature maps onto their common box: features (B, C, H, W) float32 or float64 on any
 * device; boxes (K, 5) float32 or float64: batch index, then x1, y1, x2, y2 in input pixels, which
 * spatial_scale maps to feature cells (1 / patch); each of the output_size^2 bins averages a grid
 * of bilinear samples, sampling_ratio per side (<= 0: adaptive, ceil(box side / output_size));
 * aligned non-zero shifts by half a cell (pixel centres, NeCo's choice). out: new, (K, C,
 * output_size, output_size), in the features' type and on their device. */
DF_API df_status df_roi_align(const df_tensor *features, const df_tensor *boxes, size_t output_size,
                              double spatial_scale, int sampling_ratio, int aligned, df_tensor **out);

/* NeCo's views of one image (specs/neco.md), drawn from a generator seeded with seed: DF_PARAM_
 * NECO_GLOBAL_CROPS random resized crops (scale 0.25..1, aspect 3/4..4/3, torchvision's
 * parameters) to DF_PARAM_NECO_GLOBAL_SIZE and DF_PARAM_NECO_LOCAL_CROPS (scale 0.05..0.25) to
 * DF_PARAM_NECO_LOCAL_SIZE, each resampled until it overlaps every global crop by more than
 * DF_PARAM_NECO_MIN_INTERSECTION of the image (twice that between globals); PIL's bilinear
 * resampling; then with their probabilities colour jitter (brightness, contrast, saturation 0.8,
 * hue 0.2, in a random order), greyscale, and PIL's Gaussian blur (an extended box blur) of radius
 * U(0.1, 2), each on 8-bit samples exactly as torchvision and PIL compute it; ImageNet
 * normalisation. global: new, (G, 3, S, S) float32; local (may be NULL): new, (L, 3, s,
 * s), NULL when L is 0; boxes (may be NULL): new, (G + L, 4) float32, each crop's x1, y1, x2, y2
 * in the image, globals first. Any image (grey, RGB, alpha; 8 or 16 bits). */
DF_API df_status df_neco_views(const df_image *image, uint64_t seed, const df_options *options, df_tensor **global,
                               df_tensor **local, df_tensor **boxes);

/* NeCo post-pretraining (specs/neco.md): a student copy of a backbone with a projection head
 * (Linear(D, hidden) - GELU - Linear(hidden, hidden) - GELU - Linear(hidden, out), L2-normalised,
 * on the final-norm patch tokens), its EMA teacher, AdamW and the schedules, and one generator
 * behind every random draw (crops, drop-path, references, the queue, the epochs' orders), so
 * training is deterministic on CPU and resumes exactly. It computes on the model's device (the
 * sorting networks on the CPU). */
typedef struct df_neco df_neco;

/* out: new, free with df_neco_free. Copies model's weights (float32) to the student and teacher;
 * the head drawn from the generator (DF_PARAM_NECO_SEED; truncated normal, std 0.02; biases 0).
 * total_steps: the length of the learning-rate, weight-decay and momentum schedules (0: set by
 * the first df_neco_train from its epochs). options: DF_PARAM_NECO_* (the paper's settings);
 * the model's forward parameters (heads, position interpolation) apply. The crops' sides must be
 * multiples of the patch. */
DF_API df_status df_neco_new(df_model *model, size_t total_steps, const df_options *options, df_neco **out);
/* One step on count images (at least 1): their views (df_neco_views, made on worker threads),
 * the teacher on the global crops, the student on all; per (global g, other crop v) pair the
 * 7 x 7 ROI-aligned patches of both on their common box, references from the batch or the
 * queue, df_neco_loss; loss = mean over g of the sum over v of the pair losses / (views - 1).
 * AdamW (backbone, head; with and without decay: biases and 1-D tensors), then the teacher's EMA.
 * loss (may be NULL) gets the step's loss. DF_E_INVALID_ARG before a schedule length is set.
 * In a data-parallel group (df_distributed_init) the images are this rank's share of the batch,
 * the ranks' shares in rank order making the whole batch: every draw (crops, drop-path,
 * references, queue) is the whole batch's, the references and the queue gather every rank's
 * teacher patches, and each rank steps with the whole batch's gradient, so the ranks together
 * take the step one process would with all the images; loss is the whole batch's. */
DF_API df_status df_neco_step(df_neco *trainer, const df_image *const *images, size_t count, double *loss);
/* Steps taken. */
DF_API df_status df_neco_steps(const df_neco *trainer, int64_t *steps);
/* The trainer seen as any trainer (dinofeat/trainer.h: steps, losses by name, saving); NULL for
 * NULL. It lives as long as the trainer. */
DF_API df_trainer *df_neco_trainer(df_neco *trainer);
/* The last step's loss (0 before the first). */
DF_API df_status df_neco_last_loss(const df_neco *trainer, double *loss);
/* Trains until `epochs` epochs are done (a resumed trainer continues where it stopped) over
 * dataset (its images; each epoch in an order drawn from the seed and the epoch alone, batches of
 * batch images, the last one short): the schedules span epochs x ceil(items / batch) steps and
 * must equal the trainer's length when set (resume with the same epochs, batch and dataset size).
 * checkpoint (may be NULL) is saved atomically every `every` steps (0: never between), at the end
 * and when progress stops the training. progress (may be NULL) after each step, with the steps
 * done and the total; non-zero stops after that step with DF_E_CANCELLED. In a data-parallel
 * group each rank takes its contiguous share of every batch (each needs at least one image) and
 * only rank 0 writes the checkpoint. */
DF_API df_status df_neco_train(df_neco *trainer, const df_dataset *dataset, size_t epochs, size_t batch,
                               const char *checkpoint, size_t every, df_progress_fn progress, void *user_data);
/* Everything (settings, student, teacher, head, AdamW's moments, the queue, steps, the generator)
 * to path atomically. */
DF_API df_status df_neco_save(const df_neco *trainer, const char *path);
/* A trainer from a df_neco_save file, on model's device; model must be the backbone it started
 * from (DF_E_INVALID_ARG saying how they differ), and supplies the architecture. */
DF_API df_status df_neco_load(const char *path, df_model *model, df_neco **out);
/* Writes the student backbone (without the head) as a safetensors file in the official DINO /
 * DINOv2 layout, float32, atomically: df_model_open reads it like the released checkpoints,
 * registers included. */
DF_API df_status df_neco_export(const df_neco *trainer, const char *path);
/* Does nothing when trainer is NULL. */
DF_API void df_neco_free(df_neco *trainer);

#ifdef DINOFEAT_EXPERIMENTAL
/* Experimental (the backward passes of the sort and of ROI align, the loss with its gradient):
 * what the trainers and the conformance tests use inside. See core.h on the tiers. */
/* The gradient (new, shaped as values) of sum(grad_sorted * sorted) + sum(grad_permutation * P)
 * with respect to values; either upstream gradient may be NULL (then that term is absent). */
DF_API df_status df_diffsort_backward(const df_tensor *values, df_sort_network network, df_sort_sigmoid sigmoid,
                                      double steepness, const df_tensor *grad_sorted,
                                      const df_tensor *grad_permutation, df_tensor **grad_values);
/* The gradient (new, shaped as features) of sum(grad_out * df_roi_align(features, ...)) with
 * respect to the features; grad_out (K, C, output_size, output_size). */
DF_API df_status df_roi_align_backward(const df_tensor *features, const df_tensor *boxes, size_t output_size,
                                       double spatial_scale, int sampling_ratio, int aligned,
                                       const df_tensor *grad_out, df_tensor **grad_features);
/* NeCo's patch neighbour consistency loss: for each of the B x Nq query patches, its distances to
 * the image's R reference patches (refs (B, R, d)) are sorted by the relaxed network
 * (DF_PARAM_NECO_STEEPNESS, _NETWORK, _SIGMOID; cosine similarities, or with
 * DF_PARAM_NECO_EUCLIDEAN Euclidean distances), giving P_s from the student's features and P_t
 * from the teacher's (student, teacher: (B, Nq, d)); loss = -mean over (batch, query, reference
 * i) of sum_p P_t[i, p] log P_s[i, p], the official code's direction, plus with
 * DF_PARAM_NECO_SYMMETRIC the reverse one (its gradient through the student side only). No
 * epsilon in the log: a non-finite loss is DF_E_INTERNAL, never a silent NaN. grad_student (may be
 * NULL; new, (B, Nq, d), student's type) gets d loss / d student. float32 or float64 (computed in
 * the student's type, on the CPU). */
DF_API df_status df_neco_loss(const df_tensor *student, const df_tensor *teacher, const df_tensor *refs,
                              const df_options *options, double *loss, df_tensor **grad_student);
#endif /* DINOFEAT_EXPERIMENTAL */

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_NECO_H */
