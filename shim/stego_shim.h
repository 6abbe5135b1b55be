/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_STEGO_H
#define DINOFEAT_SHIM_STEGO_H

#include "df_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- STEGO (shim/stego_loss.cpp) --------------------------------------------------------- */

typedef struct dfs_stego_loss_config {
    double shift_self, shift_knn, shift_rand;
    double weight_self, weight_knn, weight_rand;
    int32_t center, stabilize, zero_clamp;
} dfs_stego_loss_config;

/* One pair's correspondence loss: f1, s1 sampled at c1, f2, s2 at c2 (maps (B, C, H, W), coords
 * (B, P, P, 2)); the gradients with respect to the code maps s1 and s2 (each may be NULL). */
df_status dfs_stego_corr_loss(const dfs_tensor_desc *f1, const dfs_tensor_desc *f2, const dfs_tensor_desc *s1,
                              const dfs_tensor_desc *s2, const dfs_tensor_desc *c1, const dfs_tensor_desc *c2,
                              double shift, const dfs_stego_loss_config *config, double *loss, dfs_tensor **grad_s1,
                              dfs_tensor_desc *grad_s1_desc, dfs_tensor **grad_s2,
                              dfs_tensor_desc *grad_s2_desc) DFS_NOEXCEPT;
/* The three terms and their weighted total (losses: self, knn, random, total) with the gradients
 * of the total with respect to s and s_knn; perms (negatives x B, int64) may be NULL. */
df_status dfs_stego_loss(const dfs_tensor_desc *f, const dfs_tensor_desc *s, const dfs_tensor_desc *f_knn,
                         const dfs_tensor_desc *s_knn, const dfs_tensor_desc *c1, const dfs_tensor_desc *c2,
                         const dfs_tensor_desc *perms, const dfs_stego_loss_config *config, double losses[4],
                         dfs_tensor **grad_s, dfs_tensor_desc *grad_s_desc, dfs_tensor **grad_s_knn,
                         dfs_tensor_desc *grad_s_knn_desc) DFS_NOEXCEPT;

/* ---- STEGO's head and probe (shim/stego_trainer.cpp) -------------------------------------- */

/* Parameters, in order: linear.weight (K, D, 1, 1), linear.bias (K), nonlinear1.weight (D, D, 1,
 * 1), nonlinear1.bias (D), nonlinear2.weight (K, D, 1, 1), nonlinear2.bias (K), clusters (C, K),
 * probe.weight (C, K, 1, 1), probe.bias (C). */
#define DFS_STEGO_PARAMETERS 9
#define DFS_STEGO_CLUSTERS 6
typedef struct dfs_stego dfs_stego;
typedef struct dfs_stego_config {
    int64_t dim, code_dim, classes;
    double lr, probe_lr, adam_eps;
    dfs_stego_loss_config loss;
    df_device_type device_type; /* where the trainer computes; 0 is the CPU */
    int32_t device_id;
    df_dtype precision; /* the head's matrix products: DF_DTYPE_BFLOAT16, else float32 */
} dfs_stego_config;

df_status dfs_stego_create(const dfs_stego_config *config, const float *const *initial, dfs_stego **out) DFS_NOEXCEPT;
void dfs_stego_free(dfs_stego *stego) DFS_NOEXCEPT;
int64_t dfs_stego_parameter_numel(const dfs_stego_config *config, int32_t index) DFS_NOEXCEPT;
/* Reads (write 0) or writes (write 1) parameter index's value (which 0), Adam m (1) or v (2). */
df_status dfs_stego_state(const dfs_stego *stego, int32_t index, int32_t which, float *values,
                          int32_t write) DFS_NOEXCEPT;
int64_t dfs_stego_steps(const dfs_stego *stego) DFS_NOEXCEPT;
void dfs_stego_set_steps(dfs_stego *stego, int64_t steps) DFS_NOEXCEPT;
/* Moves the parameters and Adam's moments to the device: the next steps compute there. */
df_status dfs_stego_to(dfs_stego *stego, df_device_type device_type, int32_t device_id) DFS_NOEXCEPT;
/* What one rank computes in a STEGO step. The pool (P, D, H, W) holds the features of every image
 * this rank reads: its share of the batch (`count` of them, at pool rows `own`) and the images its
 * negatives pair them with. pool_masks: 3 x P x D channel masks of the pool's images (already
 * scaled: 0 or 1 / (1 - p); linear, nonlinear, loss features); knn (count, D, H, W) the partners'
 * features of the share and knn_masks their 3 x count x D masks; coords (count, P, P, 2); perms
 * (negatives x count) pool rows; pool_rows (P) the batch index of each pool row; labels (may be NULL; (count, HL, WL) int64, classes outside
 * 0..C-1 ignored) train the linear probe. batch: the whole batch's size over every rank (count
 * without a group), by which the share's losses are weighted. */
typedef struct dfs_stego_batch {
    const dfs_tensor_desc *pool, *knn, *labels;
    const int64_t *own, *pool_rows; /* pool_rows: each pool row's index in the whole batch */
    int64_t count, batch;
    const float *pool_masks, *knn_masks, *coords1, *coords2;
    int64_t points;
    const int64_t *perms;
    int64_t negatives;
} dfs_stego_batch;
/* One step: with a process group up the gradients and losses are the whole batch's (averaged over
 * the ranks) before Adam. losses: self, knn, random, weighted total, cluster probe, linear probe. */
df_status dfs_stego_step(dfs_stego *stego, const dfs_stego_batch *batch, double losses[6]) DFS_NOEXCEPT;
/* The head's codes (B, K, H, W) without dropout. */
df_status dfs_stego_codes(const dfs_stego *stego, const dfs_tensor_desc *features, dfs_tensor **out,
                          dfs_tensor_desc *out_desc) DFS_NOEXCEPT;
/* Labels (B x height x width, may be NULL) and probabilities (B x height x width x C, may be
 * NULL) of features' codes, averaged with the horizontally flipped image's (flipped may be NULL)
 * and upsampled bilinearly: the cluster probe's (softmax of 2 x the cosine logits) or, linear, the
 * linear probe's (softmax of its logits). */
df_status dfs_stego_predict(const dfs_stego *stego, const dfs_tensor_desc *features, const dfs_tensor_desc *flipped,
                            int64_t height, int64_t width, int32_t linear, float *probabilities,
                            int32_t *labels) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
