/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_SEMPART_H
#define DINOFEAT_SHIM_SEMPART_H

#include "df_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Sempart (shim/sempart_loss.cpp, shim/sempart_net.cpp) ---------------------------------- */

/* The four losses of one batch (each the mean over its images, specs/sempart.md): masks (B, h, w)
 * or (B, H, W) float32, features (B, h, w, D), images (B, 3, H, W). The gradient outputs may be
 * NULL. */
typedef enum dfs_sempart_term { DFS_TERM_NCUT = 0, DFS_TERM_GTV_COARSE = 1, DFS_TERM_GTV_FINE = 2 } dfs_sempart_term;
/* A loss of masks and other: features for the cut (tau a, eps b) and the coarse GTV (eps a),
 * images for the fine GTV (sigma a). */
df_status dfs_sempart_mask_loss(int32_t term, const dfs_tensor_desc *masks, const dfs_tensor_desc *other, double a,
                                double b, double *loss, dfs_tensor **grad, dfs_tensor_desc *grad_desc) DFS_NOEXCEPT;
df_status dfs_sr_loss(const dfs_tensor_desc *fine, const dfs_tensor_desc *coarse, double *loss,
                      dfs_tensor **grad_fine, dfs_tensor_desc *grad_fine_desc, dfs_tensor **grad_coarse,
                      dfs_tensor_desc *grad_coarse_desc) DFS_NOEXCEPT;

/* The network's states, in order: 32 parameters then 8 BatchNorm buffers (running mean, var). */
#define DFS_SEMPART_PARAMETERS 32
#define DFS_SEMPART_STATES 40
typedef enum dfs_init { DFS_INIT_UNIFORM = 0, DFS_INIT_ONES = 1, DFS_INIT_ZEROS = 2, DFS_INIT_NORMAL = 3 } dfs_init;
typedef struct dfs_sempart dfs_sempart;
typedef struct dfs_sempart_config {
    int64_t dim, grid_height, grid_width, width, heads;
    double tau, eps, sigma, weight_gtv_coarse, weight_gtv_fine, weight_sr, lr, adam_eps;
    int32_t joint, branches; /* branches: 1 encoder and coarse, 2 fine, 3 both */
    df_device_type device_type; /* where the network computes; 0 is the CPU */
    int32_t device_id;
    df_dtype precision; /* linear layers, attention, convolutions: DF_DTYPE_BFLOAT16, else float32 */
} dfs_sempart_config;

/* State index's name (borrowed, static), element count, initialisation (uniform in
 * +-1/sqrt(fan_in), ones, zeros, normal with standard deviation 0.02) and fan_in. */
const char *dfs_sempart_state_info(const dfs_sempart_config *config, int32_t index, int64_t *numel, int32_t *init,
                                   int64_t *fan_in) DFS_NOEXCEPT;
df_status dfs_sempart_create(const dfs_sempart_config *config, const float *const *initial,
                             dfs_sempart **out) DFS_NOEXCEPT;
void dfs_sempart_free(dfs_sempart *sempart) DFS_NOEXCEPT;
/* Reads (write 0) or writes (write 1) state index's value (which 0), Adam m (1) or v (2; buffers
 * have only values). */
df_status dfs_sempart_state(const dfs_sempart *sempart, int32_t index, int32_t which, float *values,
                            int32_t write) DFS_NOEXCEPT;
int64_t dfs_sempart_steps(const dfs_sempart *sempart) DFS_NOEXCEPT;
void dfs_sempart_set_branches(dfs_sempart *sempart, int32_t branches) DFS_NOEXCEPT;
void dfs_sempart_set_steps(dfs_sempart *sempart, int64_t steps) DFS_NOEXCEPT;
/* Moves the states and Adam's moments to the device: the next steps and forwards compute there. */
df_status dfs_sempart_to(dfs_sempart *sempart, df_device_type device_type, int32_t device_id) DFS_NOEXCEPT;
/* Each parameter's Adam update count (DFS_SEMPART_PARAMETERS values), read or written. */
df_status dfs_sempart_adam_steps(dfs_sempart *sempart, int64_t *steps, int32_t write) DFS_NOEXCEPT;
/* One Adam step on features (B, h, w, D) and images (B, 3, H, W); losses: normalized cut, GTV
 * coarse, GTV fine (0 when the fine branch is off), super-resolution (likewise), weighted total. */
df_status dfs_sempart_step(dfs_sempart *sempart, const dfs_tensor_desc *features, const dfs_tensor_desc *images,
                           double losses[5]) DFS_NOEXCEPT;
/* The coarse (B, h, w) and fine (B, 8h, 8w) masks; training 1 uses the batch's BatchNorm
 * statistics (without updating the running ones), 0 the running statistics. */
df_status dfs_sempart_forward(const dfs_sempart *sempart, const dfs_tensor_desc *features,
                              const dfs_tensor_desc *images, int32_t training, dfs_tensor **coarse,
                              dfs_tensor_desc *coarse_desc, dfs_tensor **fine, dfs_tensor_desc *fine_desc) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
