/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_NECO_H
#define DINOFEAT_SHIM_NECO_H

#include "df_shim.h"
#include "dinofeat/neco.h"
#include "vit_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- differentiable sorting networks (shim/diffsort.cpp) --------------------------------- */

/* values (rows, n) float32 or float64 -> sorted (rows, n) and, when permutation is not NULL, P
 * (rows, n, n), in values' type; network and sigmoid are df_sort_network and df_sort_sigmoid. */
df_status dfs_diffsort(const dfs_tensor_desc *values, int32_t network, int32_t sigmoid, double steepness,
                       dfs_tensor **sorted, dfs_tensor_desc *sorted_desc, dfs_tensor **permutation,
                       dfs_tensor_desc *permutation_desc) DFS_NOEXCEPT;
/* The vector-Jacobian product: grad = d/d values of sum(grad_sorted * sorted) + sum(grad_permutation
 * * P) (either may be NULL). */
df_status dfs_diffsort_backward(const dfs_tensor_desc *values, int32_t network, int32_t sigmoid, double steepness,
                                const dfs_tensor_desc *grad_sorted, const dfs_tensor_desc *grad_permutation,
                                dfs_tensor **grad, dfs_tensor_desc *grad_desc) DFS_NOEXCEPT;

/* NeCo's loss (shim/neco_loss.cpp): student, teacher (B, Nq, d), refs (B, R, d); grad (may be
 * NULL) gets d loss / d student in student's type (float32 or float64). */
typedef struct dfs_neco_config {
    int32_t network, sigmoid, euclidean, symmetric;
    double steepness;
} dfs_neco_config;
df_status dfs_neco_loss(const dfs_tensor_desc *student, const dfs_tensor_desc *teacher, const dfs_tensor_desc *refs,
                        const dfs_neco_config *config, double *loss, dfs_tensor **grad,
                        dfs_tensor_desc *grad_desc) DFS_NOEXCEPT;

/* ---- NeCo post-pretraining (shim/neco_trainer.cpp) --------------------------------------- */

enum { DFS_NECO_GROUP_BACKBONE = 0, DFS_NECO_GROUP_BACKBONE_NO_DECAY = 1, DFS_NECO_GROUP_HEAD = 2,
       DFS_NECO_GROUP_HEAD_NO_DECAY = 3 };

typedef struct dfs_neco_settings {
    int32_t heads, pos_interp;        /* the backbone's forward settings */
    int32_t globals, locals;          /* crops per image */
    int32_t head_hidden, head_out, queue;
    int64_t total_steps;              /* the schedules' length */
    double lr_head, lr_backbone, weight_decay, weight_decay_end, momentum, drop_path, adam_eps;
    dfs_neco_config loss;
} dfs_neco_settings;

typedef struct dfs_neco dfs_neco;
/* Student = teacher = vit's weights (float32, on vit's device), plus the projection head drawn
 * from generator; AdamW moments zero. */
df_status dfs_neco_create(const dfs_vit *vit, const dfs_neco_settings *settings, uint64_t *generator,
                          dfs_neco **out) DFS_NOEXCEPT;
void dfs_neco_free(dfs_neco *trainer) DFS_NOEXCEPT;
/* Parameters: the backbone's under their official names, then head.{0,2,4}.{weight,bias}. */
int32_t dfs_neco_state_count(const dfs_neco *trainer) DFS_NOEXCEPT;
/* name: borrowed; shape: up to DF_TENSOR_MAX_DIMS. */
df_status dfs_neco_state_info(const dfs_neco *trainer, int32_t index, const char **name, int32_t *ndim,
                              int64_t *shape) DFS_NOEXCEPT;
/* which: 0 student, 1 teacher, 2 AdamW's m, 3 its v; float32 values read (write 0) or written. */
df_status dfs_neco_state(dfs_neco *trainer, int32_t index, int32_t which, float *values, int32_t write) DFS_NOEXCEPT;
/* The queue (globals x queue x head_out floats; untouched without a queue or when values is NULL)
 * and its filled rows. */
df_status dfs_neco_queue(dfs_neco *trainer, float *values, int64_t *entries, int32_t write) DFS_NOEXCEPT;
int64_t dfs_neco_steps(const dfs_neco *trainer) DFS_NOEXCEPT;
void dfs_neco_set_steps(dfs_neco *trainer, int64_t steps) DFS_NOEXCEPT;
void dfs_neco_set_total_steps(dfs_neco *trainer, int64_t total) DFS_NOEXCEPT;
/* One step on a batch: global (B G, 3, S, S) and local (B L, 3, s, s; NULL when L is 0) crops,
 * image-major; gc_boxes (B x G x V x 4) and all_boxes (B x V x G x 4) as dfi_neco_intersections
 * gives them per image; generator drives drop-path, references and the queue. In a data-parallel
 * group the B images are rank's share (the ranks' shares in rank order make the whole batch):
 * every rank draws the same, and steps with the whole batch's gradient; loss is the batch's. */
df_status dfs_neco_step(dfs_neco *trainer, const dfs_tensor_desc *global, const dfs_tensor_desc *local,
                        const double *gc_boxes, const double *all_boxes, int64_t batch, int32_t rank,
                        uint64_t *generator, double *loss) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
